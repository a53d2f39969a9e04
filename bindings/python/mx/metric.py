"""mx.metric: evaluation metrics over (labels, predictions) lists of arrays, computed in numpy."""
import numpy

from .ndarray import NDArray

_REGISTRY = {}


def register(klass, *aliases):
    for name in (klass.__name__.lower(),) + aliases:
        _REGISTRY[name] = klass
    return klass


def alias(*names):
    return lambda klass: register(klass, *names)


def create(metric, *args, **kwargs):
    """A metric from a name ('acc', 'top_k_accuracy', 'ce', 'mse', ...), a function, or a list."""
    if isinstance(metric, EvalMetric):
        return metric
    if callable(metric):
        return CustomMetric(metric, *args, **kwargs)
    if isinstance(metric, (list, tuple)):
        composite = CompositeEvalMetric()
        for m in metric:
            composite.add(create(m, *args, **kwargs))
        return composite
    if metric.lower() not in _REGISTRY:
        raise ValueError("mx.metric: unknown metric %r (known: %s)" % (metric, ", ".join(sorted(_REGISTRY))))
    return _REGISTRY[metric.lower()](*args, **kwargs)


def _host(x):
    return x.asnumpy() if isinstance(x, NDArray) else numpy.asarray(x)


def check_label_shapes(labels, preds, shape=False):
    a, b = (labels.shape, preds.shape) if shape else (len(labels), len(preds))
    if a != b:
        raise ValueError("metric: labels have %s but predictions %s" % (a, b))


class EvalMetric:
    """Accumulates sum_metric over num_inst samples; get() returns (name, sum_metric / num_inst)."""

    def __init__(self, name, output_names=None, label_names=None, **kwargs):
        self.name = str(name)
        self.output_names, self.label_names = output_names, label_names
        self._kwargs = kwargs
        self.reset()

    def __str__(self):
        return "EvalMetric: %s" % dict(self.get_name_value())

    def reset(self):
        self.num_inst = 0
        self.sum_metric = 0.0

    def update(self, labels, preds):
        raise NotImplementedError

    def update_dict(self, label, pred):
        labels = [label[n] for n in self.label_names] if self.label_names else list(label.values())
        preds = [pred[n] for n in self.output_names] if self.output_names else list(pred.values())
        self.update(labels, preds)

    def get(self):
        return (self.name, float("nan") if self.num_inst == 0 else self.sum_metric / self.num_inst)

    def get_name_value(self):
        name, value = self.get()
        if not isinstance(name, list):
            name, value = [name], [value]
        return list(zip(name, value))


@alias("acc")
class Accuracy(EvalMetric):
    """Fraction of samples whose arg-max prediction (over `axis`) equals the label."""

    def __init__(self, axis=1, name="accuracy", **kwargs):
        super().__init__(name, **kwargs)
        self.axis = axis

    def update(self, labels, preds):
        check_label_shapes(labels, preds)
        for label, pred in zip(labels, preds):
            label, pred = _host(label), _host(pred)
            if pred.shape != label.shape:
                pred = numpy.argmax(pred, axis=self.axis)
            label, pred = label.astype(numpy.int64).ravel(), pred.astype(numpy.int64).ravel()
            check_label_shapes(label, pred, shape=True)
            self.sum_metric += int((pred == label).sum())
            self.num_inst += label.size


@alias("top_k_accuracy", "top_k_acc")
class TopKAccuracy(EvalMetric):
    """Fraction of samples whose label is among the top_k highest predictions."""

    def __init__(self, top_k=1, name="top_k_accuracy", **kwargs):
        super().__init__("%s_%d" % (name, top_k), **kwargs)
        if top_k < 1:
            raise ValueError("TopKAccuracy: top_k must be at least 1, got %d" % top_k)
        self.top_k = top_k

    def update(self, labels, preds):
        check_label_shapes(labels, preds)
        for label, pred in zip(labels, preds):
            label, pred = _host(label).astype(numpy.int64).ravel(), _host(pred)
            if pred.ndim != 2:
                raise ValueError("TopKAccuracy: predictions must be (batch, classes), got %s" % (pred.shape,))
            k = min(self.top_k, pred.shape[1])
            top = numpy.argpartition(-pred, k - 1, axis=1)[:, :k]
            self.sum_metric += int((top == label[:, None]).any(axis=1).sum())
            self.num_inst += label.size


