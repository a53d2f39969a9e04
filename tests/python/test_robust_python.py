"""Misuse of the Python API: every mistake is an exception that names what was wrong, never a crash or
a silent wrong answer, and the process computes correctly afterwards. References are numpy."""
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

import mx

MXNetError = mx.base.MXNetError
HERE = os.path.dirname(os.path.abspath(__file__))


def still_works():
    """A normal computation after an error must still give numpy's answer."""
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    x = mx.nd.array(a)
    got = (mx.nd.dot(x, mx.nd.array(a.T)) + 1).asnumpy()
    np.testing.assert_allclose(got, a @ a.T + 1)


# ---------------------------------------------------------------- 0-d arrays

@pytest.mark.parametrize("value, dtype", [(3.0, np.float32), (np.float64(2.5), np.float32), (7, np.float32),
                                          (np.array(4, dtype=np.int32), np.int32)])
def test_array_from_a_scalar_is_0d(value, dtype):
    x = mx.nd.array(value)
    ref = np.asarray(value).astype(dtype)
    assert x.shape == () and x.size == 1 and x.dtype == dtype
    np.testing.assert_array_equal(x.asnumpy(), ref)
    np.testing.assert_array_equal((x * 2).asnumpy(), ref * 2)
    assert x.asscalar() == ref.item()


def test_pickle_roundtrips_0d_and_empty_arrays():
    for src in [np.array(3.5, dtype=np.float32), np.array(-2, dtype=np.int64), np.zeros((0, 3), np.float32),
                np.arange(6, dtype=np.float64).reshape(2, 3)]:
        back = pickle.loads(pickle.dumps(mx.nd.array(src, dtype=src.dtype)))
        assert back.shape == src.shape and back.dtype == src.dtype
        np.testing.assert_array_equal(back.asnumpy(), src)


def test_len_of_0d_is_a_type_error_as_numpy():
    with pytest.raises(TypeError):
        len(mx.nd.array(1.0))
    with pytest.raises(TypeError):
        len(np.array(1.0))


# ---------------------------------------------------------------- views

def test_first_axis_slice_is_a_view():
    a = np.arange(12, dtype=np.float32).reshape(4, 3)
    x = mx.nd.array(a)
    v = x[1:3]
    v += 10
    a[1:3] += 10
    np.testing.assert_array_equal(x.asnumpy(), a)
    np.testing.assert_array_equal(v.asnumpy(), a[1:3])
    # negative and out-of-range bounds clamp as in numpy; the view still shares memory
    w = x[-3:100]
    w[:] = -1
    a[-3:100] = -1
    np.testing.assert_array_equal(x.asnumpy(), a)
    assert x[3:1].shape == (0, 3) and x[5:].shape == (0, 3)


def test_integer_index_is_a_view_of_one_row():
    a = np.arange(12, dtype=np.float32).reshape(4, 3)
    x = mx.nd.array(a)
    r = x[2]
    assert r.shape == (3,)
    r[:] = 5
    a[2] = 5
    np.testing.assert_array_equal(x.asnumpy(), a)
    r = x[-1]
    r *= 2
    a[-1] *= 2
    np.testing.assert_array_equal(x.asnumpy(), a)
    # on a 1-d array an integer gives shape (1,), as MXNet 1.x, still a view
    y = mx.nd.array([1, 2, 3])
    e = y[1]
    assert e.shape == (1,)
    e[:] = 9
    np.testing.assert_array_equal(y.asnumpy(), [1, 9, 3])


