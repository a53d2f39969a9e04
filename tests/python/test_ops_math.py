# The math and creation ops from Python: MXNet's functional aliases (mx.nd.subtract … hypot, with
# arrays or scalars on either side), the creation functions (ones zeros full empty arange linspace
# eye diag from_numpy, ones_like / zeros_like) with out=, ctx= and dtype=, the symbol forms, and a
# few elementwise math ops against numpy.
import math

import numpy as np
import pytest

import mx


def rand(*shape, lo=-2.0, hi=2.0):
    return np.random.RandomState(sum(shape) + 7).uniform(lo, hi, shape).astype(np.float32)


# name -> (numpy function, array-array uses broadcasting)
FUNCTIONAL = {
    "subtract": np.subtract, "multiply": np.multiply, "divide": np.divide, "modulo": np.mod,
    "maximum": np.maximum, "minimum": np.minimum, "equal": np.equal, "not_equal": np.not_equal,
    "greater": np.greater, "greater_equal": np.greater_equal, "lesser": np.less, "lesser_equal": np.less_equal,
    "logical_and": np.logical_and, "logical_or": np.logical_or, "logical_xor": np.logical_xor, "hypot": np.hypot,
}


@pytest.mark.parametrize("name", sorted(FUNCTIONAL))
def test_functional_alias_on_arrays_and_scalars(name):
    f, ref = getattr(mx.nd, name), FUNCTIONAL[name]
    a, b = rand(3, 4), rand(1, 4) + 0.5
    b[0, 1] = a[0, 1]  # one tie for the comparisons
    expect = lambda v: np.asarray(v, dtype=np.float32)  # noqa: E731
    np.testing.assert_allclose(f(mx.nd.array(a), mx.nd.array(b)).asnumpy(), expect(ref(a, b)), rtol=1e-6, atol=1e-6)
    s = 0.75
    np.testing.assert_allclose(f(mx.nd.array(a), s).asnumpy(), expect(ref(a, np.float32(s))), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(f(s, mx.nd.array(b)).asnumpy(), expect(ref(np.float32(s), b)), rtol=1e-6, atol=1e-6)
    both = f(3, 2)
    assert not isinstance(both, mx.nd.NDArray)
    assert both == pytest.approx(float(ref(3, 2)))


def test_power_and_pow_on_either_side():
    a = rand(2, 3, lo=0.5, hi=2.0)
    x = mx.nd.array(a)
    for f in (mx.nd.power, mx.nd.pow):
        np.testing.assert_allclose(f(x, 2.5).asnumpy(), a ** 2.5, rtol=1e-5)
        np.testing.assert_allclose(f(2.5, x).asnumpy(), 2.5 ** a, rtol=1e-5)
        np.testing.assert_allclose(f(x, mx.nd.array(a[:1])).asnumpy(), a ** a[:1], rtol=1e-5)
        assert f(2, 10) == 1024
    with pytest.raises(TypeError):
        mx.nd.subtract("a", x)


def test_hypot_broadcasts_and_hypot_op():
    a, b = rand(3, 4), rand(3, 1)
    np.testing.assert_allclose(mx.nd.hypot(mx.nd.array(a), mx.nd.array(b)).asnumpy(), np.hypot(a, b), rtol=1e-6)
    np.testing.assert_allclose(mx.nd._hypot(mx.nd.array(a), mx.nd.array(a)).asnumpy(), np.hypot(a, a), rtol=1e-6)
    assert mx.nd.hypot(3, 4) == 5


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "float16"])
def test_creation_functions_match_numpy(dtype):
    checks = [
        (mx.nd.zeros((2, 3), dtype=dtype), np.zeros((2, 3), dtype)),
        (mx.nd.ones(4, dtype=dtype), np.ones(4, dtype)),
        (mx.nd.full((2, 2), 7, dtype=dtype), np.full((2, 2), 7, dtype)),
        (mx.nd.arange(2, 11, 3, dtype=dtype), np.arange(2, 11, 3).astype(dtype)),
        (mx.nd.arange(5, dtype=dtype), np.arange(5).astype(dtype)),
        (mx.nd.linspace(0, 8, 5, dtype=dtype), np.linspace(0, 8, 5).astype(dtype)),
        (mx.nd.linspace(0, 8, 4, endpoint=False, dtype=dtype), np.linspace(0, 8, 4, endpoint=False).astype(dtype)),
        (mx.nd.eye(3, 4, 1, dtype=dtype), np.eye(3, 4, 1, dtype=dtype)),
        (mx.nd.eye(3, k=-1, dtype=dtype), np.eye(3, k=-1, dtype=dtype)),
    ]
    for got, want in checks:
        assert got.dtype == np.dtype(dtype), (got.dtype, dtype)
        assert got.shape == want.shape
        np.testing.assert_array_equal(got.asnumpy(), want)
    assert mx.nd.empty((2, 5), dtype=dtype).dtype == np.dtype(dtype)


