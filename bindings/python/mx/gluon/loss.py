"""mx.gluon.loss: MXNet 1.9.1's losses as HybridBlocks.

Every loss takes (pred, label[, sample_weight]) and returns one value per sample: the element-wise
loss, times sample_weight (broadcast) and the scalar weight, averaged over every axis but batch_axis.
hybrid_forward uses only ops that exist in both mx.nd and mx.sym, so each loss hybridizes."""
import numpy as np

from .. import ndarray
from ..base import numeric_types
from .block import HybridBlock

__all__ = ["Loss", "L2Loss", "L1Loss", "SigmoidBinaryCrossEntropyLoss", "SigmoidBCELoss",
           "SoftmaxCrossEntropyLoss", "SoftmaxCELoss", "KLDivLoss", "CTCLoss", "HuberLoss", "HingeLoss",
           "SquaredHingeLoss", "LogisticLoss", "TripletLoss", "PoissonNLLLoss", "CosineEmbeddingLoss"]


def _apply_weighting(F, loss, weight=None, sample_weight=None):
    """loss * sample_weight (broadcast) * weight; either may be None."""
    if sample_weight is not None:
        loss = F.broadcast_mul(loss, sample_weight)
    if weight is not None:
        loss = loss * weight
    return loss


def _reshape_like(F, x, y):
    """x reshaped to y's shape (labels may come flat, as MXNet allows)."""
    if F is ndarray:
        if x.size != y.size:
            raise ValueError("label has shape %s (%d elements) but pred has shape %s (%d elements)"
                             % (x.shape, x.size, y.shape, y.size))
        return x.reshape(y.shape)
    return F.reshape_like(x, y)


def _softrelu(F, x):
    """log(1 + exp(x)), the op MXNet calls Activation(act_type='softrelu')."""
    return F.Activation(x, act_type="softrelu")


class Loss(HybridBlock):
    """Base class for losses.

    Parameters
    ----------
    weight : float or None
        Global scalar weight for loss.
    batch_axis : int, default 0
        The axis that represents mini-batch.
    """

    def __init__(self, weight, batch_axis, **kwargs):
        if weight is not None and not isinstance(weight, numeric_types):
            raise TypeError("%s: weight must be a number or None, got %r" % (type(self).__name__, weight))
        if not isinstance(batch_axis, int):
            raise TypeError("%s: batch_axis must be an int, got %r" % (type(self).__name__, batch_axis))
        super().__init__(**kwargs)
        self._weight = weight
        self._batch_axis = batch_axis

    def __repr__(self):
        return "%s(batch_axis=%s, w=%s)" % (type(self).__name__, self._batch_axis, self._weight)

    def hybrid_forward(self, F, x, *args, **kwargs):
        raise NotImplementedError

    def _mean_per_sample(self, F, loss):
        return F.mean(loss, axis=self._batch_axis, exclude=True)


class L2Loss(Loss):
    r"""Half the squared error: L = 1/2 \sum_i (label_i - pred_i)^2, averaged per sample."""

    def __init__(self, weight=1., batch_axis=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)

    def hybrid_forward(self, F, pred, label, sample_weight=None):
        label = _reshape_like(F, label, pred)
        loss = F.square(label - pred)
        weight = self._weight / 2 if self._weight is not None else 0.5
        return self._mean_per_sample(F, _apply_weighting(F, loss, weight, sample_weight))


class L1Loss(Loss):
    r"""The absolute error: L = \sum_i |label_i - pred_i|, averaged per sample."""

    def __init__(self, weight=None, batch_axis=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)

    def hybrid_forward(self, F, pred, label, sample_weight=None):
        label = _reshape_like(F, label, pred)
        loss = F.abs(label - pred)
        return self._mean_per_sample(F, _apply_weighting(F, loss, self._weight, sample_weight))


class SigmoidBinaryCrossEntropyLoss(Loss):
    r"""Binary cross entropy: L = -[pos_weight * label * log(p) + (1 - label) * log(1 - p)] with
    p = sigmoid(pred), computed stably from logits unless from_sigmoid (then p = pred).
    pos_weight (an input, broadcast like sample_weight) scales the positive term."""

    def __init__(self, from_sigmoid=False, weight=None, batch_axis=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)
        self._from_sigmoid = from_sigmoid

    def hybrid_forward(self, F, pred, label, sample_weight=None, pos_weight=None):
        label = _reshape_like(F, label, pred)
        if not self._from_sigmoid:
            if pos_weight is None:
                # max(x, 0) - x * z + log(1 + exp(-|x|))
                loss = F.relu(pred) - pred * label + _softrelu(F, -F.abs(pred))
            else:
                # x - x * z + (1 + z * (pos_weight - 1)) * (log(1 + exp(-|x|)) + max(-x, 0))
                log_weight = 1 + F.broadcast_mul(pos_weight - 1, label)
                loss = pred - pred * label + log_weight * (_softrelu(F, -F.abs(pred)) + F.relu(-pred))
        else:
            eps = 1e-12
            positive = F.log(pred + eps) * label
            if pos_weight is not None:
                positive = F.broadcast_mul(positive, pos_weight)
            loss = -(positive + F.log(1. - pred + eps) * (1. - label))
        return self._mean_per_sample(F, _apply_weighting(F, loss, self._weight, sample_weight))


