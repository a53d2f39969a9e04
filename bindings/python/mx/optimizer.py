"""mx.optimizer, as in MXNet 1.9.1: the Optimizer base class (learning rate and its scheduler, weight
decay, per-parameter lr_mult / wd_mult, gradient rescaling and clipping, update counts, float16
master copies), the registry behind mx.optimizer.create, and Updater, which keeps each parameter's
state (what Module and KVStore call). SGD, Adam and RMSProp are here; the other optimizers are in
optimizer_extra.py."""
import functools
import math
import os
import pickle
import warnings

import numpy as np

from . import _ops
from .ndarray import NDArray, zeros


class Optimizer:
    """Common hyper-parameters. As in MXNet, weight decay applies only to parameters named *_weight or
    *_gamma when names are known, and a symbol's __lr_mult__ / __wd_mult__ attributes set the mults."""

    opt_registry = {}

    def __init__(self, rescale_grad=1.0, param_idx2name=None, wd=0.0, clip_gradient=None, learning_rate=None,
                 lr_scheduler=None, sym=None, begin_num_update=0, multi_precision=False, param_dict=None):
        self.rescale_grad = rescale_grad
        self.lr_scheduler = lr_scheduler
        if lr_scheduler is None and learning_rate is None:
            learning_rate = 0.01
        self.lr = learning_rate
        if lr_scheduler is not None and learning_rate is not None and lr_scheduler.base_lr != learning_rate:
            # MXNet prints this warning too: the optimizer's learning_rate wins over the scheduler's
            warnings.warn("learning rate from ``lr_scheduler`` has been overwritten by ``learning_rate`` "
                          "in optimizer.")
            lr_scheduler.base_lr = learning_rate
        self.wd = wd
        self.clip_gradient = clip_gradient
        self.begin_num_update = begin_num_update
        self.num_update = begin_num_update
        self._index_update_count = {}
        self.multi_precision = multi_precision
        # > 1: Updater hands update() lists of up to this many parameters (SGD's multi-tensor ops)
        self.aggregate_num = 0
        if param_idx2name is None:
            param_idx2name = {}
        if not isinstance(param_idx2name, dict):
            raise TypeError("Optimizer: param_idx2name must be a dict of index to name, got %r"
                            % (type(param_idx2name).__name__,))
        self.idx2name = dict(param_idx2name)
        self.sym_info = (sym.attr_dict(), sym.list_arguments()) if sym is not None else ()
        self.param_dict = param_dict if param_dict else {}
        self.lr_mult, self.wd_mult = {}, {}
        self.set_lr_mult({})
        self.set_wd_mult({})

    # ------------------------------------------------------------------ registry
    @staticmethod
    def register(klass):
        """Class decorator: makes `klass` creatable by its lower-case name."""
        if not isinstance(klass, type):
            raise TypeError("Optimizer.register: expects a class, got %r" % (klass,))
        name = klass.__name__.lower()
        if name in Optimizer.opt_registry and Optimizer.opt_registry[name] is not klass:
            warnings.warn("Optimizer.register: new optimizer %s.%s overrides %s.%s" % (
                klass.__module__, klass.__name__, Optimizer.opt_registry[name].__module__,
                Optimizer.opt_registry[name].__name__))
        Optimizer.opt_registry[name] = klass
        return klass

    @staticmethod
    def create_optimizer(name, **kwargs):
        """An optimizer by registered name (case-insensitive), e.g. create_optimizer('sgd', momentum=0.9)."""
        if not isinstance(name, str):
            raise TypeError("Optimizer.create_optimizer: name must be a str, got %r" % (name,))
        if name.lower() not in Optimizer.opt_registry:
            raise ValueError("Optimizer.create_optimizer: cannot find optimizer %r (known: %s)"
                             % (name, ", ".join(sorted(Optimizer.opt_registry))))
        return Optimizer.opt_registry[name.lower()](**kwargs)

    # ------------------------------------------------------------------ learning rate and mults
    @property
    def learning_rate(self):
        return self.lr_scheduler(self.num_update) if self.lr_scheduler is not None else self.lr

    def set_learning_rate(self, lr):
        if self.lr_scheduler is not None:
            raise UserWarning("LRScheduler of the optimizer has already been defined. This operation would "
                              "be ignored; change the lr_scheduler instead.")
        self.lr = lr

    def set_lr_scale(self, args_lrscale):
        raise DeprecationWarning("Optimizer.set_lr_scale is deprecated; use set_lr_mult")

    def _mults_from_symbol(self, key):
        found = {}
        if self.sym_info:
            attr, arg_names = self.sym_info
            for name in arg_names:
                if name in attr and key in attr[name]:
                    found[name] = float(attr[name][key])
        return found

    def set_lr_mult(self, args_lr_mult):
        """Per-parameter lr multipliers (by index or name); the symbol's __lr_mult__ attributes first."""
        self.lr_mult = self._mults_from_symbol("__lr_mult__")
        self.lr_mult.update(args_lr_mult)

    def set_wd_mult(self, args_wd_mult):
        """Per-parameter wd multipliers: 0 for names not ending in _weight / _gamma, then the symbol's
        __wd_mult__ attributes, then args_wd_mult."""
        self.wd_mult = {}
        for name in self.idx2name.values():
            if not (name.endswith("_weight") or name.endswith("_gamma")):
                self.wd_mult[name] = 0.0
        self.wd_mult.update(self._mults_from_symbol("__wd_mult__"))
        self.wd_mult.update(args_wd_mult)

    def _update_count(self, index):
        for idx in (index if isinstance(index, (list, tuple)) else [index]):
            count = self._index_update_count.get(idx, self.begin_num_update) + 1
            self._index_update_count[idx] = count
            self.num_update = max(count, self.num_update)

    def _mult(self, table, attr, index, value):
        if index in self.param_dict:
            return value * getattr(self.param_dict[index], attr)
        if index in table:
            return value * table[index]
        if index in self.idx2name:
            return value * table.get(self.idx2name[index], 1.0)
        return value

    def _get_lr(self, index):
        return self._mult(self.lr_mult, "lr_mult", index, self.learning_rate)

    def _get_wd(self, index):
        return self._mult(self.wd_mult, "wd_mult", index, self.wd)

    def _get_lrs(self, indices):
        return [self._get_lr(i) for i in indices]

    def _get_wds(self, indices):
        return [self._get_wd(i) for i in indices]

    def _common(self, index):
        """The keyword arguments every fused update op takes."""
        return {"lr": self._get_lr(index), "wd": self._get_wd(index), "rescale_grad": self.rescale_grad,
                "clip_gradient": -1.0 if self.clip_gradient is None else self.clip_gradient}

    def _scaled_grad(self, grad, weight=None, wd=0.0):
        """rescale_grad * grad (+ wd * weight when given), then clipped to +-clip_gradient."""
        g = grad * self.rescale_grad
        if weight is not None and wd:
            g = g + wd * weight
        if self.clip_gradient is not None:
            g = _ops.invoke("clip", [g], {"a_min": -self.clip_gradient, "a_max": self.clip_gradient})
        return g

    # ------------------------------------------------------------------ state and update
    def create_state(self, index, weight):
        return None

    def create_state_multi_precision(self, index, weight):
        """With multi_precision, a float16 weight gets a float32 master copy: (master, state)."""
        if self.multi_precision and weight.dtype == np.float16:
            master = weight.astype(np.float32)
            return (master, self.create_state(index, master))
        if weight.dtype == np.float16 and not self.multi_precision:
            warnings.warn("Accumulating with float16 in optimizer can lead to poor accuracy or slow "
                          "convergence. Consider using multi_precision=True option of the %s optimizer"
                          % type(self).__name__)
        return self.create_state(index, weight)

    def update(self, index, weight, grad, state):
        raise NotImplementedError("%s.update is not implemented" % type(self).__name__)

    def update_multi_precision(self, index, weight, grad, state):
        if self.multi_precision and weight.dtype == np.float16:
            master, inner = state
            self.update(index, master, grad.astype(np.float32), inner)
            _ops.invoke("cast", [master], {"dtype": "float16"}, out=weight)
        else:
            self.update(index, weight, grad, state)

    def __getstate__(self):
        ret = self.__dict__.copy()
        ret.pop("param_dict", None)  # Parameters do not pickle (MXNet drops them too)
        return ret

    def __setstate__(self, state):
        self.__dict__ = state
        self.param_dict = {}