def test_creation_defaults_ctx_and_out():
    assert mx.nd.zeros((2,)).dtype == np.float32 and mx.nd.zeros((2,), dtype=None).dtype == np.float32
    assert mx.nd.empty((2,), dtype=None).dtype == np.float32
    x = mx.nd.arange(3, ctx=mx.cpu(0))
    assert x.context == mx.cpu(0)
    for make, want in [
        (lambda o: mx.nd.zeros((2, 3), out=o), np.zeros((2, 3))),
        (lambda o: mx.nd.ones((2, 3), out=o), np.ones((2, 3))),
        (lambda o: mx.nd.full((2, 3), -1.5, out=o), np.full((2, 3), -1.5)),
    ]:
        o = mx.nd.array(np.full((2, 3), 9.0))
        assert make(o) is o
        np.testing.assert_array_equal(o.asnumpy(), want)
    o = mx.nd.empty((6,))
    assert mx.nd.arange(0, 3, 0.5, out=o) is o
    np.testing.assert_array_equal(o.asnumpy(), np.arange(0, 3, 0.5))
    o = mx.nd.empty((3, 3))
    mx.nd.eye(3, out=o)
    np.testing.assert_array_equal(o.asnumpy(), np.eye(3))
    o = mx.nd.empty((4,), dtype="float64")
    mx.nd.linspace(-1, 1, 4, out=o, dtype="float64")
    np.testing.assert_allclose(o.asnumpy(), np.linspace(-1, 1, 4))


def test_arange_count_rounding_and_repeat():
    # MXNet: ceil((stop - start) / step) values, each repeated
    np.testing.assert_allclose(mx.nd.arange(0, 1, 0.3).asnumpy(), [0, 0.3, 0.6, 0.9], rtol=1e-6)
    np.testing.assert_array_equal(mx.nd.arange(3, 0, -1, repeat=2).asnumpy(), [3, 3, 2, 2, 1, 1])
    np.testing.assert_array_equal(mx.nd.arange(1.5, 4).asnumpy(), [1.5, 2.5, 3.5])
    with pytest.raises(mx.base.MXNetError):
        mx.nd.arange(0, 4, 0)


def test_diag_builds_and_extracts_with_gradient():
    v = rand(3)
    m = rand(3, 4)
    np.testing.assert_array_equal(mx.nd.diag(mx.nd.array(v)).asnumpy(), np.diag(v))
    np.testing.assert_array_equal(mx.nd.diag(mx.nd.array(v), k=1).asnumpy(), np.diag(v, 1))
    np.testing.assert_array_equal(mx.nd.diag(mx.nd.array(m), k=-1).asnumpy(), np.diag(m, -1))
    t = rand(2, 3, 4)
    np.testing.assert_array_equal(mx.nd.diag(mx.nd.array(t), k=1, axis1=1, axis2=2).asnumpy(),
                                  np.diagonal(t, 1, 1, 2))
    x = mx.nd.array(m)
    x.attach_grad()
    with mx.autograd.record():
        y = mx.nd.diag(x, k=1)
    y.backward(mx.nd.array(np.array([1.0, 2.0, 3.0], np.float32)))
    want = np.zeros((3, 4), np.float32)
    want[0, 1], want[1, 2], want[2, 3] = 1, 2, 3
    np.testing.assert_array_equal(x.grad.asnumpy(), want)


