"""mx.nd.contrib / mx.sym.contrib control flow (foreach, while_loop, cond) and MXNet's generic op
attributes, against plain Python loops over numpy."""
import numpy as np
import pytest

import mx


def _rand(*shape, seed=0):
    return np.random.RandomState(seed).uniform(-1, 1, shape).astype(np.float32)


def _rnn_step(x, h, w):
    return np.tanh(x + h * w)


def test_nd_foreach_matches_a_python_loop_and_records_gradients():
    xs, h0, w = _rand(5, 3), _rand(3, seed=1), _rand(3, seed=2)
    data, state, weight = mx.nd.array(xs), mx.nd.array(h0), mx.nd.array(w)
    weight.attach_grad()
    with mx.autograd.record():
        outs, last = mx.nd.contrib.foreach(lambda x, h: (lambda n: (n, n))(mx.nd.tanh(x + h * weight)), data, state)
        loss = outs.sum() + last.sum()
    loss.backward()
    h, ref = h0, []
    for x in xs:
        h = _rnn_step(x, h, w)
        ref.append(h)
    np.testing.assert_allclose(outs.asnumpy(), np.stack(ref), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(last.asnumpy(), ref[-1], rtol=1e-5, atol=1e-6)

    def f(wv):  # the same loss in float64, for central differences
        h, total = h0.astype(np.float64), 0.0
        for x in xs:
            h = np.tanh(x + h * wv)
            total += h.sum()
        return total + h.sum()
    eps, g = 1e-6, np.zeros(3)
    for k in range(3):
        d = np.zeros(3)
        d[k] = eps
        g[k] = (f(w + d) - f(w - d)) / (2 * eps)
    np.testing.assert_allclose(weight.grad.asnumpy(), g, rtol=1e-3, atol=1e-4)


def test_nd_foreach_with_lists_keeps_the_structure():
    a, b = _rand(4, 2), _rand(4, 2, seed=3)
    outs, states = mx.nd.contrib.foreach(lambda xs, s: ([xs[0] * 2, xs[1] + s[0]], [s[0] + xs[0]]),
                                         [mx.nd.array(a), mx.nd.array(b)], [mx.nd.zeros((2,))])
    np.testing.assert_allclose(outs[0].asnumpy(), a * 2, rtol=1e-6)
    cum = np.concatenate([np.zeros((1, 2)), np.cumsum(a, 0)[:-1]])
    np.testing.assert_allclose(outs[1].asnumpy(), b + cum, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(states[0].asnumpy(), a.sum(0), rtol=1e-5)


def test_nd_while_loop_stops_on_cond_and_pads_to_max_iterations():
    outs, (i, s) = mx.nd.contrib.while_loop(lambda i, s: i < 4, lambda i, s: (s * 10, (i + 1, s + i)),
                                            [mx.nd.array([0.0]), mx.nd.array([1.0])], max_iterations=6)
    assert outs.shape == (6, 1)
    np.testing.assert_allclose(outs.asnumpy()[:4, 0], [10, 10, 20, 40])
    assert i.asscalar() == 4 and s.asscalar() == 7
    with pytest.raises(ValueError, match="max_iterations"):
        mx.nd.contrib.while_loop(lambda i: i < 1, lambda i: (i, i + 1), mx.nd.array([0.0]))


def test_nd_cond_runs_one_branch():
    x = mx.nd.array(_rand(2, 2))
    np.testing.assert_allclose(mx.nd.contrib.cond(mx.nd.array([1]), lambda: x * 2, lambda: x * 3).asnumpy(),
                               x.asnumpy() * 2, rtol=1e-6)
    np.testing.assert_allclose(mx.nd.contrib.cond(mx.nd.array([0]), lambda: x * 2, lambda: x * 3).asnumpy(),
                               x.asnumpy() * 3, rtol=1e-6)


def test_sym_foreach_unrolls_and_matches_nd_with_gradients():
    xs, h0, w = _rand(4, 3), _rand(3, seed=1), _rand(3, seed=2)
    data = mx.sym.Variable("data", shape=(4, 3))
    h = mx.sym.Variable("h")
    wt = mx.sym.Variable("w")
    outs, last = mx.sym.contrib.foreach(lambda x, s: (lambda n: (n, n))(mx.sym.tanh(x + s * wt)), data, h)
    net = mx.sym.Group([outs, last])
    args = {"data": mx.nd.array(xs), "h": mx.nd.array(h0), "w": mx.nd.array(w)}
    grads = {"w": mx.nd.zeros((3,))}
    ex = net.bind(mx.cpu(), args, args_grad=grads, grad_req={"data": "null", "h": "null", "w": "write"})
    o, l = ex.forward(is_train=True)
    ex.backward([mx.nd.ones((4, 3)), mx.nd.ones((3,))])
    wnd = mx.nd.array(w)
    wnd.attach_grad()
    with mx.autograd.record():
        ro, rl = mx.nd.contrib.foreach(lambda x, s: (lambda n: (n, n))(mx.nd.tanh(x + s * wnd)), mx.nd.array(xs),
                                       mx.nd.array(h0))
        (ro.sum() + rl.sum()).backward()
    np.testing.assert_allclose(o.asnumpy(), ro.asnumpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(l.asnumpy(), rl.asnumpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(grads["w"].asnumpy(), wnd.grad.asnumpy(), rtol=1e-4, atol=1e-5)


def test_sym_foreach_needs_a_known_length():
    with pytest.raises(ValueError, match="first axis must be known"):
        mx.sym.contrib.foreach(lambda x, s: (x, s), mx.sym.Variable("d"), mx.sym.Variable("s"))


def test_sym_while_loop_and_cond_match_nd():
    i, acc = mx.sym.Variable("i"), mx.sym.Variable("acc")
    outs, (fi, facc) = mx.sym.contrib.while_loop(lambda i, s: i < 3, lambda i, s: (s * 2, (i + 1, s + i)), [i, acc],
                                                 max_iterations=5)
    ex = mx.sym.Group([outs, fi, facc]).bind(mx.cpu(), {"i": mx.nd.array([0.0]), "acc": mx.nd.array([1.0])})
    o, a, b = [x.asnumpy() for x in ex.forward()]
    np.testing.assert_allclose(o[:3, 0], [2, 2, 4])
    assert a[0] == 3 and b[0] == 4

    p, x = mx.sym.Variable("p"), mx.sym.Variable("x")
    c = mx.sym.contrib.cond(p, lambda: x * 2, lambda: mx.sym.log(x))  # log(-1) is NaN in the branch not taken
    xv = mx.nd.array([[-1.0, 2.0]])
    gx = mx.nd.zeros((1, 2))
    ex = c.bind(mx.cpu(), {"p": mx.nd.array([1.0]), "x": xv}, args_grad={"x": gx}, grad_req={"p": "null", "x": "write"})
    np.testing.assert_allclose(ex.forward(is_train=True)[0].asnumpy(), [[-2, 4]])
    ex.backward(mx.nd.ones((1, 2)))
    np.testing.assert_allclose(gx.asnumpy(), [[2, 2]])  # only the taken branch's gradient, no NaN
    ex = c.bind(mx.cpu(), {"p": mx.nd.array([0.0]), "x": mx.nd.array([[1.0, 4.0]])})
    np.testing.assert_allclose(ex.forward()[0].asnumpy(), np.log([[1.0, 4.0]]), rtol=1e-6)


def test_generic_attributes_are_accepted_and_kept_on_symbols():
    x = mx.nd.array([[-1.0, 2.0]])
    np.testing.assert_allclose(mx.nd.relu(x, __layout__="NC", lr_mult=2, ctx_group="dev1").asnumpy(), [[0, 2]])
    fc = mx.sym.FullyConnected(mx.sym.Variable("x"), num_hidden=3, name="fc", lr_mult=2, wd_mult=0.5,
                               __layout__="NC", __init__='["zero", {}]')
    attrs = fc.list_attr()
    assert attrs["lr_mult"] == "2" and attrs["wd_mult"] == "0.5" and attrs["__layout__"] == "NC"
    back = mx.sym.load_json(fc.tojson())
    assert back.list_attr()["lr_mult"] == "2" and back.list_attr()["__init__"] == '["zero", {}]'
    with pytest.raises(mx.MXNetError, match="unknown attribute 'lr_mul'"):
        mx.nd.relu(x, lr_mul=2)


def test_nd_boolean_mask_keeps_the_marked_rows_and_scatters_gradients_back():
    x = mx.nd.array(_rand(4, 3))
    mask = mx.nd.array([1, 0, 0, 1])
    x.attach_grad()
    with mx.autograd.record():
        y = mx.nd.contrib.boolean_mask(x, mask)
        (y * 2).sum().backward()
    np.testing.assert_allclose(y.asnumpy(), x.asnumpy()[[0, 3]])
    np.testing.assert_allclose(x.grad.asnumpy(), np.array([[2] * 3, [0] * 3, [0] * 3, [2] * 3]))
    cols = mx.nd.contrib.boolean_mask(x, mx.nd.array([0, 1, 1]), axis=1)
    np.testing.assert_allclose(cols.asnumpy(), x.asnumpy()[:, 1:])


def test_review_edge_cases_are_errors_or_numpy_values():
    with pytest.raises(mx.MXNetError, match="axis 5 is out of range"):
        mx.nd.contrib.boolean_mask(mx.nd.ones((3, 2)), mx.nd.array([1, 0, 1]), axis=5)
    with pytest.raises(mx.MXNetError, match="no time steps"):  # the loss would be left unwritten
        mx.nd.CTCLoss(mx.nd.ones((0, 3, 4)), mx.nd.array([[1, 2], [1, 0], [0, 0]]))
    with pytest.raises(mx.MXNetError, match="no time steps"):
        mx.nd.RNN(mx.nd.ones((0, 2, 3)), mx.nd.ones((144,)), mx.nd.ones((1, 2, 4)), mx.nd.ones((1, 2, 4)),
                  state_size=4, num_layers=1, mode="lstm", state_outputs=True)
    np.testing.assert_allclose(mx.nd.linspace(0, 1, 1).asnumpy(), np.linspace(0, 1, 1))
    counts, edges = mx.nd._histogram(mx.nd.array([0.0, 1e308], dtype="float64"), bin_cnt=3, range=(-1.7e308, 1.7e308))
    assert np.all(np.isfinite(edges.asnumpy())) and counts.asnumpy().sum() == 2