def test_contiguous_tuple_keys_are_views_others_copies():
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    x = mx.nd.array(a)
    v = x[1, 1:3]  # contiguous: a view (MXNet 1.9.1)
    assert v.shape == (2, 4)
    v[:] = -5
    a[1, 1:3] = -5
    np.testing.assert_array_equal(x.asnumpy(), a)
    c = x[:, 1:3]  # not contiguous: a copy, as in MXNet
    np.testing.assert_array_equal(c.asnumpy(), a[:, 1:3])
    c[:] = 100
    np.testing.assert_array_equal(x.asnumpy(), a)
    s = x[:, ::2]  # a step over several elements: a copy
    np.testing.assert_array_equal(s.asnumpy(), a[:, ::2])
    s[:] = 100
    np.testing.assert_array_equal(x.asnumpy(), a)
    np.testing.assert_array_equal(x[1, 2, 3].asnumpy(), [a[1, 2, 3]])


def test_setitem_on_keys_matches_numpy():
    a = np.zeros((4, 3), np.float32)
    x = mx.nd.array(a)
    for key, val in [(slice(1, 3), 5.0), (2, np.array([1, 2, 3])), ((1, slice(0, 2)), 7.0), ((slice(None), 1), -1.0),
                     (slice(None, None, 2), 8.0), (-1, mx.nd.array([4, 5, 6]))]:
        x[key] = val
        a[key] = val.asnumpy() if isinstance(val, mx.nd.NDArray) else val
        np.testing.assert_array_equal(x.asnumpy(), a)


def test_assignment_between_overlapping_views_matches_numpy():
    a = np.arange(15, dtype=np.float32).reshape(5, 3)
    x = mx.nd.array(a)
    x[1:4] = x[0:3]
    a[1:4] = a[0:3].copy()
    np.testing.assert_array_equal(x.asnumpy(), a)
    x[0:3] = x[2:5]
    a[0:3] = a[2:5].copy()
    np.testing.assert_array_equal(x.asnumpy(), a)
    v = x[1:3]
    v += x[2:4]
    a[1:3] += a[2:4].copy()
    np.testing.assert_array_equal(x.asnumpy(), a)


def test_views_under_autograd_keep_gradients():
    a = np.arange(12, dtype=np.float32).reshape(4, 3)
    x = mx.nd.array(a)
    x.attach_grad()
    with mx.autograd.record():
        y = (x[1:3] * 2).sum() + (x[0] * 3).sum()
    y.backward()
    ref = np.zeros_like(a)
    ref[1:3] = 2
    ref[0] = 3
    np.testing.assert_array_equal(x.grad.asnumpy(), ref)


def test_bad_indices_raise_index_errors():
    x = mx.nd.zeros((2, 3))
    with pytest.raises(IndexError, match="out of bounds"):
        x[2]
    with pytest.raises(IndexError, match="out of bounds"):
        x[-3]
    with pytest.raises(IndexError, match="too many indices"):
        x[1, 2, 0]
    with pytest.raises(ValueError, match="step"):
        x[::0]
    with pytest.raises(TypeError, match="index"):
        x["a"]
    with pytest.raises(IndexError):
        mx.nd.array(1.0)[0]
    still_works()


def test_any_basic_key_matches_numpy_even_with_bounds_and_steps_beyond_int64():
    """Random keys of integers and slices whose bounds and steps reach past int64 (x[-2**70:],
    x[::2**63-1], x[::-2**70]) select what numpy selects, recording or not."""
    import random
    rng = random.Random(12)
    ref = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    x = mx.nd.array(ref)
    bounds = [None, -2**70, -5, -3, -1, 0, 1, 2, 5, 2**70]
    steps = [None, 1, -1, 2, -3, 2**63 - 1, -(2**63 - 1), -2**63, 2**70, -2**70]
    for recording in (False, True):
        for _ in range(400):
            key = tuple(rng.choice([slice(rng.choice(bounds), rng.choice(bounds), rng.choice(steps)),
                                    rng.randint(-2, 1)]) for _ in range(rng.randint(1, 3)))
            if recording:
                with mx.autograd.record():
                    got = x[key].asnumpy()
            else:
                got = x[key].asnumpy()
            want = ref[key].reshape(ref[key].shape or (1,))
            assert got.shape == want.shape and np.array_equal(got, want), key


