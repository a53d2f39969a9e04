"""mx.rnn.FusedRNNCell (MXNet 1.9.1 python/mxnet/rnn/rnn_cell.py): the fused unroll against a numpy
recurrence written here from the per-gate weights that unpack_weights gives, the unfused stack
against the fused cell, pack / unpack, RNN checkpoints, the FusedRNN initializer, and gradients
against central finite differences in float64."""
import numpy as np
import pytest

import mx

GATES = {"lstm": "ifco", "gru": "rzo", "rnn_tanh": "", "rnn_relu": ""}


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def numpy_fused(mode, x, w, prefix, layers, bidirectional, h0, c0=None):
    """x (T, N, C); w: per-gate numpy weights by MXNet's names ('<prefix>l0_i2h_f_weight', ...).
    Returns (outputs (T, N, D*H), h_T (L*D, N, H), c_T)."""
    T, N, _ = x.shape
    dirs = "lr" if bidirectional else "l"
    gates = ["_" + g for g in GATES[mode]] or [""]
    hy, cy, seq = np.zeros_like(h0), np.zeros_like(h0), x
    for layer in range(layers):
        outs = []
        for d, name in enumerate(dirs):
            k = layer * len(dirs) + d
            p = "%s%s%d_" % (prefix, name, layer)
            wi = {g: (w[p + "i2h%s_weight" % g], w[p + "i2h%s_bias" % g]) for g in gates}
            wh = {g: (w[p + "h2h%s_weight" % g], w[p + "h2h%s_bias" % g]) for g in gates}
            xi = lambda g, v: v @ wi[g][0].T + wi[g][1]  # noqa: E731
            hh = lambda g, v: v @ wh[g][0].T + wh[g][1]  # noqa: E731
            h, c = h0[k], (c0[k] if c0 is not None else None)
            out = np.zeros((T, N, h.shape[1]))
            for t in (range(T) if name == "l" else reversed(range(T))):
                v = seq[t]
                if mode == "lstm":
                    i, f = sigmoid(xi("_i", v) + hh("_i", h)), sigmoid(xi("_f", v) + hh("_f", h))
                    g, o = np.tanh(xi("_c", v) + hh("_c", h)), sigmoid(xi("_o", v) + hh("_o", h))
                    c = f * c + i * g
                    h = o * np.tanh(c)
                elif mode == "gru":
                    r, z = sigmoid(xi("_r", v) + hh("_r", h)), sigmoid(xi("_z", v) + hh("_z", h))
                    h = (1 - z) * np.tanh(xi("_o", v) + r * hh("_o", h)) + z * h
                else:
                    pre = xi("", v) + hh("", h)
                    h = np.tanh(pre) if mode == "rnn_tanh" else np.maximum(pre, 0)
                out[t] = h
            outs.append(out)
            hy[k] = h
            if c is not None:
                cy[k] = c
        seq = np.concatenate(outs, axis=2)
    return seq, hy, cy


def packed_size(mode, layers, bidirectional, inp, hidden):
    d, g = (2 if bidirectional else 1), max(1, len(GATES[mode]))
    return sum(d * g * hidden * ((inp if l == 0 else d * hidden) + hidden + 2) for l in range(layers))


def run(outputs, arrays, dtype=np.float32):
    group = mx.sym.Group(outputs) if isinstance(outputs, list) else outputs
    args = {n: mx.nd.array(arrays[n], dtype=dtype) for n in group.list_arguments()}
    exe = group.bind(mx.cpu(), args)
    return [o.asnumpy() for o in exe.forward(is_train=False)]


CASES = [("lstm", 2, False), ("lstm", 2, True), ("gru", 2, False), ("gru", 1, True), ("rnn_tanh", 2, True),
         ("rnn_relu", 2, False)]