SigmoidBCELoss = SigmoidBinaryCrossEntropyLoss


class SoftmaxCrossEntropyLoss(Loss):
    r"""Softmax cross entropy along `axis`: L = -\sum_j label_j log softmax(pred)_j.
    sparse_label: label holds class indices (pred's shape without `axis`); else a distribution of
    pred's shape. from_logits: pred already holds log-probabilities."""

    def __init__(self, axis=-1, sparse_label=True, from_logits=False, weight=None, batch_axis=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)
        self._axis = axis
        self._sparse_label = sparse_label
        self._from_logits = from_logits

    def hybrid_forward(self, F, pred, label, sample_weight=None):
        if not self._from_logits:
            pred = F.log_softmax(pred, axis=self._axis)
        if self._sparse_label:
            if F is ndarray and label.size * pred.shape[self._axis] != pred.size:
                raise ValueError("SoftmaxCrossEntropyLoss: sparse label of shape %s does not match pred of shape %s "
                                 "without axis %d" % (label.shape, pred.shape, self._axis))
            loss = -F.pick(pred, label, axis=self._axis, keepdims=True)
        else:
            label = _reshape_like(F, label, pred)
            loss = -F.sum(pred * label, axis=self._axis, keepdims=True)
        return self._mean_per_sample(F, _apply_weighting(F, loss, self._weight, sample_weight))


SoftmaxCELoss = SoftmaxCrossEntropyLoss


class KLDivLoss(Loss):
    r"""Kullback-Leibler divergence: L = \sum_i label_i (log label_i - pred_i), where pred holds
    log-probabilities (from_logits=True, the default) or logits that log_softmax along `axis` turns
    into them."""

    def __init__(self, from_logits=True, axis=-1, weight=None, batch_axis=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)
        self._from_logits = from_logits
        self._axis = axis

    def hybrid_forward(self, F, pred, label, sample_weight=None):
        if not self._from_logits:
            pred = F.log_softmax(pred, axis=self._axis)
        loss = label * (F.log(label + 1e-12) - pred)
        return self._mean_per_sample(F, _apply_weighting(F, loss, self._weight, sample_weight))


class CTCLoss(Loss):
    """Connectionist Temporal Classification loss over the CTCLoss op, blank = the last class
    (alphabet_size - 1); labels are zero-based and padded with -1.

    Parameters
    ----------
    layout : 'NTC' (default) or 'TNC', the layout of pred.
    label_layout : 'NT' (default) or 'TN', the layout of label.
    weight : float or None

    Inputs: pred, label, pred_lengths (N,) or None, label_lengths (N,) or None, sample_weight.
    Output: the loss per sample, shape (batch_size,)."""

    def __init__(self, layout="NTC", label_layout="NT", weight=None, **kwargs):
        if layout not in ("NTC", "TNC"):
            raise ValueError("CTCLoss: layout (of pred) must be 'NTC' or 'TNC', got %r" % (layout,))
        if label_layout not in ("NT", "TN"):
            raise ValueError("CTCLoss: label_layout must be 'NT' or 'TN', got %r" % (label_layout,))
        self._layout = layout
        self._label_layout = label_layout
        super().__init__(weight, label_layout.find("N"), **kwargs)

    def hybrid_forward(self, F, pred, label, pred_lengths=None, label_lengths=None, sample_weight=None):
        if self._layout == "NTC":
            pred = F.swapaxes(pred, dim1=0, dim2=1)
        if self._batch_axis == 1:
            label = F.swapaxes(label, dim1=0, dim2=1)
        inputs = [pred, label] + [x for x in (pred_lengths, label_lengths) if x is not None]
        loss = F.CTCLoss(*inputs, use_data_lengths=pred_lengths is not None,
                         use_label_lengths=label_lengths is not None, blank_label="last")
        return _apply_weighting(F, loss, self._weight, sample_weight)


class HuberLoss(Loss):
    r"""Smoothed L1: (label - pred)^2 / (2 rho) where |label - pred| <= rho, else |label - pred| - rho / 2."""

    def __init__(self, rho=1, weight=None, batch_axis=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)
        self._rho = rho

    def hybrid_forward(self, F, pred, label, sample_weight=None):
        label = _reshape_like(F, label, pred)
        loss = F.abs(label - pred)
        loss = F.where(loss > self._rho, loss - 0.5 * self._rho, (0.5 / self._rho) * F.square(loss))
        return self._mean_per_sample(F, _apply_weighting(F, loss, self._weight, sample_weight))


