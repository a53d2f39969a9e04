"""log_sigmoid, mish and argmax_channel as MXNet 1.9.1 has them: mx.nd / mx.sym functions and
fluent methods. References are numpy's, in float64, written from MXNet's documented formulas;
gradients against numpy's formulas of the derivatives and central finite differences."""
import numpy as np
import pytest

import mx

X = np.array([[-3.5, -1.25, -0.3, 0.0], [0.4, 1.5, 2.75, 6.0]])


def log_sigmoid_np(x):
    return np.log(1 / (1 + np.exp(-x)))


def mish_np(x):
    return x * np.tanh(np.log(1 + np.exp(x)))


@pytest.mark.parametrize("name,ref", [("log_sigmoid", log_sigmoid_np), ("mish", mish_np)])
def test_nd_sym_and_fluent_forms_match_numpy(name, ref):
    x = mx.nd.array(X, dtype="float64")
    want = ref(X)
    np.testing.assert_allclose(getattr(mx.nd, name)(x).asnumpy(), want, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(getattr(x, name)().asnumpy(), want, rtol=1e-12, atol=1e-15)
    s = mx.sym.Variable("x")
    for sym in (getattr(mx.sym, name)(s), getattr(s, name)()):
        out = sym.eval(x=mx.nd.array(X, dtype="float32"))[0].asnumpy()
        np.testing.assert_allclose(out, ref(X.astype(np.float32).astype(np.float64)), rtol=2e-6, atol=2e-6)


@pytest.mark.parametrize("name,ref", [("log_sigmoid", log_sigmoid_np), ("mish", mish_np)])
def test_large_inputs_stay_finite_in_float32(name, ref):
    # e^|x| overflows float32 past |x| = 88; numpy's float64 holds it up to 709
    big = np.array([-600.0, -120.0, -90.0, 90.0, 120.0, 600.0])
    out = getattr(mx.nd, name)(mx.nd.array(big, dtype="float32")).asnumpy()
    assert np.isfinite(out).all(), out
    np.testing.assert_allclose(out, ref(big), rtol=1e-6, atol=1e-30)


def test_gradients_match_the_derivatives():
    x = mx.nd.array(X, dtype="float64")
    x.attach_grad()
    with mx.autograd.record():
        y = mx.nd.log_sigmoid(x)
    y.backward()
    np.testing.assert_allclose(x.grad.asnumpy(), 1 / (1 + np.exp(X)), rtol=1e-12)  # 1 - sigmoid(x)

    with mx.autograd.record():
        y = mx.nd.mish(x)
    y.backward()
    eps = 1e-6
    fd = (mish_np(X + eps) - mish_np(X - eps)) / (2 * eps)
    np.testing.assert_allclose(x.grad.asnumpy(), fd, rtol=1e-7, atol=1e-9)


def test_large_input_gradients_are_finite():
    big = mx.nd.array([-600.0, -120.0, 120.0, 600.0], dtype="float32")
    big.attach_grad()
    for name, want in (("log_sigmoid", [1, 1, 0, 0]), ("mish", [0, 0, 1, 1])):
        with mx.autograd.record():
            y = getattr(mx.nd, name)(big)
        y.backward()
        np.testing.assert_allclose(big.grad.asnumpy(), want, atol=1e-6, err_msg=name)


def test_argmax_channel_is_argmax_over_the_last_axis():
    x = mx.nd.array([[0, 1, 2], [3, 4, 5]])  # MXNet's documented example
    out = mx.nd.argmax_channel(x)
    assert out.shape == (2,) and out.dtype == np.float32
    np.testing.assert_array_equal(out.asnumpy(), [2, 2])
    v = np.random.RandomState(0).uniform(-1, 1, size=(2, 3, 5)).astype(np.float32)
    v[1, 2, :] = [4, 9, 9, 1, 9]  # ties: the first index
    got = mx.nd.array(v).argmax_channel()
    assert got.shape == (2, 3)
    np.testing.assert_array_equal(got.asnumpy(), np.argmax(v, axis=-1))
    s = mx.sym.Variable("x").argmax_channel()
    np.testing.assert_array_equal(s.eval(x=mx.nd.array(v))[0].asnumpy(), np.argmax(v, axis=-1))
    assert s.infer_shape(x=(2, 3, 5))[1] == [(2, 3)]


def test_argmax_channel_has_no_gradient_and_rejects_bad_input():
    x = mx.nd.array([[0.5, 2.0], [1.0, -1.0]])
    x.attach_grad()
    with mx.autograd.record():
        y = mx.nd.argmax_channel(x) * 1  # recorded as not differentiable: nothing flows back
    y.backward()
    np.testing.assert_array_equal(x.grad.asnumpy(), np.zeros((2, 2)))
    with pytest.raises(mx.base.MXNetError, match="log_sigmoid"):
        mx.nd.log_sigmoid(mx.nd.array([1, 2], dtype="int32"))
