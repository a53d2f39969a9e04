"""Gluon's Parameter and Constant (MXNet 1.9.1): a named weight with one copy per context, its
gradients, and deferred initialization (a 0 in `shape` is unknown until the first forward).
ParameterDict lives in parameter_dict.py."""
import json
import warnings
import weakref

import numpy as np

from .. import autograd, initializer
from .. import ndarray as nd
from .. import symbol
from ..base import MXNetError, MXNetValueError
from ..context import Context, cpu, current_context
from .utils import shape_is_known

__all__ = ["DeferredInitializationError", "Parameter", "Constant", "tensor_types"]

tensor_types = (symbol.Symbol, nd.NDArray)


class DeferredInitializationError(MXNetError):
    """A Parameter's data was asked for before its deferred initialization finished."""


def _contexts(ctx):
    if ctx is None:
        return [current_context()]
    if isinstance(ctx, Context):
        return [ctx]
    return list(ctx)


def _dtype_name(dtype):
    return np.dtype(dtype).name


class Parameter:
    """A Block's weight (MXNet 1.9.1's gluon.Parameter).

    grad_req: 'write' (backward overwrites the gradient), 'add' (accumulates; zero it with
    zero_grad), 'null' (no gradient). shape: a 0 marks a dimension inferred at the first forward
    (with allow_deferred_init=True). init: this parameter's own initializer, taking precedence over
    the one given to initialize()."""

    def __init__(self, name, grad_req="write", shape=None, dtype="float32", lr_mult=1.0, wd_mult=1.0,
                 init=None, allow_deferred_init=False, differentiable=True, stype="default",
                 grad_stype="default"):
        if not isinstance(name, str):
            raise TypeError("Parameter: name must be a str, got %r" % (name,))
        if stype != "default" or grad_stype != "default":
            raise MXNetValueError("Parameter '%s': mx has dense storage only (stype=%r, grad_stype=%r)"
                                  % (name, stype, grad_stype))
        self._var = None
        self._trainer = None  # the Trainer that updates this Parameter (set by Trainer)
        self._data = None
        self._grad = None
        self._ctx_list = None
        self._ctx_map = None
        self._deferred_init = ()
        self._differentiable = differentiable
        self._allow_deferred_init = allow_deferred_init
        self._grad_req = None
        if isinstance(shape, int):
            shape = (shape,)
        self._shape = tuple(shape) if shape is not None else None
        self.name = name
        self.dtype = dtype
        self.lr_mult = lr_mult
        self.wd_mult = wd_mult
        self.init = init
        self._stype = stype
        self._grad_stype = grad_stype
        self.grad_req = grad_req

    def __repr__(self):
        return "Parameter {name} (shape={shape}, dtype={dtype})".format(
            name=self.name, shape=self.shape, dtype=self.dtype)

    # ---- attributes
    @property
    def grad_req(self):
        return self._grad_req

    @grad_req.setter
    def grad_req(self, req):
        if req not in ("write", "add", "null"):
            raise MXNetValueError("Parameter '%s': grad_req must be one of 'write', 'add', 'null', got %r"
                                  % (self.name, req))
        if not self._differentiable:
            req = "null"
        if self._grad_req == req:
            return
        self._grad_req = req
        if req == "null" and self._grad is not None:
            self._grad = None
            # fresh arrays, no longer variables of autograd
            with autograd.pause():
                self._data = [d.copy() for d in self._data]
        elif self._data is not None:
            self._init_grad()

    @property
    def shape(self):
        return self._shape

    @shape.setter
    def shape(self, new_shape):
        if new_shape is not None:
            new_shape = tuple(new_shape)
        if self._shape is None or new_shape is None:
            self._shape = new_shape
            return
        if len(self._shape) != len(new_shape) or \
                not all(old in (0, -1, new) for new, old in zip(new_shape, self._shape)):
            raise MXNetValueError("Expected shape %s is incompatible with given shape %s for Parameter '%s'."
                                  % (str(new_shape), str(self._shape), self.name))
        self._shape = new_shape

    def _set_trainer(self, trainer):
        """Remembers the Trainer of this Parameter; a Parameter belongs to at most one Trainer."""
        if trainer is not None and self._trainer is not None and self._trainer() is not None \
                and self._trainer() is not trainer:
            raise MXNetError("Failed to set the trainer for Parameter '%s' because it was already set. More "
                             "than one trainers for a single Parameter is not supported." % self.name)
        self._trainer = None if trainer is None else weakref.ref(trainer)

    # ---- access
    def _check_and_get(self, arr_list, ctx):
        if arr_list is not None:
            if ctx is list:
                return arr_list
            if ctx is None:
                if len(arr_list) == 1:
                    return arr_list[0]
                ctx = current_context()
            idx = self._ctx_map.get(ctx)
            if idx is not None:
                return arr_list[idx]
            raise MXNetError("Parameter '%s' was not initialized on context %s. It was only initialized on %s."
                             % (self.name, str(ctx), str(self._ctx_list)))
        if self._deferred_init:
            raise DeferredInitializationError(
                "Parameter '%s' has not been initialized yet because initialization was deferred. Actual "
                "initialization happens during the first forward pass. Please pass one batch of data through "
                "the network before accessing Parameters. You can also avoid deferred initialization by "
                "specifying in_units, num_features, etc., for network layers." % self.name)
        raise MXNetError(
            "Parameter '%s' has not been initialized. Note that you should initialize parameters and create "
            "Trainer with Block.collect_params() instead of Block.params because the later does not include "
            "Parameters of nested child Blocks" % self.name)

    def data(self, ctx=None):
        """This parameter's array on ctx (the only one, or the current context's, when ctx is None)."""
        return self._check_and_get(self._data, ctx)

    def list_data(self):
        """The arrays on every context, in the order initialize() was given the contexts."""
        return self._check_and_get(self._data, list)

    def grad(self, ctx=None):
        if self._data is not None and self._grad is None:
            raise MXNetError("Cannot get gradient array for Parameter '%s' because grad_req='null'" % self.name)
        return self._check_and_get(self._grad, ctx)

    def list_grad(self):
        if self._data is not None and self._grad is None:
            raise MXNetError("Cannot get gradient array for Parameter '%s' because grad_req='null'" % self.name)
        return self._check_and_get(self._grad, list)

    def list_ctx(self):
        if self._data is None:
            if self._deferred_init:
                return self._deferred_init[1]
            raise MXNetError("Parameter '%s' has not been initialized" % self.name)
        return self._ctx_list

    # ---- initialization
    def initialize(self, init=None, ctx=None, default_init=initializer.Uniform(), force_reinit=False):
        """Allocates and fills the data (and gradients) on each of ctx (one context or a list;
        default the current context). With an unknown shape and allow_deferred_init, waits for the
        first forward to give the shape."""
        if self._data is not None and not force_reinit:
            warnings.warn("Parameter '%s' is already initialized, ignoring. Set force_reinit=True to "
                          "re-initialize." % self.name, stacklevel=2)
            return
        self._data = self._grad = None
        ctx = _contexts(ctx)
        if init is None:
            init = default_init if self.init is None else self.init
        if not shape_is_known(self.shape):
            if self._allow_deferred_init:
                self._deferred_init = (init, ctx, default_init, None)
                return
            raise MXNetValueError("Cannot initialize Parameter '%s' because it has invalid shape: %s."
                                  % (self.name, str(self.shape)))
        self._deferred_init = (init, ctx, default_init, None)
        self._finish_deferred_init()

    def _finish_deferred_init(self):
        if not self._deferred_init:
            return
        init, ctx, default_init, data = self._deferred_init
        if not shape_is_known(self.shape):
            raise MXNetValueError("Cannot initialize Parameter '%s' because it has invalid shape: %s. Please "
                                  "specify in_units, in_channels, etc for `Block`s." % (self.name, str(self.shape)))
        self._deferred_init = ()
        with autograd.pause():
            if data is None:
                data = nd.zeros(self.shape, dtype=self.dtype, ctx=cpu())
                initializer.create(default_init)(initializer.InitDesc(self.name, {"__init__": init}), data)
            self._init_impl(data, ctx)

    def _init_impl(self, data, ctx_list):
        self._ctx_list = list(ctx_list)
        self._ctx_map = {c: i for i, c in enumerate(self._ctx_list)}
        with autograd.pause():
            if isinstance(data, nd.NDArray):
                self._data = [data.copyto(c) for c in self._ctx_list]
            else:
                self._data = [nd.array(data, ctx=c, dtype=self.dtype) for c in self._ctx_list]
        self._init_grad()

    def _init_grad(self):
        if self.grad_req == "null":
            self._grad = None
            return
        self._grad = [nd.zeros(d.shape, dtype=d.dtype, ctx=d.context) for d in self._data]
        autograd.mark_variables(self._data, self._grad, self.grad_req)

    def _reduce(self):
        """The data averaged over contexts, on cpu (what save writes)."""
        block = self.list_data()
        with autograd.pause():
            if len(block) == 1:
                return block[0].copyto(cpu())
            total = block[0].copyto(cpu())
            for w in block[1:]:
                total = total + w.copyto(cpu())
            return total / len(block)

    def _load_init(self, data, ctx, cast_dtype=False, dtype_source="current"):
        """Initializes (or overwrites) from a loaded array, checking shape and dtype."""
        if self.shape:
            if len(self.shape) != len(data.shape) or \
                    not all(s in (0, -1, d) for s, d in zip(self.shape, data.shape)):
                raise MXNetValueError("Failed loading Parameter '%s' from saved params: shape incompatible "
                                      "expected %s vs saved %s" % (self.name, str(self.shape), str(data.shape)))
            self.shape = tuple(s if s > 0 else d for s, d in zip(self.shape, data.shape))
        else:
            self.shape = data.shape
        if self.dtype is not None and _dtype_name(self.dtype) != _dtype_name(data.dtype):
            if not cast_dtype:
                raise MXNetValueError("Failed loading Parameter '%s' from saved params: dtype incompatible "
                                      "expected %s vs saved %s. Set cast_dtype=True to cast the dtype of saved "
                                      "params." % (self.name, _dtype_name(self.dtype), _dtype_name(data.dtype)))
            if dtype_source == "current":
                data = data.astype(self.dtype)
            elif dtype_source == "saved":
                self.dtype = _dtype_name(data.dtype)
        if isinstance(ctx, Context):
            ctx = [ctx]
        if self._data is None:
            if self._deferred_init:
                if ctx is not None and set(ctx) != set(self._deferred_init[1]):
                    raise MXNetValueError("Failed to load Parameter '%s' on %s because it was previous "
                                          "initialized on %s." % (self.name, str(ctx), str(self.list_ctx())))
                ctx = self._deferred_init[1]
            elif ctx is None:
                ctx = [cpu()]
            self._init_impl(data, ctx)
        else:
            if ctx is not None and set(ctx) != set(self.list_ctx()):
                raise MXNetValueError("Failed to load Parameter '%s' on %s because it was previous "
                                      "initialized on %s." % (self.name, str(ctx), str(self.list_ctx())))
            self.set_data(data)
        self._deferred_init = ()

    # ---- changes
    def set_data(self, data):
        """Sets the value on every context (before a deferred init finishes: the value it will take)."""
        self.shape = data.shape
        if self._data is None:
            if not self._deferred_init:
                raise MXNetError("Parameter '%s' has not been initialized" % self.name)
            self._deferred_init = self._deferred_init[:3] + (data,)
            return
        with autograd.pause():
            for arr in self._data:
                arr[:] = data

    def zero_grad(self):
        """Sets the gradients to 0 (needed with grad_req='add')."""
        if self._grad is None:
            return
        with autograd.pause():
            for g in self._grad:
                g[:] = 0

    def reset_ctx(self, ctx):
        """Moves the data (averaged over the old contexts) to ctx (a context or a list)."""
        ctx = _contexts(ctx)
        if self._data:
            data = self._reduce()
            self._init_impl(data, ctx)
        elif self._deferred_init:
            init, _, default_init, data = self._deferred_init
            self._deferred_init = (init, ctx, default_init, data)
        else:
            raise MXNetValueError("Cannot reset context for Parameter '%s' because it has not been initialized."
                                  % self.name)

    def var(self):
        """This parameter as a Symbol variable (with shape, dtype, lr_mult, wd_mult, init)."""
        if self._var is None:
            self._var = symbol.var(self.name, shape=self.shape, dtype=self.dtype, lr_mult=self.lr_mult,
                                   wd_mult=self.wd_mult, init=self.init)
        return self._var

    def cast(self, dtype):
        """Casts data and gradients to dtype."""
        self.dtype = dtype
        self._var = None
        if self._data is None:
            return
        with autograd.pause():
            self._data = [d.astype(dtype) for d in self._data]
            if self._grad is None:
                return
            self._grad = [g.astype(dtype) for g in self._grad]
            autograd.mark_variables(self._data, self._grad, self.grad_req)


