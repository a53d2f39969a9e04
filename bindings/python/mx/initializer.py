"""mx.init: parameter initializers. As in MXNet, the name picks the rule: *weight gets the
initializer's own rule, *bias / *beta / moving_mean zeros, *gamma / moving_var ones. Random
draws come from mx's random ops, so mx.random.seed makes them reproducible."""
import json
import math

from . import _ops
from .ndarray import NDArray

_REGISTRY = {}


def register(klass):
    _REGISTRY[klass.__name__.lower()] = klass
    return klass


def create(spec, **kwargs):
    if isinstance(spec, Initializer):
        return spec
    if spec.lower() not in _REGISTRY:
        raise ValueError("mx.init: unknown initializer %r (known: %s)" % (spec, ", ".join(sorted(_REGISTRY))))
    return _REGISTRY[spec.lower()](**kwargs)


class InitDesc(str):
    """A parameter's name with its symbol attributes (where __init__ may name an initializer)."""

    def __new__(cls, name, attrs=None, global_init=None):
        desc = super().__new__(cls, name)
        desc.attrs = attrs or {}
        desc.global_init = global_init
        return desc


def _fill(arr, value):
    _ops.invoke("_plus_scalar", [_ops.invoke("zeros_like", [arr], {})], {"scalar": float(value)}, out=arr)


class Initializer:
    def __init__(self, **kwargs):
        self._kwargs = kwargs

    def dumps(self):
        return json.dumps([self.__class__.__name__.lower(), self._kwargs])

    def __repr__(self):
        return "%s(%s)" % (self.__class__.__name__, ", ".join("%s=%r" % kv for kv in self._kwargs.items()))

    def __call__(self, desc, arr):
        if not isinstance(arr, NDArray):
            raise TypeError("mx.init: %s: expected an NDArray, got %s" % (desc, type(arr).__name__))
        name = str(desc)
        attrs = getattr(desc, "attrs", {}) or {}
        if "__init__" in attrs:
            kind, kwargs = json.loads(attrs["__init__"])
            create(kind, **kwargs)._init_weight(name, arr)
            return
        if name.endswith("weight"):
            self._init_weight(name, arr)
        elif name.endswith(("bias", "beta", "moving_mean", "moving_avg")):
            _fill(arr, 0.0)
        elif name.endswith(("gamma", "moving_var")):
            _fill(arr, 1.0)
        else:
            self._init_default(name, arr)

    def _init_weight(self, name, arr):
        raise NotImplementedError("%s does not initialise weights" % self.__class__.__name__)

    def _init_default(self, name, arr):
        raise ValueError("mx.init: no rule for parameter %r (names end in weight, bias, gamma, beta, moving_mean, "
                         "moving_var; or give the variable an __init__ attribute)" % name)


def _uniform(arr, low, high):
    _ops.invoke("random_uniform", [], {"low": low, "high": high, "shape": arr.shape, "dtype": arr.dtype}, out=arr)


def _normal(arr, loc, scale):
    _ops.invoke("random_normal", [], {"loc": loc, "scale": scale, "shape": arr.shape, "dtype": arr.dtype}, out=arr)


@register
class Zero(Initializer):
    def _init_weight(self, name, arr):
        _fill(arr, 0.0)

    _init_default = _init_weight


@register
class One(Initializer):
    def _init_weight(self, name, arr):
        _fill(arr, 1.0)

    _init_default = _init_weight


@register
class Constant(Initializer):
    def __init__(self, value):
        super().__init__(value=value)
        self.value = value

    def _init_weight(self, name, arr):
        if isinstance(self.value, NDArray) or hasattr(self.value, "__len__"):
            arr[:] = self.value
        else:
            _fill(arr, self.value)

    _init_default = _init_weight


@register
class Uniform(Initializer):
    """Weights from U(-scale, scale)."""

    def __init__(self, scale=0.07):
        super().__init__(scale=scale)
        self.scale = scale

    def _init_weight(self, name, arr):
        _uniform(arr, -self.scale, self.scale)


@register
class Normal(Initializer):
    """Weights from N(0, sigma^2)."""

    def __init__(self, sigma=0.01):
        super().__init__(sigma=sigma)
        self.sigma = sigma

    def _init_weight(self, name, arr):
        _normal(arr, 0.0, self.sigma)


@register
class Xavier(Initializer):
    """Glorot's rule: scale = sqrt(magnitude / factor), factor from fan_in / fan_out ('avg', 'in', 'out');
    uniform on [-scale, scale] or gaussian with sigma = scale."""

    def __init__(self, rnd_type="uniform", factor_type="avg", magnitude=3):
        super().__init__(rnd_type=rnd_type, factor_type=factor_type, magnitude=magnitude)
        if rnd_type not in ("uniform", "gaussian") or factor_type not in ("avg", "in", "out"):
            raise ValueError("Xavier: rnd_type must be uniform/gaussian and factor_type avg/in/out")
        self.rnd_type, self.factor_type, self.magnitude = rnd_type, factor_type, float(magnitude)

    def _init_weight(self, name, arr):
        shape = arr.shape
        if len(shape) < 2:
            raise ValueError("Xavier: %s has shape %s; it needs at least 2 dimensions" % (name, shape))
        receptive = math.prod(shape[2:])
        fan_in, fan_out = shape[1] * receptive, shape[0] * receptive
        factor = {"avg": (fan_in + fan_out) / 2.0, "in": fan_in, "out": fan_out}[self.factor_type]
        scale = math.sqrt(self.magnitude / factor)
        if self.rnd_type == "uniform":
            _uniform(arr, -scale, scale)
        else:
            _normal(arr, 0.0, scale)


@register
class MSRAPrelu(Xavier):
    """He et al.'s rule for (P)ReLU networks: gaussian Xavier with magnitude 2 / (1 + slope^2)."""

    def __init__(self, factor_type="avg", slope=0.25):
        super().__init__("gaussian", factor_type, 2.0 / (1 + slope ** 2))
        self._kwargs = {"factor_type": factor_type, "slope": slope}


class Mixed:
    """Initializers chosen by regular expressions on the parameter name, first match wins."""

    def __init__(self, patterns, initializers):
        import re
        if len(patterns) != len(initializers):
            raise ValueError("Mixed: %d patterns but %d initializers" % (len(patterns), len(initializers)))
        self.map = [(re.compile(p), i) for p, i in zip(patterns, initializers)]

    def __call__(self, desc, arr):
        for pattern, init in self.map:
            if pattern.match(str(desc)):
                init(desc, arr)
                return
        raise ValueError("Mixed: no pattern matches parameter %r" % str(desc))