def test_from_numpy_copies_or_shares():
    a = np.arange(6, dtype=np.float64).reshape(2, 3)
    c = mx.nd.from_numpy(a, zero_copy=False)
    assert c.dtype == np.float64
    a[0, 0] = 100
    assert c.asnumpy()[0, 0] == 0
    b = np.arange(4, dtype=np.int32)
    s = mx.nd.from_numpy(b)
    assert s.dtype == np.int32 and not b.flags["WRITEABLE"]
    np.testing.assert_array_equal(s.asnumpy(), b)
    with pytest.raises(mx.base.MXNetError):
        mx.nd.from_numpy(np.arange(8.0).reshape(2, 4)[:, ::2])


def test_zeros_like_ones_like_in_nd_and_sym():
    a = rand(2, 3).astype(np.float64)
    assert mx.nd.zeros_like(mx.nd.array(a, dtype="float64")).dtype == np.float64
    np.testing.assert_array_equal(mx.nd.ones_like(mx.nd.array(a)).asnumpy(), np.ones((2, 3)))
    data = mx.sym.Variable("data")
    for sym, want in [(mx.sym.zeros_like(data), np.zeros((2, 3))), (mx.sym.ones_like(data), np.ones((2, 3)))]:
        ex = sym.simple_bind(mx.cpu(), data=(2, 3))
        np.testing.assert_array_equal(ex.forward(data=mx.nd.array(a))[0].asnumpy(), want)


def _eval(sym, **inputs):
    ex = sym.simple_bind(mx.cpu(), **{k: v.shape for k, v in inputs.items()})
    return ex.forward(**{k: mx.nd.array(v) for k, v in inputs.items()})[0].asnumpy()


def test_symbol_creation_and_functional_ops():
    a, b = rand(2, 3, lo=0.5, hi=2), rand(2, 3, lo=0.5, hi=2)
    x, y = mx.sym.Variable("x"), mx.sym.Variable("y")
    np.testing.assert_allclose(_eval(mx.sym.pow(x, y), x=a, y=b), a ** b, rtol=1e-5)
    np.testing.assert_allclose(_eval(mx.sym.power(x, 2), x=a), a ** 2, rtol=1e-5)
    np.testing.assert_allclose(_eval(mx.sym.power(2, x), x=a), 2 ** a, rtol=1e-5)
    np.testing.assert_allclose(_eval(mx.sym.maximum(x, 1.0), x=a), np.maximum(a, 1), rtol=1e-6)
    np.testing.assert_allclose(_eval(mx.sym.minimum(1.0, x), x=a), np.minimum(a, 1), rtol=1e-6)
    np.testing.assert_allclose(_eval(mx.sym.maximum(x, y), x=a, y=b), np.maximum(a, b), rtol=1e-6)
    np.testing.assert_allclose(_eval(mx.sym.hypot(x, y), x=a, y=b), np.hypot(a, b), rtol=1e-6)
    np.testing.assert_allclose(_eval(mx.sym.hypot(x, 2), x=a), np.hypot(a, 2), rtol=1e-6)
    assert mx.sym.pow(2, 3) == 8 and mx.sym.hypot(3, 4) == 5
    made = {"arange": (mx.sym.arange(1, 4, 0.5), np.arange(1, 4, 0.5)),
            "linspace": (mx.sym.linspace(0, 1, 3), np.linspace(0, 1, 3)),
            "eye": (mx.sym.eye(2, 3, 1), np.eye(2, 3, 1)),
            "zeros": (mx.sym.zeros((2, 2)), np.zeros((2, 2))),
            "ones": (mx.sym.ones((3,), dtype="float64"), np.ones(3)),
            "full": (mx.sym.full((2,), 4.5), np.full(2, 4.5))}
    for name, (sym, want) in made.items():
        ex = sym.simple_bind(mx.cpu())
        np.testing.assert_allclose(ex.forward()[0].asnumpy(), want, rtol=1e-6, err_msg=name)