@pytest.mark.parametrize("mode,layers,bidirectional", CASES)
def test_fused_unroll_matches_numpy_recurrence(mode, layers, bidirectional):
    T, N, C, H = 4, 3, 5, 3
    rng = np.random.RandomState(layers + 3 * bidirectional)
    cell = mx.rnn.FusedRNNCell(H, num_layers=layers, mode=mode, bidirectional=bidirectional, get_next_state=True)
    begin = [mx.sym.var("h0")] + ([mx.sym.var("c0")] if mode == "lstm" else [])
    out, states = cell.unroll(T, mx.sym.var("data"), begin_state=begin, layout="NTC", merge_outputs=True)
    name = "%s_parameters" % mode
    assert mx.sym.Group([out] + states).list_arguments() == ["data", name] + [s.name for s in begin]
    L = layers * (2 if bidirectional else 1)
    arrays = {"data": rng.uniform(-1, 1, (N, T, C)), "h0": rng.uniform(-1, 1, (L, N, H)),
              "c0": rng.uniform(-1, 1, (L, N, H)),
              name: rng.uniform(-0.6, 0.6, packed_size(mode, layers, bidirectional, C, H))}
    arrays = {k: v.astype(np.float32) for k, v in arrays.items()}
    got = run([out] + states, arrays)
    w = {k: v.asnumpy() for k, v in cell.unpack_weights({name: mx.nd.array(arrays[name])}).items()}
    want, hy, cy = numpy_fused(mode, arrays["data"].transpose(1, 0, 2).astype(np.float64), w, mode + "_", layers,
                               bidirectional, arrays["h0"].astype(np.float64),
                               arrays["c0"].astype(np.float64) if mode == "lstm" else None)
    assert np.abs(want).max() > 0.05
    np.testing.assert_allclose(got[0], want.transpose(1, 0, 2), rtol=1e-4, atol=1e-5)  # back to NTC
    np.testing.assert_allclose(got[1], hy, rtol=1e-4, atol=1e-5)
    if mode == "lstm":
        np.testing.assert_allclose(got[2], cy, rtol=1e-4, atol=1e-5)


