"""mx.gluon.rnn layers RNN / LSTM / GRU (MXNet 1.9.1) against torch.nn.RNN / LSTM / GRU with the
same weights copied in (outputs, final states, input and weight gradients), MXNet's parameter names
and deferred input size, hybridized == imperative, symbolic use, save / load keys, sequence
lengths, dropout, state clipping against numpy, bad arguments. Cells: test_gluon_rnn_cell.py."""
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
    gru = rnn.GRU(H, input_size=C, dropout=0.5)
    assert gru.l0_i2h_weight.shape == (3 * H, C)
    assert repr(gru) == "GRU(%d -> %d, TNC, dropout=0.5)" % (C, H)
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


def test_sequence_length_matches_torch_packed_sequences():
    lengths = np.array([5, 2, 3])
    layer = rnn.GRU(H, bidirectional=True, input_size=C, use_sequence_length=True, h2h_bias_initializer="uniform")
    layer.initialize(mx.init.Uniform(0.5))
    out, states = layer(mx.nd.array(X), layer.begin_state(N), mx.nd.array(lengths))
    net = torch_twin(layer, "gru", 1, True)
    packed = torch.nn.utils.rnn.pack_padded_sequence(torch.tensor(X, dtype=torch.float64), torch.tensor(lengths),
                                                     enforce_sorted=False)
    with torch.no_grad():
        tout, th = net(packed)
    tout, _ = torch.nn.utils.rnn.pad_packed_sequence(tout, total_length=T)
    np.testing.assert_allclose(out.asnumpy(), tout.numpy(), rtol=1e-4, atol=1e-5)  # zeros past each length
    np.testing.assert_allclose(states[0].asnumpy(), th.numpy(), rtol=1e-4, atol=1e-5)


def test_lstm_state_clip_matches_numpy():
    lo, hi = -0.2, 0.3
    layer = rnn.LSTM(H, input_size=C, state_clip_min=lo, state_clip_max=hi, i2h_bias_initializer="uniform")
    layer.initialize(mx.init.Uniform(1.0))
    out, (hy, cy) = layer(mx.nd.array(X), layer.begin_state(N))
    w = {k: layer.collect_params()[layer.prefix + "l0_" + k].data().asnumpy().astype(np.float64)
         for k in ("i2h_weight", "h2h_weight", "i2h_bias", "h2h_bias")}
    h, c = np.zeros((N, H)), np.zeros((N, H))
    for t in range(T):
        gates = X[t] @ w["i2h_weight"].T + w["i2h_bias"] + h @ w["h2h_weight"].T + w["h2h_bias"]
        i, f, g, o = np.split(gates, 4, axis=1)
        c = np.clip(sigmoid(f) * c + sigmoid(i) * np.tanh(g), lo, hi)
        h = sigmoid(o) * np.tanh(c)
        np.testing.assert_allclose(out.asnumpy()[t], h, rtol=1e-4, atol=1e-5)
    assert cy.asnumpy().min() >= lo - 1e-6 and cy.asnumpy().max() <= hi + 1e-6
    assert np.isclose(cy.asnumpy(), lo).any() or np.isclose(cy.asnumpy(), hi).any()  # the clip did bite


def test_layer_dtype_and_cast():
    layer = rnn.LSTM(H, dtype="float64")
    layer.initialize()
    assert layer.l0_h2h_weight.dtype in ("float64", np.float64)
    out, states = layer(mx.nd.array(X, dtype=np.float64), layer.begin_state(N))
    assert out.dtype == np.float64 and states[1].dtype == np.float64
    gru = rnn.GRU(H, input_size=C)
    gru.initialize()
    want = gru(mx.nd.array(X)).asnumpy()
    gru.cast("float64")
    assert gru.state_info(N)[0]["dtype"] == "float64"
    got = gru(mx.nd.array(X, dtype=np.float64))
    assert got.dtype == np.float64
    np.testing.assert_allclose(got.asnumpy(), want, rtol=1e-5, atol=1e-6)
