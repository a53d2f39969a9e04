"""gluon Parameter / ParameterDict / Constant (MXNet 1.9.1 semantics). References: numpy values and
hand-derived gradients written here, MXNet 1.9.1's printed names and messages."""
import os

import numpy as np
import pytest

import mx
from mx.gluon.parameter import Constant, DeferredInitializationError, Parameter, ParameterDict


def rand(*shape, seed=0):
    return np.random.RandomState(seed).randn(*shape).astype(np.float32)


def test_attributes_and_repr():
    p = Parameter("fc_weight", shape=(3, 4), lr_mult=2.0, wd_mult=0.5)
    assert (p.name, p.shape, p.grad_req, p.lr_mult, p.wd_mult) == ("fc_weight", (3, 4), "write", 2.0, 0.5)
    assert repr(p) == "Parameter fc_weight (shape=(3, 4), dtype=float32)"
    v = p.var()
    assert v.name == "fc_weight"
    assert float(v.attr("__lr_mult__")) == 2.0 and float(v.attr("__wd_mult__")) == 0.5
    with pytest.raises(ValueError, match="fc_weight"):
        p.grad_req = "sometimes"


def test_initialize_one_copy_per_context():
    p = Parameter("w", shape=(3, 4))
    p.initialize(init=mx.init.Uniform(0.5), ctx=[mx.cpu(0), mx.cpu(1)])
    assert p.list_ctx() == [mx.cpu(0), mx.cpu(1)]
    d0, d1 = p.data(mx.cpu(0)), p.data(mx.cpu(1))
    assert d0.context == mx.cpu(0) and d1.context == mx.cpu(1)
    np.testing.assert_array_equal(d0.asnumpy(), d1.asnumpy())
    assert np.abs(d0.asnumpy()).max() <= 0.5 and np.abs(d0.asnumpy()).max() > 0
    assert len(p.list_data()) == 2 and len(p.list_grad()) == 2
    np.testing.assert_array_equal(p.grad(mx.cpu(1)).asnumpy(), np.zeros((3, 4)))
    with pytest.raises(mx.base.MXNetError, match="'w' was not initialized on context cpu\\(2\\)"):
        p.data(mx.cpu(2))
    with pytest.warns(UserWarning, match="already initialized"):
        p.initialize()


def test_own_init_wins_and_uninitialized_errors():
    p = Parameter("b", shape=(5,), init="ones")
    with pytest.raises(mx.base.MXNetError, match="Parameter 'b' has not been initialized"):
        p.data()
    p.initialize(default_init=mx.init.Zero())  # as ParameterDict.initialize passes its init
    np.testing.assert_array_equal(p.data().asnumpy(), np.ones(5))
    p.initialize(init=mx.init.Zero(), force_reinit=True)  # an init given to the Parameter itself wins
    np.testing.assert_array_equal(p.data().asnumpy(), np.zeros(5))
    with pytest.raises(ValueError, match="Parameter 'c' because it has invalid shape"):
        Parameter("c", shape=(0, 2)).initialize()


def test_deferred_initialization():
    p = Parameter("dense0_weight", shape=(3, 0), allow_deferred_init=True, init=mx.init.Constant(2.0))
    p.initialize(ctx=mx.cpu(1))
    assert p.list_ctx() == [mx.cpu(1)]
    with pytest.raises(DeferredInitializationError, match="'dense0_weight' has not been initialized yet"):
        p.data()
    with pytest.raises(ValueError, match="incompatible"):
        p.shape = (4, 5)
    p.shape = (3, 5)
    p._finish_deferred_init()
    np.testing.assert_array_equal(p.data(mx.cpu(1)).asnumpy(), np.full((3, 5), 2.0))
    # set_data before the deferred init finishes is the value it finishes with
    q = Parameter("q", shape=(0,), allow_deferred_init=True)
    q.initialize()
    q.set_data(mx.nd.array([1.0, 2.0]))
    q._finish_deferred_init()
    np.testing.assert_array_equal(q.data().asnumpy(), [1.0, 2.0])