def test_unroll_layouts_step_lists_and_zero_begin_state():
    T, N, C, H = 3, 2, 4, 5
    rng = np.random.RandomState(7)
    x = rng.uniform(-1, 1, (T, N, C)).astype(np.float32)
    params = rng.uniform(-0.5, 0.5, packed_size("gru", 2, False, C, H)).astype(np.float32)
    cell = mx.rnn.FusedRNNCell(H, num_layers=2, mode="gru", prefix="g_")
    assert cell.state_info == [{"shape": (2, 0, H), "__layout__": "LNC"}]
    # TNC, begin state given as zeros
    out, states = cell.unroll(T, mx.sym.var("data"), begin_state=[mx.sym.var("h0")], layout="TNC",
                              merge_outputs=True)
    assert states == []  # get_next_state=False
    want = run(out, {"data": x, "g_parameters": params, "h0": np.zeros((2, N, H), np.float32)})[0]
    w = {k: v.asnumpy() for k, v in cell.unpack_weights({"g_parameters": mx.nd.array(params)}).items()}
    ref = numpy_fused("gru", x.astype(np.float64), w, "g_", 2, False, np.zeros((2, N, H)))[0]
    np.testing.assert_allclose(want, ref, rtol=1e-4, atol=1e-5)
    # a list of (N, C) steps in, no begin state (zeros with the inputs' batch), a list of steps out
    steps = [mx.sym.var("x%d" % t) for t in range(T)]
    outs, _ = cell.unroll(T, steps, merge_outputs=False)
    assert isinstance(outs, list) and len(outs) == T
    got = run(outs, dict({"x%d" % t: x[t] for t in range(T)}, g_parameters=params))
    for t in range(T):
        np.testing.assert_allclose(got[t], want[t], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("mode,layers,bidirectional", CASES)
def test_unfused_stack_gives_the_fused_outputs(mode, layers, bidirectional):
    T, N, C, H = 3, 2, 4, 3
    rng = np.random.RandomState(11)
    cell = mx.rnn.FusedRNNCell(H, num_layers=layers, mode=mode, bidirectional=bidirectional, prefix="f_")
    fused_out, _ = cell.unroll(T, mx.sym.var("data"), merge_outputs=True)
    stack = cell.unfuse()
    assert isinstance(stack, mx.rnn.SequentialRNNCell) and len(stack._cells) == layers
    kinds = {"lstm": mx.rnn.LSTMCell, "gru": mx.rnn.GRUCell, "rnn_tanh": mx.rnn.RNNCell, "rnn_relu": mx.rnn.RNNCell}
    for layer in stack._cells:
        inner = layer._cells if bidirectional else [layer]
        assert isinstance(layer, mx.rnn.BidirectionalCell) == bidirectional
        assert all(isinstance(c, kinds[mode]) for c in inner)
    unfused_out, _ = stack.unroll(T, mx.sym.var("data"), merge_outputs=True)
    packed = rng.uniform(-0.6, 0.6, packed_size(mode, layers, bidirectional, C, H)).astype(np.float32)
    per_gate = cell.unpack_weights({"f_parameters": mx.nd.array(packed)})
    unfused_args = stack.pack_weights(per_gate)
    assert sorted(unfused_args) == sorted(n for n in unfused_out.list_arguments() if n != "data")
    x = rng.uniform(-1, 1, (N, T, C)).astype(np.float32)
    fused = run(fused_out, {"data": x, "f_parameters": packed})[0]
    unfused = run(unfused_out, dict({k: v.asnumpy() for k, v in unfused_args.items()}, data=x))[0]
    assert fused.shape == (N, T, H * (2 if bidirectional else 1)) and np.abs(fused).max() > 0.05
    np.testing.assert_allclose(unfused, fused, rtol=1e-4, atol=1e-5)


def test_unfuse_puts_dropout_between_layers():
    stack = mx.rnn.FusedRNNCell(4, num_layers=3, mode="lstm", dropout=0.3, prefix="d_").unfuse()
    kinds = [type(c).__name__ for c in stack._cells]
    assert kinds == ["LSTMCell", "DropoutCell", "LSTMCell", "DropoutCell", "LSTMCell"]
    assert stack._cells[1].dropout == 0.3


def test_pack_of_unpack_is_identity_and_names_are_mxnets():
    C, H = 3, 2
    cell = mx.rnn.FusedRNNCell(H, num_layers=2, mode="lstm", bidirectional=True, prefix="m_")
    n = packed_size("lstm", 2, True, C, H)
    packed = np.random.RandomState(0).randn(n).astype(np.float32)
    other = mx.nd.array([1.0, 2.0])
    unpacked = cell.unpack_weights({"m_parameters": mx.nd.array(packed), "other": other})
    assert "m_parameters" not in unpacked and unpacked["other"] is other
    # MXNet's order: all weights (per layer, direction, i2h gates then h2h gates), then all biases
    names, at = [], 0
    for kind in ("weight", "bias"):
        for layer in range(2):
            for d in "lr":
                for group in ("i2h", "h2h"):
                    for g in "ifco":
                        names.append("m_%s%d_%s_%s_%s" % (d, layer, group, g, kind))
    assert sorted(unpacked) == sorted(names + ["other"])
    for name in names:
        arr = unpacked[name].asnumpy()
        want_shape = ((H, C if name[3] == "0" else 2 * H) if "i2h" in name else (H, H)) if "weight" in name else (H,)
        assert arr.shape == want_shape, name
        np.testing.assert_array_equal(arr.ravel(), packed[at:at + arr.size])  # the next piece of the vector
        at += arr.size
    assert at == n
    repacked = cell.pack_weights(unpacked)
    np.testing.assert_array_equal(repacked["m_parameters"].asnumpy(), packed)
    assert sorted(repacked) == ["m_parameters", "other"]
    # unpack copies: changing the pieces leaves the packed array alone
    src = mx.nd.array(packed)
    cell.unpack_weights({"m_parameters": src})["m_l0_i2h_i_weight"][:] = 0
    np.testing.assert_array_equal(src.asnumpy(), packed)
    # errors name what is wrong
    broken = dict(unpacked)
    del broken["m_r1_h2h_o_bias"]
    with pytest.raises(KeyError, match="m_r1_h2h_o_bias"):
        cell.pack_weights(broken)
    broken = dict(unpacked, m_l1_h2h_f_weight=mx.nd.zeros((H, H + 1)))
    with pytest.raises(ValueError, match="m_l1_h2h_f_weight"):
        cell.pack_weights(broken)
    with pytest.raises(ValueError, match="FusedRNN"):
        cell.unpack_weights({"m_parameters": mx.nd.zeros((n + 1,))})


def test_rnn_checkpoint_round_trip_with_fused_cells(tmp_path):
    T, C, H = 2, 3, 2
    fused = mx.rnn.FusedRNNCell(H, num_layers=2, mode="gru", bidirectional=True, prefix="f_")
    top = mx.rnn.LSTMCell(H, prefix="top_")
    stack = mx.rnn.SequentialRNNCell()
    stack.add(fused)
    stack.add(top)
    out, _ = stack.unroll(T, mx.sym.var("data"), merge_outputs=True)
    shapes = dict(zip(out.list_arguments(), out.infer_shape(data=(1, T, C))[0]))
    rng = np.random.RandomState(5)
    args = {k: mx.nd.array(rng.randn(*s)) for k, s in shapes.items() if k != "data"}
    prefix = str(tmp_path / "fused")
    mx.rnn.save_rnn_checkpoint(stack, prefix, 1, out, args, {})
    _, saved, _ = mx.model.load_checkpoint(prefix, 1)
    assert "f_parameters" not in saved and "top_i2h_weight" not in saved
    # on disk: the fused vector's pieces by MXNet's per-gate names, in the packed order
    packed, at = args["f_parameters"].asnumpy(), 0
    for layer in range(2):
        for d in "lr":
            for group in ("i2h", "h2h"):
                for g in "rzo":
                    piece = saved["f_%s%d_%s_%s_weight" % (d, layer, group, g)].asnumpy()
                    np.testing.assert_array_equal(piece.ravel(), packed[at:at + piece.size])
                    at += piece.size
    np.testing.assert_array_equal(saved["top_h2h_f_bias"].asnumpy(), args["top_h2h_bias"].asnumpy()[H:2 * H])
    _, loaded, _ = mx.rnn.load_rnn_checkpoint(stack, prefix, 1)
    assert sorted(loaded) == sorted(args)
    for k in args:
        np.testing.assert_array_equal(loaded[k].asnumpy(), args[k].asnumpy())
    # a checkpoint of the fused cell loads into its unfused stack (per-gate names are shared)
    mx.rnn.save_rnn_checkpoint(fused, prefix, 2, out, {"f_parameters": args["f_parameters"]}, {})
    _, back, _ = mx.rnn.load_rnn_checkpoint(fused, prefix, 2)
    assert sorted(back) == ["f_parameters"]
    np.testing.assert_array_equal(back["f_parameters"].asnumpy(), packed)
    _, unfused_args, _ = mx.rnn.load_rnn_checkpoint(fused.unfuse(), prefix, 2)
    assert sorted(unfused_args) == sorted("f_%s%d_%s_%s" % (d, l, g, k) for d in "lr" for l in range(2)
                                          for g in ("i2h", "h2h") for k in ("weight", "bias"))


def test_parameters_use_the_fused_rnn_initializer():
    T, N, C, H = 2, 2, 3, 4
    cell = mx.rnn.FusedRNNCell(H, num_layers=2, mode="lstm", forget_bias=2.5, prefix="i_")
    out, _ = cell.unroll(T, mx.sym.var("data"), merge_outputs=True)
    init = mx.init.create(out.attr_dict()["i_parameters"]["__init__"])
    assert isinstance(init, mx.init.FusedRNN)
    mod = mx.mod.Module(out, data_names=["data"], label_names=None)
    mod.bind([("data", (N, T, C))], for_training=False)
    mod.init_params(mx.init.Constant(0.25))  # the global initializer FusedRNN(None, ...) falls back to
    w = {k: v.asnumpy() for k, v in cell.unpack_weights(mod.get_params()[0]).items()}
    for name, arr in w.items():
        if name.endswith("_f_bias"):
            np.testing.assert_array_equal(arr, 2.5)  # MXNet: every LSTM forget-gate bias is forget_bias
        elif name.endswith("_bias"):
            np.testing.assert_array_equal(arr, 0.0)  # MXNet's Initializer: biases by name are zeros
        else:
            np.testing.assert_array_equal(arr, 0.25)


@pytest.mark.parametrize("mode,layers,bidirectional", [("lstm", 2, False), ("gru", 1, True), ("rnn_tanh", 2, True)])
def test_gradients_through_fused_unroll_match_finite_differences(mode, layers, bidirectional):
    T, N, C, H = 3, 2, 2, 2
    rng = np.random.RandomState(13)
    cell = mx.rnn.FusedRNNCell(H, num_layers=layers, mode=mode, bidirectional=bidirectional, prefix="g_",
                               get_next_state=True)
    begin = [mx.sym.var("h0")] + ([mx.sym.var("c0")] if mode == "lstm" else [])
    out, states = cell.unroll(T, mx.sym.var("data"), begin_state=begin, merge_outputs=True)
    group = mx.sym.Group([out] + states)
    L = layers * (2 if bidirectional else 1)
    shapes = {"data": (N, T, C), "g_parameters": (packed_size(mode, layers, bidirectional, C, H),),
              "h0": (L, N, H), "c0": (L, N, H)}
    names = group.list_arguments()
    values = {n: rng.uniform(-0.8, 0.8, shapes[n]) for n in names}
    heads = [rng.uniform(-1, 1, s) for s in group.infer_shape(**{n: shapes[n] for n in names})[1]]
    args = {n: mx.nd.array(values[n], dtype="float64") for n in names}
    grads = {n: mx.nd.zeros(shapes[n], dtype="float64") for n in names}
    exe = group.bind(mx.cpu(), args, args_grad=grads)

    def loss():
        outs = exe.forward(is_train=True)
        return sum(float((o.asnumpy() * h).sum()) for o, h in zip(outs, heads))

    loss()
    exe.backward([mx.nd.array(h, dtype="float64") for h in heads])
    eps = 1e-6
    for n in names:
        got, want = grads[n].asnumpy().ravel(), np.zeros(values[n].size)
        for i in range(values[n].size):
            for sign in (1, -1):
                v = values[n].copy().ravel()
                v[i] += sign * eps
                args[n][:] = v.reshape(shapes[n])
                want[i] += sign * loss() / (2 * eps)
        args[n][:] = values[n]
        assert np.abs(want).max() > 1e-3, n
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7, err_msg=n)


