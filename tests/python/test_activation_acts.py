"""Activation(act_type='log_sigmoid' / 'mish') as MXNet 1.9.1 has them: equal to the standalone
mx.nd.log_sigmoid / mx.nd.mish and to numpy's float64 formulas, imperative and symbolic, with
gradients against central finite differences of the numpy formulas."""
import numpy as np
import pytest

import mx

X = np.array([[-7.5, -2.0, -0.4, 0.0], [0.3, 1.25, 3.5, 9.0]])


def log_sigmoid_np(x):
    return np.log(1 / (1 + np.exp(-x)))


def mish_np(x):
    return x * np.tanh(np.log(1 + np.exp(x)))


ACTS = [("log_sigmoid", log_sigmoid_np), ("mish", mish_np)]


@pytest.mark.parametrize("act,ref", ACTS)
def test_activation_equals_the_standalone_op_and_numpy(act, ref):
    x = mx.nd.array(X, dtype="float64")
    got = mx.nd.Activation(x, act_type=act).asnumpy()
    np.testing.assert_allclose(got, ref(X), rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(got, getattr(mx.nd, act)(x).asnumpy())


@pytest.mark.parametrize("act,ref", ACTS)
def test_symbolic_activation_matches_numpy(act, ref):
    s = mx.sym.Activation(mx.sym.Variable("x"), act_type=act)
    x32 = X.astype(np.float32)
    out = s.eval(x=mx.nd.array(x32))[0].asnumpy()
    np.testing.assert_allclose(out, ref(x32.astype(np.float64)), rtol=2e-6, atol=2e-6)
    np.testing.assert_array_equal(out, getattr(mx.sym, act)(mx.sym.Variable("x")).eval(x=mx.nd.array(x32))[0].asnumpy())
    assert s.infer_shape(x=(2, 4))[1] == [(2, 4)]


@pytest.mark.parametrize("act,ref", ACTS)
def test_gradient_matches_finite_differences(act, ref):
    x = mx.nd.array(X, dtype="float64")
    x.attach_grad()
    head = np.random.RandomState(3).uniform(-1, 1, size=X.shape)
    with mx.autograd.record():
        y = mx.nd.Activation(x, act_type=act)
    y.backward(mx.nd.array(head, dtype="float64"))
    eps = 1e-6
    fd = (ref(X + eps) - ref(X - eps)) / (2 * eps)
    np.testing.assert_allclose(x.grad.asnumpy(), head * fd, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("act,ref", ACTS)
def test_large_inputs_stay_finite_in_float32(act, ref):
    # e^|x| overflows float32 past |x| = 88; numpy's float64 holds it up to 709
    big = np.array([-100.0, -89.0, -50.0, 50.0, 89.0, 100.0])
    x = mx.nd.array(big, dtype="float32")
    x.attach_grad()
    with mx.autograd.record():
        y = mx.nd.Activation(x, act_type=act)
    y.backward()
    out, grad = y.asnumpy(), x.grad.asnumpy()
    assert np.isfinite(out).all() and np.isfinite(grad).all(), (out, grad)
    # the naive float64 formula rounds 1 + e^-50 to 1: exact only to ~1e-16 absolute
    np.testing.assert_allclose(out, ref(big), rtol=1e-6, atol=1e-12)
    eps = 1e-6
    np.testing.assert_allclose(grad, (ref(big + eps) - ref(big - eps)) / (2 * eps), rtol=1e-5, atol=1e-6)


def test_unknown_act_type_is_an_error_naming_it():
    with pytest.raises(mx.base.MXNetError, match="act_type"):
        mx.nd.Activation(mx.nd.array([1.0]), act_type="swish")