register = Optimizer.register
create = Optimizer.create_optimizer


def _zeros_like(weight):
    return zeros(weight.shape, weight.context, dtype=weight.dtype)


# Most weights one multi_*sgd*_update call takes (MXNet's MultiSGDKernelParam::N; the core's limit).
_MAX_AGGREGATE = 60


def _aggregate_num_from_env():
    """MXNET_OPTIMIZER_AGGREGATION_SIZE capped at what one call takes, or None when it is unset or empty."""
    value = os.getenv("MXNET_OPTIMIZER_AGGREGATION_SIZE", "").strip()
    if not value:
        return None
    try:
        return max(0, min(_MAX_AGGREGATE, int(value)))
    except ValueError:
        raise ValueError("MXNET_OPTIMIZER_AGGREGATION_SIZE is %r, expected an integer" % value) from None


def _aggregate_size(opt):
    """How many parameters Updater hands opt.update at once (<= 1: one at a time): aggregate_num when
    set, else the optimizer's default group (SGD: _MAX_AGGREGATE)."""
    return getattr(opt, "aggregate_num", 0) or getattr(opt, "_default_aggregate", 0)


@functools.lru_cache(maxsize=None)
def _has_multi_update(device_type):
    """Whether a loaded backend runs the multi-tensor SGD ops on device_type (the CPU backend does;
    the CUDA backend has no kernel for them yet)."""
    from .backend import op_backend
    from .base import MXNetError
    try:
        op_backend("multi_sgd_mom_update", device_type)
        return True
    except MXNetError:
        return False


