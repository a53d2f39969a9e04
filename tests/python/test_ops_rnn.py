"""The fused RNN op (mx.nd.RNN / mx.sym.RNN): every mode against a naive numpy recurrence and
against torch.nn.LSTM / GRU / RNN with torch's weights packed into MXNet's layout (which proves the
layout, forward and backward), the packed vector's save / load round trip, dropout between layers,
sequence lengths, symbolic shape inference, errors, and the LSTM language-model example."""
import math
import os
import subprocess
import sys

import numpy as np
import pytest

import mx

torch = pytest.importorskip("torch")

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
GATES = {"lstm": 4, "gru": 3, "rnn_tanh": 1, "rnn_relu": 1}


def param_count(mode, layers, bidirectional, inp, hidden):
    d = 2 if bidirectional else 1
    g = GATES[mode]
    return sum(d * g * hidden * ((inp if l == 0 else d * hidden) + hidden + 2) for l in range(layers))


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def naive_rnn(mode, x, params, h0, c0, layers, bidirectional, hidden):
    """Per step, per gate, from MXNet's definition and packed layout (all weights, then biases)."""
    T, N, inp = x.shape
    D, G, H = 2 if bidirectional else 1, GATES[mode], hidden
    at, ws, bs = 0, {}, {}
    for l in range(layers):
        for d in range(D):
            n_in = inp if l == 0 else D * H
            ws[l, d] = (params[at:at + G * H * n_in].reshape(G * H, n_in),
                        params[at + G * H * n_in:at + G * H * (n_in + H)].reshape(G * H, H))
            at += G * H * (n_in + H)
    for l in range(layers):
        for d in range(D):
            bs[l, d] = params[at:at + G * H], params[at + G * H:at + 2 * G * H]
            at += 2 * G * H
    assert at == params.size
    hy, cy, inp_seq = np.zeros_like(h0), np.zeros_like(h0), x
    for l in range(layers):
        out = np.zeros((T, N, D * H))
        for d in range(D):
            wx, wh = ws[l, d]
            bx, bh = bs[l, d]
            h, c = h0[l * D + d].copy(), (c0[l * D + d].copy() if c0 is not None else None)
            for t in (range(T) if d == 0 else reversed(range(T))):
                xp, hp = inp_seq[t] @ wx.T + bx, h @ wh.T + bh
                if mode == "lstm":
                    i, f = sigmoid(xp[:, :H] + hp[:, :H]), sigmoid(xp[:, H:2 * H] + hp[:, H:2 * H])
                    g, o = np.tanh(xp[:, 2 * H:3 * H] + hp[:, 2 * H:3 * H]), sigmoid(xp[:, 3 * H:] + hp[:, 3 * H:])
                    c = f * c + i * g
                    h = o * np.tanh(c)
                elif mode == "gru":
                    r, z = sigmoid(xp[:, :H] + hp[:, :H]), sigmoid(xp[:, H:2 * H] + hp[:, H:2 * H])
                    n = np.tanh(xp[:, 2 * H:] + r * hp[:, 2 * H:])
                    h = (1 - z) * n + z * h
                else:
                    pre = xp + hp
                    h = np.tanh(pre) if mode == "rnn_tanh" else np.maximum(pre, 0)
                out[t, :, d * H:(d + 1) * H] = h
            hy[l * D + d] = h
            if c is not None:
                cy[l * D + d] = c
        inp_seq = out
    return inp_seq, hy, cy


def torch_module(mode, inp, hidden, layers, bidirectional):
    if mode == "lstm":
        return torch.nn.LSTM(inp, hidden, layers, bidirectional=bidirectional).double()
    if mode == "gru":
        return torch.nn.GRU(inp, hidden, layers, bidirectional=bidirectional).double()
    return torch.nn.RNN(inp, hidden, layers, nonlinearity=mode[4:], bidirectional=bidirectional).double()


def pack_torch(m, layers, bidirectional):
    """torch's per-layer tensors in MXNet's packed order: every W_i2h, W_h2h, then every b_i2h, b_h2h."""
    sfx = ["", "_reverse"] if bidirectional else [""]
    ws, bs = [], []
    for l in range(layers):
        for s in sfx:
            ws += [getattr(m, "weight_ih_l%d%s" % (l, s)), getattr(m, "weight_hh_l%d%s" % (l, s))]
            bs += [getattr(m, "bias_ih_l%d%s" % (l, s)), getattr(m, "bias_hh_l%d%s" % (l, s))]
    return ws + bs


