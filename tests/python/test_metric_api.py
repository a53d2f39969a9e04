"""mx.metric against MXNet 1.9.1's documented examples and numpy formulas written here:
local vs global statistics, create() names and configs, F1/MCC/PCC/Perplexity/Pearson/NLL/Loss."""
import math

import numpy as np
import pytest

import mx

DOC_PREDS = [[0.3, 0.7], [0.0, 1.0], [0.4, 0.6]]  # the predictions of MXNet's metric docstrings
DOC_LABELS = [0, 1, 1]


def nd(x):
    return mx.nd.array(np.asarray(x, dtype=np.float32))


def binary_counts(labels, probs):
    pred = np.argmax(probs, axis=1)
    tp = np.sum((pred == 1) & (labels == 1))
    fp = np.sum((pred == 1) & (labels == 0))
    fn = np.sum((pred == 0) & (labels == 1))
    tn = np.sum((pred == 0) & (labels == 0))
    return float(tp), float(fp), float(fn), float(tn)


def f1_reference(labels, probs):
    tp, fp, fn, _ = binary_counts(labels, probs)
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    return 2 * precision * recall / (precision + recall)


def multiclass_mcc_reference(labels, pred_classes, k):
    """sklearn's matthews_corrcoef formula from the confusion matrix C[true, pred]."""
    cm = np.zeros((k, k))
    for t, p in zip(labels, pred_classes):
        cm[t, p] += 1
    t_sum, p_sum, correct, s = cm.sum(axis=1), cm.sum(axis=0), np.trace(cm), cm.sum()
    return (correct * s - t_sum @ p_sum) / math.sqrt((s ** 2 - p_sum @ p_sum) * (s ** 2 - t_sum @ t_sum))


def test_create_by_every_name_and_alias():
    expected = {"acc": "Accuracy", "accuracy": "Accuracy", "top_k_accuracy": "TopKAccuracy",
                "top_k_acc": "TopKAccuracy", "ce": "CrossEntropy", "nll_loss": "NegativeLogLikelihood",
                "mae": "MAE", "mse": "MSE", "rmse": "RMSE", "f1": "F1", "mcc": "MCC",
                "pearsonr": "PearsonCorrelation", "pcc": "PCC", "loss": "Loss",
                "composite": "CompositeEvalMetric", "ACC": "Accuracy"}
    for name, cls in expected.items():
        assert type(mx.metric.create(name)).__name__ == cls, name
    ppl = mx.metric.create("perplexity", ignore_label=-1)
    assert isinstance(ppl, mx.metric.Perplexity) and ppl.ignore_label == -1
    assert mx.metric.create("top_k_accuracy", top_k=5).name == "top_k_accuracy_5"
    with pytest.raises(ValueError, match="no_such_metric"):
        mx.metric.create("no_such_metric")
    comp = mx.metric.create(["acc", mx.metric.F1(), lambda l, p: 0.0])
    assert [type(m).__name__ for m in comp.metrics] == ["Accuracy", "F1", "CustomMetric"]
    assert comp.metrics[2].name == "custom(<lambda>)"


def test_get_config_recreates_metric():
    acc = mx.metric.Accuracy(axis=0, name="my-acc", output_names=["out"], label_names=["lab"])
    config = acc.get_config()
    assert config == {"metric": "Accuracy", "name": "my-acc", "axis": 0,
                      "output_names": ["out"], "label_names": ["lab"]}
    again = mx.metric.create(**config)
    assert isinstance(again, mx.metric.Accuracy) and again.axis == 0 and again.name == "my-acc"
    assert isinstance(mx.metric.create(config), mx.metric.Accuracy)
    with pytest.raises(NotImplementedError):
        mx.metric.CustomMetric(lambda l, p: 0.0).get_config()


def test_update_dict_selects_named_arrays():
    acc = mx.metric.Accuracy(output_names=["good"], label_names=["lab"])
    labels = {"lab": nd(DOC_LABELS), "other": nd([1, 1, 1])}
    preds = {"bad": nd([[1, 0]] * 3), "good": nd(DOC_PREDS)}
    acc.update_dict(labels, preds)
    assert acc.get() == ("accuracy", pytest.approx(2 / 3))


