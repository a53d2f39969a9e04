"""libmx_example_ops.so through mx.library.load: gelu and rms_norm against numpy (float64
references written here), gradients against central finite differences and the analytic
formulas, gelu's second order, the ops in a symbol (JSON round trip, simple_bind), and the host
refusing broken libraries (loaded twice, another extension ABI major, an op called "relu").

Run by scripts/test-installed.sh with
  MX_LIBRARY_PATH=<prefix>/lib PYTHONPATH=<src>/bindings/python \
  MX_EXAMPLE_OPS=<build dir>/libmx_example_ops.so /usr/bin/python3 -m pytest -q <this file>
The refused libraries (tests/fixtures/*.c) are built by the same CMake project, next to the .so.
"""
import math
import os
import re
import subprocess

import numpy as np
import pytest

import mx

LIB_PATH = os.environ.get("MX_EXAMPLE_OPS", "")
BUILD_DIR = os.path.dirname(os.path.abspath(LIB_PATH))


def fixture_path(name):
    path = os.path.join(BUILD_DIR, "libext_fixture_%s.so" % name)
    assert os.path.exists(path), "%s is missing: build plugins/example_ops with its test fixtures" % path
    return path


@pytest.fixture(scope="module", autouse=True)
def example_ops():
    """Loads the library once for every test here (a library stays loaded until exit)."""
    assert os.path.isfile(LIB_PATH), "set MX_EXAMPLE_OPS to the built libmx_example_ops.so (got %r)" % LIB_PATH
    if os.path.abspath(LIB_PATH) not in mx.library.loaded_libraries():
        assert mx.library.load(LIB_PATH) == ["gelu", "rms_norm", "_backward_rms_norm_data", "_backward_rms_norm_gamma"]
    return LIB_PATH


RNG = np.random.default_rng(15)


# ---------------------------------------------------------------- float64 references

def gelu_ref(x, approximate):
    if approximate:
        return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
    return 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))


def gelu_grad_ref(x, approximate):
    if approximate:
        c, a = math.sqrt(2 / math.pi), 0.044715
        t = np.tanh(c * (x + a * x ** 3))
        return 0.5 * (1 + t) + 0.5 * x * (1 - t ** 2) * c * (1 + 3 * a * x ** 2)
    pdf = np.exp(-x ** 2 / 2) / math.sqrt(2 * math.pi)
    return 0.5 * (1 + np.vectorize(math.erf)(x / math.sqrt(2))) + x * pdf


def spread(v, ndim, axis):
    """A 1-d array shaped to broadcast along `axis` of an ndim array."""
    shape = [1] * ndim
    shape[axis] = -1
    return v.reshape(shape)


def rms_norm_ref(x, gamma, axis, eps):
    r = 1 / np.sqrt(np.mean(x ** 2, axis=axis, keepdims=True) + eps)
    return x * r * spread(gamma, x.ndim, axis)


def rms_norm_grads_ref(x, gamma, og, axis, eps):
    """(d data, d gamma) of sum(og * rms_norm(x, gamma)), by the analytic formula."""
    n = x.shape[axis]
    r = 1 / np.sqrt(np.mean(x ** 2, axis=axis, keepdims=True) + eps)
    gg = og * spread(gamma, x.ndim, axis)
    dx = r * gg - r ** 3 / n * x * np.sum(gg * x, axis=axis, keepdims=True)
    others = tuple(d for d in range(x.ndim) if d != axis % x.ndim)
    return dx, np.sum(og * x * r, axis=others)


def central_differences(f, x, h=1e-6):
    """d f / d x of a scalar f of a float64 array, one element at a time."""
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[i] += h
        xm[i] -= h
        g[i] = (f(xp) - f(xm)) / (2 * h)
    return g


def nd64(a):
    return mx.nd.array(a, dtype=np.float64)


def test_the_ops_are_registered_with_their_schemas():
    names = mx._ops.op_names()
    for op in ("gelu", "rms_norm", "_backward_rms_norm_data", "_backward_rms_norm_gamma"):
        assert op in names
    gelu, rms = mx._ops.op_info("gelu"), mx._ops.op_info("rms_norm")
    assert gelu["inputs"] == ["data"] and [p[0] for p in gelu["params"]] == ["approximate"]
    assert rms["inputs"] == ["data", "gamma"] and [p[0] for p in rms["params"]] == ["axis", "eps"]
    assert gelu["has_gradient"] and rms["has_gradient"]
    assert not mx._ops.op_info("_backward_rms_norm_data")["has_gradient"]
    assert not mx._ops.op_info("_backward_rms_norm_gamma")["has_gradient"]


