"""Small networks for the gluon tests, built from Parameters and F ops (gluon.nn is another
engineer's), with their numpy references: forward and hand-derived gradients."""
import numpy as np

import mx
from mx.gluon.block import HybridBlock


def rand(*shape, seed=0):
    return np.random.RandomState(seed).randn(*shape).astype(np.float32)


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


def numpy_two_layer_grads(net, x, g):
    """Gradients of sum(y * g) for y = W1 tanh(W0 x + b0) + b1, derived by hand."""
    _, h = numpy_two_layer(net, x)
    w1 = net.out.weight.data().asnumpy()
    dz = (g @ w1) * (1 - h * h)
    return {"hidden.weight": dz.T @ x, "hidden.bias": dz.sum(0), "out.weight": g.T @ h, "out.bias": g.sum(0)}


def grads_of(net, x, g, ctx=mx.cpu()):
    with mx.autograd.record():
        y = net(mx.nd.array(x, ctx=ctx))
    y.backward(mx.nd.array(g, ctx=ctx))
    return {k: p.grad(ctx).asnumpy() for k, p in net._collect_params_with_prefix().items()}
