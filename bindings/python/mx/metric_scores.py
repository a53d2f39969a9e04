"""mx.metric scores that are not plain per-sample averages: F1, MCC, PCC (confusion-matrix based),
Perplexity and PearsonCorrelation, as in MXNet 1.9.1. Exposed through mx.metric."""
import math

import numpy

from .metric import EvalMetric, _host, alias, check_label_shapes, register


class _BinaryStats:
    """True/false positive/negative counts since reset_local() (local) and since reset() (global)."""

    _FIELDS = ("true_positives", "false_positives", "false_negatives", "true_negatives")

    def __init__(self):
        self.reset_stats()

    def update_binary_stats(self, label, pred, owner):
        label, pred = _host(label).astype(numpy.int64).ravel(), _host(pred)
        pred_label = numpy.argmax(pred, axis=1) if pred.ndim > 1 else pred.astype(numpy.int64)
        check_label_shapes(label, pred_label, shape=True)
        if len(numpy.unique(label)) > 2:
            raise ValueError("%s currently only supports binary classification." % owner)
        pred_true, label_true = pred_label == 1, label == 1
        counts = ((pred_true & label_true).sum(), (pred_true & ~label_true).sum(),
                  (~pred_true & label_true).sum(), (~pred_true & ~label_true).sum())
        for field, count in zip(self._FIELDS, counts):
            setattr(self, field, getattr(self, field) + int(count))
            setattr(self, "global_" + field, getattr(self, "global_" + field) + int(count))

    def _counts(self, use_global):
        prefix = "global_" if use_global else ""
        return [float(getattr(self, prefix + f)) for f in self._FIELDS]

    def fscore(self, use_global=False):
        tp, fp, fn, _ = self._counts(use_global)
        precision = tp / (tp + fp) if tp + fp > 0 else 0.0
        recall = tp / (tp + fn) if tp + fn > 0 else 0.0
        return 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0

    def matthewscc(self, use_global=False):
        tp, fp, fn, tn = self._counts(use_global)
        if tp + fp + fn + tn == 0:
            return 0.0
        # MXNet leaves zero marginals out of the denominator rather than dividing by zero.
        denom = 1.0
        for term in (tp + fp, tp + fn, tn + fp, tn + fn):
            denom *= term if term != 0 else 1.0
        return (tp * tn - fp * fn) / math.sqrt(denom)

    def total_examples(self, use_global=False):
        return int(sum(self._counts(use_global)))

    def reset_local_stats(self):
        for f in self._FIELDS:
            setattr(self, f, 0)

    def reset_stats(self):
        self.reset_local_stats()
        for f in self._FIELDS:
            setattr(self, "global_" + f, 0)


class _BinaryScore(EvalMetric):
    """F1 / MCC aggregation: 'macro' averages per-batch scores, 'micro' scores all samples at once."""

    def __init__(self, name, output_names, label_names, average):
        if average not in ("macro", "micro"):
            raise ValueError("%s: average must be 'macro' or 'micro', got %r" % (type(self).__name__, average))
        self.average = average
        self.metrics = _BinaryStats()
        super().__init__(name, output_names=output_names, label_names=label_names, has_global_stats=True)

    def _score(self, use_global):
        raise NotImplementedError

    def update(self, labels, preds):
        labels, preds = check_label_shapes(labels, preds, True)
        for label, pred in zip(labels, preds):
            self.metrics.update_binary_stats(label, pred, type(self).__name__)
        if self.average == "macro":
            self._accumulate(self._score(False), 1)
            self.metrics.reset_stats()
        else:
            self.sum_metric = self._score(False) * self.metrics.total_examples(False)
            self.num_inst = self.metrics.total_examples(False)
            self.global_sum_metric = self._score(True) * self.metrics.total_examples(True)
            self.global_num_inst = self.metrics.total_examples(True)

    def reset(self):
        super().reset()
        self.metrics.reset_stats()

    def reset_local(self):
        super().reset_local()
        self.metrics.reset_local_stats()


class F1(_BinaryScore):
    """F1 = 2 * precision * recall / (precision + recall) of a binary problem (class 1 positive)."""

    def __init__(self, name="f1", output_names=None, label_names=None, average="macro"):
        super().__init__(name, output_names, label_names, average)

    def _score(self, use_global):
        return self.metrics.fscore(use_global)


class MCC(_BinaryScore):
    """Matthews correlation coefficient of a binary problem (class 1 positive)."""

    def __init__(self, name="mcc", output_names=None, label_names=None, average="macro"):
        super().__init__(name, output_names, label_names, average)

    def _score(self, use_global):
        return self.metrics.matthewscc(use_global)


register(F1)
register(MCC)


class Perplexity(EvalMetric):
    """exp(mean of -log p[label]) over samples whose label is not ignore_label; `axis` is the
    class axis of the predictions (softmax axis)."""

    def __init__(self, ignore_label, axis=-1, name="perplexity", output_names=None, label_names=None):
        super().__init__(name, ignore_label=ignore_label, output_names=output_names,
                         label_names=label_names, has_global_stats=True)
        self.ignore_label = ignore_label
        self.axis = axis

    def update(self, labels, preds):
        labels, preds = check_label_shapes(labels, preds, True)
        loss, num = 0.0, 0
        for label, pred in zip(labels, preds):
            label, pred = _host(label).ravel(), _host(pred).astype(numpy.float64)
            pred = numpy.moveaxis(pred, self.axis, -1)
            if label.size * pred.shape[-1] != pred.size:
                raise ValueError("Perplexity.update: shape mismatch: %d labels vs. predictions %s"
                                 % (label.size, pred.shape))
            classes = pred.shape[-1]
            index = numpy.clip(label.astype(numpy.int64), 0, classes - 1)
            picked = pred.reshape(-1, classes)[numpy.arange(label.size), index]
            if self.ignore_label is not None:
                ignore = label == self.ignore_label
                num -= int(ignore.sum())
                picked = numpy.where(ignore, 1.0, picked)
            loss -= float(numpy.log(numpy.maximum(1e-10, picked)).sum())
            num += label.size
        self._accumulate(loss, num)

    def get(self):
        return (self.name, float("nan") if self.num_inst == 0 else math.exp(self.sum_metric / self.num_inst))

    def get_global(self):
        if self.global_num_inst == 0:
            return (self.name, float("nan"))
        return (self.name, math.exp(self.global_sum_metric / self.global_num_inst))