class HingeLoss(Loss):
    r"""SVM hinge loss: L = max(0, margin - pred * label) with labels -1 or 1."""

    def __init__(self, margin=1, weight=None, batch_axis=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)
        self._margin = margin

    def hybrid_forward(self, F, pred, label, sample_weight=None):
        label = _reshape_like(F, label, pred)
        loss = F.relu(self._margin - pred * label)
        return self._mean_per_sample(F, _apply_weighting(F, loss, self._weight, sample_weight))


class SquaredHingeLoss(Loss):
    r"""Soft-margin SVM loss: L = max(0, margin - pred * label)^2 with labels -1 or 1."""

    def __init__(self, margin=1, weight=None, batch_axis=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)
        self._margin = margin

    def hybrid_forward(self, F, pred, label, sample_weight=None):
        label = _reshape_like(F, label, pred)
        loss = F.square(F.relu(self._margin - pred * label))
        return self._mean_per_sample(F, _apply_weighting(F, loss, self._weight, sample_weight))


class LogisticLoss(Loss):
    r"""Logistic loss L = log(1 + exp(-pred * label)) for labels -1/1 (label_format='signed') or
    0/1 ('binary'), computed stably."""

    def __init__(self, weight=None, batch_axis=0, label_format="signed", **kwargs):
        if label_format not in ("signed", "binary"):
            raise ValueError("LogisticLoss: label_format must be 'signed' or 'binary', got %r" % (label_format,))
        super().__init__(weight, batch_axis, **kwargs)
        self._label_format = label_format

    def hybrid_forward(self, F, pred, label, sample_weight=None):
        label = _reshape_like(F, label, pred)
        if self._label_format == "signed":
            label = (label + 1.0) / 2.0  # to 0 / 1
        loss = F.relu(pred) - pred * label + _softrelu(F, -F.abs(pred))
        return self._mean_per_sample(F, _apply_weighting(F, loss, self._weight, sample_weight))


class TripletLoss(Loss):
    r"""L = max(||positive - pred||^2 - ||negative - pred||^2 + margin, 0), summed over every axis
    but batch_axis (not averaged, as MXNet)."""

    def __init__(self, margin=1, weight=None, batch_axis=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)
        self._margin = margin

    def hybrid_forward(self, F, pred, positive, negative):
        positive = _reshape_like(F, positive, pred)
        negative = _reshape_like(F, negative, pred)
        loss = F.sum(F.square(positive - pred) - F.square(negative - pred), axis=self._batch_axis, exclude=True)
        loss = F.relu(loss + self._margin)
        return _apply_weighting(F, loss, self._weight, None)


class PoissonNLLLoss(Loss):
    r"""Poisson negative log likelihood: exp(pred) - target * pred when from_logits (pred = log rate),
    else pred - target * log(pred + epsilon); compute_full adds Stirling's approximation of
    log(target!) where target > 1. As MXNet 1.9.1, the output is the mean over every element."""

    def __init__(self, weight=None, from_logits=True, batch_axis=0, compute_full=False, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)
        self._from_logits = from_logits
        self._compute_full = compute_full

    def hybrid_forward(self, F, pred, target, sample_weight=None, epsilon=1e-08):
        target = _reshape_like(F, target, pred)
        if self._from_logits:
            loss = F.exp(pred) - target * pred
        else:
            loss = pred - target * F.log(pred + epsilon)
        if self._compute_full:
            # masked where target <= 1 (log(target!) is 0 there); the mask also hides log(0)'s -inf
            safe = F.maximum(target, 1.0)
            stirling = safe * F.log(safe) - safe + 0.5 * F.log(2 * np.pi * safe)
            loss = loss + stirling * (target > 1)
        loss = _apply_weighting(F, loss, self._weight, sample_weight)
        return F.mean(loss)


class CosineEmbeddingLoss(Loss):
    r"""For label 1: 1 - cos_sim(input1, input2); for label -1: max(0, cos_sim - margin), with the
    cosine similarity along the last axis. Output shape (batch_size, 1), as MXNet."""

    def __init__(self, weight=None, batch_axis=0, margin=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)
        self._margin = margin

    def hybrid_forward(self, F, input1, input2, label, sample_weight=None):
        input1 = _reshape_like(F, input1, input2)
        label = F.reshape(label, shape=(-1, 1))
        cos_sim = self._cosine_similarity(F, input1, input2)
        positive = label > 0  # labels are 1 or -1
        negative = label < 0
        loss = (1 - cos_sim) * positive + F.relu(negative * (cos_sim - self._margin))
        return _apply_weighting(F, loss, self._weight, sample_weight)

    @staticmethod
    def _cosine_similarity(F, x, y, axis=-1):
        x_norm = F.reshape(F.norm(x, axis=axis), shape=(-1, 1))
        y_norm = F.reshape(F.norm(y, axis=axis), shape=(-1, 1))
        x_dot_y = F.reshape(F.sum(x * y, axis=axis), shape=(-1, 1))
        return x_dot_y / F.maximum(x_norm * y_norm, 1e-12)
