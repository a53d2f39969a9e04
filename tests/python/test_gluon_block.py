"""gluon Block / HybridBlock: naming, registration, hooks, deferred init, hybridize through CachedOp
(forward and gradients), summary. References: numpy forward/backward and central differences written
here or in gluon_test_nets.py, MXNet 1.9.1's printed names and table."""
import numpy as np
import pytest

import mx
from mx.gluon.block import Block, HybridBlock
from gluon_test_nets import Dense, TwoLayer, grads_of, numpy_two_layer, numpy_two_layer_grads, rand


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


def test_names_follow_mxnet_counters():
    with mx.name.NameManager():
        a, b = Dense(2), Dense(2)
        net = TwoLayer()
        with net.name_scope():
            extra = Dense(3)
    assert (a.prefix, b.prefix, a.name) == ("dense0_", "dense1_", "dense0")
    assert (net.prefix, net.hidden.prefix, net.out.prefix, extra.prefix) == \
        ("twolayer0_", "twolayer0_dense0_", "twolayer0_dense1_", "twolayer0_dense2_")
    assert a.weight.name == "dense0_weight" and net.out.bias.name == "twolayer0_dense1_bias"
    assert list(net._children) == ["hidden", "out"]  # registered by attribute assignment, in order
    shared = Dense(2, prefix="s_", params=a.params)
    assert shared.weight is a.weight and shared.prefix == "s_"


def test_collect_params_select_and_structural_names():
    net = TwoLayer(prefix="m_")
    assert list(net.collect_params(".*weight").keys()) == ["m_dense0_weight", "m_dense1_weight"]
    assert list(net.collect_params("m_dense0_weight|m_dense1_bias").keys()) == [
        "m_dense0_weight", "m_dense1_bias"]
    assert sorted(net._collect_params_with_prefix()) == ["hidden.bias", "hidden.weight", "out.bias",
                                                         "out.weight"]
    assert len(net.params) == 0  # a Block's own params exclude its children's


def test_attribute_registration_and_type_change():
    class WithParam(Block):
        def __init__(self):
            super().__init__(prefix="wp_")
            with self.name_scope():
                self.scale = self.params.get("scale", shape=(1,))
                self.body = Dense(2, in_units=3)

        def forward(self, x):
            return self.body(x) * self.scale.data()

    blk = WithParam()
    assert blk._reg_params == {"scale": blk.scale}
    assert list(blk.collect_params().keys()) == ["wp_scale", "wp_dense0_weight", "wp_dense0_bias"]
    with pytest.raises(TypeError, match="Changing attribute type for body"):
        blk.body = 3
    assert repr(blk) == "WithParam(\n  (body): Dense(\n  \n  )\n)"
    with pytest.raises(ValueError, match="Children of HybridBlock must also be HybridBlock"):
        TwoLayer().register_child(blk)


def test_hooks_and_apply():
    net = TwoLayer()
    net.initialize()
    calls = []
    pre = net.hidden.register_forward_pre_hook(lambda blk, args: calls.append(("pre", blk.name, args[0].shape)))
    post = net.hidden.register_forward_hook(lambda blk, args, out: calls.append(("post", blk.name, out.shape)))
    net(mx.nd.ones((2, 3)))
    assert calls == [("pre", net.hidden.name, (2, 3)), ("post", net.hidden.name, (2, 4))]
    pre.detach()
    post.detach()
    net(mx.nd.ones((2, 3)))
    assert len(calls) == 2
    visited = []
    assert net.apply(lambda b: visited.append(b.name)) is net
    assert visited == [net.hidden.name, net.out.name, net.name]


