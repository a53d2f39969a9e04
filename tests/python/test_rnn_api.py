"""mx.rnn (MXNet 1.9.1 python/mxnet/rnn): symbolic cells checked against numpy loops written here."""
import os

import numpy as np
import pytest

import mx


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _bind_and_run(outputs, arrays):
    group = mx.sym.Group(outputs)
    exe = group.bind(mx.cpu(), {k: mx.nd.array(v) for k, v in arrays.items()})
    exe.forward(is_train=False)
    return [o.asnumpy() for o in exe.outputs]


def _random_weights(rng, names_shapes):
    return {n: rng.uniform(-0.5, 0.5, size=s).astype(np.float32) for n, s in names_shapes.items()}


def test_lstm_cell_unroll_matches_numpy():
    N, T, C, H = 2, 3, 5, 4
    rng = np.random.RandomState(0)
    cell = mx.rnn.LSTMCell(H, prefix="lstm_")
    # Explicit begin states: mx's zeros(shape=(0, H)) does not take its batch size from shape inference.
    begin = [mx.sym.var("h0"), mx.sym.var("c0")]
    outputs, states = cell.unroll(T, mx.sym.var("data"), begin_state=begin, layout="NTC", merge_outputs=False)
    assert len(outputs) == T and len(states) == 2
    args = outputs[0].list_arguments()
    for p in ("lstm_i2h_weight", "lstm_i2h_bias", "lstm_h2h_weight", "lstm_h2h_bias"):
        assert p in mx.sym.Group(outputs).list_arguments()
    arrays = _random_weights(rng, {"data": (N, T, C), "lstm_i2h_weight": (4 * H, C), "lstm_i2h_bias": (4 * H,),
                                   "lstm_h2h_weight": (4 * H, H), "lstm_h2h_bias": (4 * H,)})
    arrays["h0"] = rng.uniform(-1, 1, size=(N, H)).astype(np.float32)
    arrays["c0"] = rng.uniform(-1, 1, size=(N, H)).astype(np.float32)
    names = mx.sym.Group(outputs + states).list_arguments()
    got = _bind_and_run(outputs + states, {n: arrays[n] for n in names})
    # numpy LSTM with MXNet's gate order: input, forget, cell candidate, output
    h, c = arrays["h0"], arrays["c0"]
    for t in range(T):
        g = arrays["data"][:, t] @ arrays["lstm_i2h_weight"].T + arrays["lstm_i2h_bias"] \
            + h @ arrays["lstm_h2h_weight"].T + arrays["lstm_h2h_bias"]
        i, f, cc, o = (g[:, k * H:(k + 1) * H] for k in range(4))
        c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(cc)
        h = _sigmoid(o) * np.tanh(c)
        np.testing.assert_allclose(got[t], h, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got[T], h, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got[T + 1], c, rtol=1e-5, atol=1e-5)
    assert args[0] == "data"


def test_gru_and_rnn_cells_match_numpy_and_merge_outputs():
    N, T, C, H = 2, 3, 4, 3
    rng = np.random.RandomState(1)
    gru = mx.rnn.GRUCell(H, prefix="gru_")
    out, _ = gru.unroll(T, mx.sym.var("data"), begin_state=[mx.sym.var("h0")], layout="TNC", merge_outputs=True)
    arrays = _random_weights(rng, {"data": (T, N, C), "gru_i2h_weight": (3 * H, C), "gru_i2h_bias": (3 * H,),
                                   "gru_h2h_weight": (3 * H, H), "gru_h2h_bias": (3 * H,), "h0": (N, H)})
    got = _bind_and_run([out], {n: arrays[n] for n in out.list_arguments()})[0]
    assert got.shape == (T, N, H)
    h = arrays["h0"]
    for t in range(T):  # MXNet's GRU: reset, update, new; reset applied to h2h's new part
        gi = arrays["data"][t] @ arrays["gru_i2h_weight"].T + arrays["gru_i2h_bias"]
        gh = h @ arrays["gru_h2h_weight"].T + arrays["gru_h2h_bias"]
        r = _sigmoid(gi[:, :H] + gh[:, :H])
        z = _sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])
        n = np.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
        h = (1 - z) * n + z * h
        np.testing.assert_allclose(got[t], h, rtol=1e-5, atol=1e-5)

    rnn = mx.rnn.RNNCell(H, activation="relu", prefix="r_")
    outs, states = rnn.unroll(2, [mx.sym.var("x0"), mx.sym.var("x1")], begin_state=[mx.sym.var("s")])
    arrays = _random_weights(rng, {"x0": (N, C), "x1": (N, C), "s": (N, H), "r_i2h_weight": (H, C),
                                   "r_i2h_bias": (H,), "r_h2h_weight": (H, H), "r_h2h_bias": (H,)})
    got = _bind_and_run(outs, {n: arrays[n] for n in mx.sym.Group(outs).list_arguments()})
    h = arrays["s"]
    for t, x in enumerate(("x0", "x1")):
        h = np.maximum(arrays[x] @ arrays["r_i2h_weight"].T + arrays["r_i2h_bias"]
                       + h @ arrays["r_h2h_weight"].T + arrays["r_h2h_bias"], 0)
        np.testing.assert_allclose(got[t], h, rtol=1e-5, atol=1e-5)