def test_global_and_local_statistics_accuracy_and_composite():
    acc = mx.metric.Accuracy()
    acc.update([nd(DOC_LABELS)], [nd(DOC_PREDS)])            # 2 of 3 right
    acc.reset_local()
    acc.update([nd([0, 0])], [nd([[0.9, 0.1], [0.2, 0.8]])])  # 1 of 2 right
    assert acc.get() == ("accuracy", pytest.approx(0.5))
    assert acc.get_global() == ("accuracy", pytest.approx(3 / 5))
    assert acc.get_global_name_value() == [("accuracy", pytest.approx(0.6))]
    acc.reset()
    assert math.isnan(acc.get_global()[1]) and math.isnan(acc.get()[1])

    comp = mx.metric.CompositeEvalMetric([mx.metric.Accuracy(), mx.metric.F1()])
    comp.update([nd(DOC_LABELS)], [nd(DOC_PREDS)])
    assert comp.get() == (["accuracy", "f1"], [pytest.approx(2 / 3), pytest.approx(0.8)])
    comp.reset_local()
    assert all(math.isnan(v) for v in comp.get()[1])
    assert comp.get_global() == (["accuracy", "f1"], [pytest.approx(2 / 3), pytest.approx(0.8)])


def test_doc_examples_nll_regression_loss():
    nll = mx.metric.create("nll_loss")
    nll.update([nd(DOC_LABELS)], [nd(DOC_PREDS)])
    assert nll.get() == ("nll-loss", pytest.approx(0.57159948348999023, rel=1e-6))
    pred, label = nd(np.array([3, -0.5, 2, 7]).reshape(4, 1)), nd(np.array([2.5, 0.0, 2, 8]).reshape(4, 1))
    for name, value in (("mae", 0.5), ("mse", 0.375), ("rmse", 0.612372457981)):
        m = mx.metric.create(name)
        m.update([label], [pred])
        assert m.get() == (name, pytest.approx(value, rel=1e-6))
    loss = mx.metric.Loss()
    loss.update(None, [nd([1.0, 2.0, 3.0])])
    loss.reset_local()
    loss.update(None, nd([[5.0, 7.0]]))
    assert loss.get() == ("loss", pytest.approx(6.0))
    assert loss.get_global() == ("loss", pytest.approx(18.0 / 5))
    top2 = mx.metric.create("top_k_acc", top_k=2)
    top2.update([nd([2, 0])], [nd([[0.1, 0.5, 0.4], [0.2, 0.3, 0.5]])])  # 2 is 2nd best; 0 is last
    assert top2.get() == ("top_k_accuracy_2", pytest.approx(0.5))


def test_f1_doc_example_and_macro_vs_micro():
    f1 = mx.metric.F1()
    f1.update(preds=[nd(DOC_PREDS)], labels=[nd(DOC_LABELS)])
    assert f1.get() == ("f1", pytest.approx(0.8))

    rng = np.random.RandomState(0)
    batches = [(rng.randint(0, 2, 40), rng.dirichlet([1, 1], 40)) for _ in range(3)]
    macro, micro = mx.metric.F1(average="macro"), mx.metric.create("f1", average="micro")
    for i, (labels, probs) in enumerate(batches):
        if i == 2:
            macro.reset_local()
            micro.reset_local()
        for m in (macro, micro):
            m.update([nd(labels)], [nd(probs)])
    per_batch = [f1_reference(l, p) for l, p in batches]
    all_labels, all_probs = np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches])
    assert macro.get()[1] == pytest.approx(per_batch[2])
    assert macro.get_global()[1] == pytest.approx(np.mean(per_batch))
    assert micro.get()[1] == pytest.approx(per_batch[2])
    assert micro.get_global()[1] == pytest.approx(f1_reference(all_labels, all_probs))
    with pytest.raises(ValueError, match="binary"):
        mx.metric.F1().update([nd([0, 1, 2])], [nd(rng.rand(3, 3))])
    with pytest.raises(ValueError, match="average"):
        mx.metric.F1(average="weighted")


def _mostly_positive_doc_example():
    fp, tn, fn, tp = 1000, 1, 1, 10000
    preds = [[.3, .7]] * fp + [[.7, .3]] * tn + [[.7, .3]] * fn + [[.3, .7]] * tp
    labels = [0.] * (fp + tn) + [1.] * (fn + tp)
    return [nd(labels)], [nd(preds)]


def test_mcc_and_pcc_doc_example():
    labels, preds = _mostly_positive_doc_example()
    f1, mcc, pcc = mx.metric.F1(), mx.metric.create("mcc"), mx.metric.create("pcc")
    for m in (f1, mcc, pcc):
        m.update(preds=preds, labels=labels)
    assert f1.get()[1] == pytest.approx(0.95233560306652054)
    assert mcc.get() == ("mcc", pytest.approx(0.01917751877733392))
    assert pcc.get() == ("pcc", pytest.approx(0.01917751877733392))
    always_positive = mx.metric.MCC()  # tn + fn == 0: MXNet leaves the zero factor out, giving 0
    always_positive.update([nd(DOC_LABELS)], [nd(DOC_PREDS)])
    assert always_positive.get() == ("mcc", 0.0)


