"""The eager fast path: NDArray's + - * / and __del__ through the _mx_fastpath extension, and tiny
CPU ops run on the pushing thread. References: numpy on the same values, hand-derived gradients,
values written before the op, and the ctypes path (MX_NO_FASTPATH=1, a separate process)."""
import ctypes
import json
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import mx
from mx import _fastpath
from mx.base import LIB, MXNetError
from mx.ndarray import NDArray, _PY_METHODS

needs_ext = pytest.mark.skipif(not _fastpath.active, reason="_mx_fastpath not built (no python3-dev) or disabled")

OPS = {  # operator -> numpy reference
    "add": lambda x, y: x + y, "sub": lambda x, y: x - y, "mul": lambda x, y: x * y, "div": lambda x, y: x / y,
}


def apply(op, x, y):
    return OPS[op](x, y)


@pytest.fixture
def rng():
    return np.random.default_rng(18)


@needs_ext
def test_operators_are_the_extension():
    assert type(NDArray.__dict__["__add__"]).__name__ == "method_descriptor"
    assert type(NDArray.__dict__["__del__"]).__name__ == "method_descriptor"


@pytest.mark.parametrize("op", sorted(OPS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_array_array_matches_numpy(op, dtype, rng):
    x = rng.uniform(0.5, 2.0, (3, 4)).astype(dtype)
    y = rng.uniform(0.5, 2.0, (3, 4)).astype(dtype)
    got = apply(op, mx.nd.array(x, dtype=dtype), mx.nd.array(y, dtype=dtype))
    assert got.dtype == np.dtype(dtype) and got.shape == (3, 4)
    np.testing.assert_allclose(got.asnumpy(), apply(op, x, y), rtol=1e-6)


@pytest.mark.parametrize("op", sorted(OPS))
def test_broadcasting_matches_numpy(op, rng):
    x = rng.uniform(0.5, 2.0, (3, 1)).astype(np.float32)
    y = rng.uniform(0.5, 2.0, (1, 4)).astype(np.float32)
    got = apply(op, mx.nd.array(x), mx.nd.array(y))
    assert got.shape == (3, 4)
    np.testing.assert_allclose(got.asnumpy(), apply(op, x, y), rtol=1e-6)


@pytest.mark.parametrize("op", sorted(OPS))
@pytest.mark.parametrize("scalar", [2.5, 3, -0.125, 10 ** 20])
def test_scalar_both_sides_matches_numpy(op, scalar, rng):
    x = rng.uniform(0.5, 2.0, (5,)).astype(np.float32)
    a = mx.nd.array(x)
    s = np.float32(float(scalar))
    np.testing.assert_allclose(apply(op, a, scalar).asnumpy(), apply(op, x, s), rtol=1e-6)
    np.testing.assert_allclose(apply(op, scalar, a).asnumpy(), apply(op, s, x), rtol=1e-6)


def test_special_scalars_and_int_arrays():
    a = mx.nd.array([1.0, -2.0, 4.0])
    np.testing.assert_array_equal((a * float("inf")).asnumpy(), [np.inf, -np.inf, np.inf])
    assert np.isnan((a + float("nan")).asnumpy()).all()
    i = mx.nd.array([1, 2, 7], dtype="int32")
    got = i + 2
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got.asnumpy(), [3, 4, 9])
    np.testing.assert_array_equal((i * i).asnumpy(), [1, 4, 49])


def test_other_operands_go_to_python():
    a = mx.nd.array([1.0, 2.0])
    np.testing.assert_allclose((a + np.float32(0.5)).asnumpy(), [1.5, 2.5])  # numpy scalar
    np.testing.assert_allclose((a + True).asnumpy(), [2.0, 3.0])  # bool
    with pytest.raises(TypeError):
        a + "x"
    with pytest.raises(OverflowError):
        a + 10 ** 400  # float() of it overflows, as on the ctypes path


def test_uninitialised_array_raises_instead_of_crashing():
    # NDArray.__new__ without __init__ (as unpickling that failed leaves it): no handle slot at all
    a = NDArray.__new__(NDArray)
    with pytest.raises(TypeError):  # the ctypes path's message: inputs must be NDArrays
        a + 1.0
    with pytest.raises(TypeError):
        2.0 * a


def test_shape_mismatch_names_op_and_shapes():
    with pytest.raises(MXNetError) as e:
        mx.nd.ones((3,)) + mx.nd.ones((4,))
    assert "broadcast_add" in str(e.value) and "(3)" in str(e.value) and "(4)" in str(e.value)
    with pytest.raises(MXNetError) as e:
        mx.nd.ones((2, 3)) / mx.nd.ones((2, 4))
    assert "broadcast_div" in str(e.value)


def test_del_frees_the_handle():
    c = mx.nd.array([1.0]) + mx.nd.array([2.0])
    value = c.handle.value
    size = ctypes.c_int64()
    assert LIB.mx_ndarray_get_size(ctypes.c_void_p(value), ctypes.byref(size)) == 0
    del c
    # a freed handle is an invalid-handle error (code 8), never a dereference
    assert LIB.mx_ndarray_get_size(ctypes.c_void_p(value), ctypes.byref(size)) == -1
    assert LIB.mx_get_last_error_code() == 8


def test_autograd_through_operators(rng):
    xv = rng.uniform(0.5, 2.0, (4,)).astype(np.float32)
    yv = rng.uniform(0.5, 2.0, (4,)).astype(np.float32)
    x, y = mx.nd.array(xv), mx.nd.array(yv)
    x.attach_grad()
    y.attach_grad()
    with mx.autograd.record():
        z = x * y + 3 * x - y / x + 1.0 / y - 2
    z.backward()
    # dz/dx = y + 3 + y/x^2 ; dz/dy = x - 1/x - 1/y^2
    np.testing.assert_allclose(x.grad.asnumpy(), yv + 3 + yv / xv ** 2, rtol=1e-5)
    np.testing.assert_allclose(y.grad.asnumpy(), xv - 1 / xv - 1 / yv ** 2, rtol=1e-5)


def test_tiny_op_waits_for_a_pending_write():
    # sum over a large array (a worker's op) writes a 1-element array; the tiny add reading it
    # must wait for that write, not run at once on stale memory.
    big = mx.nd.ones((1500, 1500))
    for _ in range(3):
        big = mx.nd.dot(big, big) / 1500.0
    s = mx.nd.sum(big)  # 1500 * 1500 ones
    got = s + mx.nd.array([1.0])
    np.testing.assert_allclose(got.asnumpy(), [1500.0 * 1500 + 1], rtol=1e-5)


def test_tiny_write_waits_for_a_pending_read():
    # A slow op reads a 1-element array; an in-place tiny op then overwrites it. The slow op must
    # see the old value (write after read), the array the new one.
    big = mx.nd.ones((1500, 1500))
    for _ in range(2):
        big = mx.nd.dot(big, big) / 1500.0
    s = mx.nd.array([[2.0]])
    out = mx.nd.broadcast_mul(big, s)
    mx.nd.elemwise_add(mx.nd.array([[3.0]]), mx.nd.array([[4.0]]), out=s)  # s is no input: a plain write
    np.testing.assert_allclose(out[0:2, 0:2].asnumpy(), np.full((2, 2), 2.0), rtol=1e-6)
    np.testing.assert_allclose(s.asnumpy(), [[7.0]])


def test_pushes_from_several_threads():
    one = mx.nd.array([1.0])
    results, errors = {}, []

    def chain(k):
        try:
            acc = mx.nd.array([float(k)])
            for _ in range(300):
                acc = acc + one
            results[k] = acc.asnumpy()[0]
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=chain, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert results == {k: k + 300.0 for k in range(4)}


def test_inline_limit_off_gives_the_same_values(tmp_path):
    # MX_INLINE_OP_MAX_SIZE=0 sends every op to the workers: same values as numpy.
    code = ("import numpy as np, mx\n"
            "a = mx.nd.array([1.0, 2.0]); b = a\n"
            "for _ in range(50): b = b * 1.5 - a\n"
            "print(b.asnumpy().tolist())\n")
    env = dict(os.environ, MX_INLINE_OP_MAX_SIZE="0")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60,
                         cwd=os.path.dirname(os.path.dirname(mx.__file__)))
    assert out.returncode == 0, out.stderr
    ref = np.array([1.0, 2.0], np.float32)
    b = ref
    for _ in range(50):
        b = (b * np.float32(1.5) - ref).astype(np.float32)
    np.testing.assert_allclose(json.loads(out.stdout), b, rtol=1e-5)