@pytest.mark.parametrize("static", [False, True])
def test_hybridized_equals_imperative_forward_and_gradient(static):
    x, g = rand(3, 5, seed=1), rand(3, 2, seed=2)
    net = TwoLayer()
    net.initialize(mx.init.Normal(0.5))
    net(mx.nd.array(x))  # finishes the deferred init
    ref_y, _ = numpy_two_layer(net, x)
    ref_grads = numpy_two_layer_grads(net, x, g)
    imperative = grads_of(net, x, g)
    net.hybridize(static_alloc=static, static_shape=static)
    np.testing.assert_allclose(net(mx.nd.array(x)).asnumpy(), ref_y, rtol=1e-5, atol=1e-6)
    hybrid = grads_of(net, x, g)
    for k, ref in ref_grads.items():
        np.testing.assert_allclose(imperative[k], ref, rtol=1e-4, atol=1e-6, err_msg=k)
        np.testing.assert_allclose(hybrid[k], ref, rtol=1e-4, atol=1e-6, err_msg=k)
    # a new batch size reuses the graph with other shapes
    x2 = rand(7, 5, seed=3)
    np.testing.assert_allclose(net(mx.nd.array(x2)).asnumpy(), numpy_two_layer(net, x2)[0], rtol=1e-5, atol=1e-6)


def test_hybridized_deferred_init_and_grad_req_add():
    x, g = rand(2, 6, seed=4), rand(2, 2, seed=5)
    net = TwoLayer()
    net.initialize(mx.init.Normal(0.5))
    net.hybridize()
    net(mx.nd.array(x))  # the first call infers in_units=6 from the graph
    assert (net.hidden.weight.shape, net.out.weight.shape) == ((4, 6), (2, 4))
    net.collect_params().setattr("grad_req", "add")
    ref = numpy_two_layer_grads(net, x, g)
    grads_of(net, x, g)
    got = grads_of(net, x, g)
    for k in ref:
        np.testing.assert_allclose(got[k], 2 * ref[k], rtol=1e-4, atol=1e-6, err_msg=k)


def test_two_contexts_with_split_and_load():
    from mx.gluon.utils import split_and_load
    ctxs = [mx.cpu(0), mx.cpu(1)]
    x, g = rand(4, 5, seed=6), rand(4, 2, seed=7)
    net = TwoLayer()
    net.initialize(mx.init.Normal(0.5), ctx=ctxs)
    net.hybridize()
    xs = split_and_load(x, ctxs)
    gs = split_and_load(g, ctxs)
    with mx.autograd.record():
        ys = [net(xi) for xi in xs]
    mx.autograd.backward(ys, gs)
    assert [y.context for y in ys] == ctxs
    ref_y, _ = numpy_two_layer(net, x)
    np.testing.assert_allclose(np.concatenate([y.asnumpy() for y in ys]), ref_y, rtol=1e-5, atol=1e-6)
    for i, ctx in enumerate(ctxs):
        ref = numpy_two_layer_grads(net, x[2 * i:2 * i + 2], g[2 * i:2 * i + 2])
        for k, p in net._collect_params_with_prefix().items():
            np.testing.assert_allclose(p.grad(ctx).asnumpy(), ref[k], rtol=1e-4, atol=1e-6, err_msg=k)


def test_nested_inputs_and_outputs_hybridized():
    class Pair(HybridBlock):
        def hybrid_forward(self, F, pair, scale):
            a, b = pair
            return [a + b, [a * scale, F.relu(b)]]

    a, b, s = rand(2, 3, seed=8), rand(2, 3, seed=9), rand(2, 3, seed=10)
    for hybrid in (False, True):
        blk = Pair()
        blk.hybridize(hybrid)
        out = blk([mx.nd.array(a), mx.nd.array(b)], mx.nd.array(s))
        np.testing.assert_allclose(out[0].asnumpy(), a + b, rtol=1e-6)
        np.testing.assert_allclose(out[1][0].asnumpy(), a * s, rtol=1e-6)
        np.testing.assert_allclose(out[1][1].asnumpy(), np.maximum(b, 0))


def test_symbolic_forward_and_bad_input():
    net = TwoLayer(prefix="s_")
    out = net(mx.sym.var("data"))
    assert out.list_arguments() == ["data", "s_dense0_weight", "s_dense0_bias", "s_dense1_weight",
                                    "s_dense1_bias"]
    with pytest.raises((TypeError, ValueError), match="HybridBlock"):
        net("not an array")


def test_cast_to_float64():
    net = TwoLayer()
    net.initialize()
    x = rand(2, 5, seed=13).astype(np.float64)
    net.cast("float64")
    net.hybridize()
    y = net(mx.nd.array(x, dtype="float64"))
    assert y.dtype == np.float64 and net.hidden.weight.data().dtype == np.float64
    np.testing.assert_allclose(y.asnumpy(), numpy_two_layer(net, x)[0], rtol=1e-10)


