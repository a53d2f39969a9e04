"""mx.nd.random: MXNet 1.x's sampling functions (uniform, normal, randn) over the _random_* ops.
Samples come from the device's Philox generator: the same seed gives the same numbers on every
device (mx.random.seed)."""
from . import _ops


def _shape(shape):
    if shape is None:
        return (1,)
    return (shape,) if isinstance(shape, int) else tuple(shape)


def uniform(low=0.0, high=1.0, shape=None, dtype="float32", ctx=None, out=None, **kwargs):
    """Samples from U[low, high)."""
    if out is not None and shape is None:
        shape = out.shape
    params = {"low": float(low), "high": float(high), "shape": _shape(shape), "dtype": dtype, "ctx": ctx}
    params.update(kwargs)
    return _ops.invoke("_random_uniform", [], params, out)


def normal(loc=0.0, scale=1.0, shape=None, dtype="float32", ctx=None, out=None, **kwargs):
    """Samples from N(loc, scale^2)."""
    if out is not None and shape is None:
        shape = out.shape
    params = {"loc": float(loc), "scale": float(scale), "shape": _shape(shape), "dtype": dtype, "ctx": ctx}
    params.update(kwargs)
    return _ops.invoke("_random_normal", [], params, out)


def randn(*shape, loc=0.0, scale=1.0, dtype="float32", ctx=None, out=None):
    """Standard normal samples of the given shape (numpy's randn)."""
    return normal(loc, scale, shape or (1,), dtype, ctx, out)