# ---------------------------------------------------------------- whole-array assignment, bool

def test_setitem_whole_array_broadcasts():
    b = mx.nd.zeros((2, 3))
    ref = np.zeros((2, 3), np.float32)
    for value in [mx.nd.array([1, 2, 3]), mx.nd.array([[5], [6]]), mx.nd.array(4.0), mx.nd.array([[1, 2, 3]]),
                  mx.nd.array(np.arange(6).reshape(2, 3), dtype=np.int32), 2.5, [7, 8, 9], np.float32(3)]:
        b[:] = value
        ref[:] = value.asnumpy() if isinstance(value, mx.nd.NDArray) else value
        np.testing.assert_array_equal(b.asnumpy(), ref)
    with pytest.raises((MXNetError, ValueError), match=r"\(4,\).*\(2, ?3\)|\(2, ?3\).*\(4,\)"):
        b[:] = mx.nd.ones((4,))
    with pytest.raises(ValueError):
        b[:] = np.ones((4,))
    np.testing.assert_array_equal(b.asnumpy(), ref)  # a failed assignment leaves the array as it was
    still_works()


def test_bool_follows_mxnet():
    with pytest.raises(ValueError, match="ambiguous"):
        bool(mx.nd.ones((2,)))
    assert bool(mx.nd.ones((1,))) and not bool(mx.nd.zeros((1,))) and not bool(mx.nd.zeros((0,)))
    assert bool(mx.nd.array(2.0)) and not bool(mx.nd.array(0.0))
    with pytest.raises(ValueError):
        if mx.nd.ones((2, 2)) > 0:
            pass


# ---------------------------------------------------------------- shapes

BAD_SHAPES = [((1.5, 2), "1.5"), ((2 ** 64 + 3,), str(2 ** 64 + 3)), ((2 ** 63,), str(2 ** 63)), ((True, 2), "True"),
              ((-1, 3), "-1"), ((1,) * 33, "33"), (("2", 3), "'2'"), ((np.float32(2), 3), "2.0"), ((None, 2), "None")]


def _entry_points():
    data = mx.sym.Variable("data")
    net = mx.sym.FullyConnected(data, num_hidden=2, name="fc")
    x = mx.nd.ones((2, 3))
    return {
        "zeros": lambda s: mx.nd.zeros(s),
        "ones": lambda s: mx.nd.ones(s),
        "empty": lambda s: mx.nd.empty(s),
        "full": lambda s: mx.nd.full(s, 1.0),
        "random_uniform": lambda s: mx.nd.random_uniform(shape=s),
        "nd._zeros": lambda s: mx.nd._zeros(shape=s),
        "nd.reshape": lambda s: mx.nd.reshape(x, shape=s),
        "NDArray.reshape": lambda s: x.reshape(s),
        "sym.Variable": lambda s: mx.sym.Variable("v", shape=s),
        "sym.Reshape": lambda s: mx.sym.Reshape(data, shape=s),
        "infer_shape": lambda s: net.infer_shape(data=s),
        "simple_bind": lambda s: net.simple_bind(mx.cpu(), data=s),
        "Module.bind": lambda s: mx.mod.Module(net, label_names=None).bind(data_shapes=[("data", s)]),
        "DataDesc": lambda s: mx.io.DataDesc("data", s),
        "CSVIter": lambda s: mx.io.CSVIter(data_csv=os.devnull, data_shape=s, batch_size=1),
    }


@pytest.mark.parametrize("entry", sorted(_entry_points()))
@pytest.mark.parametrize("shape, shown", BAD_SHAPES, ids=[str(i) for i in range(len(BAD_SHAPES))])
def test_bad_shapes_are_refused_everywhere(entry, shape, shown):
    if shape == (-1, 3) and entry in ("nd.reshape", "NDArray.reshape", "sym.Reshape"):
        shape = (-5, 3)  # -1 is one of reshape's codes; -5 is not
        shown = "-5"
    with pytest.raises(MXNetError) as err:
        _entry_points()[entry](shape)
    msg = str(err.value)
    assert "shape" in msg and shown in msg, msg
    still_works()


