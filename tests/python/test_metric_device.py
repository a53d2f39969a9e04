"""The device path of Accuracy, TopKAccuracy, CrossEntropy, NegativeLogLikelihood and Loss (NDArray
inputs: computed with ops, read back two batches later or when a total is looked at) against numpy formulas
written here: ties, 1-d / 2-d / integer / fractional labels, several outputs, float64, the float16
fallback, pad in Module.update_metric, and exact local / global totals across deferred reads."""
import numpy as np
import pytest

import mx

rng = np.random.RandomState(19)


def nd(x, dtype=np.float32):
    return mx.nd.array(np.asarray(x), dtype=dtype)


def accuracy_ref(labels, preds, axis=1):
    """MXNet 1.9.1's formula: argmax (first index on ties) unless shapes agree, int cast, flat compare."""
    correct = total = 0
    for label, pred in zip(labels, preds):
        pred = np.asarray(pred, dtype=np.float64)
        label = np.asarray(label)
        if pred.shape != label.shape:
            pred = np.argmax(pred, axis=axis)
        label, pred = label.astype(np.int64).ravel(), pred.astype(np.int64).ravel()
        correct += int((label == pred).sum())
        total += label.size
    return correct, total


def tied_scores(n, c):
    """Small integer scores: most rows have ties for the maximum."""
    return rng.randint(0, 3, size=(n, c)).astype(np.float32)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_accuracy_with_ties_matches_numpy(dtype):
    pred, label = tied_scores(50, 7), rng.randint(0, 7, size=50).astype(np.float32)
    m = mx.metric.Accuracy()
    m.update([nd(label)], [nd(pred, dtype)])
    correct, total = accuracy_ref([label], [pred.astype(dtype)])
    assert (m.sum_metric, m.num_inst) == (correct, total)
    assert m.get() == ("accuracy", correct / total)


def test_accuracy_label_forms_and_several_outputs():
    preds = [rng.rand(16, 5).astype(np.float32), tied_scores(16, 5), tied_scores(16, 5),
             rng.rand(16, 3).astype(np.float32)]
    labels = [rng.randint(0, 5, size=(16, 1)).astype(np.float32),                     # 2-d (n, 1)
              rng.randint(0, 5, size=16).astype(np.int32),                            # integer dtype
              rng.randint(0, 5, size=16),                                             # int64
              rng.randint(0, 3, size=16) + rng.choice([0.0, 0.4, 0.9], size=16)]      # fractional: truncated
    m = mx.metric.Accuracy()
    m.update([nd(labels[0]), mx.nd.array(labels[1], dtype=np.int32), mx.nd.array(labels[2], dtype=np.int64),
              nd(labels[3])], [nd(p) for p in preds])
    assert (m.sum_metric, m.num_inst) == accuracy_ref(labels, preds)


def test_accuracy_axis_and_class_id_predictions():
    pred, label = rng.rand(6, 4, 5).astype(np.float32), rng.randint(0, 4, size=(6, 5)).astype(np.float32)
    m = mx.metric.Accuracy(axis=1)
    m.update([nd(label)], [nd(pred)])
    assert (m.sum_metric, m.num_inst) == accuracy_ref([label], [pred], axis=1)
    ids = rng.randint(0, 4, size=(6, 5)) + 0.5  # predictions that already are class ids (same shape)
    m = mx.metric.Accuracy()
    m.update([nd(label)], [nd(ids)])
    assert (m.sum_metric, m.num_inst) == accuracy_ref([label], [ids])


def test_accuracy_bad_shapes_raise():
    m = mx.metric.Accuracy()
    with pytest.raises(ValueError, match="does not match"):
        m.update([nd(np.zeros(5))], [nd(np.zeros((4, 3)))])
    with pytest.raises(ValueError, match="does not match"):
        m.update([nd(np.zeros(5))], [nd(np.zeros((4, 3))), nd(np.zeros((4, 3)))])


