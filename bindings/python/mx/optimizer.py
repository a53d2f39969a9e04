"""mx.optimizer: SGD, Adam and RMSProp through mx's fused update ops (sgd_update, sgd_mom_update,
adam_update, rmsprop_update), which write the weight and the state in place; and Updater, which
keeps each parameter's state (what Module and KVStore call)."""
import math
import pickle

from . import _ops
from .ndarray import NDArray, zeros

_REGISTRY = {}


def register(klass):
    _REGISTRY[klass.__name__.lower()] = klass
    return klass


def create(name, **kwargs):
    if isinstance(name, Optimizer):
        return name
    if name.lower() not in _REGISTRY:
        raise ValueError("mx.optimizer: unknown optimizer %r (known: %s)" % (name, ", ".join(sorted(_REGISTRY))))
    return _REGISTRY[name.lower()](**kwargs)


class Optimizer:
    """Common hyper-parameters. lr_mult / wd_mult scale them per parameter (by index or name); as in
    MXNet, weight decay applies only to parameters named *_weight or *_gamma when names are known."""

    def __init__(self, rescale_grad=1.0, param_idx2name=None, wd=0.0, clip_gradient=None, learning_rate=0.01,
                 lr_scheduler=None, sym=None, begin_num_update=0, multi_precision=False, param_dict=None):
        self.rescale_grad = rescale_grad
        self.lr = learning_rate
        self.lr_scheduler = lr_scheduler
        if lr_scheduler is not None:
            lr_scheduler.base_lr = learning_rate
        self.wd = wd
        self.clip_gradient = clip_gradient
        self.begin_num_update = self.num_update = begin_num_update
        self._index_update_count = {}
        self.multi_precision = multi_precision
        self.idx2name = dict(param_idx2name or {})
        self.param_dict = param_dict or {}
        self.lr_mult, self.wd_mult = {}, {}
        self.set_lr_mult({})
        self.set_wd_mult({})

    @property
    def learning_rate(self):
        return self.lr_scheduler(self.num_update) if self.lr_scheduler is not None else self.lr

    def set_learning_rate(self, lr):
        if self.lr_scheduler is not None:
            raise UserWarning("set_learning_rate: an lr_scheduler is set; change it instead")
        self.lr = lr

    def set_lr_mult(self, args_lr_mult):
        self.lr_mult = dict(args_lr_mult)

    def set_wd_mult(self, args_wd_mult):
        self.wd_mult = {}
        for name in self.idx2name.values():
            if not (name.endswith("_weight") or name.endswith("_gamma")):
                self.wd_mult[name] = 0.0
        self.wd_mult.update(args_wd_mult)

    def _update_count(self, index):
        count = self._index_update_count.get(index, self.begin_num_update) + 1
        self._index_update_count[index] = count
        self.num_update = max(count, self.num_update)

    def _mult(self, table, index):
        if index in table:
            return table[index]
        return table.get(self.idx2name.get(index), 1.0)

    def _get_lr(self, index):
        return self.learning_rate * self._mult(self.lr_mult, index)

    def _get_wd(self, index):
        return self.wd * self._mult(self.wd_mult, index)

    def _common(self, index):
        return {"lr": self._get_lr(index), "wd": self._get_wd(index), "rescale_grad": self.rescale_grad,
                "clip_gradient": -1.0 if self.clip_gradient is None else self.clip_gradient}

    def create_state(self, index, weight):
        return None

    def update(self, index, weight, grad, state):
        raise NotImplementedError


@register
class SGD(Optimizer):
    """weight -= lr * (rescale_grad * grad + wd * weight), with momentum when momentum > 0."""

    def __init__(self, momentum=0.0, lazy_update=True, **kwargs):
        super().__init__(**kwargs)
        self.momentum = momentum
        self.lazy_update = lazy_update

    def create_state(self, index, weight):
        return zeros(weight.shape, weight.context, dtype=weight.dtype) if self.momentum != 0.0 else None

    def update(self, index, weight, grad, state):
        self._update_count(index)
        kw = self._common(index)
        if state is None:
            _ops.invoke("sgd_update", [weight, grad], kw, out=weight)
        else:
            kw["momentum"] = self.momentum
            _ops.invoke("sgd_mom_update", [weight, grad, state], kw, out=weight)


