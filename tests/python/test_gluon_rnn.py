"""mx.gluon.rnn (MXNet 1.9.1): RNN / LSTM / GRU layers against torch.nn.RNN / LSTM / GRU with the
same weights copied in (outputs, final states, input and weight gradients), cells against a numpy
step loop written here, unroll with merged and unmerged outputs, bidirectional and stacked cells
against torch, valid_length masking against numpy, hybridized == imperative, MXNet's names."""
import numpy as np
import pytest
import torch

import mx
from mx.base import MXNetError
from mx.gluon import rnn

T, N, C, H = 5, 3, 4, 6
RNG = np.random.RandomState(1)
X = RNG.uniform(-1, 1, (T, N, C)).astype(np.float32)  # TNC


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


TORCH = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn_tanh": lambda *a, **k: torch.nn.RNN(*a, **k),
         "rnn_relu": lambda *a, **k: torch.nn.RNN(*a, nonlinearity="relu", **k)}


def make_layer(mode, **kwargs):
    if mode == "lstm":
        return rnn.LSTM(H, **kwargs)
    if mode == "gru":
        return rnn.GRU(H, **kwargs)
    return rnn.RNN(H, activation=mode[4:], **kwargs)


def torch_twin(layer, mode, num_layers, bidirectional):
    """A torch.nn module with the mx layer's weights: torch's weight_ih_l{k}[_reverse] is our
    {l|r}{k}_i2h_weight (same gate order: LSTM i,f,g,o; GRU r,z,n)."""
    net = TORCH[mode](C, H, num_layers=num_layers, bidirectional=bidirectional).double()
    params = layer.collect_params()
    with torch.no_grad():
        for k in range(num_layers):
            for d, suffix in (("l", ""), ("r", "_reverse"))[:2 if bidirectional else 1]:
                for ours, theirs in (("i2h_weight", "weight_ih"), ("h2h_weight", "weight_hh"),
                                     ("i2h_bias", "bias_ih"), ("h2h_bias", "bias_hh")):
                    value = params["%s%s%d_%s" % (layer.prefix, d, k, ours)].data().asnumpy()
                    getattr(net, "%s_l%d%s" % (theirs, k, suffix)).copy_(torch.tensor(value, dtype=torch.float64))
    return net


LAYER_CASES = [("lstm", 2, False), ("lstm", 1, True), ("gru", 2, True), ("gru", 1, False), ("rnn_tanh", 2, True),
               ("rnn_relu", 1, False)]


