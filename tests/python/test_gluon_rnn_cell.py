"""mx.gluon.rnn cells (MXNet 1.9.1): RNNCell / LSTMCell / GRUCell against a numpy step loop written
here, unroll with merged and unmerged outputs and layouts, stacked and bidirectional cells against
torch.nn.LSTM / GRU with the same weights, valid_length against numpy, Dropout / Residual / Zoneout
cells, hybridized == symbolic == imperative, MXNet's names and bad arguments."""
import numpy as np
import pytest
import torch

import mx
from mx.gluon import rnn

T, N, C, H = 5, 3, 4, 6
RNG = np.random.RandomState(2)
X = RNG.uniform(-1, 1, (T, N, C)).astype(np.float32)  # TNC


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


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
    # ZoneoutCell: the base cell outside training; in training (zoneout on outputs only, so the base
    # cell's states run as without it) each output element is the base cell's new output or the
    # previous zoned output (0 before the first step), and both occur
    zone = rnn.ZoneoutCell(base, zoneout_outputs=0.5)
    zone.initialize()
    plain_out, _ = zone.unroll(T, x, merge_outputs=True)
    base._modified = False
    ref, _ = base.unroll(T, x, merge_outputs=True)
    base._modified = True
    np.testing.assert_allclose(plain_out.asnumpy(), ref.asnumpy(), rtol=1e-6)
    with mx.autograd.record():
        zout, _ = zone.unroll(T, x, merge_outputs=True)
    z, r = zout.asnumpy(), ref.asnumpy()
    prev = np.concatenate([np.zeros_like(z[:, :1]), z[:, :-1]], axis=1)
    took_new, kept_old = np.isclose(z, r, atol=1e-6), np.isclose(z, prev, atol=1e-6)
    assert np.all(took_new | kept_old)
    assert 0.2 < took_new.mean() < 0.8 and (kept_old & ~took_new).any()
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
    assert repr(cell) == "LSTMCell(None -> %d)" % (4 * H)
    assert repr(rnn.RNNCell(H, input_size=C)) == "RNNCell(%d -> %d, tanh)" % (C, H)
    with pytest.raises(ValueError, match="hidden_size"):
        rnn.GRUCell(-1)
    cell.initialize()
    with pytest.raises(ValueError, match="length=4"):
        cell.unroll(4, mx.nd.array(X), layout="TNC")
    with pytest.raises(ValueError, match="layout"):
        cell.unroll(T, mx.nd.array(X), layout="TC")


def test_hybrid_sequential_cell_hybridized_before_first_call():
    # deferred input size and the CachedOp both resolved on the first (hybridized) call
    stack = rnn.HybridSequentialRNNCell()
    with stack.name_scope():
        stack.add(rnn.GRUCell(H))
        stack.add(rnn.RNNCell(H, activation="relu"))
    stack.initialize(mx.init.Uniform(0.5))
    stack.hybridize()
    x = mx.nd.array(X)
    got, states = stack.unroll(T, x, layout="TNC", merge_outputs=True)
    first, second = stack[0], stack[1]
    assert first.i2h_weight.shape == (3 * H, C) and len(states) == 2
    w0, w1 = cell_weights(first), cell_weights(second)
    h0, h1 = np.zeros((N, H)), np.zeros((N, H))
    for t in range(T):
        out, h0, _ = numpy_cell("gru", X[t].astype(np.float64), h0, None, w0)
        i2h = out @ w1["i2h_weight"].T + w1["i2h_bias"] + h1 @ w1["h2h_weight"].T + w1["h2h_bias"]
        h1 = np.maximum(i2h, 0)
        np.testing.assert_allclose(got.asnumpy()[t], h1, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(states[0].asnumpy(), h0, rtol=1e-4, atol=1e-5)


def test_cells_run_in_float64():
    stack = rnn.SequentialRNNCell()
    stack.add(rnn.LSTMCell(H, input_size=C))
    stack.add(rnn.ResidualCell(rnn.GRUCell(H, input_size=H)))
    stack.initialize()
    x = mx.nd.array(X, dtype=np.float64)
    want, _ = stack.unroll(T, mx.nd.array(X), layout="TNC", merge_outputs=True)
    stack.cast("float64")
    got, states = stack.unroll(T, x, layout="TNC", merge_outputs=True)
    assert got.dtype == np.float64 and states[0].dtype == np.float64
    np.testing.assert_allclose(got.asnumpy(), want.asnumpy(), rtol=1e-5, atol=1e-6)
