"""Small helpers shared by the gluon.nn layers (not part of the public API)."""
from contextlib import contextmanager
import numbers

from ...base import MXNetError


def as_tuple(value, ndim, what):
    """An int repeated `ndim` times, or a tuple/list of exactly `ndim` ints."""
    if isinstance(value, numbers.Integral):
        return (int(value),) * ndim
    value = tuple(value)
    if len(value) != ndim or not all(isinstance(v, numbers.Integral) for v in value):
        raise ValueError("%s must be an int or a tuple of %d ints, got %r" % (what, ndim, value))
    return tuple(int(v) for v in value)


def non_default(kwargs, defaults):
    """kwargs without the entries equal to the op's defaults: fewer attributes to convert and
    parse on every imperative call (the result is the same)."""
    return {k: v for k, v in kwargs.items() if k not in defaults or defaults[k] != v}


def shape_of(x):
    """The shape of an NDArray as text, or '?' for a Symbol (not known while building a graph)."""
    shape = getattr(x, 'shape', None)
    return str(tuple(shape)) if isinstance(shape, tuple) else '?'


@contextmanager
def named_errors(block, x):
    """Re-raises an op's MXNetError with the layer's name and input shape in front, so a wrong
    channel count says which layer it hit."""
    try:
        yield
    except MXNetError as err:
        raise MXNetError("%s (%s): input %s: %s" % (block.name, type(block).__name__,
                                                    shape_of(x), err),
                         getattr(err, 'code', 0)) from None