def _grad_of_weighted_sum(p, x, times=1):
    for _ in range(times):
        with mx.autograd.record():
            y = (p.data() * mx.nd.array(x)).sum()
        y.backward()


def test_grad_req_write_add_null():
    x = rand(2, 3)
    p = Parameter("w", shape=(2, 3))
    p.initialize()
    _grad_of_weighted_sum(p, x, times=2)
    np.testing.assert_allclose(p.grad().asnumpy(), x, rtol=1e-6)  # d/dw sum(w*x) = x, overwritten
    p.grad_req = "add"
    _grad_of_weighted_sum(p, x, times=2)
    np.testing.assert_allclose(p.grad().asnumpy(), 2 * x, rtol=1e-6)  # accumulated from zero
    _grad_of_weighted_sum(p, x)
    np.testing.assert_allclose(p.grad().asnumpy(), 3 * x, rtol=1e-6)
    p.zero_grad()
    np.testing.assert_array_equal(p.grad().asnumpy(), np.zeros((2, 3)))
    p.grad_req = "null"
    with pytest.raises(mx.base.MXNetError, match="'w' because grad_req='null'"):
        p.grad()
    p.grad_req = "write"  # grads come back
    _grad_of_weighted_sum(p, x)
    np.testing.assert_allclose(p.grad().asnumpy(), x, rtol=1e-6)
    assert Parameter("n", shape=(1,), differentiable=False).grad_req == "null"


def test_set_data_reset_ctx_cast():
    p = Parameter("w", shape=(2, 2))
    p.initialize(ctx=[mx.cpu(0), mx.cpu(1)])
    value = rand(2, 2)
    p.set_data(mx.nd.array(value))
    for d in p.list_data():
        np.testing.assert_array_equal(d.asnumpy(), value)
    p.reset_ctx(mx.cpu(2))
    assert p.list_ctx() == [mx.cpu(2)]
    np.testing.assert_array_equal(p.data().asnumpy(), value)
    assert p.data().context == mx.cpu(2) and p.grad().context == mx.cpu(2)
    p.cast("float64")
    assert p.data().dtype == np.float64 and p.grad().dtype == np.float64
    np.testing.assert_allclose(p.data().asnumpy(), value.astype(np.float64))


def test_constant():
    c = Constant("const", [[1.0, 2.0], [3.0, 4.0]])
    assert c.grad_req == "null" and c.shape == (2, 2)
    c.initialize(default_init=mx.init.One())  # the constant's value wins over the block's init
    np.testing.assert_array_equal(c.data().asnumpy(), [[1.0, 2.0], [3.0, 4.0]])
    with pytest.warns(UserWarning):
        c.grad_req = "write"
    assert c.grad_req == "null"


def test_parameter_dict_get_shared_and_errors():
    pd = ParameterDict("net_")
    w = pd.get("weight", shape=(3, 0))
    assert w.name == "net_weight" and pd["net_weight"] is w
    assert pd.get("weight", shape=(3, 4)) is w and w.shape == (3, 4)  # a 0 filled in
    with pytest.raises(ValueError, match="'net_weight'.*'shape'"):
        pd.get("weight", shape=(5, 4))
    with pytest.raises(ValueError, match="'net_weight'.*'lr_mult'"):
        pd.get("weight", lr_mult=3.0)
    shared = ParameterDict("net_", shared=pd)
    assert shared.get("weight") is w
    c = pd.get_constant("scale", [1.0, 2.0])
    assert pd.get_constant("scale") is c
    with pytest.raises(ValueError, match="net_missing"):
        pd.get_constant("missing")
    other = ParameterDict("net_")
    other.get("weight", shape=(3, 4))
    with pytest.raises(ValueError, match="same name 'net_weight'"):
        pd.update(other)
    assert repr(ParameterDict("a_")) == "a_ (\n\n)"
    assert list(pd.keys()) == ["net_weight", "net_scale"]