def test_sequential_cell_states_params_and_begin_state_names():
    stack = mx.rnn.SequentialRNNCell()
    stack.add(mx.rnn.LSTMCell(4, prefix="l0_"))
    stack.add(mx.rnn.GRUCell(3, prefix="l1_"))
    assert stack.state_shape == [(0, 4), (0, 4), (0, 3)]
    begin = stack.begin_state()
    assert [b.list_outputs()[0] for b in begin] == ["l0_begin_state_0_output", "l0_begin_state_1_output",
                                                    "l1_begin_state_0_output"]
    outputs, states = stack.unroll(3, mx.sym.var("data"), merge_outputs=True)
    assert len(states) == 3
    args = outputs.list_arguments()
    assert args == ["data", "l0_i2h_weight", "l0_i2h_bias", "l0_h2h_weight", "l0_h2h_bias",
                    "l1_i2h_weight", "l1_i2h_bias", "l1_h2h_weight", "l1_h2h_bias"]
    assert sorted(stack.params._params) == sorted(args[1:])
    assert outputs.attr_dict()["l0_i2h_bias"]["__init__"] == '["lstmbias", {"forget_bias": 1.0}]'
    with pytest.raises(ValueError, match="length=3"):
        mx.rnn.RNNCell(2).unroll(3, [mx.sym.var("a")])


def test_encode_sentences_builds_and_uses_vocab():
    sentences = [["the", "cat", "sat"], ["the", "dog"]]
    # MXNet numbers new words from start_label, skipping invalid_label; '\n' maps to invalid_label
    coded, vocab = mx.rnn.encode_sentences(sentences, invalid_label=1, start_label=0)
    assert vocab == {"\n": 1, "the": 0, "cat": 2, "sat": 3, "dog": 4}
    assert coded == [[0, 2, 3], [0, 4]]
    coded, vocab2 = mx.rnn.encode_sentences([["dog", "bird", "fish"]], vocab=dict(vocab), unknown_token="<unk>",
                                            start_label=5)
    assert coded == [[4, 5, 5]] and vocab2["<unk>"] == 5
    with pytest.raises(ValueError, match="bird"):
        mx.rnn.encode_sentences([["bird"]], vocab=dict(vocab))


def test_bucket_sentence_iter_batches_labels_and_layouts():
    corpus = [[1, 2], [3, 4], [5, 6, 7], [8, 9, 10], [11, 12, 13, 14], [2, 3, 4], [1] * 9]
    it = mx.rnn.BucketSentenceIter(corpus, batch_size=2, buckets=[2, 4], invalid_label=0)
    assert it.default_bucket_key == 4
    assert it.provide_data[0].name == "data" and it.provide_data[0].shape == (2, 4)
    assert it.provide_label[0].name == "softmax_label" and it.provide_label[0].shape == (2, 4)
    seen = []
    for epoch in range(2):
        it.reset()
        batches = list(it)
        # bucket 2: 2 sentences -> 1 batch; bucket 4: 4 sentences -> 2 batches; length 9 discarded
        assert sorted(b.bucket_key for b in batches) == [2, 4, 4]
        for b in batches:
            data, label = b.data[0].asnumpy(), b.label[0].asnumpy()
            assert data.shape == (2, b.bucket_key) == label.shape
            assert b.provide_data[0].shape == (2, b.bucket_key)
            np.testing.assert_array_equal(label[:, :-1], data[:, 1:])
            np.testing.assert_array_equal(label[:, -1], [0, 0])
            seen.extend(tuple(int(v) for v in row if v != 0) for row in data)
    expected = {tuple(s) for s in corpus if len(s) <= 4}
    assert set(seen) == expected and len(seen) == 2 * len(expected)
    # padding to the bucket length uses invalid_label
    it.reset()
    rows = [tuple(r) for b in it if b.bucket_key == 4 for r in b.data[0].asnumpy().astype(int)]
    assert (5, 6, 7, 0) in rows and (11, 12, 13, 14) in rows

    tn = mx.rnn.BucketSentenceIter(corpus[:4], batch_size=2, layout="TN", data_name="x", label_name="y")
    assert tn.buckets == [2, 3] and tn.provide_data[0].shape == (3, 2) and tn.provide_label[0].name == "y"
    for b in tn:
        data, label = b.data[0].asnumpy(), b.label[0].asnumpy()
        assert data.shape == (b.bucket_key, 2)
        np.testing.assert_array_equal(label[:-1], data[1:])
        np.testing.assert_array_equal(label[-1], [-1, -1])
    with pytest.raises(ValueError, match="layout"):
        mx.rnn.BucketSentenceIter(corpus, 2, buckets=[4], layout="NC")