UNARY = {
    "tan": (np.tan, -1.2, 1.2), "arcsin": (np.arcsin, -0.9, 0.9), "arccos": (np.arccos, -0.9, 0.9),
    "arctan": (np.arctan, -3, 3), "sinh": (np.sinh, -2, 2), "cosh": (np.cosh, -2, 2), "arcsinh": (np.arcsinh, -2, 2),
    "arccosh": (np.arccosh, 1.1, 3), "arctanh": (np.arctanh, -0.9, 0.9), "log10": (np.log10, 0.1, 5),
    "log2": (np.log2, 0.1, 5), "cbrt": (np.cbrt, -3, 3), "rcbrt": (lambda v: 1 / np.cbrt(v), 0.2, 3),
    "gamma": (np.vectorize(math.gamma), 0.2, 4), "gammaln": (np.vectorize(math.lgamma), 0.2, 4),
    "degrees": (np.degrees, -3, 3), "radians": (np.radians, -180, 180), "fix": (np.fix, -3, 3),
    "trunc": (np.trunc, -3, 3), "erfinv": (None, -0.9, 0.9),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_math_against_numpy(name):
    ref, lo, hi = UNARY[name]
    a = rand(4, 5, lo=lo, hi=hi).astype(np.float64)
    got = getattr(mx.nd, name)(mx.nd.array(a, dtype="float64")).asnumpy()
    if ref is None:  # erfinv: erf of the result gives the input back
        np.testing.assert_allclose(np.vectorize(math.erf)(got), a, rtol=1e-12, atol=1e-14)
    else:
        np.testing.assert_allclose(got, ref(a), rtol=1e-12, atol=1e-14)


def test_rint_logical_not_and_contrib_tests():
    a = np.array([-2.5, -1.5, -0.4, 0.5, 1.5, 2.6], np.float32)
    np.testing.assert_array_equal(mx.nd.rint(mx.nd.array(a)).asnumpy(), [-3, -2, 0, 0, 1, 3])  # halves go down
    i = np.array([0, 3, -2, 0], np.int32)
    out = mx.nd.logical_not(mx.nd.array(i, dtype="int32"))
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out.asnumpy(), [1, 0, 0, 1])
    s = np.array([1, np.inf, -np.inf, np.nan, 0], np.float32)
    x = mx.nd.array(s)
    np.testing.assert_array_equal(mx.nd._contrib_isinf(x).asnumpy(), np.isinf(s))
    np.testing.assert_array_equal(mx.nd._contrib_isnan(x).asnumpy(), np.isnan(s))
    np.testing.assert_array_equal(mx.nd._contrib_isfinite(x).asnumpy(), np.isfinite(s))
    assert mx.nd.all_finite(x).asnumpy().tolist() == [0.0]
    assert mx.nd.multi_all_finite(mx.nd.array(a), mx.nd.array(a), num_arrays=2).asnumpy().tolist() == [1.0]


def test_softmin_nanprod_and_amp_cast():
    a = rand(3, 5)
    e = np.exp(-a / 2.0)
    np.testing.assert_allclose(mx.nd.softmin(mx.nd.array(a), temperature=2.0).asnumpy(),
                               e / e.sum(-1, keepdims=True), rtol=1e-5)
    n = rand(2, 3, 4)
    n[0, 1, 2] = np.nan
    np.testing.assert_allclose(mx.nd.nanprod(mx.nd.array(n), axis=1).asnumpy(), np.nanprod(n, axis=1), rtol=1e-5)
    h = mx.nd.amp_cast(mx.nd.array(a), dtype="float16")
    assert h.dtype == np.float16
    np.testing.assert_array_equal(h.asnumpy(), a.astype(np.float16))
    outs = mx.nd.amp_multicast(h, mx.nd.array(a), num_outputs=2)
    assert [o.dtype for o in outs] == [np.float32, np.float32]
