"""Module API details MXNet 1.x programs use: borrow_optimizer shares one optimizer state."""
import numpy as np
import pytest

import mx


def _module(w0):
    data = mx.sym.var("data")
    net = mx.sym.LinearRegressionOutput(mx.sym.FullyConnected(data, num_hidden=1, no_bias=True, name="fc"),
                                        name="out")
    mod = mx.mod.Module(net, label_names=["out_label"])
    mod.bind([("data", (2, 3))], [("out_label", (2, 1))])
    mod.init_params(arg_params={"fc_weight": mx.nd.array(w0)}, allow_missing=False)
    return mod


def test_borrow_optimizer_shares_momentum():
    rng = np.random.RandomState(0)
    w0 = rng.randn(1, 3).astype(np.float32)
    x, y = rng.randn(2, 3).astype(np.float32), rng.randn(2, 1).astype(np.float32)
    a, b = _module(w0), _module(w0)
    with pytest.raises(ValueError, match="not initialized"):
        b.borrow_optimizer(a)
    a.init_optimizer(optimizer="sgd", optimizer_params={"learning_rate": 0.1, "momentum": 0.9})
    b.borrow_optimizer(a)
    batch = mx.io.DataBatch([mx.nd.array(x)], [mx.nd.array(y)])
    # step 1 on a, step 2 on b (b's weights are set to a's first): b's step uses a's momentum
    a.forward_backward(batch)
    a.update()
    b.set_params(*a.get_params())
    b.forward_backward(batch)
    b.update()
    # numpy: LinearRegressionOutput's gradient is (pred - y) x, momentum 0.9
    w, mom = w0.astype(np.float64), np.zeros_like(w0, dtype=np.float64)
    for _ in range(2):
        g = ((x @ w.T) - y).T @ x / 2  # Module sets rescale_grad = 1 / batch size
        mom = 0.9 * mom - 0.1 * g
        w = w + mom
    np.testing.assert_allclose(b.get_params()[0]["fc_weight"].asnumpy(), w, rtol=1e-5, atol=1e-6)


def test_executor_backward_takes_is_train_and_prints_its_plan():
    data = mx.sym.var("data")
    net = mx.sym.FullyConnected(data, num_hidden=4, name="fc")
    exe = net.simple_bind(mx.cpu(), data=(2, 3))
    rng = np.random.RandomState(1)
    x, w = rng.randn(2, 3).astype(np.float32), rng.randn(4, 3).astype(np.float32)
    exe.arg_dict["data"][:] = x
    exe.arg_dict["fc_weight"][:] = w
    exe.arg_dict["fc_bias"][:] = 0
    exe.forward(is_train=True)
    head = rng.randn(2, 4).astype(np.float32)
    exe.backward([mx.nd.array(head)], is_train=True)
    np.testing.assert_allclose(exe.grad_dict["fc_weight"].asnumpy(), head.T @ x, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(exe.grad_dict["data"].asnumpy(), head @ w, rtol=1e-5, atol=1e-6)
    text = exe.debug_str()
    assert "fc" in text and "MB allocated" in text


def test_bind_with_shared_module_uses_its_parameter_arrays():
    w0 = np.arange(3, dtype=np.float32).reshape(1, 3)
    a = _module(w0)
    b = mx.mod.Module(a.symbol, label_names=["out_label"])
    b.bind([("data", (4, 3))], [("out_label", (4, 1))], shared_module=a)  # another batch size
    x = np.ones((4, 3), np.float32)
    a.set_params({"fc_weight": mx.nd.array(w0 * 2)}, {})
    b.forward(mx.io.DataBatch([mx.nd.array(x)], [mx.nd.zeros((4, 1))]), is_train=False)
    np.testing.assert_allclose(b.get_outputs()[0].asnumpy(), x @ (w0 * 2).T)  # a's new weights
    other = mx.mod.Module(mx.sym.FullyConnected(mx.sym.var("data"), num_hidden=1, name="g"), label_names=None)
    with pytest.raises(ValueError, match="g_weight, g_bias are not in the shared module"):
        other.bind([("data", (4, 3))], shared_module=a)
