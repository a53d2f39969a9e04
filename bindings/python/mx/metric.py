"""mx.metric: evaluation metrics over (labels, predictions) lists of arrays.

As in MXNet 1.9.1 every metric keeps two running totals: the local one (sum_metric / num_inst),
cleared by reset_local() (e.g. every logging period), and the global one (global_sum_metric /
global_num_inst), cleared only by reset() (e.g. every epoch). F1, MCC, PCC, Perplexity and
PearsonCorrelation live in metric_scores.py and are re-exported here.

Accuracy, TopKAccuracy, CrossEntropy, NegativeLogLikelihood and Loss compute on the device when given
NDArrays (numpy inputs take the numpy path): each batch's sum stays on the device and is read back
two batches later or when a total is looked at (sum_metric, get(), reset_local() ...), so a
training step does not wait for its own forward pass. num_inst is known from the shapes.
"""
import collections
import json

import numpy

from . import metric_device
from .ndarray import NDArray

_IN_FLIGHT = 2  # batches whose device sums a metric holds unread (see _accumulate_device)

_REGISTRY = {}


def register(klass, name=None):
    """Registers an EvalMetric subclass under `name` (default: its class name, lower-cased)."""
    if not (isinstance(klass, type) and issubclass(klass, EvalMetric)):
        raise TypeError("mx.metric.register: klass must be an EvalMetric subclass, got %r" % (klass,))
    _REGISTRY[(name or klass.__name__).lower()] = klass
    return klass


def alias(*names):
    """Class decorator registering the class under extra names."""
    def reg(klass):
        for name in names:
            register(klass, name)
        return klass
    return reg


def _create_registered(*args, **kwargs):
    """MXNet's registry create: a name, an instance, a config dict or its JSON, plus constructor args."""
    if args:
        name, args = args[0], args[1:]
    elif "metric" in kwargs:
        name = kwargs.pop("metric")
    else:
        raise TypeError("mx.metric.create: missing argument 'metric'")
    if isinstance(name, EvalMetric):
        if args or kwargs:
            raise ValueError("mx.metric.create: metric %r is already an instance; extra arguments are invalid"
                             % name.name)
        return name
    if isinstance(name, dict):
        return _create_registered(**name)
    if not isinstance(name, str):
        raise TypeError("mx.metric.create: metric must be a name, EvalMetric, callable or list, got %r" % (name,))
    if name.startswith("[") or name.startswith("{"):
        if args or kwargs:
            raise ValueError("mx.metric.create: a JSON metric config takes no extra arguments")
        config = json.loads(name)
        if isinstance(config, list):
            return _create_registered(config[0], **config[1])
        return _create_registered(**config)
    if name.lower() not in _REGISTRY:
        raise ValueError("mx.metric.create: unknown metric %r (known: %s)" % (name, ", ".join(sorted(_REGISTRY))))
    return _REGISTRY[name.lower()](*args, **kwargs)


def create(metric, *args, **kwargs):
    """A metric from a name ('acc', 'top_k_accuracy', 'ce', 'f1', ...), an instance, a config dict
    (from get_config()), a function feval(label, pred), or a list of these (a CompositeEvalMetric)."""
    if callable(metric) and not isinstance(metric, (EvalMetric, type)):
        return CustomMetric(metric, *args, **kwargs)
    if isinstance(metric, (list, tuple)):
        composite = CompositeEvalMetric()
        for child in metric:
            composite.add(create(child, *args, **kwargs))
        return composite
    return _create_registered(metric, *args, **kwargs)


def _host(x):
    return x.asnumpy() if isinstance(x, NDArray) else numpy.asarray(x)


def check_label_shapes(labels, preds, wrap=False, shape=False):
    """Raises ValueError unless labels and preds have equal length (or, with shape, equal shape);
    with wrap, a single array first becomes a one-element list. Returns (labels, preds)."""
    if wrap:
        labels = [labels] if isinstance(labels, (NDArray, numpy.ndarray)) else labels
        preds = [preds] if isinstance(preds, (NDArray, numpy.ndarray)) else preds
    a, b = (labels.shape, preds.shape) if shape else (len(labels), len(preds))
    if a != b:
        raise ValueError("Shape of labels {} does not match shape of predictions {}".format(a, b))
    return labels, preds