HUGE_SCRIPT = r"""
import mx
for label, make in [("zeros", lambda: mx.nd.zeros((2 ** 62,))), ("empty f64", lambda: mx.nd.empty((2 ** 61,), dtype="float64")),
                    ("_zeros", lambda: mx.nd._zeros(shape=(2 ** 62,))), ("uniform", lambda: mx.nd.random_uniform(shape=(2 ** 62,))),
                    ("int64 max", lambda: mx.nd._zeros(shape=(2 ** 63 - 1,)))]:
    try:
        make().wait_to_read()
        print(label + ": NO ERROR")
    except mx.MXNetError as e:
        print("%s: %s" % (label, e))
print("AFTER: %s" % (mx.nd.ones((3,)) * 2).asnumpy().sum())
"""


def test_shapes_whose_bytes_overflow_are_errors_not_crashes():
    # Element counts below 2**63 whose byte counts are not: the core must refuse them, naming the
    # shape, before any allocation wraps around. In a child process, since the failure is a crash.
    env = dict(os.environ, PYTHONPATH=os.path.join(HERE, "..", "..", "bindings", "python"))
    run = subprocess.run([sys.executable, "-c", HUGE_SCRIPT], capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, "child died (rc %d): %s %s" % (run.returncode, run.stdout, run.stderr)
    lines = dict(line.split(": ", 1) for line in run.stdout.splitlines() if ": " in line)
    for label in ["zeros", "empty f64", "_zeros", "uniform", "int64 max"]:
        msg = lines.get(label, "NO ERROR")
        assert msg != "NO ERROR" and any(str(n) in msg for n in (2 ** 62, 2 ** 61, 2 ** 63 - 1)), run.stdout
    assert float(lines["AFTER"]) == 6.0


def test_good_shapes_accept_numpy_ints_and_reshape_codes():
    assert mx.nd.zeros((np.int64(2), np.int32(3))).shape == (2, 3)
    assert mx.nd.ones(np.array([2, 3])).shape == (2, 3)
    assert mx.nd.zeros(4).shape == (4,) and mx.nd.zeros(()).shape == () and mx.nd.zeros((0, 2)).shape == (0, 2)
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    x = mx.nd.array(a)
    for code, ref in [((-1,), (24,)), ((0, -1), (2, 12)), ((-2,), (2, 3, 4)), ((-3, 4), (6, 4)), ((-4, 1, 2, -2), (1, 2, 3, 4))]:
        np.testing.assert_array_equal(x.reshape(code).asnumpy(), a.reshape(ref))
    assert mx.sym.Variable("v", shape=(np.int64(2), 3)).attr("__shape__") == "(2, 3)"


def test_arrays_from_ragged_or_too_deep_lists_are_refused():
    with pytest.raises((MXNetError, ValueError, TypeError)):
        mx.nd.array([[1, 2], [3]])
    with pytest.raises((MXNetError, ValueError, TypeError)):
        mx.nd.array(["a", "b"])
    deep = 0.0
    for _ in range(33):
        deep = [deep]
    with pytest.raises((MXNetError, ValueError)):
        mx.nd.array(deep)
    still_works()


# ---------------------------------------------------------------- strings with NUL

def test_strings_with_nul_are_refused_not_truncated(tmp_path):
    x = mx.nd.ones((2,))
    f = str(tmp_path / "a.params")
    with pytest.raises(MXNetError, match="NUL"):
        mx.nd.save(f, {"a\0b": x})
    assert not os.path.exists(f)
    with pytest.raises(MXNetError, match="NUL"):
        mx.nd.save(str(tmp_path / "b\0c.params"), [x])
    with pytest.raises(MXNetError, match="NUL"):
        mx.sym.Variable("a\0b")
    with pytest.raises(MXNetError, match="NUL"):
        mx.sym.Variable("a", attr={"k": "v\0w"})
    with pytest.raises(MXNetError, match="NUL"):
        mx.sym.relu(mx.sym.Variable("a"), name="r\0s")
    with pytest.raises(MXNetError, match="NUL"):
        mx.nd.Activation(x, act_type="relu\0")
    with pytest.raises(MXNetError, match="NUL"):
        mx.nd.load(b"/tmp/a\0b")
    with pytest.raises((MXNetError, TypeError)):
        mx.nd.save(f, {1: x})  # keys must be strings
    mx.nd.save(f, {"a": x, "b": x * 2})
    back = mx.nd.load(f)
    assert sorted(back) == ["a", "b"]
    np.testing.assert_array_equal(back["b"].asnumpy(), [2, 2])
    still_works()


# ---------------------------------------------------------------- ops misused

def test_wrong_argument_types_to_ops_name_the_op():
    x = mx.nd.ones((2, 3))
    for call in [lambda: mx.nd.relu("abc"), lambda: mx.nd.elemwise_add(x, 3), lambda: mx.nd.elemwise_add(x, None),
                 lambda: mx.nd.dot(x, np.ones((3, 2)))]:
        with pytest.raises(TypeError) as err:
            call()
        assert any(name in str(err.value) for name in ("relu", "elemwise_add", "dot")), str(err.value)
    with pytest.raises((MXNetError, TypeError)):
        mx.nd.save(str(os.devnull), [1, 2])
    still_works()


@pytest.mark.parametrize("call, says", [
    (lambda x: mx.nd._ops.invoke("no_such_op", [x], {}), "no_such_op"),
    (lambda x: mx.nd.relu(x, foo=1), "foo"),
    (lambda x: mx.nd.softmax(x, axis="abc"), "axis"),
    (lambda x: mx.nd.sum(x, axis=5), "axis"),
    (lambda x: mx.nd.Dropout(x, p=2.0), "p"),
    (lambda x: mx.nd.elemwise_add(x, mx.nd.ones((3, 2))), "(3,2)"),
    (lambda x: mx.nd.dot(x, x), "dot"),
    (lambda x: mx.nd.relu(x, x), "relu"),
    (lambda x: mx.nd.FullyConnected(x, mx.nd.ones((4, 3)), mx.nd.ones((4,))), "num_hidden"),
    (lambda x: x.reshape((4, 4)), "(4,4)"),
    (lambda x: x.copyto(mx.nd.zeros((3, 3))), "(3,3)"),
    (lambda x: x.astype("complex64"), "complex64"),
    (lambda x: mx.nd.random_uniform(shape=(2 ** 40, 2 ** 40)), "shape"),
    (lambda x: mx.nd.zeros((2,), ctx=mx.gpu(7)), "gpu(7)"),
])
def test_op_misuse_is_an_error_naming_the_problem(call, says):
    x = mx.nd.ones((2, 3))
    with pytest.raises((MXNetError, TypeError)) as err:
        call(x)
        mx.nd.waitall()
    assert says in str(err.value), str(err.value)
    still_works()


# ---------------------------------------------------------------- freed handles

FREED_HANDLE_SCRIPT = r"""
import ctypes
import mx
LIB = mx.base.LIB


def attempt(label, fn):
    try:
        fn()
        print(label + ": NO ERROR")
    except mx.MXNetError as e:
        print("%s: %s %s" % (label, getattr(e, "code", "?"), e))


a = mx.nd.ones((2, 2))
h = a.handle
mx.base.check_call(LIB.mx_ndarray_free(h))  # freed on purpose, behind the NDArray's back
attempt("USE", a.asnumpy)
attempt("DOUBLE FREE", lambda: mx.base.check_call(LIB.mx_ndarray_free(h)))
attempt("OP", lambda: mx.nd.relu(a))
a.handle = None
s = mx.sym.Variable("x")
hs = s.handle
mx.base.check_call(LIB.mx_symbol_free(hs))
attempt("SYMBOL", s.list_arguments)
s.handle = None
b = mx.nd.array([[1, 2], [3, 4]])
attempt("WRONG KIND", lambda: mx.sym.Symbol(b.handle).list_arguments())  # an array where a symbol belongs
print("AFTER: %s" % (b * b).asnumpy().sum())
"""


def test_using_a_freed_handle_is_an_error_naming_the_handle():
    # In a child process: without the C API's handle table this is a use-after-free that may crash.
    env = dict(os.environ, PYTHONPATH=os.path.join(HERE, "..", "..", "bindings", "python"))
    run = subprocess.run([sys.executable, "-c", FREED_HANDLE_SCRIPT], capture_output=True, text=True, env=env,
                         timeout=120)
    assert run.returncode == 0, "child died (rc %d): %s %s" % (run.returncode, run.stdout, run.stderr)
    lines = dict(line.split(": ", 1) for line in run.stdout.splitlines() if ": " in line)
    for label in ["USE", "DOUBLE FREE", "OP", "SYMBOL", "WRONG KIND"]:
        code, _, msg = lines.get(label, "NO ERROR").partition(" ")
        assert code == "8" and "handle" in msg, "%s: %s" % (label, run.stdout)  # MX_ERR_INVALID_HANDLE
    assert float(lines["AFTER"]) == 30.0


# ---------------------------------------------------------------- bad files

def test_bad_params_files_are_errors_naming_the_file(tmp_path):
    good = str(tmp_path / "good.params")
    arrays = {"w": mx.nd.array(np.arange(6, dtype=np.float32).reshape(2, 3)), "b": mx.nd.array([1, 2], dtype=np.int32)}
    mx.nd.save(good, arrays)
    blob = open(good, "rb").read()
    bad = str(tmp_path / "bad.params")
    with pytest.raises(MXNetError, match="missing.params"):
        mx.nd.load(str(tmp_path / "missing.params"))
    for cut in range(len(blob)):  # every truncation
        open(bad, "wb").write(blob[:cut])
        with pytest.raises(MXNetError, match="bad.params"):
            mx.nd.load(bad)
    rs = np.random.RandomState(0)
    for _ in range(200):  # random corruption: an error or arrays, never a crash
        b = bytearray(blob)
        for i in rs.randint(0, len(b), size=3):
            b[i] = rs.randint(0, 256)
        open(bad, "wb").write(bytes(b))
        try:
            mx.nd.load(bad)
        except MXNetError as e:
            assert "bad.params" in str(e)
    back = mx.nd.load(good)
    for k, v in arrays.items():
        np.testing.assert_array_equal(back[k].asnumpy(), v.asnumpy())
    still_works()


def test_bad_symbol_files_are_errors_naming_the_file(tmp_path):
    net = mx.sym.FullyConnected(mx.sym.Variable("data"), num_hidden=3, name="fc")
    good = str(tmp_path / "net.json")
    net.save(good)
    text = open(good).read()
    bad = str(tmp_path / "bad.json")
    for cut in range(0, len(text), max(1, len(text) // 60)):
        open(bad, "w").write(text[:cut])
        with pytest.raises(MXNetError, match="bad.json"):
            mx.sym.load(bad)
    for broken in ['{"nodes": [{"op": "relu", "inputs": [[5, 0, 0]]}], "heads": [[0, 0, 0]]}',
                   '{"nodes": [], "heads": [[3, 0, 0]]}', '[1, 2]', '\x00\x01']:
        open(bad, "w").write(broken)
        with pytest.raises(MXNetError, match="bad.json"):
            mx.sym.load(bad)
    with pytest.raises(MXNetError, match="missing.json"):
        mx.sym.load(str(tmp_path / "missing.json"))
    back = mx.sym.load(good)
    assert back.list_arguments() == ["data", "fc_weight", "fc_bias"]
    still_works()
