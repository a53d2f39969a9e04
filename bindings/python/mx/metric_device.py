"""The device path of mx.metric's Accuracy, TopKAccuracy, CrossEntropy / NegativeLogLikelihood and Loss:
each batch's sum computed with ops where the predictions are, returned as a one-element NDArray
(never read here; EvalMetric._accumulate_device defers the read) with the batch's sample count.
Results match the numpy path: argmax takes the first index on ties, labels truncate towards zero
as numpy's astype(int64). NDArray property reads are C calls, so each is made once."""
import numpy

from . import _ops
from .ndarray import NDArray

_DTYPES = (numpy.float32, numpy.float64)  # float16 would round counts and sums: numpy path


def on_device_pred(pred):
    """Whether predictions take the device path: an NDArray of float32 or float64."""
    return isinstance(pred, NDArray) and pred.dtype in _DTYPES


def on_device(label, pred):
    """Whether a (label, pred) pair takes the device path: both NDArrays, float32/64 predictions."""
    return isinstance(label, NDArray) and on_device_pred(pred)


def _count(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def _class_ids(x, dtype):
    """x's values truncated towards zero, in float dtype `dtype` (that of argmax / topk indices)."""
    source = x.dtype
    if source != dtype:
        x = _ops.invoke("cast", [x], {"dtype": numpy.dtype(dtype).name})
    return x if numpy.issubdtype(source, numpy.integer) else _ops.invoke("trunc", [x], {})


def _sum_equal(a, b):
    return _ops.invoke("sum", [_ops.invoke("broadcast_equal", [a, b], {})], {})


def accuracy_sum(label, pred, axis):
    """(count of argmax(pred, axis) == label, samples); pred already holding class ids when its
    shape is the label's. Sizes that differ raise check_label_shapes' ValueError."""
    label_shape, pred_shape = label.shape, pred.shape
    dtype = pred.dtype
    if pred_shape != label_shape:
        pred = _ops.invoke("argmax", [pred], {"axis": axis})
        pred_shape = pred_shape[:axis % len(pred_shape)] + pred_shape[axis % len(pred_shape) + 1:]
    else:
        pred = _class_ids(pred, dtype)
    label = _class_ids(label, dtype)
    n = _count(label_shape)
    if pred_shape != label_shape:
        if _count(pred_shape) != n:
            raise ValueError("Shape of labels {} does not match shape of predictions {}"
                             .format((n,), (_count(pred_shape),)))
        label, pred = label.reshape((n,)), pred.reshape((n,))
    return _sum_equal(pred, label), n


def top_k_sum(label, pred, top_k):
    """(count of labels among each row's top_k predictions, samples); each row holds a label once."""
    shape = pred.shape
    if len(shape) != 2:
        raise ValueError("TopKAccuracy.update: predictions must be (batch, classes), got %s" % (shape,))
    n = label.size
    if n != shape[0]:
        raise ValueError("TopKAccuracy.update: %d labels for %d predictions" % (n, shape[0]))
    top = _ops.invoke("topk", [pred], {"k": min(top_k, shape[1]), "ret_typ": "indices", "axis": 1})
    return _sum_equal(top, _class_ids(label, top.dtype).reshape((n, 1))), n


def neg_log_likelihood_sum(label, pred, eps, owner):
    """(sum of -log(p[label] + eps) in float64, samples). pick truncates the label as numpy's
    astype(int64) does; a label outside [0, classes) is clipped where numpy would raise."""
    label_shape, shape = label.shape, pred.shape
    n = _count(label_shape)
    if shape[0] != n:
        raise ValueError("%s.update: %d labels for %d predictions" % (owner, n, shape[0]))
    if len(shape) != 2:
        pred = pred.reshape((n, -1))
    if len(label_shape) != 1:
        label = label.reshape((n,))
    prob = _ops.invoke("pick", [pred, label], {"axis": 1})
    if prob.dtype != numpy.float64:
        prob = _ops.invoke("cast", [prob], {"dtype": "float64"})
    log_sum = _ops.invoke("sum", [_ops.invoke("log", [_ops.invoke("_plus_scalar", [prob], {"scalar": eps})], {})], {})
    return _ops.invoke("negative", [log_sum], {}), n


def float64_sum(pred):
    """(sum of pred's elements in float64, element count): Loss's batch."""
    size = _count(pred.shape)
    if pred.dtype != numpy.float64:
        pred = _ops.invoke("cast", [pred], {"dtype": "float64"})
    return _ops.invoke("sum", [pred], {}), size