class EvalMetric:
    """Base metric: get() is sum_metric / num_inst; get_global() is the same since the last reset()."""

    _pending = None  # the device sums of the last batches, not yet in the totals (a deque, newest last)
    _pending_type = float  # what one read-back device sum becomes (int for counts)

    def __init__(self, name, output_names=None, label_names=None, **kwargs):
        self.name = str(name)
        self.output_names, self.label_names = output_names, label_names
        self._has_global_stats = kwargs.pop("has_global_stats", False)
        self._kwargs = kwargs
        self.reset()

    def __str__(self):
        return "EvalMetric: %s" % dict(self.get_name_value())

    def get_config(self):
        """The constructor arguments; mx.metric.create(**config) rebuilds the metric."""
        config = self._kwargs.copy()
        config.update({"metric": self.__class__.__name__, "name": self.name,
                       "output_names": self.output_names, "label_names": self.label_names})
        return config

    def update_dict(self, label, pred):
        """update() with the arrays of the dicts named by label_names / output_names (all if None)."""
        preds = [pred[n] for n in self.output_names] if self.output_names is not None else list(pred.values())
        labels = [label[n] for n in self.label_names] if self.label_names is not None else list(label.values())
        self.update(labels, preds)

    def update(self, labels, preds):
        raise NotImplementedError("%s.update is not implemented" % type(self).__name__)

    def _accumulate(self, value, count):
        """Adds one batch to both the local and the global totals."""
        self.sum_metric += value
        self.global_sum_metric += value
        self.num_inst += count
        self.global_num_inst += count

    def _accumulate_device(self, value, count):
        """Adds one batch whose sum is the one-element NDArray `value`, read back _IN_FLIGHT batches
        later (computed by then, so the read does not stall a training loop; when the device is
        further behind it waits, which keeps a loop that close to the device, as a read per batch
        did) or when a total is looked at."""
        self.num_inst += count
        self.global_num_inst += count
        pending = self._pending
        if pending is None:
            pending = self._pending = collections.deque()
        pending.append(value)
        if len(pending) > _IN_FLIGHT:
            self._add_device_sum(pending.popleft())

    def _add_device_sum(self, value):
        value = self._pending_type(value.asnumpy().reshape(-1)[0])
        self._sum_metric += value
        self._global_sum_metric += value

    def _flush(self):
        """The batches still pending into the local and global totals."""
        pending = self._pending
        while pending:
            self._add_device_sum(pending.popleft())

    # The totals take in the pending device sums first; setting one keeps what was pending in the other.
    @property
    def sum_metric(self):
        self._flush()
        return self._sum_metric

    @sum_metric.setter
    def sum_metric(self, value):
        self._flush()
        self._sum_metric = value

    @property
    def global_sum_metric(self):
        self._flush()
        return self._global_sum_metric

    @global_sum_metric.setter
    def global_sum_metric(self, value):
        self._flush()
        self._global_sum_metric = value

    def reset(self):
        """Clears local and global statistics."""
        self._pending = None
        self.num_inst = 0
        self.sum_metric = 0.0
        self.global_num_inst = 0
        self.global_sum_metric = 0.0

    def reset_local(self):
        """Clears the local statistics only."""
        self.num_inst = 0
        self.sum_metric = 0.0

    def get(self):
        return (self.name, float("nan") if self.num_inst == 0 else self.sum_metric / self.num_inst)

    def get_global(self):
        if not self._has_global_stats:
            return self.get()
        if self.global_num_inst == 0:
            return (self.name, float("nan"))
        return (self.name, self.global_sum_metric / self.global_num_inst)

    @staticmethod
    def _pairs(name, value):
        name = name if isinstance(name, list) else [name]
        value = value if isinstance(value, list) else [value]
        return list(zip(name, value))

    def get_name_value(self):
        return self._pairs(*self.get())

    def get_global_name_value(self):
        return self._pairs(*self.get_global()) if self._has_global_stats else self.get_name_value()