@initializer.register
class _ConstantInit(initializer.Initializer):
    """Fills a Constant's value (registered so a symbol's __init__ JSON finds it)."""

    def __init__(self, value=0):
        super().__init__(value=value)
        self.value = value

    def _init_weight(self, _, arr):
        arr[:] = self.value

    def dumps(self):
        v = self.value.asnumpy().tolist() if isinstance(self.value, nd.NDArray) else self.value
        return json.dumps(["_constantinit", {"value": v}])


class Constant(Parameter):
    """A Parameter that is never updated (grad_req 'null'): Constant(name, value), value an
    NDArray, numpy array or nested list."""

    def __init__(self, name, value):
        if not isinstance(value, nd.NDArray):
            value = nd.array(value)
        self.value = value
        super().__init__(name, grad_req="null", shape=value.shape, dtype=_dtype_name(value.dtype),
                         init=_ConstantInit(value.asnumpy().tolist()))

    def __repr__(self):
        return "Constant {name} (shape={shape}, dtype={dtype})".format(
            name=self.name, shape=self.shape, dtype=self.dtype)

    @property
    def grad_req(self):
        return "null"

    @grad_req.setter
    def grad_req(self, req):
        if req != "null":
            warnings.warn("Constant parameter \"{}\" does not support grad_req other than \"null\", and new "
                          "value \"{}\" is ignored.".format(self.name, req))
        self._grad_req = "null"


# MXNet's mx.gluon.parameter.ParameterDict (its own file: parameter_dict.py)
from .parameter_dict import ParameterDict  # noqa: E402
__all__.append("ParameterDict")