@alias("ce")
class CrossEntropy(EvalMetric):
    """Mean of -log(p[label] + eps) over samples; predictions are probabilities."""

    def __init__(self, eps=1e-12, name="cross-entropy", **kwargs):
        super().__init__(name, **kwargs)
        self.eps = eps

    def update(self, labels, preds):
        check_label_shapes(labels, preds)
        for label, pred in zip(labels, preds):
            label, pred = _host(label).astype(numpy.int64).ravel(), _host(pred)
            prob = pred.reshape(label.size, -1)[numpy.arange(label.size), label]
            self.sum_metric += float(-numpy.log(prob.astype(numpy.float64) + self.eps).sum())
            self.num_inst += label.size


def _regression(update_one):
    def update(self, labels, preds):
        check_label_shapes(labels, preds)
        for label, pred in zip(labels, preds):
            label, pred = _host(label).astype(numpy.float64), _host(pred).astype(numpy.float64)
            if label.ndim == 1:
                label = label.reshape(label.shape[0], 1)
            if pred.ndim == 1:
                pred = pred.reshape(pred.shape[0], 1)
            n = label.shape[0]
            # Each sample's mean error over its outputs, summed: the metric is the per-sample average.
            self.sum_metric += update_one(label.reshape(n, -1), pred.reshape(n, -1))
            self.num_inst += n
    return update


class MSE(EvalMetric):
    def __init__(self, name="mse", **kwargs):
        super().__init__(name, **kwargs)

    update = _regression(lambda l, p: float(((l - p) ** 2).mean(axis=1).sum()))


class MAE(EvalMetric):
    def __init__(self, name="mae", **kwargs):
        super().__init__(name, **kwargs)

    update = _regression(lambda l, p: float(numpy.abs(l - p).mean(axis=1).sum()))


class RMSE(MSE):
    def __init__(self, name="rmse", **kwargs):
        super().__init__(name=name, **kwargs)

    def get(self):
        name, mse = super().get()
        return name, float(numpy.sqrt(mse))


register(MSE)
register(MAE)
register(RMSE)


class CustomMetric(EvalMetric):
    """feval(label, pred) on numpy arrays returns the batch's value (or (sum, count))."""

    def __init__(self, feval, name=None, allow_extra_outputs=False, **kwargs):
        super().__init__(name or getattr(feval, "__name__", "custom"), **kwargs)
        self._feval = feval
        self._allow_extra_outputs = allow_extra_outputs

    def update(self, labels, preds):
        if not self._allow_extra_outputs:
            check_label_shapes(labels, preds)
        for label, pred in zip(labels, preds):
            value = self._feval(_host(label), _host(pred))
            if isinstance(value, tuple):
                self.sum_metric += value[0]
                self.num_inst += value[1]
            else:
                self.sum_metric += value
                self.num_inst += 1


def np(numpy_feval, name=None, allow_extra_outputs=False):  # MXNet's name; numpy is imported unabbreviated
    """A CustomMetric from a function of numpy arrays."""
    return CustomMetric(numpy_feval, name, allow_extra_outputs)


class CompositeEvalMetric(EvalMetric):
    """Several metrics updated together; get() returns lists of names and values."""

    def __init__(self, metrics=None, name="composite", **kwargs):
        self.metrics = [create(m) for m in (metrics or [])]
        super().__init__(name, **kwargs)

    def add(self, metric):
        self.metrics.append(create(metric))

    def reset(self):
        for m in getattr(self, "metrics", []):
            m.reset()

    def update(self, labels, preds):
        for m in self.metrics:
            m.update(labels, preds)

    def get(self):
        names, values = [], []
        for m in self.metrics:
            n, v = m.get()
            names.extend(n if isinstance(n, list) else [n])
            values.extend(v if isinstance(v, list) else [v])
        return names, values