@functools.lru_cache(maxsize=256)
def _float_tuple(values):
    """The lrs / wds attribute of a multi-tensor update: "(0.1,0.01)" (repr: exact round trip)."""
    return "(" + ",".join(repr(float(v)) for v in values) + ")"


def _interleaved(*columns):
    """[w0, g0, m0, w1, g1, m1, ...] from the per-weight columns (weights, grads, moms, ...)."""
    return [a for row in zip(*columns) for a in row]


@register
class SGD(Optimizer):
    """weight -= lr * (rescale_grad * grad + wd * weight), with momentum when momentum > 0. With
    multi_precision a float16 weight is updated through a float32 master copy (mp_sgd_*_update).
    Given lists (Updater with aggregate_num > 1) it updates them in one multi_*sgd*_update call."""

    def __init__(self, momentum=0.0, lazy_update=True, **kwargs):
        super().__init__(**kwargs)
        self.momentum = momentum
        self.lazy_update = lazy_update
        # MXNet sets aggregate_num from MXNET_OPTIMIZER_AGGREGATION_SIZE (default 4), and a Trainer
        # then refuses update_on_kvstore=True and no longer updates on the store by default. mx
        # follows that when the variable is set; unset, aggregate_num stays 0 (the store keeps its
        # default role) and Updater still groups SGD updates, by _default_aggregate = 60 (one
        # multi-tensor call takes 60 weights; the kernel cuts each call into (tensor, chunk) work
        # items, so a larger group costs nothing and LeNet's 8 parameters update in one call).
        env = _aggregate_num_from_env()
        self.aggregate_num = 0 if env is None else env
        self._default_aggregate = _MAX_AGGREGATE if env is None else env

    def create_state(self, index, weight):
        return _zeros_like(weight) if self.momentum != 0.0 else None

    def create_state_multi_precision(self, index, weight):
        # MXNet's SGD orders its state (momentum or None, float32 master copy)
        if self.multi_precision and weight.dtype == np.float16:
            master = weight.astype(np.float32)
            return (self.create_state(index, master), master)
        return super().create_state_multi_precision(index, weight)

    def _update_impl(self, index, weight, grad, state, multi_precision):
        if isinstance(index, (list, tuple)):
            if len(index) > 1:
                self._update_multi(index, weight, grad, state, multi_precision)
                return
            index, weight, grad, state = index[0], weight[0], grad[0], state[0]
        self._update_count(index)
        kw = self._common(index)
        if self.momentum != 0.0:
            kw["momentum"] = self.momentum
        self._sgd_step(weight, grad, state, kw, multi_precision)

    def _sgd_step(self, weight, grad, state, kw, multi_precision):
        """One (mp_)sgd_update, or (mp_)sgd_mom_update when there is a momentum state."""
        kw["lazy_update"] = self.lazy_update
        if not multi_precision:
            if state is None:
                _ops.invoke("sgd_update", [weight, grad], kw, out=weight)
            else:
                _ops.invoke("sgd_mom_update", [weight, grad, state], kw, out=weight)
            return
        mom, master = state
        if mom is None:
            _ops.invoke("mp_sgd_update", [weight, grad, master], kw, out=weight)
        else:
            _ops.invoke("mp_sgd_mom_update", [weight, grad, mom, master], kw, out=weight)

    def _update_multi(self, indices, weights, grads, states, multi_precision):
        """One multi_(mp_)sgd(_mom)_update over parameters of one dtype and context, as _sgd_step
        does for one: the same counts, per-parameter lr / wd and hyper-parameters."""
        if len(indices) > _MAX_AGGREGATE:
            raise ValueError("SGD.update: %d parameters in one call; at most %d" % (len(indices), _MAX_AGGREGATE))
        self._update_count(indices)
        kw = {"lrs": _float_tuple(tuple(self._get_lrs(indices))), "wds": _float_tuple(tuple(self._get_wds(indices))),
              "rescale_grad": self.rescale_grad,
              "clip_gradient": -1.0 if self.clip_gradient is None else self.clip_gradient,
              "num_weights": len(indices)}
        moms = [s[0] for s in states] if multi_precision else list(states)
        with_mom = moms[0] is not None
        if any((m is not None) != with_mom for m in moms):
            raise ValueError("SGD.update: some parameters have a momentum state and others not")
        if with_mom:
            kw["momentum"] = self.momentum
        columns = [weights, grads] + ([moms] if with_mom else [])
        if multi_precision:
            columns.append([s[1] for s in states])
        name = "multi_%ssgd_%supdate" % ("mp_" if multi_precision else "", "mom_" if with_mom else "")
        _ops.invoke(name, _interleaved(*columns), kw, out=list(weights))

    def update(self, index, weight, grad, state):
        self._update_impl(index, weight, grad, state, multi_precision=False)

    def update_multi_precision(self, index, weight, grad, state):
        first = weight[0] if isinstance(weight, (list, tuple)) else weight
        use_mp = self.multi_precision and first.dtype == np.float16
        self._update_impl(index, weight, grad, state, multi_precision=use_mp)