@alias("composite")
class CompositeEvalMetric(EvalMetric):
    """Several metrics updated together; get() returns lists of names and values."""

    def __init__(self, metrics=None, name="composite", output_names=None, label_names=None):
        self.metrics = [create(m) for m in (metrics or [])]
        super().__init__(name, output_names=output_names, label_names=label_names, has_global_stats=True)

    def add(self, metric):
        self.metrics.append(create(metric))

    def get_metric(self, index):
        try:
            return self.metrics[index]
        except IndexError:
            raise ValueError("CompositeEvalMetric.get_metric: index %d is out of range [0, %d)"
                             % (index, len(self.metrics))) from None

    def update_dict(self, labels, preds):
        if self.label_names is not None:
            labels = {k: v for k, v in labels.items() if k in self.label_names}
        if self.output_names is not None:
            preds = {k: v for k, v in preds.items() if k in self.output_names}
        for m in self.metrics:
            m.update_dict(labels, preds)

    def update(self, labels, preds):
        for m in self.metrics:
            m.update(labels, preds)

    def reset(self):
        for m in getattr(self, "metrics", []):
            m.reset()

    def reset_local(self):
        for m in self.metrics:
            m.reset_local()

    def _collect(self, getter):
        names, values = [], []
        for m in self.metrics:
            n, v = getter(m)
            names.extend(n if isinstance(n, list) else [n])
            values.extend(v if isinstance(v, list) else [v])
        return names, values

    def get(self):
        return self._collect(lambda m: m.get())

    def get_global(self):
        return self._collect(lambda m: m.get_global())

    def get_config(self):
        config = super().get_config()
        config["metrics"] = [m.get_config() for m in self.metrics]
        return config


register(CompositeEvalMetric)


@alias("acc")
class Accuracy(EvalMetric):
    """Fraction of samples whose arg-max prediction (over `axis`) equals the label."""

    def __init__(self, axis=1, name="accuracy", output_names=None, label_names=None):
        super().__init__(name, axis=axis, output_names=output_names, label_names=label_names,
                         has_global_stats=True)
        self.axis = axis

    _pending_type = int

    def update(self, labels, preds):
        labels, preds = check_label_shapes(labels, preds, True)
        for label, pred in zip(labels, preds):
            if metric_device.on_device(label, pred):
                self._accumulate_device(*metric_device.accuracy_sum(label, pred, self.axis))
                continue
            label, pred = _host(label), _host(pred)
            if pred.shape != label.shape:
                pred = numpy.argmax(pred, axis=self.axis)
            label, pred = label.astype(numpy.int64).ravel(), pred.astype(numpy.int64).ravel()
            check_label_shapes(label, pred, shape=True)
            self._accumulate(int((pred == label).sum()), label.size)


register(Accuracy)


@alias("top_k_accuracy", "top_k_acc")
class TopKAccuracy(EvalMetric):
    """Fraction of samples whose label is among the top_k highest predictions (named top_k_accuracy_<k>)."""

    def __init__(self, top_k=1, name="top_k_accuracy", output_names=None, label_names=None):
        super().__init__(name, top_k=top_k, output_names=output_names, label_names=label_names,
                         has_global_stats=True)
        if top_k < 1:
            raise ValueError("TopKAccuracy: top_k must be at least 1, got %r" % (top_k,))
        self.top_k = top_k
        self.name += "_%d" % top_k

    _pending_type = int

    def update(self, labels, preds):
        labels, preds = check_label_shapes(labels, preds, True)
        for label, pred in zip(labels, preds):
            if metric_device.on_device(label, pred):
                self._accumulate_device(*metric_device.top_k_sum(label, pred, self.top_k))
                continue
            label, pred = _host(label).astype(numpy.int64).ravel(), _host(pred)
            if pred.ndim != 2:
                raise ValueError("TopKAccuracy.update: predictions must be (batch, classes), got %s" % (pred.shape,))
            k = min(self.top_k, pred.shape[1])
            top = numpy.argpartition(-pred, k - 1, axis=1)[:, :k]
            self._accumulate(int((top == label[:, None]).any(axis=1).sum()), label.size)


register(TopKAccuracy)


def _picked_log_likelihood(metric, labels, preds):
    """Sum of -log(p[label] + eps) over samples of each batch, accumulated per sample."""
    labels, preds = check_label_shapes(labels, preds, True)
    for label, pred in zip(labels, preds):
        if metric_device.on_device(label, pred):
            metric._accumulate_device(*metric_device.neg_log_likelihood_sum(label, pred, metric.eps,
                                                                              type(metric).__name__))
            continue
        label, pred = _host(label).astype(numpy.int64).ravel(), _host(pred)
        if pred.shape[0] != label.size:
            raise ValueError("%s.update: %d labels for %d predictions" % (type(metric).__name__, label.size, pred.shape[0]))
        prob = pred.reshape(label.size, -1)[numpy.arange(label.size), label].astype(numpy.float64)
        metric._accumulate(float(-numpy.log(prob + metric.eps).sum()), label.size)


@alias("ce")
class CrossEntropy(EvalMetric):
    """Mean of -log(p[label] + eps) over samples; predictions are probabilities."""

    def __init__(self, eps=1e-12, name="cross-entropy", output_names=None, label_names=None):
        super().__init__(name, eps=eps, output_names=output_names, label_names=label_names,
                         has_global_stats=True)
        self.eps = eps

    update = _picked_log_likelihood