@register
class Adam(Optimizer):
    """Kingma and Ba's Adam; the bias corrections fold into the step's learning rate, as in MXNet."""

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8, lazy_update=True, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta1, self.beta2, self.epsilon = beta1, beta2, epsilon
        self.lazy_update = lazy_update

    def create_state(self, index, weight):
        return (zeros(weight.shape, weight.context, dtype=weight.dtype),
                zeros(weight.shape, weight.context, dtype=weight.dtype))

    def update(self, index, weight, grad, state):
        self._update_count(index)
        t = self._index_update_count[index]
        kw = self._common(index)
        kw["lr"] *= math.sqrt(1.0 - self.beta2 ** t) / (1.0 - self.beta1 ** t)
        kw.update(beta1=self.beta1, beta2=self.beta2, epsilon=self.epsilon)
        mean, var = state
        _ops.invoke("adam_update", [weight, grad, mean, var], kw, out=weight)


@register
class RMSProp(Optimizer):
    """Tieleman and Hinton's RMSProp (n = gamma1 n + (1 - gamma1) g^2; w -= lr g / sqrt(n + eps)), or
    Graves's centered variant (centered=True), which also tracks the mean gradient and a momentum
    gamma2."""

    def __init__(self, learning_rate=0.001, gamma1=0.9, gamma2=0.9, epsilon=1e-8, centered=False,
                 clip_weights=None, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.gamma1, self.gamma2, self.epsilon = gamma1, gamma2, epsilon
        self.centered, self.clip_weights = centered, clip_weights

    def create_state(self, index, weight):
        z = lambda: zeros(weight.shape, weight.context, dtype=weight.dtype)
        return (z(), z(), z()) if self.centered else z()

    def update(self, index, weight, grad, state):
        self._update_count(index)
        kw = self._common(index)
        if not self.centered:
            kw.update(gamma1=self.gamma1, epsilon=self.epsilon,
                      clip_weights=-1.0 if self.clip_weights is None else self.clip_weights)
            _ops.invoke("rmsprop_update", [weight, grad, state], kw, out=weight)
            return
        n, g_mean, delta = state
        g = grad * self.rescale_grad
        if self.clip_gradient is not None:
            g = _ops.invoke("clip", [g], {"a_min": -self.clip_gradient, "a_max": self.clip_gradient})
        g = g + kw["wd"] * weight
        n[:] = (1 - self.gamma1) * (g * g) + self.gamma1 * n
        g_mean[:] = (1 - self.gamma1) * g + self.gamma1 * g_mean
        delta[:] = self.gamma2 * delta - kw["lr"] * (g / ((n - g_mean * g_mean + self.epsilon).sqrt()))
        weight[:] = weight + delta
        if self.clip_weights is not None:
            _ops.invoke("clip", [weight], {"a_min": -self.clip_weights, "a_max": self.clip_weights}, out=weight)


class Updater:
    """updater(index, grad, weight): creates the parameter's state on first use, then updates."""

    def __init__(self, optimizer):
        self.optimizer = optimizer
        self.states = {}

    def __call__(self, index, grad, weight):
        if not isinstance(weight, NDArray):
            raise TypeError("Updater: weight %r is not an NDArray" % (index,))
        if index not in self.states:
            self.states[index] = self.optimizer.create_state(index, weight)
        self.optimizer.update(index, weight, grad, self.states[index])

    def get_states(self, dump_optimizer=False):
        """The states pickled (NDArrays pickle as their values), with the optimizer if asked."""
        return pickle.dumps((self.states, self.optimizer) if dump_optimizer else self.states)

    def set_states(self, states):
        loaded = pickle.loads(states)
        if isinstance(loaded, tuple) and len(loaded) == 2 and isinstance(loaded[1], Optimizer):
            loaded, self.optimizer = loaded
        self.states = loaded


def get_updater(optimizer):
    return Updater(optimizer)
