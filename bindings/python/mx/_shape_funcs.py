"""MXNet 1.x's shape functions that are Python functions there, not ops, built on ops here:
moveaxis (transpose), concatenate (Concat), split_v2 (_split_v2), histogram (_histogram) and
onehot_encode (_onehot_encode) on NDArrays, and the Symbol forms MXNet has (sym_split_v2,
sym_histogram, exported to mx.sym as split_v2 and histogram)."""
import numbers

from . import _ops


def _axis(value, ndim, what):
    """value as an axis of ndim dims (negative counts from the end), or ValueError naming `what`."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise TypeError("moveaxis: %s must be an int, got %r" % (what, value))
    axis = int(value) + ndim if value < 0 else int(value)
    if not 0 <= axis < ndim:
        raise ValueError("moveaxis: %s %d is out of range for an array of %d dims" % (what, value, ndim))
    return axis


def moveaxis(tensor, source, destination):
    """tensor with axis `source` moved to position `destination`, the others in order (np.moveaxis
    for one axis)."""
    src = _axis(source, tensor.ndim, "source")
    dst = _axis(destination, tensor.ndim, "destination")
    axes = [a for a in range(tensor.ndim) if a != src]
    axes.insert(dst, src)
    return _ops.invoke("transpose", [tensor], {"axes": tuple(axes)})


def concatenate(arrays, axis=0, always_copy=True):
    """The arrays joined along `axis` (their other dims must agree). With always_copy=False a
    single array is returned as is, as MXNet does."""
    arrays = list(arrays)
    if not arrays:
        raise ValueError("concatenate: needs at least one array")
    if not always_copy and len(arrays) == 1:
        return arrays[0]
    return _ops.invoke("Concat", arrays, {"num_args": len(arrays), "dim": axis})


def _split_indices(ary_shape, indices_or_sections, axis):
    if isinstance(indices_or_sections, numbers.Integral) and not isinstance(indices_or_sections, bool):
        sections = int(indices_or_sections)
        size = ary_shape[axis]
        if sections <= 0 or size % sections:
            raise ValueError("split_v2: axis %d of %s does not split into %d equal sections" % (axis, ary_shape, sections))
        return [i * (size // sections) for i in range(sections)]
    if isinstance(indices_or_sections, (tuple, list)):
        return [0] + [int(i) for i in indices_or_sections]
    raise ValueError("split_v2: indices_or_sections must be an int or a tuple of ints")


def split_v2(ary, indices_or_sections, axis=0, squeeze_axis=False):
    """numpy.split: `sections` equal pieces, or pieces cut at the given indices, along `axis`
    (squeeze_axis drops that axis from pieces 1 wide). One piece comes back as an array, several
    as a list."""
    indices = _split_indices(ary.shape, indices_or_sections, axis)
    return _ops.invoke("_split_v2", [ary], {"indices": tuple(indices), "axis": axis, "squeeze_axis": squeeze_axis})


def sym_split_v2(ary, indices_or_sections, axis=0, squeeze_axis=False):
    """split_v2 on a Symbol (an int gives `sections`, checked when shapes are known)."""
    from . import symbol
    if isinstance(indices_or_sections, numbers.Integral) and not isinstance(indices_or_sections, bool):
        return symbol._split_v2(ary, indices=(), axis=axis, squeeze_axis=squeeze_axis, sections=int(indices_or_sections))
    if isinstance(indices_or_sections, (tuple, list)):
        return symbol._split_v2(ary, indices=tuple([0] + [int(i) for i in indices_or_sections]), axis=axis,
                                squeeze_axis=squeeze_axis)
    raise ValueError("split_v2: indices_or_sections must be an int or a tuple of ints")


def histogram(a, bins=10, range=None):  # noqa: A002  (MXNet's and numpy's name)
    """(counts, edges) of a: bins an NDArray of edges, or a count of equal bins over `range`
    (None: numpy's histogram of the values, as MXNet falls back to)."""
    from .ndarray import NDArray, array
    if isinstance(bins, NDArray):
        return _ops.invoke("_histogram", [a, bins], {})
    if isinstance(bins, numbers.Integral) and not isinstance(bins, bool):
        if range is None:
            import numpy as np
            counts, edges = np.histogram(a.asnumpy(), bins=int(bins))
            return array(counts, dtype="int64"), array(edges, dtype=a.dtype)
        return _ops.invoke("_histogram", [a], {"bin_cnt": int(bins), "range": tuple(float(r) for r in range)})
    raise ValueError("histogram: bins must be an int or an NDArray")


def sym_histogram(a, bins=10, range=None):  # noqa: A002
    """histogram on a Symbol: bins a Symbol of edges, or a count with a `range`."""
    from . import symbol
    if isinstance(bins, symbol.Symbol):
        return symbol._histogram(a, bins)
    if isinstance(bins, numbers.Integral) and not isinstance(bins, bool):
        if range is None:
            raise ValueError("histogram: a Symbol needs `range` with an int bins")
        return symbol._histogram(a, bin_cnt=int(bins), range=tuple(float(r) for r in range))
    raise ValueError("histogram: bins must be an int or a Symbol")


def onehot_encode(indices, out):
    """Writes the one-hot rows of indices (N,) into out (N, K) and returns out (MXNet's legacy
    function)."""
    return _ops.invoke("_onehot_encode", [indices, out], {}, out=out)