def random_case(mode, T=4, N=3, inp=5, H=6, layers=2, bidirectional=True, seed=0):
    rng = np.random.RandomState(seed)
    D = 2 if bidirectional else 1
    x = rng.uniform(-1, 1, (T, N, inp))
    params = rng.uniform(-0.5, 0.5, param_count(mode, layers, bidirectional, inp, H))
    h0 = rng.uniform(-1, 1, (layers * D, N, H))
    c0 = rng.uniform(-1, 1, (layers * D, N, H)) if mode == "lstm" else None
    return x, params, h0, c0


def mx_rnn(mode, x, params, h0, c0, H, layers, bidirectional, dtype="float64", **kw):
    args = [mx.nd.array(a, dtype=dtype) for a in (x, params, h0)]
    if c0 is not None:
        args.append(mx.nd.array(c0, dtype=dtype))
    return mx.nd.RNN(*args, state_size=H, num_layers=layers, bidirectional=bidirectional, mode=mode, **kw)


@pytest.mark.parametrize("mode", ["lstm", "gru", "rnn_tanh", "rnn_relu"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_forward_matches_naive_recurrence(mode, bidirectional):
    x, params, h0, c0 = random_case(mode, bidirectional=bidirectional)
    outs = mx_rnn(mode, x, params, h0, c0, 6, 2, bidirectional, state_outputs=True)
    want = naive_rnn(mode, x, params, h0, c0, 2, bidirectional, 6)
    assert len(outs) == (3 if mode == "lstm" else 2)
    for got, ref in zip(outs, want):
        np.testing.assert_allclose(got.asnumpy(), ref, rtol=1e-10, atol=1e-12)
    # float32 too, and state_outputs=False returns the single output array
    out32 = mx_rnn(mode, x, params, h0, c0, 6, 2, bidirectional, dtype="float32")
    assert isinstance(out32, mx.nd.NDArray) and out32.dtype == np.float32
    np.testing.assert_allclose(out32.asnumpy(), want[0], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("mode", ["lstm", "gru", "rnn_tanh", "rnn_relu"])
def test_forward_and_backward_match_torch_with_packed_torch_weights(mode):
    T, N, inp, H, L, bi = 5, 3, 4, 7, 2, True
    torch.manual_seed(0)
    m = torch_module(mode, inp, H, L, bi)
    tensors = pack_torch(m, L, bi)
    params = torch.cat([t.detach().reshape(-1) for t in tensors]).numpy()
    assert params.size == param_count(mode, L, bi, inp, H)
    rng = np.random.RandomState(1)
    x, h0 = rng.uniform(-1, 1, (T, N, inp)), rng.uniform(-1, 1, (2 * L, N, H))
    c0 = rng.uniform(-1, 1, (2 * L, N, H)) if mode == "lstm" else None
    dy = rng.uniform(-1, 1, (T, N, 2 * H))

    tx, th0 = torch.tensor(x, requires_grad=True), torch.tensor(h0, requires_grad=True)
    tc0 = torch.tensor(c0, requires_grad=True) if c0 is not None else None
    ty, tstates = m(tx, (th0, tc0) if mode == "lstm" else th0)
    ty.backward(torch.tensor(dy))

    arrays = [mx.nd.array(a, dtype="float64") for a in (x, params, h0)] + \
        ([mx.nd.array(c0, dtype="float64")] if c0 is not None else [])
    for a in arrays:
        a.attach_grad()
    with mx.autograd.record():
        y = mx.nd.RNN(*arrays, state_size=H, num_layers=L, bidirectional=True, mode=mode, state_outputs=True)
    y[0].backward(mx.nd.array(dy, dtype="float64"))
    np.testing.assert_allclose(y[0].asnumpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    hy_t = tstates[0] if mode == "lstm" else tstates
    np.testing.assert_allclose(y[1].asnumpy(), hy_t.detach().numpy(), rtol=1e-10, atol=1e-12)
    if mode == "lstm":
        np.testing.assert_allclose(y[2].asnumpy(), tstates[1].detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(arrays[0].grad.asnumpy(), tx.grad.numpy(), rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(arrays[2].grad.asnumpy(), th0.grad.numpy(), rtol=1e-9, atol=1e-11)
    if mode == "lstm":
        np.testing.assert_allclose(arrays[3].grad.asnumpy(), tc0.grad.numpy(), rtol=1e-9, atol=1e-11)
    want_dparams = torch.cat([t.grad.reshape(-1) for t in tensors]).numpy()
    np.testing.assert_allclose(arrays[1].grad.asnumpy(), want_dparams, rtol=1e-9, atol=1e-11)


def test_packed_parameters_round_trip_through_an_mxnet_params_file(tmp_path):
    x, params, h0, c0 = random_case("lstm")
    before = mx_rnn("lstm", x, params, h0, c0, 6, 2, True, dtype="float32").asnumpy()
    path = str(tmp_path / "lstm.params")
    mx.nd.save(path, {"arg:lstm_parameters": mx.nd.array(params, dtype="float32")})
    loaded = mx.nd.load(path)["arg:lstm_parameters"]
    assert loaded.shape == (param_count("lstm", 2, True, 5, 6),)
    after = mx.nd.RNN(mx.nd.array(x, dtype="float32"), loaded, mx.nd.array(h0, dtype="float32"),
                      mx.nd.array(c0, dtype="float32"), state_size=6, num_layers=2, bidirectional=True,
                      mode="lstm").asnumpy()
    np.testing.assert_array_equal(before, after)


def test_sequence_length_pads_with_zeros_and_keeps_the_last_valid_state():
    x, params, h0, c0 = random_case("gru", N=3)
    lengths = np.array([4, 2, 1])
    out, hy = mx.nd.RNN(mx.nd.array(x, dtype="float64"), mx.nd.array(params, dtype="float64"),
                        mx.nd.array(h0, dtype="float64"), mx.nd.array(lengths, dtype="int32"), state_size=6,
                        num_layers=2, bidirectional=True, mode="gru", state_outputs=True, use_sequence_length=True)
    for n, k in enumerate(lengths):  # each sample alone, truncated, is the unpadded recurrence
        ref_out, ref_hy, _ = naive_rnn("gru", x[:k, n:n + 1], params, h0[:, n:n + 1], None, 2, True, 6)
        np.testing.assert_allclose(out.asnumpy()[:k, n:n + 1], ref_out, rtol=1e-10, atol=1e-12)
        assert not out.asnumpy()[k:, n].any()
        np.testing.assert_allclose(hy.asnumpy()[:, n:n + 1], ref_hy, rtol=1e-10, atol=1e-12)


def test_dropout_between_layers_only_in_training_and_reproducible_from_the_seed():
    x, params, h0, c0 = random_case("lstm", T=6, N=4, H=8)
    args = [mx.nd.array(a, dtype="float32") for a in (x, params, h0, c0)]
    kw = dict(state_size=8, num_layers=2, bidirectional=True, mode="lstm")
    plain = mx.nd.RNN(*args, **kw).asnumpy()
    np.testing.assert_array_equal(mx.nd.RNN(*args, p=0.5, **kw).asnumpy(), plain)  # inference: no dropout

    def train_run(seed):
        mx.random.seed(seed)
        with mx.autograd.record():
            return mx.nd.RNN(*args, p=0.5, **kw).asnumpy()
    a, b, c = train_run(3), train_run(3), train_run(4)
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - plain).max() > 1e-3 and np.abs(a - c).max() > 1e-3
    # One layer has nothing to drop between.
    one = dict(kw, num_layers=1)
    p1 = mx.nd.array(params[:param_count("lstm", 1, True, 5, 8)], dtype="float32")
    s1 = [mx.nd.array(h0[:2], dtype="float32"), mx.nd.array(c0[:2], dtype="float32")]
    with mx.autograd.record():
        dropped = mx.nd.RNN(args[0], p1, *s1, p=0.5, **one).asnumpy()
    np.testing.assert_array_equal(dropped, mx.nd.RNN(args[0], p1, *s1, **one).asnumpy())


def test_dropout_gradient_flows_through_the_same_mask():
    # Gradient of sum(out) w.r.t. data, in training with p=0.5, against central differences of the
    # same (seeded) forward: the backward must reuse the forward's mask.
    x, params, h0, c0 = random_case("rnn_tanh", T=3, N=2, inp=3, H=4, bidirectional=False)
    kw = dict(state_size=4, num_layers=2, bidirectional=False, mode="rnn_tanh", p=0.5)
    p, h = mx.nd.array(params, dtype="float64"), mx.nd.array(h0[:2], dtype="float64")

    def f(xv):
        mx.random.seed(11)
        with mx.autograd.record():
            return float(mx.nd.RNN(mx.nd.array(xv, dtype="float64"), p, h, **kw).asnumpy().sum())
    xa = mx.nd.array(x, dtype="float64")
    xa.attach_grad()
    mx.random.seed(11)
    with mx.autograd.record():
        y = mx.nd.RNN(xa, p, h, **kw)
    y.backward()
    g = xa.grad.asnumpy()
    eps = 1e-6
    for idx in [(0, 0, 0), (1, 1, 2), (2, 0, 1)]:
        xp, xm = x.copy(), x.copy()
        xp[idx] += eps
        xm[idx] -= eps
        assert abs((f(xp) - f(xm)) / (2 * eps) - g[idx]) < 1e-6


def test_symbol_infers_the_parameter_vector_and_state_shapes():
    data = mx.sym.Variable("data")
    net = mx.sym.RNN(data=data, state_size=16, num_layers=2, bidirectional=True, mode="lstm", name="lstm",
                     state_outputs=True)
    assert len(net.list_outputs()) == 3
    arg_shapes, out_shapes, _ = net.infer_shape(data=(7, 4, 10))
    shapes = dict(zip(net.list_arguments(), arg_shapes))
    assert shapes["lstm_parameters"] == (param_count("lstm", 2, True, 10, 16),)
    assert shapes["lstm_state"] == (4, 4, 16) and shapes["lstm_state_cell"] == (4, 4, 16)
    assert out_shapes == [(7, 4, 32), (4, 4, 16), (4, 4, 16)]
    single = mx.sym.RNN(data=data, state_size=8, num_layers=1, mode="gru", name="gru")
    assert len(single.list_outputs()) == 1


def test_errors_name_the_op_and_the_shapes():
    x, params, h0, c0 = random_case("lstm")
    with pytest.raises(mx.MXNetError, match=r"RNN: parameters is \(10,?\).*needs"):
        mx.nd.RNN(mx.nd.array(x), mx.nd.zeros((10,)), mx.nd.array(h0), mx.nd.array(c0), state_size=6,
                  num_layers=2, bidirectional=True, mode="lstm")
    with pytest.raises(mx.MXNetError, match=r"RNN: state is \(4, ?3, ?5\)"):
        mx.nd.RNN(mx.nd.array(x), mx.nd.array(params), mx.nd.zeros((4, 3, 5)), mx.nd.array(c0), state_size=6,
                  num_layers=2, bidirectional=True, mode="lstm")
    with pytest.raises(mx.MXNetError, match="projection_size"):
        mx.nd.RNN(mx.nd.array(x), mx.nd.array(params), mx.nd.array(h0), mx.nd.array(c0), state_size=6,
                  num_layers=2, bidirectional=True, mode="lstm", projection_size=3)
    with pytest.raises(mx.MXNetError, match="data must be"):
        mx.nd.RNN(mx.nd.zeros((3, 5)), mx.nd.array(params), mx.nd.array(h0), mx.nd.array(c0), state_size=6,
                  num_layers=2, bidirectional=True, mode="lstm")
    with pytest.raises(mx.MXNetError, match="mode"):
        mx.nd.RNN(mx.nd.array(x), mx.nd.array(params), mx.nd.array(h0), state_size=6, num_layers=2, mode="bad")


def test_lstm_language_model_example_lowers_perplexity():
    env = dict(os.environ)
    env.setdefault("MX_LIBRARY_PATH", os.path.join(ROOT, "build", "release", "lib"))
    env["MX_LIBRARY_PATH"] = os.path.abspath(env["MX_LIBRARY_PATH"])
    out = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "lstm_lm.py"), "--steps", "80",
                          "--log-every", "40"], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    ppl = [float(line.split("train perplexity")[1].split()[0]) for line in out.stdout.splitlines()
           if "train perplexity" in line]
    assert len(ppl) >= 2 and ppl[-1] < ppl[0] / 2, out.stdout
    valid = float(out.stdout.split("valid perplexity")[1].split()[0])
    assert math.isfinite(valid) and valid < ppl[0] / 2, out.stdout
