"""mx.init: parameter initializers, as MXNet 1.9.1's mxnet.initializer.

An initializer is called as init(InitDesc(name, attrs), arr). A JSON `__init__` attribute (what
Initializer.dumps() writes) picks the initializer for that variable; otherwise the name's suffix
picks the rule: *weight gets the initializer's own rule, *bias / *beta zeros, *gamma ones.
Initializers are registered by lower-cased class name (and aliases) so mx.init.create can rebuild
one from its name or its JSON. Random draws come from mx's random ops, so mx.random.seed makes them
reproducible. Orthogonal, Bilinear, LSTMBias and FusedRNN live in initializer_extra.py."""
import json
import logging
import math
import re
import warnings

import numpy as np

from . import ndarray as _nd
from .ndarray import NDArray
from .ndarray_random import normal as _normal, uniform as _uniform

_REGISTRY = {}


def register(klass):
    """Registers an Initializer subclass under its lower-cased class name (for mx.init.create)."""
    if not (isinstance(klass, type) and issubclass(klass, Initializer)):
        raise TypeError("mx.init.register: %r is not a subclass of mx.init.Initializer" % (klass,))
    _REGISTRY[klass.__name__.lower()] = klass
    return klass


def alias(*aliases):
    """Class decorator: registers the class under extra names too (as @mx.init.alias('zeros'))."""
    def decorate(klass):
        register(klass)
        for name in aliases:
            _REGISTRY[name.lower()] = klass
        return klass
    return decorate


def create(*args, **kwargs):
    """An initializer from an instance, a registered name (+ constructor kwargs), a dict with key
    'initializer', or JSON: '["uniform", {"scale": 0.07}]' (dumps' form) or '{"initializer": ...}'."""
    if args:
        spec, args = args[0], args[1:]
    elif "initializer" in kwargs:
        spec = kwargs.pop("initializer")
    else:
        raise TypeError("mx.init.create: no initializer given")
    if isinstance(spec, Initializer):
        if args or kwargs:
            raise ValueError("mx.init.create: extra arguments given with the instance %r" % (spec,))
        return spec
    if isinstance(spec, dict):
        return create(*args, **dict(spec, **kwargs))
    if not isinstance(spec, str):
        raise TypeError("mx.init.create: spec must be an Initializer, a name or JSON, got %s"
                        % type(spec).__name__)
    text = spec.strip()
    if text.startswith(("[", "{")):
        if args or kwargs:
            raise ValueError("mx.init.create: extra arguments given with the JSON %r" % spec)
        try:
            parsed = json.loads(text)
        except ValueError as err:
            raise ValueError("mx.init.create: invalid JSON %r (%s)" % (spec, err)) from None
        if isinstance(parsed, dict):
            return create(**parsed)
        if len(parsed) != 2 or not isinstance(parsed[1], dict):
            raise ValueError("mx.init.create: JSON %r is not [name, {kwargs}]" % spec)
        return create(parsed[0], **parsed[1])
    klass = _REGISTRY.get(text.lower())
    if klass is None:
        raise ValueError("mx.init.create: unknown initializer %r (known: %s)" % (spec, ", ".join(sorted(_REGISTRY))))
    return klass(*args, **kwargs)


class InitDesc(str):
    """A parameter's name (a str) with its symbol attributes (where `__init__` may name an
    initializer) and the global initializer to fall back to."""

    def __new__(cls, name, attrs=None, global_init=None):
        desc = super().__new__(cls, name)
        desc.attrs = attrs or {}
        desc.global_init = global_init
        return desc


def _check_array(where, arr):
    if not isinstance(arr, NDArray):
        raise TypeError("%s: arr must be an NDArray, got %s" % (where, type(arr).__name__))