def test_misuse_raises_clear_errors():
    with pytest.raises(ValueError, match="mode"):
        mx.rnn.FusedRNNCell(4, mode="lstmp")
    with pytest.raises(ValueError, match="num_layers"):
        mx.rnn.FusedRNNCell(4, num_layers=0)
    with pytest.raises(ValueError, match="dropout"):
        mx.rnn.FusedRNNCell(4, dropout=1.5)
    cell = mx.rnn.FusedRNNCell(4, mode="lstm")
    with pytest.raises(NotImplementedError, match="unroll"):
        cell(mx.sym.var("x"), cell.begin_state())
    with pytest.raises(ValueError, match="begin states"):
        cell.unroll(2, mx.sym.var("data"), begin_state=[mx.sym.var("h0")])
    with pytest.raises(ValueError, match="layout"):
        cell.unroll(2, mx.sym.var("data"), layout="NCT")


def test_module_trains_a_fused_cell_with_dropout():
    # End to end: Module + the FusedRNN initializer (global Xavier) + dropout between layers + the
    # op's gradient learn whether a sequence's first feature sums to more than zero.
    N, T, C = 64, 5, 3
    mx.random.seed(0)  # the initializer and the dropout masks (seeds 0-9 all pass)
    rng = np.random.RandomState(0)
    x = rng.randn(4 * N, T, C).astype(np.float32)
    y = (x[:, :, 0].sum(axis=1) > 0).astype(np.float32)
    cell = mx.rnn.FusedRNNCell(8, num_layers=2, mode="lstm", dropout=0.2, prefix="fit_")
    out, _ = cell.unroll(T, mx.sym.var("data"), merge_outputs=True)
    last = mx.sym.reshape(mx.sym.slice_axis(out, axis=1, begin=T - 1, end=T), shape=(-1, 8))
    net = mx.sym.SoftmaxOutput(mx.sym.FullyConnected(last, num_hidden=2, name="fc"), name="softmax")
    train = mx.io.NDArrayIter(x, y, batch_size=N)
    mod = mx.mod.Module(net)
    mod.fit(train, num_epoch=30, initializer=mx.init.Xavier(), optimizer="adam",
            optimizer_params={"learning_rate": 0.02})
    acc = mod.score(mx.io.NDArrayIter(x, y, batch_size=N), "acc")[0][1]
    assert acc > 0.9