def _numpy_rnn(xs, h, w, prefix):  # tanh RNN over a list of (N, C) steps
    out = []
    for x in xs:
        h = np.tanh(x @ w[prefix + "i2h_weight"].T + w[prefix + "i2h_bias"]
                    + h @ w[prefix + "h2h_weight"].T + w[prefix + "h2h_bias"])
        out.append(h)
    return out


def _rnn_weights(rng, prefix, C, H):
    return _random_weights(rng, {prefix + "i2h_weight": (H, C), prefix + "i2h_bias": (H,),
                                 prefix + "h2h_weight": (H, H), prefix + "h2h_bias": (H,)})


def test_residual_dropout_and_bidirectional_cells():
    N, T, C, H = 2, 3, 3, 3
    rng = np.random.RandomState(2)
    arrays = {"data": rng.uniform(-1, 1, size=(N, T, C)).astype(np.float32),
              "s0": np.zeros((N, H), np.float32), "s1": np.zeros((N, H), np.float32)}
    arrays.update(_rnn_weights(rng, "l_", C, H))
    arrays.update(_rnn_weights(rng, "r_", C, H))
    steps = [arrays["data"][:, t] for t in range(T)]

    residual = mx.rnn.ResidualCell(mx.rnn.RNNCell(H, prefix="l_"))
    with pytest.raises(ValueError, match="begin_state"):
        residual.base_cell.begin_state()
    out, _ = residual.unroll(T, mx.sym.var("data"), begin_state=[mx.sym.var("s0")], merge_outputs=True)
    got = _bind_and_run([out], {n: arrays[n] for n in out.list_arguments()})[0]
    want = np.stack([o + x for o, x in zip(_numpy_rnn(steps, arrays["s0"], arrays, "l_"), steps)], axis=1)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)

    bi = mx.rnn.BidirectionalCell(mx.rnn.RNNCell(H, prefix="l_"), mx.rnn.RNNCell(H, prefix="r_"))
    out, states = bi.unroll(T, mx.sym.var("data"), begin_state=[mx.sym.var("s0"), mx.sym.var("s1")],
                            merge_outputs=True)
    assert len(states) == 2 and sorted(bi.params._params) == sorted(n for n in arrays if n[:2] in ("l_", "r_"))
    got = _bind_and_run([out], {n: arrays[n] for n in out.list_arguments()})[0]
    left = _numpy_rnn(steps, arrays["s0"], arrays, "l_")
    right = _numpy_rnn(steps[::-1], arrays["s1"], arrays, "r_")[::-1]
    want = np.stack([np.concatenate([lo, ro], axis=1) for lo, ro in zip(left, right)], axis=1)
    assert got.shape == (N, T, 2 * H)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    with pytest.raises(NotImplementedError):
        bi(mx.sym.var("x"), [])

    stack = mx.rnn.SequentialRNNCell()
    stack.add(mx.rnn.DropoutCell(0.0))
    stack.add(mx.rnn.RNNCell(H, prefix="l_"))
    stack.add(mx.rnn.DropoutCell(0.5))
    outs, _ = stack.unroll(T, mx.sym.var("data"), begin_state=[mx.sym.var("s0")])
    assert "Dropout" in outs[0].tojson()  # p > 0 adds a Dropout op
    got = _bind_and_run(outs, {n: arrays[n] for n in mx.sym.Group(outs).list_arguments()})  # inference: identity
    for g, w in zip(got, left):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)
    with pytest.raises(TypeError, match="dropout"):
        mx.rnn.DropoutCell("0.5")