SCRIPT = """
import json, numpy as np, mx
from mx import _fastpath
rng = np.random.default_rng(7)
x = rng.uniform(0.5, 2, (3, 4)).astype(np.float32); y = rng.uniform(0.5, 2, (3, 4)).astype(np.float32)
a, b, r = mx.nd.array(x), mx.nd.array(y), mx.nd.array(y[:1])
vals = [a + b, a - b, a * b, a / b, a + r, 2 - a, a * 3, 1 / a, a / 4, a - 0.5, a + np.float64(1)]
try:
    a + mx.nd.ones((5,))
    err = None
except mx.base.MXNetError as e:
    err = str(e)
print(json.dumps({"active": _fastpath.active, "vals": [v.asnumpy().tolist() for v in vals], "err": err}))
"""


def _run(env_extra):
    env = dict(os.environ, **env_extra)
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=60,
                         cwd=os.path.dirname(os.path.dirname(mx.__file__)))
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@needs_ext
def test_no_fastpath_gives_the_same_results():
    fast, slow = _run({"MX_NO_FASTPATH": ""}), _run({"MX_NO_FASTPATH": "1"})
    assert fast["active"] and not slow["active"]
    assert fast["vals"] == slow["vals"]  # bit for bit: the same ops on the same values
    assert fast["err"] == slow["err"] and "broadcast_add" in fast["err"]
    rng = np.random.default_rng(7)
    x = rng.uniform(0.5, 2, (3, 4)).astype(np.float32)
    y = rng.uniform(0.5, 2, (3, 4)).astype(np.float32)
    np.testing.assert_allclose(fast["vals"][0], x + y, rtol=1e-6)
    np.testing.assert_allclose(fast["vals"][4], x + y[:1], rtol=1e-6)


@needs_ext
def test_python_methods_in_process_agree():
    x = mx.nd.array([[1.0, 2.0], [3.0, 4.0]])
    for name in ("__add__", "__rsub__", "__truediv__", "__rtruediv__"):
        fast = getattr(x, name)(2.0).asnumpy()
        slow = _PY_METHODS[name](x, 2.0).asnumpy()
        np.testing.assert_array_equal(fast, slow)
