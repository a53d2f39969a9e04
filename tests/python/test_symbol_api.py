"""MXNet 1.x Symbol methods and semantics: fluent methods, eval, partial inference, NameManager /
Prefix, AttrScope and composition with net(data=other). Expected values are numpy's or MXNet's
documented examples worked by hand."""
import warnings

import numpy as np
import pytest

import mx


def _nd(a):
    return mx.nd.array(np.asarray(a, dtype=np.float32))


def test_fluent_methods_match_numpy():
    x = mx.sym.Variable("x")
    a = np.array([[0.5, -1.0, 2.0], [3.0, 0.25, -0.5]], dtype=np.float32)
    out = x.exp().eval(x=_nd(a))
    np.testing.assert_allclose(out[0].asnumpy(), np.exp(a), rtol=1e-6)
    np.testing.assert_allclose(x.sum(axis=1).eval(x=_nd(a))[0].asnumpy(), a.sum(axis=1), rtol=1e-6)
    np.testing.assert_allclose(x.transpose().eval(x=_nd(a))[0].asnumpy(), a.T)
    np.testing.assert_allclose(x.abs().clip(a_min=0.4, a_max=2.5).eval(x=_nd(a))[0].asnumpy(), np.clip(np.abs(a), 0.4, 2.5))
    np.testing.assert_allclose(x.log_sigmoid().eval(x=_nd(a))[0].asnumpy(), np.log(1 / (1 + np.exp(-a))), rtol=1e-6)
    np.testing.assert_allclose(x.mish().eval(x=_nd(a))[0].asnumpy(), a * np.tanh(np.log1p(np.exp(a))), rtol=1e-6)
    np.testing.assert_array_equal(x.argmax_channel().eval(x=_nd(a))[0].asnumpy(), [2, 0])


def test_eval_bool_children_and_debug_str():
    x, y = mx.sym.Variable("x"), mx.sym.Variable("y")
    outs = (x * y + 1).eval(ctx=mx.cpu(), x=_nd([1, 2]), y=_nd([3, 4]))
    assert isinstance(outs, list) and len(outs) == 1
    np.testing.assert_allclose(outs[0].asnumpy(), [4, 9])
    with pytest.raises(NotImplementedError):
        bool(x)
    assert x.get_children() is None
    fc = mx.sym.FullyConnected(x, num_hidden=3, name="fc1")
    assert fc.get_children().list_outputs() == ["x", "fc1_weight", "fc1_bias"]
    text = fc.debug_str()
    assert "Variable:x" in text and "Op:FullyConnected, Name=fc1" in text and "num_hidden=3" in text