def test_unroll_without_begin_state_starts_from_zeros():
    # MXNet's default begin states are zeros with an unknown batch; here they take the batch from
    # the inputs. Reference: the same unrolled graph with begin states given as zero variables.
    N, T, C, H = 3, 4, 5, 6
    rng = np.random.RandomState(0)
    x = rng.randn(N, T, C).astype(np.float32)

    def run(with_states):
        stack = mx.rnn.SequentialRNNCell()
        stack.add(mx.rnn.LSTMCell(H, prefix="l0_"))
        stack.add(mx.rnn.GRUCell(H, prefix="l1_"))
        begin = [mx.sym.var("s%d" % i) for i in range(3)] if with_states else None
        out, _ = stack.unroll(T, mx.sym.var("data"), begin_state=begin, merge_outputs=True)
        shapes = {"data": (N, T, C)}
        if with_states:
            shapes.update({"s%d" % i: (N, H) for i in range(3)})
        exe = out.simple_bind(mx.cpu(), grad_req="null", **shapes)
        for name, arr in exe.arg_dict.items():
            arr[:] = x if name == "data" else (0 if name.startswith("s") else
                                               np.random.RandomState(len(name)).uniform(-0.5, 0.5, arr.shape))
        return exe.forward()[0].asnumpy()

    got, want = run(False), run(True)
    assert got.shape == (N, T, H) and np.abs(want).max() > 0.01
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


def test_zoneout_keeps_previous_outputs_in_training_only():
    N, T, C, H = 4, 5, 3, 8
    x = np.random.RandomState(2).randn(N, T, C).astype(np.float32)

    def run(cell, is_train):
        out, _ = cell.unroll(T, mx.sym.var("data"), merge_outputs=True)
        exe = out.simple_bind(mx.cpu(), grad_req="null", data=(N, T, C))
        for name, arr in exe.arg_dict.items():
            arr[:] = x if name == "data" else np.random.RandomState(len(name)).uniform(-0.5, 0.5, arr.shape)
        return exe.forward(is_train=is_train)[0].asnumpy()

    plain = run(mx.rnn.LSTMCell(H, prefix="l_"), False)
    zoned = mx.rnn.ZoneoutCell(mx.rnn.LSTMCell(H, prefix="l_"), zoneout_outputs=0.5)
    np.testing.assert_allclose(run(zoned, False), plain, rtol=1e-6, atol=1e-6)  # inference: the cell
    out = run(zoned, True)
    # states are not zoned out, so each output element is the cell's own output at t or the
    # (zoned) output at t - 1 (zeros before the first step); both kinds occur.
    prev = np.zeros((N, H), np.float32)
    kept = fresh = 0
    for t in range(T):
        is_new, is_old = np.isclose(out[:, t], plain[:, t], atol=1e-6), np.isclose(out[:, t], prev, atol=1e-6)
        assert (is_new | is_old).all()
        fresh, kept = fresh + (is_new & ~is_old).sum(), kept + (is_old & ~is_new).sum()
        prev = out[:, t]
    assert kept > 0 and fresh > 0


def test_rnn_checkpoint_stores_gates_apart_and_loads_packed(tmp_path):
    H, C = 3, 2
    stack = mx.rnn.SequentialRNNCell()
    stack.add(mx.rnn.LSTMCell(H, prefix="a_"))
    stack.add(mx.rnn.GRUCell(H, prefix="b_"))
    out, _ = stack.unroll(2, mx.sym.var("data"), merge_outputs=True)
    rng = np.random.RandomState(3)
    shapes = dict(zip(out.list_arguments(), out.infer_shape(data=(1, 2, C))[0]))
    args = {k: mx.nd.array(rng.randn(*s)) for k, s in shapes.items() if k != "data"}
    prefix = str(tmp_path / "lm")
    mx.rnn.save_rnn_checkpoint(stack, prefix, 3, out, args, {})
    _, saved, _ = mx.model.load_checkpoint(prefix, 3)
    # on disk: MXNet's per-gate names (a_i2h_f_weight...), each the gate's rows of the fused matrix
    lstm_w = args["a_i2h_weight"].asnumpy()
    for j, gate in enumerate("ifco"):
        np.testing.assert_array_equal(saved["a_i2h_%s_weight" % gate].asnumpy(), lstm_w[j * H:(j + 1) * H])
    gru_b = args["b_h2h_bias"].asnumpy()
    for j, gate in enumerate("rzo"):
        np.testing.assert_array_equal(saved["b_h2h_%s_bias" % gate].asnumpy(), gru_b[j * H:(j + 1) * H])
    assert "a_i2h_weight" not in saved
    # loading packs them back for the cells
    _, loaded, _ = mx.rnn.load_rnn_checkpoint(stack, prefix, 3)
    assert sorted(loaded) == sorted(args)
    for k in args:
        np.testing.assert_array_equal(loaded[k].asnumpy(), args[k].asnumpy())
    # do_rnn_checkpoint saves every `period` epochs
    cb = mx.rnn.do_rnn_checkpoint(stack, prefix, period=2)
    cb(0, out, args, {})
    cb(1, out, args, {})

    assert not os.path.exists(prefix + "-0001.params") and os.path.exists(prefix + "-0002.params")