# ---------------------------------------------------------------- forward

@pytest.mark.parametrize("dtype,tol", [(np.float32, 2e-6), (np.float64, 1e-14)])
@pytest.mark.parametrize("approximate", [False, True])
def test_gelu_forward_matches_numpy(approximate, dtype, tol):
    x = RNG.normal(scale=3, size=(5, 67)).astype(dtype)
    x[0, :4] = [0, -0.0, 8, -8]
    y = mx.nd.gelu(mx.nd.array(x, dtype=dtype), approximate=approximate)
    assert y.dtype == dtype and y.shape == x.shape
    np.testing.assert_allclose(y.asnumpy(), gelu_ref(x.astype(np.float64), approximate), rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype,rtol", [(np.float32, 1e-6), (np.float64, 1e-12)])
@pytest.mark.parametrize("approximate", [False, True])
def test_gelu_keeps_relative_accuracy_in_the_negative_tail(approximate, dtype, rtol):
    """x Phi(x) for x << 0 is tiny: 1 + erf(x / sqrt 2) there would cancel to nothing."""
    x = np.linspace(-12, -3, 301).astype(dtype)
    xd = x.astype(np.float64)
    if approximate:
        ref = xd / (1 + np.exp(-2 * math.sqrt(2 / math.pi) * (xd + 0.044715 * xd ** 3)))
    else:
        ref = xd * 0.5 * np.vectorize(math.erfc)(-xd / math.sqrt(2))
    keep = np.abs(ref) > np.finfo(dtype).tiny  # what the dtype can hold as a normal number
    y = mx.nd.gelu(mx.nd.array(x, dtype=dtype), approximate=approximate).asnumpy()
    np.testing.assert_allclose(y[keep], ref[keep], rtol=rtol, atol=0)


def test_gelu_default_is_the_erf_form():
    x = np.linspace(-3, 3, 13)
    np.testing.assert_allclose(mx.nd.gelu(nd64(x)).asnumpy(), gelu_ref(x, False), rtol=1e-14, atol=1e-15)
    assert np.abs(gelu_ref(x, False) - gelu_ref(x, True)).max() > 1e-4  # the two forms are told apart


RMS_CASES = [((4, 7), -1), ((3, 4, 5), 1), ((3, 4, 5), 0), ((2, 3, 300), 1), ((6,), 0)]


@pytest.mark.parametrize("dtype,tol", [(np.float32, 3e-6), (np.float64, 1e-13)])
@pytest.mark.parametrize("shape,axis", RMS_CASES)
def test_rms_norm_forward_matches_numpy(shape, axis, dtype, tol):
    x = RNG.normal(size=shape).astype(dtype)
    gamma = RNG.normal(size=shape[axis]).astype(dtype)
    y = mx.nd.rms_norm(mx.nd.array(x, dtype=dtype), mx.nd.array(gamma, dtype=dtype), axis=axis, eps=1e-5)
    assert y.dtype == dtype and y.shape == shape
    ref = rms_norm_ref(x.astype(np.float64), gamma.astype(np.float64), axis, 1e-5)
    np.testing.assert_allclose(y.asnumpy(), ref, rtol=tol, atol=tol)


def test_rms_norm_defaults_are_last_axis_and_eps_1e_6():
    x = RNG.normal(scale=1e-3, size=(3, 5))  # small enough that eps shows
    gamma = RNG.normal(size=5)
    y = mx.nd.rms_norm(nd64(x), nd64(gamma)).asnumpy()
    np.testing.assert_allclose(y, rms_norm_ref(x, gamma, -1, 1e-6), rtol=1e-12)
    assert not np.allclose(y, rms_norm_ref(x, gamma, -1, 1e-5), rtol=1e-3)


# ---------------------------------------------------------------- gradients

def autograd_grads(f, *arrays):
    """Gradients of sum(f(*arrays) * w) for a fixed random w, with w itself."""
    xs = [nd64(a) for a in arrays]
    for x in xs:
        x.attach_grad()
    with mx.autograd.record():
        y = f(*xs)
    w = RNG.normal(size=y.shape)
    y.backward(nd64(w))
    return [x.grad.asnumpy() for x in xs], w


@pytest.mark.parametrize("approximate", [False, True])
def test_gelu_gradient_matches_finite_differences_and_formula(approximate):
    x = RNG.normal(scale=2, size=(3, 8))
    (dx,), w = autograd_grads(lambda a: mx.nd.gelu(a, approximate=approximate), x)
    fd = central_differences(lambda v: float((mx.nd.gelu(nd64(v), approximate=approximate).asnumpy() * w).sum()), x)
    np.testing.assert_allclose(dx, fd, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(dx, w * gelu_grad_ref(x, approximate), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("approximate", [False, True])
def test_gelu_second_order_matches_finite_differences_of_the_first(approximate):
    x = RNG.normal(scale=2, size=(17,))

    def first(v):
        a = nd64(v)
        a.attach_grad()
        with mx.autograd.record():
            y = mx.nd.gelu(a, approximate=approximate)
        y.backward(mx.nd.ones_like(y))
        return a.grad.asnumpy()

    a = nd64(x)
    a.attach_grad()
    with mx.autograd.record():
        y = mx.nd.gelu(a, approximate=approximate)
        g = mx.autograd.grad(y, a, head_grads=mx.nd.ones_like(y), create_graph=True)
        z = g.sum()
    z.backward()
    h = 1e-5  # gelu is elementwise: perturbing every element at once gives the diagonal
    fd = (first(x + h) - first(x - h)) / (2 * h)
    np.testing.assert_allclose(g.asnumpy(), gelu_grad_ref(x, approximate), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(a.grad.asnumpy(), fd, rtol=1e-6, atol=1e-8)
    if not approximate:  # d2/dx2 x Phi(x) = phi(x) (2 - x^2)
        np.testing.assert_allclose(a.grad.asnumpy(), np.exp(-x ** 2 / 2) / math.sqrt(2 * math.pi) * (2 - x ** 2),
                                   rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("shape,axis", [((3, 5), -1), ((2, 4, 3), 1), ((4, 3), 0)])
def test_rms_norm_gradients_match_finite_differences_and_formula(shape, axis):
    x = RNG.normal(size=shape)
    gamma = RNG.normal(size=shape[axis])
    eps = 1e-3
    f = lambda a, b: mx.nd.rms_norm(a, b, axis=axis, eps=eps)
    (dx, dgamma), w = autograd_grads(f, x, gamma)
    loss = lambda a, b: float((f(nd64(a), nd64(b)).asnumpy() * w).sum())
    np.testing.assert_allclose(dx, central_differences(lambda v: loss(v, gamma), x), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(dgamma, central_differences(lambda v: loss(x, v), gamma), rtol=1e-6, atol=1e-8)
    rx, rg = rms_norm_grads_ref(x, gamma, w, axis, eps)
    np.testing.assert_allclose(dx, rx, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(dgamma, rg, rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize("shape,axis", [((16, 1000), -1), ((2, 3, 300), 1)])
def test_rms_norm_float32_gradients_on_long_rows_and_wide_columns(shape, axis):
    """The row loop and the chunked column loop (300 columns: a 256 and a 44 block) in float32."""
    x = RNG.normal(size=shape).astype(np.float32)
    gamma = RNG.normal(size=shape[axis]).astype(np.float32)
    og = RNG.normal(size=shape).astype(np.float32)
    a, b = mx.nd.array(x), mx.nd.array(gamma)
    a.attach_grad()
    b.attach_grad()
    with mx.autograd.record():
        y = mx.nd.rms_norm(a, b, axis=axis)
    y.backward(mx.nd.array(og))
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float32
    rx, rg = rms_norm_grads_ref(x.astype(np.float64), gamma.astype(np.float64), og.astype(np.float64), axis, 1e-6)
    np.testing.assert_allclose(a.grad.asnumpy(), rx, rtol=2e-4, atol=2e-5)
    np.testing.assert_allclose(b.grad.asnumpy(), rg, rtol=2e-4, atol=2e-4)


# ---------------------------------------------------------------- symbols

def test_symbol_json_round_trip_and_simple_bind_equal_the_imperative_results():
    data, gamma = mx.sym.var("data"), mx.sym.var("gamma")
    net = mx.sym.gelu(mx.sym.rms_norm(data, gamma, axis=1, eps=1e-4), approximate=True)
    js = net.tojson()
    assert "rms_norm" in js and "gelu" in js
    net2 = mx.sym.load_json(js)
    assert net2.tojson() == js
    assert net2.list_arguments() == ["data", "gamma"]

    x, g, og = RNG.normal(size=(3, 4, 5)), RNG.normal(size=4), RNG.normal(size=(3, 4, 5))
    exe = net2.simple_bind(ctx=mx.cpu(), data=x.shape, gamma=g.shape,
                           type_dict={"data": np.float64, "gamma": np.float64})
    exe.forward(is_train=True, data=nd64(x), gamma=nd64(g))
    exe.backward(nd64(og))

    a, b = nd64(x), nd64(g)
    a.attach_grad()
    b.attach_grad()
    with mx.autograd.record():
        y = mx.nd.gelu(mx.nd.rms_norm(a, b, axis=1, eps=1e-4), approximate=True)
    y.backward(nd64(og))
    np.testing.assert_allclose(y.asnumpy(), gelu_ref(rms_norm_ref(x, g, 1, 1e-4), True), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(exe.outputs[0].asnumpy(), y.asnumpy(), rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(exe.grad_dict["data"].asnumpy(), a.grad.asnumpy(), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(exe.grad_dict["gamma"].asnumpy(), b.grad.asnumpy(), rtol=1e-13, atol=1e-15)


# ---------------------------------------------------------------- errors from the ops

def test_gamma_of_the_wrong_length_names_the_op_and_the_shapes():
    with pytest.raises(mx.MXNetError) as e:
        mx.nd.rms_norm(mx.nd.ones((2, 3, 4)), mx.nd.ones((5,))).asnumpy()
    msg = str(e.value)
    assert "rms_norm" in msg and "(5,)" in msg and "(2,3,4)" in msg.replace(" ", ""), msg
    assert e.value.code == 2  # shape mismatch


def test_axis_out_of_range_and_mixed_dtypes_are_refused():
    with pytest.raises(mx.MXNetError, match=r"rms_norm.*axis 2"):
        mx.nd.rms_norm(mx.nd.ones((2, 3)), mx.nd.ones((3,)), axis=2).asnumpy()
    with pytest.raises(mx.MXNetError, match=r"rms_norm.*float64.*float32"):
        mx.nd.rms_norm(mx.nd.ones((2, 3)), mx.nd.ones((3,), dtype=np.float64)).asnumpy()


@pytest.mark.parametrize("op,dtype", [("gelu", np.float16), ("gelu", np.int32), ("rms_norm", np.float16)])
def test_other_dtypes_fail_naming_the_op_and_the_dtype(op, dtype):
    x = mx.nd.ones((2, 3), dtype=dtype)
    with pytest.raises(mx.MXNetError) as e:
        (mx.nd.gelu(x) if op == "gelu" else mx.nd.rms_norm(x, mx.nd.ones((3,), dtype=dtype))).asnumpy()
    msg = str(e.value)
    assert op in msg and np.dtype(dtype).name in msg, msg


# ---------------------------------------------------------------- the library as a whole

def test_the_library_exports_only_its_entry_point():
    out = subprocess.run(["nm", "-D", "--defined-only", LIB_PATH], capture_output=True, text=True, check=True).stdout
    assert [line.split()[-1] for line in out.splitlines() if line.strip()] == ["mx_ext_init"], out


def test_loading_the_same_library_twice_is_a_clear_error():
    with pytest.raises(mx.MXNetError) as e:
        mx.library.load(LIB_PATH)
    msg = str(e.value)
    assert "already" in msg and "libmx_example_ops.so" in msg, msg
    assert mx.nd.gelu(nd64([1.0])).asnumpy()[0] == pytest.approx(gelu_ref(np.array([1.0]), False)[0], rel=1e-14)


def test_a_library_for_another_abi_major_is_refused_naming_both_versions():
    with pytest.raises(mx.MXNetError) as e:
        mx.library.load(fixture_path("wrong_abi"))
    msg = str(e.value)
    assert re.search(r"\b2\.0\b", msg) and re.search(r"\b%d\.\d+\b" % 1, msg), msg  # the fixture's, mx's
    assert e.value.code == 4  # unsupported
    assert "future_abi_op" not in mx._ops.op_names() and not hasattr(mx.nd, "future_abi_op")


def test_a_library_reusing_a_builtin_name_is_refused_and_registers_nothing():
    with pytest.raises(mx.MXNetError) as e:
        mx.library.load(fixture_path("clashing_name"))
    assert "relu" in str(e.value) and e.value.code == 1, str(e.value)  # invalid argument
    assert "fixture_copy" not in mx._ops.op_names()
    assert not hasattr(mx.nd, "fixture_copy") and not hasattr(mx.sym, "fixture_copy")
    # relu is still mx's own (the fixture's "relu" would copy -1 through)
    np.testing.assert_array_equal(mx.nd.relu(mx.nd.array([-1.0, 2.0])).asnumpy(), [0.0, 2.0])
