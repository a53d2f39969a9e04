"""Partial shape inference as MXNet 1.x: a 0 dimension is unknown per dimension, kept where it is
known and filled from the rest of the graph (forward and backward). Every expected shape below is
worked out by hand from the ops' rules (or taken from MXNet's documentation); the numeric check
uses numpy."""
import warnings

import numpy as np
import pytest

import mx


def test_mxnet_doc_example_fully_connected_pair():
    # Symbol.infer_shape_partial's example in MXNet's documentation
    data = mx.sym.Variable("data")
    prev = mx.sym.Variable("prev")
    fc1 = mx.sym.FullyConnected(data=data, name="fc1", num_hidden=128)
    fc2 = mx.sym.FullyConnected(data=prev, name="fc2", num_hidden=128)
    out = mx.sym.Activation(data=mx.sym.elemwise_add(fc1, fc2), act_type="relu")
    assert out.list_arguments() == ["data", "fc1_weight", "fc1_bias", "prev", "fc2_weight", "fc2_bias"]
    with pytest.warns(UserWarning, match="Cannot decide shape"):
        assert out.infer_shape(data=(10, 64)) == (None, None, None)
    args, outs, aux = out.infer_shape_partial(data=(10, 64))
    # MXNet: [(10, 64), (128, 64), (128,), (), (), ()]; mx also fills a bias from num_hidden alone
    assert args == [(10, 64), (128, 64), (128,), (), (), (128,)]
    assert outs == [(10, 128)] and aux == []
    assert out.infer_shape(data=(10, 64), prev=(10, 128)) == (
        [(10, 64), (128, 64), (128,), (10, 128), (128, 128), (128,)], [(10, 128)], [])


def test_zero_dims_are_unknown_and_kept_where_known():
    x = mx.sym.Variable("x", shape=(0, 10))
    fc = mx.sym.FullyConnected(x, num_hidden=5, name="fc")
    # weight (num_hidden, 10) and bias (num_hidden,) without the batch; out (batch, num_hidden)
    assert fc.infer_shape_partial() == ([(0, 10), (5, 10), (5,)], [(0, 5)], [])
    with pytest.warns(UserWarning, match=r"x: \(0, 10\)"):
        assert fc.infer_shape() == (None, None, None)
    assert fc.infer_shape(x=(2, 10)) == ([(2, 10), (5, 10), (5,)], [(2, 5)], [])
    # given by name as well
    y = mx.sym.FullyConnected(mx.sym.Variable("y"), num_hidden=5, name="fy")
    assert y.infer_shape_partial(y=(0, 10)) == ([(0, 10), (5, 10), (5,)], [(0, 5)], [])


def test_elementwise_inputs_complete_each_other():
    a, b = mx.sym.Variable("a"), mx.sym.Variable("b")
    c = mx.sym.elemwise_add(a, b)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert c.infer_shape(a=(0, 3), b=(4, 0)) == ([(4, 3), (4, 3)], [(4, 3)], [])
    # unary, activation, dropout and scalar ops keep the shape, partial or not
    x = mx.sym.Variable("x")
    for y in (mx.sym.relu(x), mx.sym.Activation(x, act_type="tanh"), mx.sym.Dropout(x, p=0.5), x * 2, 1 - x,
              mx.sym.BlockGrad(x), mx.sym.softmax(x)):
        assert y.infer_shape_partial(x=(0, 5)) == ([(0, 5)], [(0, 5)], [])
    # where: condition, x and y share one shape
    w = mx.sym.where(mx.sym.Variable("cond"), mx.sym.Variable("p"), mx.sym.Variable("q"))
    assert w.infer_shape(cond=(0, 3), p=(2, 0)) == ([(2, 3), (2, 3), (2, 3)], [(2, 3)], [])


def test_conflict_is_an_error_naming_node_and_shapes():
    a, b = mx.sym.Variable("a"), mx.sym.Variable("b")
    c = mx.sym.elemwise_add(a, b, name="plus")
    with pytest.raises(mx.MXNetError) as e:
        c.infer_shape_partial(a=(2, 0), b=(3, 4))
    msg = str(e.value)
    assert "plus" in msg and "(2,0)" in msg and "(3,4)" in msg


def test_broadcast_dims_known_where_they_decide():
    a, b = mx.sym.Variable("a"), mx.sym.Variable("b")
    # axis 0: unknown vs 1 -> unknown; axis 1: unknown vs 3 -> 3 (a's own dim may be 1 or 3)
    assert mx.sym.broadcast_add(a, b).infer_shape_partial(a=(2, 0), b=(1, 3)) == ([(2, 0), (1, 3)], [(2, 3)], [])
    # back from the output: out (4, 5) through + c; a's axis 0 faces b's 1, so it is 4
    c = mx.sym.Variable("c")
    net = mx.sym.elemwise_add(mx.sym.broadcast_mul(a, b), c)
    assert net.infer_shape(a=(0, 1), b=(1, 5), c=(4, 5)) == ([(4, 1), (1, 5), (4, 5)], [(4, 5)], [])


