"""gluon save_parameters / load_parameters, export -> SymbolBlock.imports and Module, SymbolBlock,
and the CachedOp wrapper. References: numpy values written here or in gluon_test_nets.py, the key
names MXNet 1.9.1 writes (features.0.weight, arg:/aux:)."""
import numpy as np
import pytest

import mx
from mx.gluon.block import SymbolBlock
from gluon_test_nets import TwoLayer, numpy_two_layer, rand


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