def test_totals_stay_exact_across_deferred_reads():
    m = mx.metric.Accuracy()
    all_l, all_p, local_l, local_p = [], [], [], []
    for step in range(7):
        pred, label = tied_scores(20, 4), rng.randint(0, 4, size=20).astype(np.float32)
        m.update([nd(label)], [nd(pred)])
        all_l.append(label), all_p.append(pred), local_l.append(label), local_p.append(pred)
        if step in (0, 3):
            c, t = accuracy_ref(local_l, local_p)
            assert m.get() == ("accuracy", c / t)
            m.reset_local()
            local_l, local_p = [], []
    c, t = accuracy_ref(local_l, local_p)
    assert (m.sum_metric, m.num_inst) == (c, t)
    c, t = accuracy_ref(all_l, all_p)
    assert m.get_global() == ("accuracy", c / t)
    assert (m.global_sum_metric, m.global_num_inst) == (c, t)
    m.update([nd(all_l[0])], [nd(all_p[0])])
    m.reset()
    assert m.get_global()[1] != m.get_global()[1] and m.num_inst == 0 and m.sum_metric == 0


def test_update_reads_back_only_the_sum_of_the_batch_two_back(monkeypatch):
    """A step never waits for its own batch; reading the one two back bounds how far a training
    loop runs ahead of the device."""
    reads = []
    real = mx.nd.NDArray.asnumpy
    monkeypatch.setattr(mx.nd.NDArray, "asnumpy", lambda self: reads.append(self) or real(self))
    m = mx.metric.Accuracy()
    pred, label = nd(tied_scores(8, 3)), nd(rng.randint(0, 3, size=8))
    sums = []
    for step in range(5):
        del reads[:]
        m.update([label], [pred])
        sums.append(m._pending[-1])
        assert len(reads) == (1 if step >= 2 else 0) and all(r is sums[step - 2] for r in reads)
    m.get()
    assert reads[-2:] == sums[-2:]


def test_mixed_numpy_and_device_updates_and_user_set_totals():
    m = mx.metric.Accuracy()
    pred, label = tied_scores(10, 3), rng.randint(0, 3, size=10).astype(np.float32)
    m.update([nd(label)], [nd(pred)])
    m.update([label], [pred])  # the numpy path
    c, t = accuracy_ref([label], [pred])
    assert (m.sum_metric, m.num_inst) == (2 * c, 2 * t)
    m.update([nd(label)], [nd(pred)])
    m.sum_metric = 0  # the pending batch still reaches the global total
    assert m.global_sum_metric == 3 * c and m.sum_metric == 0


@pytest.mark.parametrize("top_k", [1, 3, 9])
def test_top_k_accuracy_matches_numpy(top_k):
    pred = rng.rand(40, 6).astype(np.float32)  # distinct scores: the top k are unambiguous
    labels = [rng.randint(0, 6, size=40).astype(np.float32), rng.randint(0, 6, size=(40, 1)) + 0.5,
              rng.randint(0, 6, size=40)]
    m = mx.metric.TopKAccuracy(top_k=top_k)
    m.update([nd(labels[0]), nd(labels[1]), mx.nd.array(labels[2], dtype=np.int32)],
             [nd(pred), nd(pred, np.float64), nd(pred)])
    k = min(top_k, 6)
    order = np.argsort(-pred, axis=1)[:, :k]
    expect = sum(int((order == lab.astype(np.int64).reshape(-1, 1)).any(axis=1).sum()) for lab in labels)
    assert (m.sum_metric, m.num_inst) == (expect, 120)
    with pytest.raises(ValueError):
        m.update([nd(np.zeros(3))], [nd(np.zeros((3, 2, 2)))])