class Initializer:
    """Base class: subclasses implement _init_weight (and may override _init_bias, ...)."""

    def __init__(self, **kwargs):
        self._kwargs = kwargs
        self._verbose = False
        self._print_func = None

    def set_verbosity(self, verbose=False, print_func=None):
        """Logs each initialised array with print_func(arr) (default: ||arr|| / sqrt(size))."""
        self._verbose = verbose
        if print_func is None:
            def print_func(x):
                return str(float(np.linalg.norm(x.asnumpy())) / math.sqrt(max(x.size, 1)))
        self._print_func = print_func
        return self

    def _verbose_print(self, desc, init, arr):
        if self._verbose and self._print_func:
            logging.info("Initialized %s as %s: %s", desc, init, self._print_func(arr))

    def dumps(self):
        """MXNet's JSON for this initializer, e.g. '["normal", {"sigma": 0.5}]'."""
        return json.dumps([self.__class__.__name__.lower(), self._kwargs])

    def __repr__(self):
        return "%s(%s)" % (self.__class__.__name__, ", ".join("%s=%r" % kv for kv in self._kwargs.items()))

    def __call__(self, desc, arr):
        """Initialises arr in place. desc: an InitDesc (a plain str takes MXNet's legacy path)."""
        if not isinstance(desc, InitDesc):
            self._legacy_init(desc, arr)
            return
        _check_array("mx.init.%s" % self.__class__.__name__, arr)
        if desc.global_init is None:
            desc.global_init = self
        init = desc.attrs.get("__init__", "")
        if init:
            # the variable's own initializer (Variable(init=...) stores its dumps())
            create(init)._init_weight(desc, arr)
            self._verbose_print(desc, init, arr)
            return
        for suffix, method in (("weight", self._init_weight), ("bias", self._init_bias),
                               ("gamma", self._init_gamma), ("beta", self._init_beta),
                               ("min", self._init_zero), ("max", self._init_one),
                               # MXNet's BatchNorm gives these an __init__ attribute through the
                               # backend; symbols here may not carry it, so the names decide.
                               ("moving_mean", self._init_zero), ("moving_var", self._init_one),
                               ("moving_inv_var", self._init_zero), ("moving_avg", self._init_zero)):
            if desc.endswith(suffix):
                method(desc, arr)
                self._verbose_print(desc, suffix, arr)
                return
        self._init_default(desc, arr)

    def _legacy_init(self, name, arr):
        """MXNet's deprecated init(str, NDArray): the name alone picks the rule."""
        warnings.warn("Calling initializer with init(str, NDArray) has been deprecated. "
                      "please use init(mx.init.InitDesc(...), NDArray) instead.", DeprecationWarning, stacklevel=3)
        if not isinstance(name, str):
            raise TypeError("mx.init.%s: name must be a str, got %s" % (self.__class__.__name__, type(name).__name__))
        _check_array("mx.init.%s" % self.__class__.__name__, arr)
        if name.startswith("upsampling"):
            self._init_bilinear(name, arr)
        elif name.startswith("stn_loc") and name.endswith("weight"):
            self._init_zero(name, arr)
        elif name.startswith("stn_loc") and name.endswith("bias"):
            self._init_loc_bias(name, arr)
        else:
            for suffix, method in (("bias", self._init_bias), ("gamma", self._init_gamma),
                                   ("beta", self._init_beta), ("weight", self._init_weight),
                                   ("moving_mean", self._init_zero), ("moving_var", self._init_one),
                                   ("moving_inv_var", self._init_zero), ("moving_avg", self._init_zero),
                                   ("min", self._init_zero), ("max", self._init_one)):
                if name.endswith(suffix):
                    method(name, arr)
                    return
            self._init_default(name, arr)

    def _init_bilinear(self, _, arr):
        arr[:] = bilinear_kernel(arr.shape)

    def _init_loc_bias(self, name, arr):
        if arr.shape != (6,):
            raise ValueError("mx.init: %s (a spatial transformer's loc bias) must have shape (6,), got %s"
                             % (name, arr.shape))
        arr[:] = np.array([1.0, 0, 0, 0, 1.0, 0])

    def _init_zero(self, _, arr):
        arr[:] = 0.0

    def _init_one(self, _, arr):
        arr[:] = 1.0

    def _init_bias(self, _, arr):
        arr[:] = 0.0

    def _init_gamma(self, _, arr):
        arr[:] = 1.0

    def _init_beta(self, _, arr):
        arr[:] = 0.0

    def _init_weight(self, name, arr):
        raise NotImplementedError("mx.init.%s does not initialise weights (%s)" % (self.__class__.__name__, name))

    def _init_default(self, name, _):
        raise ValueError("mx.init: no rule for parameter %r (unknown initialization pattern): default initialization is limited to "
                         "names ending in weight, bias, gamma (1.0) and beta (0.0); use "
                         "mx.sym.Variable(init=mx.init.*) to set its pattern" % str(name))


def bilinear_kernel(shape):
    """MXNet's bilinear upsampling filter for a weight of shape (..., kh, kw), as float32."""
    if len(shape) != 4:
        raise ValueError("mx.init.Bilinear: the weight must be 4-D (out, in, kh, kw), got shape %s" % (shape,))
    f = math.ceil(shape[3] / 2.0)
    c = (2 * f - 1 - f % 2) / (2.0 * f)
    x = np.arange(shape[3])
    y = np.arange(shape[2])
    row = 1 - np.abs(y / f - c)
    col = 1 - np.abs(x / f - c)
    return np.broadcast_to(np.outer(row, col), shape).astype(np.float32)