@alias("nll_loss")
class NegativeLogLikelihood(EvalMetric):
    """Negative log-likelihood: mean of -log(p[label] + eps) over samples (MXNet's 'nll-loss')."""

    def __init__(self, eps=1e-12, name="nll-loss", output_names=None, label_names=None):
        super().__init__(name, eps=eps, output_names=output_names, label_names=label_names,
                         has_global_stats=True)
        self.eps = eps

    update = _picked_log_likelihood


register(CrossEntropy)
register(NegativeLogLikelihood)


def _regression(update_one):
    def update(self, labels, preds):
        labels, preds = check_label_shapes(labels, preds, True)
        for label, pred in zip(labels, preds):
            label, pred = _host(label).astype(numpy.float64), _host(pred).astype(numpy.float64)
            n = label.shape[0]
            # Each sample's mean error over its outputs, summed: the metric is the per-sample average.
            self._accumulate(update_one(label.reshape(n, -1), pred.reshape(n, -1)), n)
    return update


class MSE(EvalMetric):
    """Mean squared error, averaged per sample."""

    def __init__(self, name="mse", output_names=None, label_names=None):
        super().__init__(name, output_names=output_names, label_names=label_names, has_global_stats=True)

    update = _regression(lambda l, p: float(((l - p) ** 2).mean(axis=1).sum()))


class MAE(EvalMetric):
    """Mean absolute error, averaged per sample."""

    def __init__(self, name="mae", output_names=None, label_names=None):
        super().__init__(name, output_names=output_names, label_names=label_names, has_global_stats=True)

    update = _regression(lambda l, p: float(numpy.abs(l - p).mean(axis=1).sum()))


class RMSE(MSE):
    """Square root of the MSE."""

    def __init__(self, name="rmse", output_names=None, label_names=None):
        super().__init__(name=name, output_names=output_names, label_names=label_names)

    def get(self):
        name, mse = super().get()
        return name, float(numpy.sqrt(mse))

    def get_global(self):
        name, mse = super().get_global()
        return name, float(numpy.sqrt(mse))


register(MSE)
register(MAE)
register(RMSE)


class Loss(EvalMetric):
    """Mean of the predictions themselves (the outputs are already losses); labels are ignored."""

    def __init__(self, name="loss", output_names=None, label_names=None):
        super().__init__(name, output_names=output_names, label_names=label_names, has_global_stats=True)

    def update(self, _, preds):
        for pred in [preds] if isinstance(preds, (NDArray, numpy.ndarray)) else preds:
            if metric_device.on_device_pred(pred):
                self._accumulate_device(*metric_device.float64_sum(pred))
                continue
            pred = _host(pred)
            self._accumulate(float(pred.astype(numpy.float64).sum()), pred.size)


register(Loss)


class CustomMetric(EvalMetric):
    """feval(label, pred) on numpy arrays returns the batch's value (or (sum, count))."""

    def __init__(self, feval, name=None, allow_extra_outputs=False, output_names=None, label_names=None):
        if name is None:
            name = getattr(feval, "__name__", "custom")
            name = "custom(%s)" % name if "<" in name else name
        super().__init__(name, feval=feval, allow_extra_outputs=allow_extra_outputs,
                         output_names=output_names, label_names=label_names, has_global_stats=True)
        self._feval = feval
        self._allow_extra_outputs = allow_extra_outputs

    def update(self, labels, preds):
        if not self._allow_extra_outputs:
            labels, preds = check_label_shapes(labels, preds, True)
        for label, pred in zip(labels, preds):
            value = self._feval(_host(label), _host(pred))
            if isinstance(value, tuple):
                self._accumulate(value[0], value[1])
            else:
                self._accumulate(value, 1)

    def get_config(self):
        raise NotImplementedError("CustomMetric.get_config: CustomMetric cannot be serialized")


register(CustomMetric)


def np(numpy_feval, name=None, allow_extra_outputs=False):  # MXNet's name; numpy is imported unabbreviated
    """A CustomMetric from a function of numpy arrays."""
    return CustomMetric(numpy_feval, name, allow_extra_outputs)


# Imported last: metric_scores builds on EvalMetric, register and check_label_shapes above.
from .metric_scores import F1, MCC, PCC, Perplexity, PearsonCorrelation  # noqa: E402,F401
