"""gluon Block / HybridBlock / SymbolBlock: naming, registration, deferred init, hybridize through
CachedOp, export. References: numpy forward/backward written here, MXNet 1.9.1's printed names."""
import numpy as np
import pytest

import mx
from mx.gluon.block import Block, HybridBlock, SymbolBlock


class Dense(HybridBlock):
    """A minimal dense layer built from Parameters and F ops (gluon.nn is another engineer's)."""

    def __init__(self, units, in_units=0, **kwargs):
        super().__init__(**kwargs)
        self._units = units
        with self.name_scope():
            self.weight = self.params.get("weight", shape=(units, in_units), allow_deferred_init=True)
            self.bias = self.params.get("bias", shape=(units,), init="zeros", allow_deferred_init=True)

    def hybrid_forward(self, F, x, weight, bias):
        return F.FullyConnected(x, weight, bias, num_hidden=self._units)


class TwoLayer(HybridBlock):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.hidden = Dense(4)
            self.out = Dense(2)

    def hybrid_forward(self, F, x):
        return self.out(F.tanh(self.hidden(x)))


def numpy_two_layer(net, x):
    w0, b0 = net.hidden.weight.data().asnumpy(), net.hidden.bias.data().asnumpy()
    w1, b1 = net.out.weight.data().asnumpy(), net.out.bias.data().asnumpy()
    h = np.tanh(x @ w0.T + b0)
    return h @ w1.T + b1, h


def test_smoke_prefixes_deferred_init_and_hybridize():
    net = TwoLayer(prefix="model_")
    assert net.hidden.prefix == "model_dense0_" and net.out.prefix == "model_dense1_"
    assert list(net.collect_params().keys()) == [
        "model_dense0_weight", "model_dense0_bias", "model_dense1_weight", "model_dense1_bias"]
    net.initialize(mx.init.Normal(0.5))
    x = np.random.RandomState(0).randn(3, 5).astype(np.float32)
    y_imp = net(mx.nd.array(x)).asnumpy()
    assert net.hidden.weight.shape == (4, 5)
    ref, _ = numpy_two_layer(net, x)
    np.testing.assert_allclose(y_imp, ref, rtol=1e-5, atol=1e-6)
    net.hybridize()
    y_hyb = net(mx.nd.array(x)).asnumpy()
    np.testing.assert_allclose(y_hyb, ref, rtol=1e-5, atol=1e-6)