@register
class Adam(Optimizer):
    """Kingma and Ba's Adam; the bias corrections fold into the step's learning rate, as in MXNet."""

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8, lazy_update=True, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta1, self.beta2, self.epsilon = beta1, beta2, epsilon
        self.lazy_update = lazy_update

    def create_state(self, index, weight):
        return (_zeros_like(weight), _zeros_like(weight))

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
        if self.centered:
            return (_zeros_like(weight), _zeros_like(weight), _zeros_like(weight))
        return _zeros_like(weight)

    def update(self, index, weight, grad, state):
        self._update_count(index)
        kw = self._common(index)
        if not self.centered:
            kw.update(gamma1=self.gamma1, epsilon=self.epsilon,
                      clip_weights=-1.0 if self.clip_weights is None else self.clip_weights)
            _ops.invoke("rmsprop_update", [weight, grad, state], kw, out=weight)
            return
        n, g_mean, delta = state
        g = self._scaled_grad(grad) + kw["wd"] * weight
        n[:] = (1 - self.gamma1) * (g * g) + self.gamma1 * n
        g_mean[:] = (1 - self.gamma1) * g + self.gamma1 * g_mean
        delta[:] = self.gamma2 * delta - kw["lr"] * (g / ((n - g_mean * g_mean + self.epsilon).sqrt()))
        weight[:] = weight + delta
        if self.clip_weights is not None:
            _ops.invoke("clip", [weight], {"a_min": -self.clip_weights, "a_max": self.clip_weights}, out=weight)


class Updater:
    """updater(index, grad, weight): creates the parameter's state on first use, then updates; index,
    grad and weight may also be lists of the same length."""

    def __init__(self, optimizer):
        self.optimizer = optimizer
        self.states = {}
        self.states_synced = {}

    def __call__(self, index, grad, weight):
        if not isinstance(index, (list, tuple)):
            index, grad, weight = [index], [grad], [weight]
        if not len(index) == len(grad) == len(weight):
            raise ValueError("Updater: index, grad and weight lists differ in length (%d, %d, %d)"
                             % (len(index), len(grad), len(weight)))
        for i, w in zip(index, weight):
            if not isinstance(w, NDArray):
                raise TypeError("Updater: weight %r is not an NDArray" % (i,))
            if i not in self.states:
                self.states[i] = self.optimizer.create_state_multi_precision(i, w)
                self.states_synced[i] = True
        opt = self.optimizer
        step = _aggregate_size(opt)
        if step <= 1 or len(index) == 1:
            for i, g, w in zip(index, grad, weight):
                opt.update_multi_precision(i, w, g, self.states[i])
            return
        # As MXNet: parameters of one dtype (and here one context) in groups of aggregate_num, on
        # devices with a kernel for the multi-tensor ops (the others update one at a time).
        groups = {}
        for i, g, w in zip(index, grad, weight):
            groups.setdefault((w.dtype, w.context), []).append((i, w, g))
        for (_, ctx), rows in groups.items():
            if not _has_multi_update(ctx.device_type):
                for i, w, g in rows:
                    opt.update_multi_precision(i, w, g, self.states[i])
                continue
            for b in range(0, len(rows), step):
                idx, ws, gs = zip(*rows[b:b + step])
                opt.update_multi_precision(list(idx), list(ws), list(gs), [self.states[i] for i in idx])

    def get_states(self, dump_optimizer=False):
        """The states pickled (NDArrays pickle as their values), with the optimizer if asked."""
        return pickle.dumps((self.states, self.optimizer) if dump_optimizer else self.states)

    def set_states(self, states):
        loaded = pickle.loads(states)
        if isinstance(loaded, tuple) and len(loaded) == 2 and isinstance(loaded[1], Optimizer):
            loaded, self.optimizer = loaded
        self.states = loaded
        self.states_synced = dict.fromkeys(self.states.keys(), False)


def get_updater(optimizer):
    """An Updater running `optimizer` (what KVStore and Module call)."""
    return Updater(optimizer)


from .optimizer_extra import *  # noqa: E402,F401,F403  (registers the other optimizers; needs the above)