class Load:
    """Initializes from a dict of arrays or a .params file (mx.nd.save's), dropping any 'arg:' /
    'aux:' name prefix; names not found go to default_init."""

    def __init__(self, param, default_init=None, verbose=False):
        if isinstance(param, str):
            param = _nd.load(param)
        if not isinstance(param, dict):
            raise TypeError("mx.init.Load: param must be a dict of name -> NDArray or a .params file of named "
                            "arrays, got %s" % type(param).__name__)
        self.param = {}
        for name, arr in param.items():
            self.param[name[4:] if name.startswith(("arg:", "aux:")) else name] = arr
        self.default_init = default_init
        self.verbose = verbose

    def __call__(self, name, arr):
        if name in self.param:
            src = self.param[name]
            if tuple(src.shape) != tuple(arr.shape):
                raise ValueError("mx.init.Load: parameter %s cannot be initialized from loading: shape mismatch, "
                                 "target %s vs loaded %s" % (name, tuple(arr.shape), tuple(src.shape)))
            arr[:] = src
            if self.verbose:
                logging.info("Initialized %s by loading", name)
        else:
            if self.default_init is None:
                raise ValueError("mx.init.Load: cannot initialize %s: not found in the loaded params and no "
                                 "default_init given" % name)
            self.default_init(name, arr)
            if self.verbose:
                logging.info("Initialized %s by default", name)


class Mixed:
    """Initializers chosen by regular expressions on the parameter name (re.match), first match wins."""

    def __init__(self, patterns, initializers):
        if len(patterns) != len(initializers):
            raise ValueError("mx.init.Mixed: %d patterns but %d initializers" % (len(patterns), len(initializers)))
        self.map = list(zip([re.compile(p) for p in patterns], initializers))

    def __call__(self, name, arr):
        for prog, init in self.map:
            if prog.match(name):
                init(name, arr)
                return
        raise ValueError("mx.init.Mixed: parameter name %s did not match any pattern; consider adding a '.*' "
                         "pattern at the end with a default initializer" % name)


@alias("zeros")
class Zero(Initializer):
    """Weights to zero."""

    def __init__(self):
        super().__init__()

    def _init_weight(self, _, arr):
        arr[:] = 0.0


@alias("ones")
class One(Initializer):
    """Weights to one."""

    def __init__(self):
        super().__init__()

    def _init_weight(self, _, arr):
        arr[:] = 1.0


@register
class Constant(Initializer):
    """Weights to value: a scalar or an array (NDArray / numpy) broadcastable to the weight."""

    def __init__(self, value):
        super().__init__(value=value)
        self.value = value

    def _init_weight(self, _, arr):
        arr[:] = self.value


@register
class Uniform(Initializer):
    """Weights from U(-scale, scale)."""

    def __init__(self, scale=0.07):
        super().__init__(scale=scale)
        self.scale = scale

    def _init_weight(self, _, arr):
        _uniform(-self.scale, self.scale, shape=arr.shape, dtype=arr.dtype, out=arr)


@register
class Normal(Initializer):
    """Weights from N(0, sigma^2)."""

    def __init__(self, sigma=0.01):
        super().__init__(sigma=sigma)
        self.sigma = sigma

    def _init_weight(self, _, arr):
        _normal(0.0, self.sigma, shape=arr.shape, dtype=arr.dtype, out=arr)


@register
class Xavier(Initializer):
    """Glorot's rule: scale = sqrt(magnitude / factor), factor from fan_in / fan_out ('avg', 'in', 'out');
    uniform on [-scale, scale] or gaussian with sigma = scale."""

    def __init__(self, rnd_type="uniform", factor_type="avg", magnitude=3):
        super().__init__(rnd_type=rnd_type, factor_type=factor_type, magnitude=magnitude)
        if rnd_type not in ("uniform", "gaussian"):
            raise ValueError("mx.init.Xavier: rnd_type must be 'uniform' or 'gaussian', got %r" % (rnd_type,))
        if factor_type not in ("avg", "in", "out"):
            raise ValueError("mx.init.Xavier: factor_type must be 'avg', 'in' or 'out', got %r" % (factor_type,))
        self.rnd_type, self.factor_type, self.magnitude = rnd_type, factor_type, float(magnitude)

    def _init_weight(self, name, arr):
        shape = arr.shape
        if len(shape) < 2:
            raise ValueError("mx.init.Xavier cannot be applied to vector %s (shape %s); it needs at least 2-D"
                             % (name, shape))
        receptive = math.prod(shape[2:])
        fan_in, fan_out = shape[1] * receptive, shape[0] * receptive
        factor = {"avg": (fan_in + fan_out) / 2.0, "in": fan_in, "out": fan_out}[self.factor_type]
        scale = math.sqrt(self.magnitude / factor)
        if self.rnd_type == "uniform":
            _uniform(-scale, scale, shape=shape, dtype=arr.dtype, out=arr)
        else:
            _normal(0.0, scale, shape=shape, dtype=arr.dtype, out=arr)


@register
class MSRAPrelu(Xavier):
    """He et al.'s rule for (P)ReLU networks: gaussian Xavier with magnitude 2 / (1 + slope^2)."""

    def __init__(self, factor_type="avg", slope=0.25):
        super().__init__("gaussian", factor_type, 2.0 / (1 + slope ** 2))
        self._kwargs = {"factor_type": factor_type, "slope": slope}


from .initializer_extra import Bilinear, FusedRNN, LSTMBias, Orthogonal  # noqa: E402,F401  (mx.init.*)
