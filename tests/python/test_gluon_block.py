"""gluon Block / HybridBlock / SymbolBlock: naming, registration, deferred init, hybridize through
CachedOp, export. References: numpy forward/backward written here, MXNet 1.9.1's printed names."""
import numpy as np
import pytest

import mx
from mx.gluon.block import Block, HybridBlock, SymbolBlock


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


def test_save_load_parameters(tmp_path):
    fname = str(tmp_path / "net.params")
    net = TwoLayer()
    net.initialize(mx.init.Normal(0.5))
    x = rand(2, 5, seed=11)
    y = net(mx.nd.array(x)).asnumpy()
    net.save_parameters(fname)
    assert sorted(mx.nd.load(fname)) == ["hidden.bias", "hidden.weight", "out.bias", "out.weight"]
    other = TwoLayer(prefix="elsewhere_")  # structural names do not depend on prefixes
    other.load_parameters(fname, ctx=mx.cpu(1))
    assert other.hidden.weight.shape == (4, 5)
    np.testing.assert_allclose(other(mx.nd.array(x, ctx=mx.cpu(1))).asnumpy(), y, rtol=1e-6)
    mx.nd.save(fname, {"hidden.weight": mx.nd.zeros((4, 5)), "hidden.bias": mx.nd.zeros(4),
                       "out.weight": mx.nd.zeros((2, 4)), "extra.weight": mx.nd.zeros(1)})
    with pytest.raises(ValueError, match="Parameter 'out.bias' is missing in file"):
        TwoLayer().load_parameters(fname, ignore_extra=True)
    with pytest.raises(ValueError, match="Parameter 'extra.weight' loaded from file .* is not present"):
        TwoLayer().load_parameters(fname, allow_missing=True)
    part = TwoLayer()
    part.load_parameters(fname, allow_missing=True, ignore_extra=True)
    np.testing.assert_array_equal(part.out.weight.data().asnumpy(), np.zeros((2, 4)))


def test_export_imports_and_module(tmp_path):
    path = str(tmp_path / "twolayer")
    net = TwoLayer()
    net.initialize(mx.init.Normal(0.5))
    x = rand(3, 5, seed=12)
    with pytest.raises(mx.base.MXNetError, match="hybridize"):
        net.export(path)
    net.hybridize()
    net(mx.nd.array(x))
    ref, _ = numpy_two_layer(net, x)
    sym_file, params_file = net.export(path, epoch=3)
    assert (sym_file, params_file) == (path + "-symbol.json", path + "-0003.params")
    assert sorted(mx.nd.load(params_file)) == sorted("arg:" + k for k in net.collect_params().keys())
    blk = SymbolBlock.imports(sym_file, ["data"], params_file)
    np.testing.assert_allclose(blk(mx.nd.array(x)).asnumpy(), ref, rtol=1e-5, atol=1e-6)
    sym, arg_params, aux_params = mx.model.load_checkpoint(path, 3)
    mod = mx.mod.Module(sym, data_names=["data"], label_names=None)
    mod.bind(data_shapes=[("data", (3, 5))], for_training=False)
    mod.set_params(arg_params, aux_params)
    mod.forward(mx.io.DataBatch([mx.nd.array(x)]), is_train=False)
    np.testing.assert_allclose(mod.get_outputs()[0].asnumpy(), ref, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="missing.json"):
        SymbolBlock.imports(str(tmp_path / "missing.json"), ["data"])


def test_symbol_block_aux_states_and_symbolic_call():
    data = mx.sym.var("data")
    out = mx.sym.BatchNorm(mx.sym.FullyConnected(data, num_hidden=3, name="fc"), name="bn")
    blk = SymbolBlock(out, data)
    params = blk.collect_params()
    assert sorted(params.keys()) == ["bn_beta", "bn_gamma", "bn_moving_mean", "bn_moving_var", "fc_bias",
                                     "fc_weight"]
    assert params["bn_moving_mean"].grad_req == "null" and params["fc_weight"].grad_req == "write"
    blk.initialize()
    y = blk(mx.nd.ones((2, 4)))
    assert y.shape == (2, 3) and params["fc_weight"].shape == (3, 4)
    composed = blk(mx.sym.var("x"))
    assert isinstance(composed, mx.sym.Symbol) and "x" in composed.list_arguments()


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