def test_summary_prints_mxnet_table(capsys):
    net = TwoLayer()
    net.initialize()
    net.summary(mx.nd.ones((2, 5)))
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "-" * 80,
        " " * 8 + "Layer (type)" + " " * 32 + "Output Shape" + " " * 9 + "Param #",
        "=" * 80,
        " " * 15 + "Input" + " " * 38 + "(2, 5)" + " " * 15 + "0",
        " " * 13 + "Dense-1" + " " * 38 + "(2, 4)" + " " * 14 + "24",
        " " * 13 + "Dense-2" + " " * 38 + "(2, 2)" + " " * 14 + "10",
        " " * 10 + "TwoLayer-3" + " " * 38 + "(2, 2)" + " " * 15 + "0",
        "=" * 80,
        "Parameters in forward computation graph, duplicate included",
        "   Total params: 34",
        "   Trainable params: 34",
        "   Non-trainable params: 0",
        "Shared params in forward computation graph: 0",
        "Unique parameters in model: 34",
        "-" * 80]
    net.hybridize()
    with pytest.raises(ValueError, match="must not be hybridized"):
        net.summary(mx.nd.ones((2, 5)))


def test_deferred_init_failure_names_the_problem():
    class NoShape(HybridBlock):
        def __init__(self):
            super().__init__()
            with self.name_scope():
                self.w = self.params.get("w", shape=(0,), allow_deferred_init=True)

        def hybrid_forward(self, F, x, w):
            return x + 1  # w unused: its shape cannot be inferred

    blk = NoShape()
    blk.initialize()
    with pytest.raises(ValueError, match="Parameter .noshape0_w. because it has invalid shape"):
        blk(mx.nd.ones((2,)))


def test_constant_and_frozen_params_in_hybridized_graph():
    class Affine(HybridBlock):
        def __init__(self):
            super().__init__(prefix="aff_")
            with self.name_scope():
                self.scale = self.params.get_constant("scale", [[2.0, 3.0]])
                self.shift = self.params.get("shift", shape=(1, 2), init=mx.init.Constant(0.5))

        def hybrid_forward(self, F, x, scale, shift):
            return F.broadcast_add(F.broadcast_mul(x, scale), shift)

    x = rand(3, 2, seed=15)
    blk = Affine()
    blk.initialize()
    blk.shift.grad_req = "null"
    blk.hybridize()
    xa = mx.nd.array(x)
    xa.attach_grad()
    with mx.autograd.record():
        y = blk(xa)
    y.backward()
    np.testing.assert_allclose(y.asnumpy(), x * [[2.0, 3.0]] + 0.5, rtol=1e-6)
    np.testing.assert_allclose(xa.grad.asnumpy(), np.broadcast_to([[2.0, 3.0]], (3, 2)))
    assert blk.scale.grad_req == "null" and blk.shift.grad_req == "null"


def test_hybridized_gradient_matches_central_differences_float64():
    x = rand(2, 3, seed=18).astype(np.float64)
    net = TwoLayer()
    net.initialize(mx.init.Normal(0.5))
    net.cast("float64")
    net.hybridize()
    xa = mx.nd.array(x, dtype="float64")

    def loss():
        return float((net(xa) ** 2).sum().asscalar())
    with mx.autograd.record():
        y = (net(xa) ** 2).sum()
    y.backward()
    for p in (net.hidden.weight, net.out.bias):
        w = p.data().asnumpy()
        numeric = np.zeros_like(w)
        for idx in np.ndindex(*w.shape):
            for sign in (1, -1):
                shifted = w.copy()
                shifted[idx] += sign * 1e-6
                p.set_data(mx.nd.array(shifted, dtype="float64"))
                numeric[idx] += sign * loss() / 2e-6
        p.set_data(mx.nd.array(w, dtype="float64"))
        np.testing.assert_allclose(p.grad().asnumpy(), numeric, rtol=1e-6, atol=1e-8, err_msg=p.name)