register(Perplexity)


@alias("pearsonr")
class PearsonCorrelation(EvalMetric):
    """Pearson correlation of flattened predictions and labels: 'macro' averages per-batch
    correlations; 'micro' correlates all samples seen since reset() (streaming co-moments)."""

    def __init__(self, name="pearsonr", output_names=None, label_names=None, average="macro"):
        if average not in ("macro", "micro"):
            raise ValueError("PearsonCorrelation: average must be 'macro' or 'micro', got %r" % (average,))
        self.average = average
        super().__init__(name, output_names=output_names, label_names=label_names, has_global_stats=True)

    def reset(self):
        super().reset()
        # Running count, means, sums of squared deviations and co-moment (Welford, batched).
        self._count, self._mean_l, self._mean_p, self._m2_l, self._m2_p, self._comoment = 0, 0.0, 0.0, 0.0, 0.0, 0.0

    def update(self, labels, preds):
        labels, preds = check_label_shapes(labels, preds, True)
        for label, pred in zip(labels, preds):
            label, pred = _host(label).astype(numpy.float64), _host(pred).astype(numpy.float64)
            check_label_shapes(label, pred, shape=True)
            label, pred = label.ravel(), pred.ravel()
            if self.average == "macro":
                self._accumulate(float(numpy.corrcoef(pred, label)[0, 1]), 1)
                continue
            self._accumulate(0.0, 1)
            self._count += label.size
            delta_l, delta_p = label - self._mean_l, pred - self._mean_p
            self._mean_l += delta_l.sum() / self._count
            self._mean_p += delta_p.sum() / self._count
            self._m2_l += float((delta_l * (label - self._mean_l)).sum())
            self._m2_p += float((delta_p * (pred - self._mean_p)).sum())
            self._comoment += float(((label - self._mean_l) * delta_p).sum())

    def _micro(self):
        return self._comoment / math.sqrt(self._m2_l * self._m2_p)

    def get(self):
        if self.num_inst == 0:
            return (self.name, float("nan"))
        return super().get() if self.average == "macro" else (self.name, self._micro())

    def get_global(self):
        if self.global_num_inst == 0:
            return (self.name, float("nan"))
        return super().get_global() if self.average == "macro" else (self.name, self._micro())


register(PearsonCorrelation)


class PCC(EvalMetric):
    """Multi-class Matthews correlation (Pearson correlation of the K x K confusion matrix); equals
    MCC for two classes. The matrix grows as larger class indices appear."""

    def __init__(self, name="pcc", output_names=None, label_names=None, has_global_stats=True):
        self.k = 2
        super().__init__(name, output_names=output_names, label_names=label_names,
                         has_global_stats=has_global_stats)

    def _grow(self, inc):
        self.lcm = numpy.pad(self.lcm, ((0, inc), (0, inc)), "constant")
        self.gcm = numpy.pad(self.gcm, ((0, inc), (0, inc)), "constant")
        self.k += inc

    @staticmethod
    def _calc_mcc(cmat):
        n = cmat.sum()
        x, y = cmat.sum(axis=1), cmat.sum(axis=0)
        cov_xx, cov_yy = numpy.sum(x * (n - x)), numpy.sum(y * (n - y))
        if cov_xx == 0 or cov_yy == 0:
            return float("nan")
        cov_xy = numpy.sum(cmat.diagonal() * n - x * y)
        return float(cov_xy / (cov_xx * cov_yy) ** 0.5)

    def update(self, labels, preds):
        labels, preds = check_label_shapes(labels, preds, True)
        for label, pred in zip(labels, preds):
            label, pred = _host(label).astype(numpy.int64).ravel(), _host(pred)
            pred = pred.argmax(axis=1) if pred.ndim > 1 and pred.shape != label.shape else pred
            pred = pred.astype(numpy.int64).ravel()
            check_label_shapes(label, pred, shape=True)
            if label.size and min(label.min(), pred.min()) < 0:
                raise ValueError("PCC.update: class indices must be non-negative")
            top = int(max(label.max(), pred.max())) if label.size else 0
            if top >= self.k:
                self._grow(top + 1 - self.k)
            batch = numpy.zeros((self.k, self.k))
            numpy.add.at(batch, (pred, label), 1)  # rows: predicted class, columns: true class
            self.lcm += batch
            self.gcm += batch
        self.num_inst += 1
        self.global_num_inst += 1

    # The metric value comes from the confusion matrices, so sum_metric is derived, not stored.
    @property
    def sum_metric(self):
        return self._calc_mcc(self.lcm) * self.num_inst

    @sum_metric.setter
    def sum_metric(self, _):
        pass

    @property
    def global_sum_metric(self):
        return self._calc_mcc(self.gcm) * self.global_num_inst

    @global_sum_metric.setter
    def global_sum_metric(self, _):
        pass

    def reset(self):
        self.global_num_inst = 0
        self.gcm = numpy.zeros((self.k, self.k))
        self.reset_local()

    def reset_local(self):
        self.num_inst = 0
        self.lcm = numpy.zeros((self.k, self.k))


register(PCC)