@pytest.mark.parametrize("mode,num_layers,bidirectional", LAYER_CASES)
def test_layer_matches_torch_forward_states_and_grads(mode, num_layers, bidirectional):
    layer = make_layer(mode, num_layers=num_layers, bidirectional=bidirectional, layout="NTC",
                       i2h_bias_initializer="uniform", h2h_bias_initializer="uniform")
    layer.initialize(mx.init.Uniform(0.5))
    D = 2 if bidirectional else 1
    h0 = RNG.uniform(-1, 1, (num_layers * D, N, H)).astype(np.float32)
    c0 = RNG.uniform(-1, 1, (num_layers * D, N, H)).astype(np.float32)
    x = mx.nd.array(X.transpose(1, 0, 2))  # NTC
    x.attach_grad()
    states = [mx.nd.array(h0)] + ([mx.nd.array(c0)] if mode == "lstm" else [])
    head = RNG.uniform(-1, 1, (N, T, D * H)).astype(np.float32)
    with mx.autograd.record():
        out, new_states = layer(x, states)
        objective = (out * mx.nd.array(head)).sum() + new_states[0].sum()
    objective.backward()

    net = torch_twin(layer, mode, num_layers, bidirectional)
    tx = torch.tensor(X, dtype=torch.float64, requires_grad=True)
    th0 = torch.tensor(h0, dtype=torch.float64)
    tstates = (th0, torch.tensor(c0, dtype=torch.float64)) if mode == "lstm" else th0
    tout, tnew = net(tx, tstates)
    thy = tnew[0] if mode == "lstm" else tnew
    ((tout * torch.tensor(head.transpose(1, 0, 2), dtype=torch.float64)).sum() + thy.sum()).backward()

    assert out.shape == (N, T, D * H)
    assert np.abs(tout.detach().numpy()).max() > 0.05
    np.testing.assert_allclose(out.asnumpy(), tout.detach().numpy().transpose(1, 0, 2), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(new_states[0].asnumpy(), thy.detach().numpy(), rtol=1e-4, atol=1e-5)
    if mode == "lstm":
        np.testing.assert_allclose(new_states[1].asnumpy(), tnew[1].detach().numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(x.grad.asnumpy(), tx.grad.numpy().transpose(1, 0, 2), rtol=1e-4, atol=1e-5)
    name = "%sl0_h2h_weight" % layer.prefix
    np.testing.assert_allclose(layer.collect_params()[name].grad().asnumpy(), net.weight_hh_l0.grad.numpy(),
                               rtol=1e-4, atol=1e-5)


def test_layer_names_defaults_deferred_init_and_begin_state():
    layer = rnn.LSTM(H, num_layers=2, bidirectional=True)
    prefix = layer.prefix
    assert prefix.startswith("lstm") and prefix.endswith("_")
    names = sorted(layer.collect_params().keys())
    assert names[:4] == [prefix + n for n in ("l0_h2h_bias", "l0_h2h_weight", "l0_i2h_bias", "l0_i2h_weight")]
    assert len(names) == 16 and prefix + "r1_i2h_weight" in names
    assert layer.l0_i2h_weight.shape == (4 * H, 0) and layer.l1_i2h_weight.shape == (4 * H, 2 * H)
    assert repr(layer) == "LSTM(None -> %d, TNC, num_layers=2, bidirectional)" % H
    layer.initialize()
    out = layer(mx.nd.array(X))  # TNC, no states: returns only the output
    assert isinstance(out, mx.nd.NDArray) and out.shape == (T, N, 2 * H)
    assert layer.l0_i2h_weight.shape == (4 * H, C) and layer.r0_i2h_weight.shape == (4 * H, C)
    assert repr(layer) == "LSTM(%d -> %d, TNC, num_layers=2, bidirectional)" % (C, H)
    # biases default to zeros
    assert not layer.l0_i2h_bias.data().asnumpy().any()
    states = layer.begin_state(batch_size=N)
    assert [s.shape for s in states] == [(4, N, H), (4, N, H)] and not states[0].asnumpy().any()
    out2, new = layer(mx.nd.array(X), states)
    np.testing.assert_allclose(out2.asnumpy(), out.asnumpy(), rtol=1e-6)  # zeros == no states
    assert len(new) == 2
    gru = rnn.GRU(H, input_size=C)
    assert gru.l0_i2h_weight.shape == (3 * H, C)
    assert [s["shape"] for s in gru.state_info(7)] == [(1, 7, H)]


@pytest.mark.parametrize("mode", ["lstm", "gru", "rnn_tanh"])
def test_layer_hybridized_equals_imperative(mode):
    layer = make_layer(mode, num_layers=2, layout="NTC", h2h_bias_initializer="uniform")
    layer.initialize(mx.init.Xavier())
    x = mx.nd.array(X.transpose(1, 0, 2))
    x.attach_grad()
    with mx.autograd.record():
        want = layer(x)
    want.backward()
    want_grad = x.grad.asnumpy().copy()
    want_states = [s.asnumpy() for s in layer(x, layer.begin_state(N))[1]]
    layer.hybridize()
    with mx.autograd.record():
        got = layer(x)
    got.backward()
    np.testing.assert_allclose(got.asnumpy(), want.asnumpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(x.grad.asnumpy(), want_grad, rtol=1e-5, atol=1e-6)
    got_out, got_states = layer(x, layer.begin_state(N))  # a second signature: with states
    np.testing.assert_allclose(got_out.asnumpy(), want.asnumpy(), rtol=1e-5, atol=1e-6)
    for g, w in zip(got_states, want_states):
        np.testing.assert_allclose(g.asnumpy(), w, rtol=1e-5, atol=1e-6)


def test_layer_symbolic_and_save_load(tmp_path):
    layer = rnn.GRU(H, input_size=C, layout="NTC")
    layer.initialize()
    sym = layer(mx.sym.var("data"))
    assert sym.list_arguments()[0] == "data"
    _, out_shapes, _ = sym.infer_shape(data=(N, T, C))
    assert out_shapes == [(N, T, H)]
    fname = str(tmp_path / "gru.params")
    layer.save_parameters(fname)
    keys = sorted(mx.nd.load(fname).keys())
    assert keys == ["_unfused.0.h2h_bias", "_unfused.0.h2h_weight", "_unfused.0.i2h_bias", "_unfused.0.i2h_weight"]
    other = rnn.GRU(H, input_size=C, layout="NTC")
    other.load_parameters(fname)
    x = mx.nd.array(X.transpose(1, 0, 2))
    np.testing.assert_allclose(other(x).asnumpy(), layer(x).asnumpy(), rtol=1e-6)


def test_layer_bad_arguments():
    with pytest.raises(ValueError, match="layout"):
        rnn.LSTM(H, layout="NCT")
    with pytest.raises(ValueError, match="activation"):
        rnn.RNN(H, activation="sigmoid")
    with pytest.raises(ValueError, match="hidden_size"):
        rnn.GRU(0)
    with pytest.raises(ValueError, match="dropout"):
        rnn.GRU(H, dropout=1.5)
    layer = rnn.LSTM(H, input_size=C)
    layer.initialize()
    with pytest.raises(ValueError, match=r"state shape.*\(1, 3, 6\).*\(1, 2, 6\)"):
        layer(mx.nd.array(X), [mx.nd.zeros((1, 2, H)), mx.nd.zeros((1, 2, H))])
    with pytest.raises(ValueError, match="expects 2 recurrent states"):
        layer(mx.nd.array(X), [mx.nd.zeros((1, N, H))])
    with pytest.raises(ValueError, match="3-d"):
        layer(mx.nd.array(X[0]))
    with pytest.raises((MXNetError, ValueError)):
        layer(mx.nd.zeros((T, N, C + 1))).asnumpy()  # i2h weight is (24, 4)


def test_layer_dropout_only_in_training():
    layer = rnn.LSTM(H, num_layers=2, dropout=0.5, input_size=C)
    layer.initialize(mx.init.Uniform(0.5))
    x = mx.nd.array(X)
    a, b = layer(x).asnumpy(), layer(x).asnumpy()
    np.testing.assert_array_equal(a, b)
    with mx.autograd.record():
        c = layer(x).asnumpy()
    assert np.abs(c - a).max() > 1e-4


# ----------------------------------------------------------------- cells vs a numpy step loop
def numpy_cell(kind, x, h, c, w):
    """One step with the cell's weights w (i2h_weight, h2h_weight, i2h_bias, h2h_bias)."""
    i2h = x @ w["i2h_weight"].T + w["i2h_bias"]
    h2h = h @ w["h2h_weight"].T + w["h2h_bias"]
    if kind == "rnn":
        h = np.tanh(i2h + h2h)
        return h, h, c
    if kind == "lstm":
        i, f, g, o = np.split(i2h + h2h, 4, axis=1)
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
        return h, h, c
    ir, iz, inn = np.split(i2h, 3, axis=1)
    hr, hz, hn = np.split(h2h, 3, axis=1)
    r, z = sigmoid(ir + hr), sigmoid(iz + hz)
    h = (1 - z) * np.tanh(inn + r * hn) + z * h
    return h, h, c


def cell_weights(cell):
    return {k[len(cell.prefix):]: v.data().asnumpy().astype(np.float64) for k, v in cell.collect_params().items()}


CELLS = {"rnn": rnn.RNNCell, "lstm": rnn.LSTMCell, "gru": rnn.GRUCell}


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_cell_unroll_matches_numpy_loop(kind):
    cell = CELLS[kind](H, i2h_bias_initializer="uniform", h2h_bias_initializer="uniform")
    cell.initialize(mx.init.Uniform(0.5))
    assert sorted(k[len(cell.prefix):] for k in cell.collect_params()) == ["h2h_bias", "h2h_weight", "i2h_bias",
                                                                          "i2h_weight"]
    x = X.transpose(1, 0, 2)  # NTC
    outputs, states = cell.unroll(T, mx.nd.array(x), layout="NTC", merge_outputs=True)  # deferred init here
    w = cell_weights(cell)
    assert w["i2h_weight"].shape == ({"rnn": 1, "lstm": 4, "gru": 3}[kind] * H, C)
    h, c = np.zeros((N, H)), np.zeros((N, H))
    want = []
    for t in range(T):
        out, h, c = numpy_cell(kind, x[:, t].astype(np.float64), h, c, w)
        want.append(out)
    want = np.stack(want, axis=1)
    assert outputs.shape == (N, T, H)
    np.testing.assert_allclose(outputs.asnumpy(), want, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(states[0].asnumpy(), h, rtol=1e-4, atol=1e-5)
    if kind == "lstm":
        np.testing.assert_allclose(states[1].asnumpy(), c, rtol=1e-4, atol=1e-5)
    # unmerged: a list of (N, H) steps from a list of (N, C) steps in TNC; the same numbers
    steps, states2 = cell.unroll(T, [mx.nd.array(X[t]) for t in range(T)], layout="TNC", merge_outputs=False)
    assert isinstance(steps, list) and len(steps) == T
    for t in range(T):
        np.testing.assert_allclose(steps[t].asnumpy(), want[:, t], rtol=1e-4, atol=1e-5)
    # merged output in TNC from a TNC tensor; one step called directly
    merged, _ = cell.unroll(T, mx.nd.array(X), layout="TNC", merge_outputs=True)
    np.testing.assert_allclose(merged.asnumpy(), want.transpose(1, 0, 2), rtol=1e-4, atol=1e-5)
    out, _ = cell(mx.nd.array(X[0]), cell.begin_state(N))
    np.testing.assert_allclose(out.asnumpy(), want[:, 0], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_cell_hybridized_and_symbolic_equal_imperative(kind):
    cell = CELLS[kind](H, input_size=C, h2h_bias_initializer="uniform")
    cell.initialize()
    x = mx.nd.array(X.transpose(1, 0, 2))
    want, _ = cell.unroll(T, x, merge_outputs=True)
    sym, _ = cell.unroll(T, mx.sym.var("data"), merge_outputs=True)
    args = {"data": x}
    args.update({k: v.data() for k, v in cell.collect_params().items()})
    exe = sym.bind(mx.cpu(), args)
    np.testing.assert_allclose(exe.forward()[0].asnumpy(), want.asnumpy(), rtol=1e-5, atol=1e-6)
    cell.hybridize()
    got, _ = cell.unroll(T, x, merge_outputs=True)
    np.testing.assert_allclose(got.asnumpy(), want.asnumpy(), rtol=1e-5, atol=1e-6)


def test_stacked_and_bidirectional_cells_match_torch():
    # two LSTMCells stacked == torch 2-layer LSTM; BidirectionalCell(GRU, GRU) == torch bidirectional GRU
    stack = rnn.SequentialRNNCell()
    with stack.name_scope():
        stack.add(rnn.LSTMCell(H, input_size=C))
        stack.add(rnn.LSTMCell(H, input_size=H))
    stack.initialize(mx.init.Uniform(0.5))
    assert len(stack.state_info(N)) == 4
    out, states = stack.unroll(T, mx.nd.array(X), layout="TNC", merge_outputs=True)
    net = torch.nn.LSTM(C, H, num_layers=2).double()
    bi = rnn.BidirectionalCell(rnn.GRUCell(H, input_size=C), rnn.GRUCell(H, input_size=C))
    bi.initialize(mx.init.Uniform(0.5))
    bout, bstates = bi.unroll(T, mx.nd.array(X), layout="TNC", merge_outputs=True)
    bnet = torch.nn.GRU(C, H, bidirectional=True).double()
    with torch.no_grad():
        for torch_net, cells, suffixes in ((net, [stack[0], stack[1]], ["_l0", "_l1"]),
                                           (bnet, list(bi._children.values()), ["_l0", "_l0_reverse"])):
            for cell, suffix in zip(cells, suffixes):
                w = cell_weights(cell)
                for ours, theirs in (("i2h_weight", "weight_ih"), ("h2h_weight", "weight_hh"),
                                     ("i2h_bias", "bias_ih"), ("h2h_bias", "bias_hh")):
                    getattr(torch_net, theirs + suffix).copy_(torch.tensor(w[ours]))
    with torch.no_grad():
        tout, (th, tc) = net(torch.tensor(X, dtype=torch.float64))
        tbout, tbh = bnet(torch.tensor(X, dtype=torch.float64))
    np.testing.assert_allclose(out.asnumpy(), tout.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(states[2].asnumpy(), th[1].numpy(), rtol=1e-4, atol=1e-5)  # layer 1's h
    np.testing.assert_allclose(states[3].asnumpy(), tc[1].numpy(), rtol=1e-4, atol=1e-5)
    assert bout.shape == (T, N, 2 * H)
    np.testing.assert_allclose(bout.asnumpy(), tbout.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(bstates[1].asnumpy(), tbh[1].numpy(), rtol=1e-4, atol=1e-5)
    with pytest.raises(NotImplementedError, match="unroll"):
        bi(mx.nd.array(X[0]), bi.begin_state(batch_size=N))


def test_valid_length_masks_outputs_and_picks_last_states():
    cell = rnn.GRUCell(H, input_size=C)
    cell.initialize(mx.init.Uniform(0.5))
    lengths = np.array([5, 2, 3])
    x = X.transpose(1, 0, 2)
    out, states = cell.unroll(T, mx.nd.array(x), merge_outputs=True, valid_length=mx.nd.array(lengths))
    full, _ = cell.unroll(T, mx.nd.array(x), merge_outputs=True)
    w = cell_weights(cell)
    for b, n in enumerate(lengths):
        np.testing.assert_allclose(out.asnumpy()[b, :n], full.asnumpy()[b, :n], rtol=1e-6)
        assert not out.asnumpy()[b, n:].any()
        h = np.zeros((1, H))
        for t in range(n):
            _, h, _ = numpy_cell("gru", x[b:b + 1, t].astype(np.float64), h, None, w)
        np.testing.assert_allclose(states[0].asnumpy()[b], h[0], rtol=1e-4, atol=1e-5)
    # bidirectional: the reverse direction starts at each sample's last valid step
    bi = rnn.BidirectionalCell(rnn.RNNCell(H, input_size=C), rnn.RNNCell(H, input_size=C))
    bi.initialize(mx.init.Uniform(0.5))
    bout, _ = bi.unroll(T, mx.nd.array(x), merge_outputs=True, valid_length=mx.nd.array(lengths))
    r_cell = list(bi._children.values())[1]
    wr = cell_weights(r_cell)
    b, n = 1, lengths[1]
    h = np.zeros((1, H))
    rev = []
    for t in reversed(range(n)):
        _, h, _ = numpy_cell("rnn", x[b:b + 1, t].astype(np.float64), h, None, wr)
        rev.insert(0, h[0])
    np.testing.assert_allclose(bout.asnumpy()[b, :n, H:], np.stack(rev), rtol=1e-4, atol=1e-5)
    assert not bout.asnumpy()[b, n:].any()


def test_modifier_cells():
    x = mx.nd.array(X.transpose(1, 0, 2))
    base = rnn.GRUCell(H, input_size=C)
    res = rnn.ResidualCell(rnn.GRUCell(C, input_size=C))
    res.initialize()
    plain = res.base_cell
    want, _ = res.unroll(T, x, merge_outputs=True)
    res.base_cell._modified = False
    inner, _ = plain.unroll(T, x, merge_outputs=True)
    plain._modified = True
    np.testing.assert_allclose(want.asnumpy(), inner.asnumpy() + X.transpose(1, 0, 2), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="wrapper"):
        plain.begin_state(batch_size=N)
    assert len(res.begin_state(batch_size=N)) == 1
    steps, _ = res.unroll(T, x, merge_outputs=False)
    np.testing.assert_allclose(steps[2].asnumpy(), want.asnumpy()[:, 2], rtol=1e-5, atol=1e-6)
    # DropoutCell: identity outside training, zeros / scaled inside; no states
    drop = rnn.DropoutCell(0.5)
    assert drop.state_info() == []
    out, st = drop.unroll(T, x, merge_outputs=True)
    np.testing.assert_array_equal(out.asnumpy(), x.asnumpy())
    with mx.autograd.record():
        out, _ = drop.unroll(T, x, merge_outputs=True)
    kept = out.asnumpy() != 0
    np.testing.assert_allclose(out.asnumpy()[kept], 2 * x.asnumpy()[kept], rtol=1e-6)
    assert 0.2 < kept.mean() < 0.8
    with pytest.raises(ValueError, match="rate"):
        rnn.DropoutCell(1.5)
    # ZoneoutCell: the base cell outside training; in training every output is the new or the previous
    zone = rnn.ZoneoutCell(base, zoneout_outputs=0.5, zoneout_states=0.5)
    zone.initialize()
    plain_out, _ = zone.unroll(T, x, merge_outputs=True)
    base._modified = False
    ref, _ = base.unroll(T, x, merge_outputs=True)
    base._modified = True
    np.testing.assert_allclose(plain_out.asnumpy(), ref.asnumpy(), rtol=1e-6)
    with mx.autograd.record():
        zout, _ = zone.unroll(T, x, merge_outputs=True)
    z = zout.asnumpy()
    assert np.all((z[:, 1:] == z[:, :-1]) | (z[:, 1:] != 0) | (z[:, :-1] == 0))
    with pytest.raises(ValueError, match="Bidirectional"):
        rnn.ZoneoutCell(rnn.BidirectionalCell(rnn.GRUCell(H), rnn.GRUCell(H)))
    with pytest.raises(ValueError, match="already modified"):
        rnn.ResidualCell(base)


def test_cell_names_and_bad_arguments():
    cell = rnn.LSTMCell(H, prefix="enc_")
    assert sorted(cell.collect_params().keys()) == ["enc_h2h_bias", "enc_h2h_weight", "enc_i2h_bias",
                                                    "enc_i2h_weight"]
    assert cell.state_info(2) == [{"shape": (2, H), "__layout__": "NC"}] * 2
    states = cell.begin_state(batch_size=2, func=mx.sym.zeros)
    assert [s.name for s in states] == ["enc_begin_state_0", "enc_begin_state_1"]
    with pytest.raises(ValueError, match="hidden_size"):
        rnn.GRUCell(-1)
    cell.initialize()
    with pytest.raises(ValueError, match="length=4"):
        cell.unroll(4, mx.nd.array(X), layout="TNC")
    with pytest.raises(ValueError, match="layout"):
        cell.unroll(T, mx.nd.array(X), layout="TC")