def test_concat_reshape_and_batchnorm():
    a, b, c = mx.sym.Variable("a"), mx.sym.Variable("b"), mx.sym.Variable("c")
    cat = mx.sym.Concat(a, b, dim=0)
    # outside dim 0 one shape: (2, 3) and (?, 3); along dim 0 the output is unknown while b's is
    assert cat.infer_shape_partial(a=(2, 3), b=(0, 0)) == ([(2, 3), (0, 3)], [(0, 3)], [])
    # the output (5, 3) from + c: b has 5 - 2 = 3 rows
    assert mx.sym.elemwise_add(cat, c).infer_shape(a=(2, 3), b=(0, 0), c=(5, 3)) == (
        [(2, 3), (3, 3), (5, 3)], [(5, 3)], [])

    x = mx.sym.Variable("x")
    # Reshape's 0 copies the input's dim: known input -> known, unknown -> unknown
    assert mx.sym.Reshape(x, shape=(0, 12)).infer_shape(x=(2, 3, 4)) == ([(2, 3, 4)], [(2, 12)], [])
    assert mx.sym.Reshape(x, shape=(0, -1)).infer_shape(x=(2, 3, 4)) == ([(2, 3, 4)], [(2, 12)], [])
    assert mx.sym.Reshape(x, shape=(0, 12)).infer_shape_partial(x=(0, 3, 4)) == ([(0, 3, 4)], [(0, 12)], [])
    # and the copied dim flows back: (6, 12) from + c gives x a batch of 6
    net = mx.sym.elemwise_add(mx.sym.Reshape(x, shape=(0, 12)), c)
    assert net.infer_shape(x=(0, 3, 4), c=(6, 12)) == ([(6, 3, 4), (6, 12)], [(6, 12)], [])

    bn = mx.sym.BatchNorm(mx.sym.Variable("d"), name="bn")
    args, outs, aux = bn.infer_shape_partial(d=(0, 3, 8, 8))
    assert args == [(0, 3, 8, 8), (3,), (3,)] and outs == [(0, 3, 8, 8)] and aux == [(3,), (3,)]


def test_ops_without_a_partial_rule_stay_unknown_without_crashing():
    conv = mx.sym.Convolution(mx.sym.Variable("d"), kernel=(3, 3), num_filter=4, name="conv")
    _, outs, _ = conv.infer_shape_partial(d=(0, 3, 8, 8))
    assert outs == [()]
    _, outs, _ = conv.infer_shape_partial(d=(2, 3, 8, 8))
    assert outs == [(2, 4, 6, 6)]


def test_rnn_begin_state_zeros_takes_its_batch_from_the_data():
    x = mx.sym.Variable("x")
    state = mx.sym.zeros((0, 4), name="state")
    h = mx.sym.FullyConnected(x, num_hidden=4, name="i2h") + state
    assert h.infer_shape(x=(3, 5)) == ([(3, 5), (4, 5), (4,)], [(3, 4)], [])
    ex = h.simple_bind(mx.cpu(), x=(3, 5))
    rng = np.random.RandomState(0)
    xv, w, b = rng.randn(3, 5), rng.randn(4, 5), rng.randn(4)
    ex.arg_dict["x"][:] = xv
    ex.arg_dict["i2h_weight"][:] = w
    ex.arg_dict["i2h_bias"][:] = b
    out = ex.forward()[0].asnumpy()
    assert out.shape == (3, 4)
    np.testing.assert_allclose(out, xv @ w.T + b, rtol=1e-5, atol=1e-5)
    # ones / full likewise
    g = mx.sym.ones((0, 2)) + mx.sym.full((3, 0), 2.0) + mx.sym.Variable("v")
    ex = g.simple_bind(mx.cpu(), v=(3, 2))
    ex.arg_dict["v"][:] = np.arange(6).reshape(3, 2)
    np.testing.assert_allclose(ex.forward()[0].asnumpy(), np.arange(6).reshape(3, 2) + 3.0)


def test_bind_needs_every_dim():
    h = mx.sym.Variable("h", shape=(0, 4))
    y = h * 2
    with pytest.raises(mx.MXNetError, match=r"'h'.*\(0,4\)"):
        y.simple_bind(mx.cpu())
    with pytest.raises(mx.MXNetError, match=r"'h'.*\(0,4\)"):
        (mx.sym.Variable("h") * 2).simple_bind(mx.cpu(), h=(0, 4))
    assert y.simple_bind(mx.cpu(), h=(2, 4)).forward()[0].shape == (2, 4)
