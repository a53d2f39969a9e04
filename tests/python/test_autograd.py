import numpy as np
import pytest

import mx


def test_gradients_match_analytic_and_finite_differences():
    rs = np.random.RandomState(0)
    a = rs.uniform(-1, 1, (3, 4)).astype(np.float64)
    x = mx.nd.array(a, dtype=np.float64)
    x.attach_grad()
    with mx.autograd.record():
        y = (mx.nd.tanh(x) * x).sum()
    y.backward()
    np.testing.assert_allclose(x.grad.asnumpy(), np.tanh(a) + a * (1 - np.tanh(a) ** 2), rtol=1e-10)
    # central differences in float64
    f = lambda v: (np.tanh(v) * v).sum()
    eps, fd = 1e-6, np.zeros_like(a)
    for i in np.ndindex(a.shape):
        d = np.zeros_like(a)
        d[i] = eps
        fd[i] = (f(a + d) - f(a - d)) / (2 * eps)
    np.testing.assert_allclose(x.grad.asnumpy(), fd, rtol=1e-6)


def test_record_pause_train_mode_and_grad_add():
    x = mx.nd.ones((2,))
    x.attach_grad(grad_req="add")
    for _ in range(2):
        with mx.autograd.record():
            assert mx.autograd.is_recording() and mx.autograd.is_training()
            with mx.autograd.pause():
                assert not mx.autograd.is_recording()
            y = x * 3
        y.backward()
    np.testing.assert_array_equal(x.grad.asnumpy(), [6, 6])
    with mx.autograd.record(train_mode=False):
        assert not mx.autograd.is_training()
    with mx.autograd.train_mode():
        assert mx.autograd.is_training()


def test_grad_with_head_gradients_and_higher_order():
    x = mx.nd.array([1.0, 2.0, 3.0])
    x.attach_grad()
    with mx.autograd.record():
        y = x * x * x
        g = mx.autograd.grad(y, x, head_grads=mx.nd.ones((3,)), create_graph=True)
        z = g.sum()
    z.backward()
    np.testing.assert_allclose(g.asnumpy(), 3 * np.array([1, 4, 9.0]))
    np.testing.assert_allclose(x.grad.asnumpy(), 6 * np.array([1, 2, 3.0]))


def test_dropout_follows_the_training_flag():
    x = mx.nd.ones((1000,))
    with mx.autograd.predict_mode():
        np.testing.assert_array_equal(mx.nd.Dropout(x, p=0.5).asnumpy(), np.ones(1000))
    with mx.autograd.record():
        kept = (mx.nd.Dropout(x, p=0.5).asnumpy() != 0).mean()
    assert 0.4 < kept < 0.6