def test_export_writes_aux_states_and_infer_shape(tmp_path):
    data = mx.sym.var("data")
    blk = SymbolBlock(mx.sym.BatchNorm(mx.sym.FullyConnected(data, num_hidden=3, name="fc"), name="bn"), data)
    blk.infer_shape(mx.nd.ones((2, 4)))  # shapes without running
    assert blk.collect_params()["fc_weight"].shape == (3, 4)
    assert blk.collect_params()["bn_moving_var"].shape == (3,)
    blk.initialize(mx.init.Normal(1.0))  # Gluon gives every Parameter this init: set the stats by hand
    blk.collect_params()["bn_moving_mean"].set_data(mx.nd.array([0.5, -1.0, 2.0]))
    blk.collect_params()["bn_moving_var"].set_data(mx.nd.array([1.0, 4.0, 0.25]))
    blk.hybridize()
    x = rand(2, 4, seed=14)
    y = blk(mx.nd.array(x)).asnumpy()
    sym_file, params_file = blk.export(str(tmp_path / "bn"))
    keys = sorted(mx.nd.load(params_file))
    assert keys == ["arg:bn_beta", "arg:bn_gamma", "arg:fc_bias", "arg:fc_weight", "aux:bn_moving_mean",
                    "aux:bn_moving_var"]
    again = SymbolBlock.imports(sym_file, "data", params_file, ctx=mx.cpu(1))
    np.testing.assert_allclose(again(mx.nd.array(x, ctx=mx.cpu(1))).asnumpy(), y, rtol=1e-5, atol=1e-6)
    # inference BatchNorm normalises with the moving stats (eps 1e-3, fix_gamma: MXNet defaults)
    p = {k: v.data().asnumpy() for k, v in blk.collect_params().items()}
    fc = x @ p["fc_weight"].T + p["fc_bias"]
    ref = (fc - p["bn_moving_mean"]) / np.sqrt(p["bn_moving_var"] + 1e-3) + p["bn_beta"]
    np.testing.assert_allclose(y, ref, rtol=1e-4, atol=1e-5)


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


def test_load_parameters_dtype_checks(tmp_path):
    fname = str(tmp_path / "f32.params")
    net = TwoLayer()
    net.initialize()
    net(mx.nd.ones((1, 5)))
    net.save_parameters(fname)
    wide = TwoLayer()
    wide.cast("float64")
    with pytest.raises(ValueError, match="'.*dense0_weight' from saved params: dtype incompatible"):
        wide.load_parameters(fname)
    wide.load_parameters(fname, cast_dtype=True)
    assert wide.hidden.weight.data().dtype == np.float64
    np.testing.assert_allclose(wide.hidden.weight.data().asnumpy(), net.hidden.weight.data().asnumpy())


def test_cached_op_wrapper_directly():
    from mx.cached_op import CachedOp
    x, w = mx.sym.var("x"), mx.sym.var("w")
    op = CachedOp(mx.sym.Group([mx.sym.dot(x, w), mx.sym.exp(x)]), {"static_alloc": True})
    a, b = rand(2, 3, seed=16), rand(3, 4, seed=17)
    prod, ex = op(mx.nd.array(a), mx.nd.array(b))
    np.testing.assert_allclose(prod.asnumpy(), a @ b, rtol=1e-5)
    np.testing.assert_allclose(ex.asnumpy(), np.exp(a), rtol=1e-5)
    with pytest.raises(mx.base.MXNetError, match="1 inputs given, the symbol takes 2 \\(x, w\\)"):
        op(mx.nd.array(a))
    with pytest.raises(TypeError, match="input 1 \\(w\\)"):
        op(mx.nd.array(a), b)
    with pytest.raises(mx.base.MXNetError, match="unknown flag 'fast'"):
        CachedOp(x, [("fast", True)])


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