def test_parameter_dict_initialize_setattr_lists():
    pd = ParameterDict("m_")
    pd.get("w", shape=(2, 2))
    pd.get("b", shape=(2,))
    pd.initialize(mx.init.One(), ctx=[mx.cpu(0), mx.cpu(1)])
    assert pd.list_ctx() == [mx.cpu(0), mx.cpu(1)]
    # Gluon hands the dict's init to every Parameter as its __init__: biases get 1 too (MXNet 1.9.1)
    np.testing.assert_array_equal(pd["m_b"].data().asnumpy(), [1.0, 1.0])
    np.testing.assert_array_equal(pd["m_w"].data().asnumpy(), np.ones((2, 2)))
    pd.setattr("grad_req", "null")
    assert all(p.grad_req == "null" for p in pd.values())
    pd.setattr("lr_mult", 0.1)
    assert pd["m_w"].lr_mult == 0.1


def test_save_load_round_trip_and_errors(tmp_path):
    fname = str(tmp_path / "pd.params")
    pd = ParameterDict("net_")
    pd.get("weight", shape=(3, 4)).initialize(init=mx.init.Normal(1.0))
    pd.get("bias", shape=(3,)).initialize(init=mx.init.Normal(1.0))
    values = {k: v.data().asnumpy() for k, v in pd.items()}
    pd.save(fname, strip_prefix="net_")
    assert sorted(mx.nd.load(fname).keys()) == ["bias", "weight"]
    fresh = ParameterDict("other_")
    fresh.get("weight", shape=(3, 0), allow_deferred_init=True)
    fresh.get("bias", shape=(3,))
    fresh.load(fname, ctx=mx.cpu(1), restore_prefix="other_")
    for key in ("weight", "bias"):
        got = fresh["other_" + key]
        assert got.data().context == mx.cpu(1)
        np.testing.assert_array_equal(got.data().asnumpy(), values["net_" + key])
    missing = ParameterDict("other_")
    missing.get("weight", shape=(3, 4))
    missing.get("gamma", shape=(3,))
    with pytest.raises(ValueError, match="Parameter 'gamma' is missing in file"):
        missing.load(fname, restore_prefix="other_", ignore_extra=True)
    with pytest.raises(ValueError, match="Parameter 'bias' loaded from file .* is not present"):
        missing.load(fname, restore_prefix="other_", allow_missing=True)
    missing.load(fname, restore_prefix="other_", allow_missing=True, ignore_extra=True)
    np.testing.assert_array_equal(missing["other_weight"].data().asnumpy(), values["net_weight"])
    with pytest.raises(ValueError, match="'net_weight' does not start with 'x_'"):
        pd.save(fname, strip_prefix="x_")
    bad = ParameterDict("")
    bad.get("weight", shape=(4, 4))
    with pytest.raises(ValueError, match="'weight' from saved params: shape incompatible"):
        bad.load(fname, ignore_extra=True)


def test_load_averages_contexts_and_reads_module_keys(tmp_path):
    fname = str(tmp_path / "ck.params")
    p = Parameter("w", shape=(2,))
    p.initialize(ctx=[mx.cpu(0), mx.cpu(1)])
    p.list_data()[0][:] = 1.0
    p.list_data()[1][:] = 3.0
    pd = ParameterDict()
    pd._params["w"] = p
    pd.save(fname)
    np.testing.assert_array_equal(mx.nd.load(fname)["w"].asnumpy(), [2.0, 2.0])  # mean over contexts
    mx.nd.save(fname, {"arg:w": mx.nd.array([5.0, 6.0]), "aux:m": mx.nd.array([7.0])})
    q = ParameterDict()
    q.get("w", shape=(2,))
    q.get("m", shape=(1,), grad_req="null")
    q.load(fname)
    np.testing.assert_array_equal(q["w"].data().asnumpy(), [5.0, 6.0])
    np.testing.assert_array_equal(q["m"].data().asnumpy(), [7.0])
    assert os.path.exists(fname)