def test_infer_shape_full_partial_and_unknown():
    fc = mx.sym.FullyConnected(mx.sym.Variable("data"), num_hidden=10, name="fc")
    # FullyConnected(num_hidden=10) over (5, 4): weight (10, 4), bias (10,), out (5, 10)
    assert fc.infer_shape(data=(5, 4)) == ([(5, 4), (10, 4), (10,)], [(5, 10)], [])
    assert fc.infer_shape((5, 4)) == ([(5, 4), (10, 4), (10,)], [(5, 10)], [])
    args, outs, aux = fc.infer_shape_partial()
    assert args[0] == () and args[1] == () and outs == [()] and aux == []
    with pytest.warns(UserWarning, match="Cannot decide shape"):
        assert fc.infer_shape() == (None, None, None)
    # a 0 dimension means unknown (MXNet 1.x); here the whole input is then unknown
    with pytest.warns(UserWarning):
        assert fc.infer_shape(data=(0, 4)) == (None, None, None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fc.infer_shape(data=(5, 4))
    with pytest.raises(mx.MXNetError):
        fc.infer_shape(data=(5, 4), fc_weight=(10, 3))


def test_infer_type_and_partial():
    fc = mx.sym.FullyConnected(mx.sym.Variable("data"), num_hidden=2, name="fc")
    assert fc.infer_type(data=np.float32) == ([np.float32] * 3, [np.float32], [])
    assert fc.infer_type() == (None, None, None)
    assert fc.infer_type_partial() == ([None] * 3, [None], [])


def test_name_manager_and_prefix():
    data = mx.sym.Variable("data")
    with mx.name.NameManager():
        a = mx.sym.FullyConnected(data, num_hidden=2)
        b = mx.sym.FullyConnected(a, num_hidden=2)
        c = mx.sym.Activation(b, act_type="relu")
    assert (a.name, b.name, c.name) == ("fullyconnected0", "fullyconnected1", "activation0")
    assert a.list_arguments() == ["data", "fullyconnected0_weight", "fullyconnected0_bias"]
    assert mx.name.NameManager().get("given", "hint") == "given"
    with mx.name.Prefix("mynet_"):  # MXNet's Prefix docstring example
        net = mx.sym.FullyConnected(data, num_hidden=10, name="fc1")
    assert net.list_arguments() == ["data", "mynet_fc1_weight", "mynet_fc1_bias"]
    outer = mx.name.NameManager.current
    with mx.name.Prefix("p_") as inner:
        assert mx.name.NameManager.current is inner
    assert mx.name.NameManager.current is outer


def test_attr_scope_applies_and_nests():
    # MXNet's test_attr_basic: the Variable's own attr wins over the scope's
    with mx.AttrScope(group="4", data="great"):
        data = mx.sym.Variable("data", attr={"dtype": "data", "group": "1"})
        gdata = mx.sym.Variable("data2")
        with mx.AttrScope(group="5", ctx_group="dev1"):
            fc = mx.sym.FullyConnected(data, num_hidden=2, name="fc")
    assert gdata.attr("group") == "4" and data.attr("group") == "1" and data.attr("data") == "great"
    assert (fc.attr("group"), fc.attr("data"), fc.attr("ctx_group")) == ("5", "great", "dev1")
    plain = mx.sym.Variable("plain")
    assert plain.attr("group") is None and mx.attribute.AttrScope.current.get(None) == {}
    with pytest.raises(ValueError, match="group"):
        mx.AttrScope(group=4)


def test_compose_replaces_variables():
    # MXNet's test_compose
    data = mx.sym.Variable("data")
    net1 = mx.sym.FullyConnected(data=data, name="fc1", num_hidden=10)
    net1 = mx.sym.FullyConnected(net1, name="fc2", num_hidden=100)
    net2 = mx.sym.FullyConnected(name="fc3", num_hidden=10)
    net2 = mx.sym.Activation(net2, act_type="relu")
    net2 = mx.sym.FullyConnected(net2, name="fc4", num_hidden=20)
    composed = net2(fc3_data=net1, name="composed")
    assert composed.list_arguments() == ["data", "fc1_weight", "fc1_bias", "fc2_weight", "fc2_bias",
                                         "fc3_weight", "fc3_bias", "fc4_weight", "fc4_bias"]
    assert len(mx.sym.Group([composed, net1]).list_outputs()) == 2
    assert net2.list_arguments()[0] == "fc3_data"  # the original is unchanged

    a, b, x = mx.sym.Variable("a"), mx.sym.Variable("b"), mx.sym.Variable("x")
    net = a.exp() + b
    doubled = net(a=x * 2 + b)  # b is shared: one argument
    assert doubled.list_arguments() == ["x", "b"]
    xv, bv = np.array([0.5, -1.0], np.float32), np.array([2.0, 3.0], np.float32)
    got = doubled.eval(x=_nd(xv), b=_nd(bv))[0].asnumpy()
    np.testing.assert_allclose(got, np.exp(xv * 2 + bv) + bv, rtol=1e-6)
    with pytest.raises(TypeError):
        net(x)
    with pytest.raises(mx.MXNetError, match="nope"):
        net(nope=x)


def test_prelu_gamma_starts_at_a_quarter_and_variable_init_is_honoured():
    # MXNet: LeakyReLU(act_type='prelu') makes its gamma with __init__ Constant(0.25), whatever the
    # global initializer; Variable(init=...) stores the initializer's JSON, which Module follows.
    data = mx.sym.var("data")
    w = mx.sym.var("fc_weight", init=mx.init.Constant(0.5))
    net = mx.sym.FullyConnected(data, weight=w, num_hidden=3, no_bias=True, name="fc")
    net = mx.sym.LeakyReLU(net, act_type="prelu", name="act")
    assert net.list_arguments() == ["data", "fc_weight", "act_gamma"]
    mod = mx.mod.Module(net, label_names=None)
    mod.bind([("data", (2, 4))], for_training=False)
    mod.init_params(mx.init.Xavier())
    args, _ = mod.get_params()
    assert (args["act_gamma"].asnumpy() == 0.25).all() and args["act_gamma"].shape == (3,)
    assert (args["fc_weight"].asnumpy() == 0.5).all()
    # the slope applies to negative values: x = -1 everywhere gives 4 * 0.5 * -1 * 0.25
    out = mod.predict(mx.io.NDArrayIter(np.full((2, 4), -1.0, np.float32), batch_size=2)).asnumpy()
    assert np.allclose(out, -0.5)
    # a leaky LeakyReLU has no gamma; extra Variable attributes must be __x__
    assert mx.sym.LeakyReLU(data, act_type="leaky").list_arguments() == ["data"]
    assert mx.sym.var("v", __x__=2).list_attr()["__x__"] == "2"
    with pytest.raises(ValueError, match="double underscores"):
        mx.sym.var("v", foo=1)
