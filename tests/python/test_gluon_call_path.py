"""HybridBlock's imperative call path (inlined Parameter.data lookup, context switch only when
needed, hooks only when set) keeps MXNet 1.9.1's behaviour; values against numpy."""
import numpy as np
import pytest

import mx
from mx.context import current_context
from mx.gluon import nn


class _SeeCtx(nn.HybridBlock):
    """Records the current context while hybrid_forward runs."""

    def __init__(self, seen, **kwargs):
        super().__init__(**kwargs)
        self.seen = seen

    def hybrid_forward(self, F, x):
        self.seen.append(current_context())
        return x * 2


def test_dense_values_and_hooks_added_later():
    net = nn.Dense(3, in_units=4)
    net.initialize(mx.init.Uniform())
    x = np.random.RandomState(0).uniform(-1, 1, (2, 4)).astype(np.float32)
    w, b = net.weight.data().asnumpy(), net.bias.data().asnumpy()
    np.testing.assert_allclose(net(mx.nd.array(x)).asnumpy(), x @ w.T + b, rtol=1e-5, atol=1e-6)
    calls = []
    pre = net.register_forward_pre_hook(lambda blk, args: calls.append("pre"))
    post = net.register_forward_hook(lambda blk, args, out: calls.append(out.shape))
    net(mx.nd.array(x))
    assert calls == ["pre", (2, 3)]
    pre.detach()
    post.detach()
    net(mx.nd.array(x))
    assert calls == ["pre", (2, 3)]


def test_context_switched_and_restored():
    seen = []
    blk = _SeeCtx(seen)
    x = np.ones((2, 2), np.float32)
    with mx.cpu(1):
        out = blk(mx.nd.array(x, ctx=mx.cpu(0)))
        assert current_context() == mx.cpu(1)
    assert seen == [mx.cpu(0)]
    np.testing.assert_array_equal(out.asnumpy(), 2 * x)
    seq = nn.HybridSequential()
    seq.add(_SeeCtx(seen), _SeeCtx(seen))
    before = current_context()
    seq(mx.nd.array(x, ctx=mx.cpu(1)))
    assert seen[1:] == [mx.cpu(1), mx.cpu(1)]
    assert current_context() == before


def test_uninitialized_and_wrong_context_errors():
    net = nn.Dense(3, in_units=4)
    with pytest.raises(mx.base.MXNetError, match="has not been initialized"):
        net(mx.nd.ones((2, 4)))
    net.initialize(ctx=mx.cpu(0))
    with pytest.raises(mx.base.MXNetError, match="not initialized on context cpu\\(1\\)"):
        net(mx.nd.ones((2, 4), ctx=mx.cpu(1)))


def test_deferred_init_then_fast_path():
    net = nn.Dense(2)
    net.initialize(mx.init.One())
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    for _ in range(2):
        np.testing.assert_allclose(net(mx.nd.array(x)).asnumpy(), x.sum(axis=1, keepdims=True).repeat(2, 1))