@pytest.mark.parametrize("name", ["ce", "nll_loss"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_and_nll_match_numpy(name, dtype):
    prob = rng.rand(30, 5)
    prob /= prob.sum(axis=1, keepdims=True)
    prob[3, :] = 0.0  # p[label] = 0: only eps keeps the log finite
    label = rng.randint(0, 5, size=30) + rng.choice([0.0, 0.5], size=30)  # fractional labels truncate
    m = mx.metric.create(name)
    m.update([nd(label)], [nd(prob, dtype)])
    m.update([nd(label.reshape(30, 1))], [nd(prob.reshape(30, 5, 1), dtype)])  # 2-d label, 3-d prediction
    picked = prob.astype(dtype).astype(np.float64)[np.arange(30), label.astype(np.int64)]
    expect = 2 * -np.log(picked + 1e-12).sum()
    assert m.num_inst == 60
    np.testing.assert_allclose(m.sum_metric, expect, rtol=1e-10)
    np.testing.assert_allclose(m.get()[1], expect / 60, rtol=1e-10)
    with pytest.raises(ValueError, match="labels for"):
        m.update([nd(label[:5])], [nd(prob, dtype)])


def test_loss_mean_matches_numpy():
    losses = [rng.rand(16).astype(np.float32) * 1e3, rng.rand(4, 3), rng.rand(5).astype(np.float16)]
    m = mx.metric.Loss()
    m.update(None, nd(losses[0]))
    m.update(None, [nd(losses[1], np.float64), nd(losses[2], np.float16)])  # float16: the numpy path
    total = sum(float(x.astype(np.float64).sum()) for x in losses)
    assert m.num_inst == 16 + 12 + 5
    np.testing.assert_allclose(m.sum_metric, total, rtol=1e-12)
    np.testing.assert_allclose(m.get_global()[1], total / 33, rtol=1e-12)


def test_module_update_metric_leaves_out_pad():
    data = rng.rand(10, 4).astype(np.float32)
    label = rng.randint(0, 3, size=10).astype(np.float32)
    net = mx.sym.SoftmaxOutput(mx.sym.FullyConnected(mx.sym.Variable("data"), num_hidden=3, name="fc"),
                               name="softmax")
    it = mx.io.NDArrayIter(data, label, batch_size=4, last_batch_handle="pad")
    mod = mx.mod.Module(net)
    mod.bind(it.provide_data, it.provide_label, for_training=False)
    mod.init_params(mx.init.Uniform(1.0))
    acc, ce = mx.metric.Accuracy(), mx.metric.CrossEntropy()
    labels, outputs = [], []
    for batch in it:
        mod.forward(batch, is_train=False)
        mod.update_metric(acc, batch.label, pad=batch.pad)
        mod.update_metric(ce, batch.label, pad=batch.pad)
        keep = 4 - batch.pad
        labels.append(batch.label[0].asnumpy()[:keep])
        outputs.append(mod.get_outputs()[0].asnumpy()[:keep])
    assert acc.num_inst == 10 and ce.num_inst == 10
    assert acc.get()[1] == accuracy_ref(labels, outputs)[0] / 10
    prob = np.concatenate(outputs).astype(np.float64)[np.arange(10), np.concatenate(labels).astype(np.int64)]
    np.testing.assert_allclose(ce.get()[1], -np.log(prob + 1e-12).mean(), rtol=1e-10)


def test_module_fit_accuracy_matches_its_predictions():
    """fit's deferred training metric equals the numpy accuracy of what it trained on (a last
    epoch in predict mode gives the reference); the problem is learnt."""
    x = rng.randn(200, 2).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.float32)
    net = mx.sym.SoftmaxOutput(mx.sym.FullyConnected(mx.sym.Variable("data"), num_hidden=2, name="fc"),
                               name="softmax")
    mod = mx.mod.Module(net)
    mod.fit(mx.io.NDArrayIter(x, y, batch_size=32), num_epoch=5, optimizer_params={"learning_rate": 0.5})
    metric = mx.metric.Accuracy()
    score = dict(mod.score(mx.io.NDArrayIter(x, y, batch_size=32), metric))
    pred = mod.predict(mx.io.NDArrayIter(x, y, batch_size=32)).asnumpy()
    assert score["accuracy"] == accuracy_ref([y], [pred])[0] / 200
    assert score["accuracy"] > 0.9