def test_mcc_micro_global_matches_formula():
    rng = np.random.RandomState(1)
    batches = [(rng.randint(0, 2, 30), rng.dirichlet([1, 1], 30)) for _ in range(2)]
    mcc = mx.metric.MCC(average="micro")
    mcc.update([nd(batches[0][0])], [nd(batches[0][1])])
    mcc.reset_local()
    mcc.update([nd(batches[1][0])], [nd(batches[1][1])])

    def reference(labels, probs):
        tp, fp, fn, tn = binary_counts(labels, probs)
        return (tp * tn - fp * fn) / math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    labels = np.concatenate([b[0] for b in batches])
    probs = np.concatenate([b[1] for b in batches])
    assert mcc.get()[1] == pytest.approx(reference(*batches[1]))
    assert mcc.get_global()[1] == pytest.approx(reference(labels, probs))


def test_pcc_multiclass_grows_and_matches_formula():
    rng = np.random.RandomState(2)
    first = (rng.randint(0, 2, 25), rng.rand(25, 2))      # starts with two classes ...
    second = (rng.randint(0, 4, 25), rng.rand(25, 4))     # ... then four appear
    pcc = mx.metric.PCC()
    pcc.update([nd(first[0])], [nd(first[1])])
    pcc.reset_local()
    pcc.update([nd(second[0])], [nd(second[1])])
    assert pcc.k == 4
    assert pcc.get()[1] == pytest.approx(multiclass_mcc_reference(second[0], second[1].argmax(1), 4))
    labels = np.concatenate([first[0], second[0]])
    classes = np.concatenate([first[1].argmax(1), second[1].argmax(1)])
    assert pcc.get_global()[1] == pytest.approx(multiclass_mcc_reference(labels, classes, 4))
    pcc.reset()
    assert math.isnan(pcc.get()[1]) and math.isnan(pcc.get_global()[1])


def test_perplexity_doc_example_ignore_label_and_axis():
    ppl = mx.metric.Perplexity(ignore_label=None)
    ppl.update([nd(DOC_LABELS)], [nd(DOC_PREDS)])
    assert ppl.get() == ("perplexity", pytest.approx(1.7710976285155853))

    rng = np.random.RandomState(3)
    probs = rng.dirichlet(np.ones(5), size=(2, 4))      # (batch, time, class)
    labels = rng.randint(0, 5, size=(2, 4))
    labels[0, 1] = labels[1, 3] = 0                    # positions to ignore
    probs_class_axis_1 = np.transpose(probs, (0, 2, 1))  # (batch, class, time)
    ppl = mx.metric.create("perplexity", ignore_label=0, axis=1)
    ppl.update([nd(np.ones((2, 4)))], [nd(probs_class_axis_1)])  # first batch: all labels 1
    ppl.reset_local()
    ppl.update([nd(labels)], [nd(probs_class_axis_1)])
    kept = [(b, t) for b in range(2) for t in range(4) if labels[b, t] != 0]
    second_nll = -sum(math.log(probs[b, t, labels[b, t]]) for b, t in kept)
    assert ppl.get()[1] == pytest.approx(math.exp(second_nll / len(kept)), rel=1e-5)
    first_nll = -sum(math.log(probs[b, t, 1]) for b in range(2) for t in range(4))
    assert ppl.get_global()[1] == pytest.approx(math.exp((first_nll + second_nll) / (8 + len(kept))), rel=1e-5)


def test_pearson_doc_example_macro_and_micro():
    pr = mx.metric.create("pearsonr")
    pr.update([nd([[1, 0], [0, 1], [0, 1]])], [nd(DOC_PREDS)])
    assert pr.get() == ("pearsonr", pytest.approx(0.42163704544016178))

    rng = np.random.RandomState(4)
    batches = [(rng.randn(6, 3), rng.randn(6, 3)) for _ in range(3)]
    macro, micro = mx.metric.PearsonCorrelation(), mx.metric.PearsonCorrelation(average="micro")
    for i, (label, pred) in enumerate(batches):
        if i == 2:
            macro.reset_local()
        for m in (macro, micro):
            m.update([nd(label)], [nd(pred + 0.5 * label)])
    per_batch = [np.corrcoef(l.ravel(), (p + 0.5 * l).ravel())[0, 1] for l, p in batches]
    assert macro.get()[1] == pytest.approx(per_batch[2], rel=1e-5)
    assert macro.get_global()[1] == pytest.approx(np.mean(per_batch), rel=1e-5)
    all_l = np.concatenate([l.ravel() for l, _ in batches])
    all_p = np.concatenate([(p + 0.5 * l).ravel() for l, p in batches])
    assert micro.get_global()[1] == pytest.approx(np.corrcoef(all_l, all_p)[0, 1], rel=1e-5)
    with pytest.raises(ValueError, match="Shape"):
        macro.update([nd([1, 2, 3])], [nd([1, 2])])
