"""mx.nd: asynchronous n-d arrays over the C API, with every registered op generated at import."""
import builtins
import ctypes
import math
import numbers
import sys

import numpy as np

from . import _ops, autograd, dlpack
from .base import LIB, MXNetTypeError, MXNetValueError, check_call, check_shape, c_array, c_str
from .context import Context, current_context, from_typeid

_handle = ctypes.c_void_p

# MX_* dtype flags <-> numpy
_DTYPE_MX = {np.dtype("float32"): 0, np.dtype("float64"): 1, np.dtype("float16"): 2, np.dtype("uint8"): 3,
             np.dtype("int32"): 4, np.dtype("int8"): 5, np.dtype("int64"): 6, np.dtype("bool"): 7}
_DTYPE_NP = {v: k for k, v in _DTYPE_MX.items()}
_DTYPE_NAME = {0: "float32", 1: "float64", 2: "float16", 3: "uint8", 4: "int32", 5: "int8", 6: "int64", 7: "bool",
               12: "bfloat16"}


def _mx_dtype(dtype):
    if isinstance(dtype, str) and dtype == "bfloat16":
        return 12
    dt = np.dtype(dtype)
    if dt not in _DTYPE_MX:
        raise TypeError("mx: dtype %s is not supported" % dt)
    return _DTYPE_MX[dt]


class NDArray:
    """An n-d array on a device. Operations are asynchronous; reading values (asnumpy) waits."""

    __slots__ = ["handle", "writable", "_shape", "__weakref__"]
    __array_priority__ = 1000.0

    def __init__(self, handle, writable=True):
        self.handle = handle
        self.writable = writable
        self._shape = None  # an array's shape never changes: asked once, then cached

    def __del__(self):
        # getattr: an object whose unpickling failed never got a handle
        if getattr(self, "handle", None) is not None and LIB is not None:
            LIB.mx_ndarray_free(self.handle)
            self.handle = None

    # ---- properties
    @property
    def shape(self):
        if self._shape is None:
            ndim = ctypes.c_int32()
            dims = ctypes.POINTER(ctypes.c_int64)()
            check_call(LIB.mx_ndarray_get_shape(self.handle, ctypes.byref(ndim), ctypes.byref(dims)))
            self._shape = tuple(dims[i] for i in range(ndim.value))
        return self._shape

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        n = ctypes.c_int64()
        check_call(LIB.mx_ndarray_get_size(self.handle, ctypes.byref(n)))
        return n.value

    @property
    def _dtype_flag(self):
        d = ctypes.c_int32()
        check_call(LIB.mx_ndarray_get_dtype(self.handle, ctypes.byref(d)))
        return d.value

    @property
    def dtype(self):
        flag = self._dtype_flag
        return _DTYPE_NP[flag].type if flag in _DTYPE_NP else _DTYPE_NAME[flag]

    @property
    def context(self):
        t, i = ctypes.c_int32(), ctypes.c_int32()
        check_call(LIB.mx_ndarray_get_device(self.handle, ctypes.byref(t), ctypes.byref(i)))
        return from_typeid(t.value, i.value)

    ctx = context

    def __len__(self):
        shape = self.shape
        if not shape:
            raise TypeError("len() of a 0-d array")
        return shape[0]

    def __bool__(self):
        # As MXNet: empty is False, one element is its value, more is ambiguous.
        n = self.size
        if n == 0:
            return False
        if n == 1:
            return bool(self.asscalar())
        raise ValueError("The truth value of an NDArray with multiple elements is ambiguous.")

    def __repr__(self):
        return "\n%s\n<NDArray %s @%s>" % (self.asnumpy(), "x".join(str(d) for d in self.shape), self.context)

    # ---- host transfers and synchronisation
    def asnumpy(self):
        flag = self._dtype_flag
        if flag not in _DTYPE_NP:
            return self.astype("float32").asnumpy()
        out = np.empty(self.shape, dtype=_DTYPE_NP[flag])
        check_call(LIB.mx_ndarray_copy_to_host(self.handle, out.ctypes.data_as(ctypes.c_void_p),
                                               ctypes.c_size_t(out.nbytes)))
        return out

    def __array__(self, dtype=None):
        a = self.asnumpy()
        return a if dtype is None else a.astype(dtype)

    def asscalar(self):
        if self.size != 1:
            raise ValueError("asscalar: the array has %d elements, not 1" % self.size)
        return self.asnumpy().reshape(-1)[0]

    def item(self):
        return self.asscalar()

    def wait_to_read(self):
        check_call(LIB.mx_ndarray_wait_to_read(self.handle))

    def _sync_copyfrom(self, source):
        # np.asarray keeps a 0-d source 0-d (np.ascontiguousarray would make it 1-d)
        src = np.asarray(source, dtype=_DTYPE_NP.get(self._dtype_flag, np.float32), order="C")
        if src.shape != self.shape:
            try:
                src = np.broadcast_to(src, self.shape).copy()
            except ValueError:
                raise MXNetValueError("cannot assign a value of shape %s to an array of shape %s"
                                      % (src.shape, self.shape)) from None
        check_call(LIB.mx_ndarray_copy_from_host(self.handle, src.ctypes.data_as(ctypes.c_void_p),
                                                 ctypes.c_size_t(src.nbytes)))

    def copyto(self, other):
        if isinstance(other, Context):
            other = empty(self.shape, ctx=other, dtype=self.dtype)
        check_call(LIB.mx_ndarray_copy_to(self.handle, other.handle))
        return other

    def copy(self):
        return self.copyto(self.context)

    def as_in_context(self, ctx):
        return self if ctx == self.context else self.copyto(ctx)

    def astype(self, dtype, copy=True):
        if not copy and np.dtype(dtype) == np.dtype(self.dtype):
            return self
        return _ops.invoke("Cast", [self], {"dtype": np.dtype(dtype).name if dtype != "bfloat16" else dtype})

    def reshape(self, *shape, **kwargs):
        if len(shape) == 1 and not isinstance(shape[0], numbers.Integral):
            shape = shape[0]
        shape = check_shape(kwargs.pop("shape", shape), "NDArray.reshape", min_dim=-4)
        reverse = kwargs.pop("reverse", None)
        if kwargs:
            raise TypeError("NDArray.reshape: unknown keyword arguments %s (accepted: shape, reverse)"
                            % ", ".join(kwargs))
        return _ops.invoke("Reshape", [self], {"shape": shape, "reverse": reverse})

    # ---- pickling (values, dtype and device) and DLPack
    def __getstate__(self):
        flag = self._dtype_flag
        return {"data": self.asnumpy(), "dtype": _DTYPE_NAME[flag], "ctx": (self.context.device_type,
                                                                             self.context.device_id)}

    def __setstate__(self, state):
        ctx = Context(*state["ctx"])
        fresh = array(state["data"], ctx=ctx, dtype=state["data"].dtype)
        if state["dtype"] == "bfloat16":
            fresh = fresh.astype("bfloat16")
        self.handle, fresh.handle = fresh.handle, None
        self.writable = True
        self._shape = None

    def __dlpack__(self, stream=None):
        """A DLPack capsule over this array's memory, no copy. On a GPU, `stream` is the consumer's
        (DLPack protocol: None or 1 the legacy default stream, 2 per-thread default, -1 no
        ordering): it waits for mx's pending writes through an event, the host does not."""
        if self.context.device_type == "gpu":
            return dlpack.to_capsule(self.handle, 1 if stream is None else stream)
        return dlpack.to_capsule(self.handle)

    def __dlpack_device__(self):
        ctx = self.context
        return (ctx.device_typeid, ctx.device_id)

    def to_dlpack_for_read(self):
        return self.__dlpack__()

    def to_dlpack_for_write(self):
        return self.__dlpack__()

    # ---- autograd
    def attach_grad(self, grad_req="write"):
        grad = zeros(self.shape, ctx=self.context, dtype=self.dtype)
        autograd.mark_variables([self], [grad], grad_req)

    @property
    def grad(self):
        out = _handle()
        check_call(LIB.mx_ndarray_get_grad(self.handle, ctypes.byref(out)))
        return NDArray(out) if out.value else None

    @property
    def _fresh_grad(self):
        """Whether backward wrote this variable's grad since the flag was last cleared (as MXNet)."""
        out = ctypes.c_int32()
        check_call(LIB.mx_ndarray_fresh_grad(self.handle, ctypes.c_int32(-1), ctypes.byref(out)))
        return bool(out.value)

    @_fresh_grad.setter
    def _fresh_grad(self, state):
        check_call(LIB.mx_ndarray_fresh_grad(self.handle, ctypes.c_int32(int(bool(state))), None))

    def backward(self, out_grad=None, retain_graph=False, train_mode=True):
        autograd.backward([self], None if out_grad is None else [out_grad], retain_graph, train_mode)

    def detach(self):
        return _ops.invoke("BlockGrad", [self], {})

    # ---- indexing
    # As MXNet 1.9.1: a basic key (integers and slices) whose elements are contiguous in memory gives
    # a view sharing this array's storage (x[1:3], x[2], x[1, 0:2]); any other key gives a copy (the
    # `slice` op). Under autograd.record() every key gives the recorded `slice` op instead, since a
    # view made through the C API is not on the tape and the gradient would silently stop there.
    def _parse_key(self, key):
        """(ranges, int_axes) of a basic key: (start, stop, step) per axis after numpy's clamping,
        and the axes given by an integer; None for a key basic indexing does not take."""
        if not isinstance(key, tuple):
            key = (key,)
        shape = self.shape
        if len(key) > len(shape):
            raise IndexError("too many indices (%d) for an array with %d dimensions" % (len(key), len(shape)))
        ranges, int_axes = [], []
        for axis, k in enumerate(key):
            n = shape[axis]
            if isinstance(k, numbers.Integral):
                i = int(k) + (n if k < 0 else 0)
                if not 0 <= i < n:
                    raise IndexError("index %d is out of bounds for axis %d with size %d" % (k, axis, n))
                ranges.append((i, i + 1, 1))
                int_axes.append(axis)
            elif isinstance(k, builtins.slice):
                ranges.append(k.indices(n))  # ValueError for step 0, TypeError for non-integer bounds
            else:
                return None
        ranges.extend((0, n, 1) for n in shape[len(key):])
        return ranges, int_axes

    @staticmethod
    def _flat_range(ranges, shape):
        """[begin, end) of a non-empty selection in the flattened array if it is contiguous there
        (MXNet's rule: right of an axis that selects part of its length, every axis selects one
        element), else None."""
        first = last = 0  # flat indices of the first and last elements selected
        stride = 1
        partial = False
        for (start, stop, step), n in zip(reversed(ranges), reversed(shape)):
            count = len(builtins.range(start, stop, step))
            if count == 0 or count > 1 and (step != 1 or partial):
                return None
            partial = partial or count < n
            first += start * stride
            last += (start + (count - 1) * step) * stride
            stride *= n
        return first, last + 1

    def _view_handle(self, fn, *args):
        out = _handle()
        check_call(fn(self.handle, *args, ctypes.byref(out)))
        return NDArray(out, self.writable)

    def _view_reshape(self, shape):
        return self._view_handle(LIB.mx_ndarray_reshape, c_array(ctypes.c_int64, shape), ctypes.c_int32(len(shape)))

    def _view_rows(self, begin, end):
        return self._view_handle(LIB.mx_ndarray_slice, ctypes.c_int64(begin), ctypes.c_int64(end))

    def _basic_view(self, parsed):
        """The view for a parsed basic key, or None where the key needs a copy (or recording is on)."""
        ranges, int_axes = parsed
        shape = self.shape
        flat = self._flat_range(ranges, shape)
        if flat is None:
            return None
        if autograd.is_recording():
            return None
        out_shape = tuple(len(builtins.range(*r)) for axis, r in enumerate(ranges) if axis not in int_axes) or (1,)
        begin, end = flat
        row = math.prod(shape[1:]) if shape else 0
        if row and begin % row == 0 and end % row == 0:  # whole rows: one slice along axis 0
            view = self._view_rows(begin // row, end // row)
            view_shape = (end // row - begin // row,) + shape[1:]
        else:
            view = self._view_reshape((-1,))._view_rows(begin, end)
            view_shape = (end - begin,)
        return view if view_shape == out_shape else view._view_reshape(out_shape)

    def __getitem__(self, key):
        if isinstance(key, NDArray):
            return _ops.invoke("take", [self, key], {})
        parsed = self._parse_key(key)
        if parsed is None:
            raise TypeError("mx: unsupported index %r (integers, slices, a tuple of them, or an NDArray)" % (key,))
        view = self._basic_view(parsed)
        if view is not None:
            return view
        # The slice op gets numpy's clamped bounds, so bounds and steps beyond int64 (x[-2**70:],
        # x[::2**70]) mean what they mean in numpy instead of failing the op's int64 parsing.
        int64_max = (1 << 63) - 1
        begin, end, step = [], [], []
        for start, stop, stride in parsed[0]:
            count = len(builtins.range(start, stop, stride))
            if count == 0:
                begin.append(0), end.append(0), step.append(1)
                continue
            last = start + (count - 1) * stride  # the last index taken; the end is one step past it
            begin.append(start)
            end.append(last + 1 if stride > 0 else (last - 1 if last > 0 else None))
            step.append(builtins.max(-int64_max, builtins.min(int64_max, stride)))
        out = _ops.invoke("slice", [self], {"begin": tuple(begin), "end": tuple(end), "step": tuple(step)})
        int_axes = parsed[1]
        if int_axes:
            shape = tuple(d for i, d in enumerate(out.shape) if i not in int_axes) or (1,)
            # Reshape's code 0 copies a dimension, so a zero-size result takes a plain view reshape
            # (nothing there for a gradient to flow through).
            out = out._view_reshape(shape) if 0 in shape else out.reshape(shape)
        return out

    def __setitem__(self, key, value):
        if not self.writable:
            raise ValueError("the array is read-only")
        if isinstance(key, builtins.slice) and key == builtins.slice(None) or key is Ellipsis:
            self._assign(value)
            return
        parsed = None if isinstance(key, NDArray) else self._parse_key(key)
        view = self._basic_view(parsed) if parsed is not None else None
        if view is not None:
            view._assign(value)
            return
        # General case through numpy: read, assign, write back (synchronous, like MXNet's slow path).
        host = self.asnumpy()
        host[key] = value.asnumpy() if isinstance(value, NDArray) else value
        self._sync_copyfrom(host)

    def _assign(self, value):
        """self[:] = value, broadcasting value (an NDArray, a number or anything numpy takes)."""
        if not isinstance(value, NDArray):
            self._sync_copyfrom(value)
            return
        if value.handle.value == self.handle.value:
            return
        if value._dtype_flag != self._dtype_flag:
            value = value.astype(_DTYPE_NAME[self._dtype_flag])
        if value.shape != self.shape:
            value = value._broadcast_to(self)
        value.copyto(self)

    def _broadcast_to(self, like):
        """This array broadcast to like's shape (numpy's rules), or MXNetValueError naming both."""
        shape, target = self.shape, like.shape
        if len(shape) > len(target) or builtins.any(d not in (1, t) for d, t in zip(shape[::-1], target[::-1])):
            raise MXNetValueError("cannot broadcast a value of shape %s to an array of shape %s" % (shape, target))
        padded = (1,) * (len(target) - len(shape)) + shape
        src = self._view_reshape(padded) if padded != shape else self
        return _ops.invoke("broadcast_like", [src, like], {})

    # ---- arithmetic
    def _binary(self, other, op, scalar_op, reverse=False):
        if isinstance(other, NDArray):
            a, b = (other, self) if reverse else (self, other)
            same = a.shape == b.shape
            return _ops.invoke(("elemwise_" + op) if same and op in ("add", "sub", "mul", "div") else "broadcast_" + op,
                               [a, b], {})
        if isinstance(other, numbers.Number):
            return _ops.invoke(scalar_op, [self], {"scalar": float(other)})
        return NotImplemented

    def __add__(self, o): return self._binary(o, "add", "_plus_scalar")
    def __radd__(self, o): return self._binary(o, "add", "_plus_scalar", True)
    def __sub__(self, o): return self._binary(o, "sub", "_minus_scalar")
    def __rsub__(self, o): return self._binary(o, "sub", "_rminus_scalar", True)
    def __mul__(self, o): return self._binary(o, "mul", "_mul_scalar")
    def __rmul__(self, o): return self._binary(o, "mul", "_mul_scalar", True)
    def __truediv__(self, o): return self._binary(o, "div", "_div_scalar")
    def __rtruediv__(self, o): return self._binary(o, "div", "_rdiv_scalar", True)
    def __mod__(self, o): return self._binary(o, "mod", "_mod_scalar")
    def __pow__(self, o): return self._binary(o, "power", "_power_scalar")
    def __neg__(self): return _ops.invoke("negative", [self], {})
    def __abs__(self): return _ops.invoke("abs", [self], {})
    def __eq__(self, o): return self._binary(o, "equal", "_equal_scalar")
    def __ne__(self, o): return self._binary(o, "not_equal", "_not_equal_scalar")
    def __gt__(self, o): return self._binary(o, "greater", "_greater_scalar")
    def __ge__(self, o): return self._binary(o, "greater_equal", "_greater_equal_scalar")
    def __lt__(self, o): return self._binary(o, "lesser", "_lesser_scalar")
    def __le__(self, o): return self._binary(o, "lesser_equal", "_lesser_equal_scalar")
    __hash__ = object.__hash__

    def _inplace(self, other, op, scalar_op):
        result = self._binary(other, op, scalar_op)
        result.copyto(self)
        return self

    def __iadd__(self, o): return self._inplace(o, "add", "_plus_scalar")
    def __isub__(self, o): return self._inplace(o, "sub", "_minus_scalar")
    def __imul__(self, o): return self._inplace(o, "mul", "_mul_scalar")
    def __itruediv__(self, o): return self._inplace(o, "div", "_div_scalar")

    # sum, mean, argmax, clip, ... : MXNet's fluent methods, added by _fluent.attach below

    @property
    def T(self):
        return self.transpose()


# ---------------------------------------------------------------- creation

def empty(shape, ctx=None, dtype="float32", _what="mx.nd.empty"):
    shape = check_shape(shape, _what)
    dtype = "float32" if dtype is None else dtype  # MXNet's default
    ctx = Context(ctx) if ctx is not None else current_context()
    out = _handle()
    check_call(LIB.mx_ndarray_create(c_array(ctypes.c_int64, shape), ctypes.c_int32(len(shape)),
                                     ctypes.c_int32(_mx_dtype(dtype)), ctypes.c_int32(ctx.device_typeid),
                                     ctypes.c_int32(ctx.device_id), ctypes.byref(out)))
    return NDArray(out)


def array(source, ctx=None, dtype=None):
    if isinstance(source, NDArray):
        out = source.copyto(ctx or source.context)
        return out if dtype is None else out.astype(dtype)
    src = np.asarray(source)  # ragged or too deeply nested lists: numpy's ValueError
    if src.dtype.kind not in "biuf":
        raise MXNetTypeError("mx.nd.array: cannot make an array of numbers from %s elements (dtype %s)"
                             % (type(src.flat[0]).__name__ if src.size else "no", src.dtype))
    if dtype is None:
        dtype = src.dtype if src.dtype in _DTYPE_MX and src.dtype != np.float64 else np.float32
        if not isinstance(source, np.ndarray) and src.dtype.kind in "iu":
            dtype = np.float32  # MXNet: python lists become float32
    out = empty(src.shape, ctx, dtype, "mx.nd.array")
    out._sync_copyfrom(src)
    return out


def _created(op, params, ctx, dtype, out):
    """Runs a no-input creation op on ctx (default: the current context) in dtype (None: float32),
    into out when given (MXNet's out=)."""
    ctx = Context(ctx) if ctx is not None else current_context()
    params = dict(params, ctx=ctx, dtype=_DTYPE_NAME[_mx_dtype("float32" if dtype is None else dtype)])
    return _ops.invoke(op, [], params, out=out)


def zeros(shape, ctx=None, dtype="float32", out=None, **kwargs):
    return _created("_zeros", {"shape": check_shape(shape, "mx.nd.zeros")}, ctx, dtype, out)


def ones(shape, ctx=None, dtype="float32", out=None, **kwargs):
    return _created("_ones", {"shape": check_shape(shape, "mx.nd.ones")}, ctx, dtype, out)


def full(shape, val, ctx=None, dtype="float32", out=None):
    return _created("_full", {"shape": check_shape(shape, "mx.nd.full"), "value": float(val)}, ctx, dtype,
                    out)


def arange(start, stop=None, step=1.0, repeat=1, infer_range=None, ctx=None, dtype="float32", out=None):
    """MXNet's arange: ceil((stop - start) / step) values start, start + step, ... (stop None:
    0 .. start), each repeated `repeat` times."""
    params = {"start": start, "stop": stop, "step": step, "repeat": repeat}
    if infer_range is not None:
        params["infer_range"] = infer_range
    return _created("_arange", params, ctx, dtype, out)


def linspace(start, stop, num, endpoint=True, ctx=None, dtype="float32", out=None):
    return _created("_linspace", {"start": start, "stop": stop, "num": num, "endpoint": endpoint},
                    ctx, dtype, out)


def eye(N, M=0, k=0, ctx=None, dtype="float32", out=None, **kwargs):
    return _created("_eye", {"N": N, "M": M, "k": k}, ctx, dtype, out)


def from_numpy(ndarray, zero_copy=True):
    """An NDArray from a numpy array. zero_copy (MXNet's default): shares the memory through DLPack
    (C-contiguous arrays only) and marks the numpy array read-only, as MXNet does; otherwise a copy
    in the array's own dtype."""
    if not zero_copy:
        return array(ndarray, dtype=ndarray.dtype)
    if not ndarray.flags["C_CONTIGUOUS"]:
        raise MXNetValueError("mx.nd.from_numpy: only C-contiguous arrays can be shared (zero_copy=True); "
                              "pass zero_copy=False to copy")
    out = from_dlpack(ndarray)
    ndarray.flags["WRITEABLE"] = False
    return out


# Functional forms of the binary operators (MXNet's _ufunc_helper): array-array -> broadcast_<op>,
# array-scalar -> the scalar op, scalar-array -> the reversed scalar op, scalar-scalar -> Python.
def _ufunc(lhs, rhs, array_op, py_fn, scalar_op, rscalar_op=None):
    if isinstance(lhs, numbers.Number):
        if isinstance(rhs, numbers.Number):
            return py_fn(lhs, rhs)
        if not isinstance(rhs, NDArray):
            raise TypeError("type %s not supported" % type(rhs).__name__)
        return _ops.invoke(rscalar_op or scalar_op, [rhs], {"scalar": float(lhs)})
    if not isinstance(lhs, NDArray):
        raise TypeError("type %s not supported" % type(lhs).__name__)
    if isinstance(rhs, numbers.Number):
        return _ops.invoke(scalar_op, [lhs], {"scalar": float(rhs)})
    if isinstance(rhs, NDArray):
        return array_op(lhs, rhs) if callable(array_op) else _ops.invoke(array_op, [lhs, rhs], {})
    raise TypeError("type %s not supported" % type(rhs).__name__)


def _hypot_arrays(a, b):
    if a.shape == b.shape:
        return _ops.invoke("_hypot", [a, b], {})
    squares = _ops.invoke("broadcast_add", [_ops.invoke("square", [a], {}), _ops.invoke("square", [b], {})], {})
    return _ops.invoke("sqrt", [squares], {})


def add(lhs, rhs): return _ufunc(lhs, rhs, "broadcast_add", lambda x, y: x + y, "_plus_scalar")
def subtract(lhs, rhs): return _ufunc(lhs, rhs, "broadcast_sub", lambda x, y: x - y, "_minus_scalar", "_rminus_scalar")
def multiply(lhs, rhs): return _ufunc(lhs, rhs, "broadcast_mul", lambda x, y: x * y, "_mul_scalar")
def divide(lhs, rhs): return _ufunc(lhs, rhs, "broadcast_div", lambda x, y: x / y, "_div_scalar", "_rdiv_scalar")
def modulo(lhs, rhs): return _ufunc(lhs, rhs, "broadcast_mod", lambda x, y: x % y, "_mod_scalar", "_rmod_scalar")
def power(base, exp): return _ufunc(base, exp, "broadcast_power", lambda x, y: x ** y, "_power_scalar", "_rpower_scalar")
pow = power  # noqa: A001  (MXNet's mx.nd.pow)
def maximum(lhs, rhs): return _ufunc(lhs, rhs, "broadcast_maximum", lambda x, y: x if x > y else y, "_maximum_scalar")
def minimum(lhs, rhs): return _ufunc(lhs, rhs, "broadcast_minimum", lambda x, y: x if x < y else y, "_minimum_scalar")
def equal(lhs, rhs): return _ufunc(lhs, rhs, "broadcast_equal", lambda x, y: 1 if x == y else 0, "_equal_scalar")
def not_equal(lhs, rhs):
    return _ufunc(lhs, rhs, "broadcast_not_equal", lambda x, y: 1 if x != y else 0, "_not_equal_scalar")
def greater(lhs, rhs):
    return _ufunc(lhs, rhs, "broadcast_greater", lambda x, y: 1 if x > y else 0, "_greater_scalar", "_lesser_scalar")
def greater_equal(lhs, rhs):
    return _ufunc(lhs, rhs, "broadcast_greater_equal", lambda x, y: 1 if x >= y else 0, "_greater_equal_scalar",
                  "_lesser_equal_scalar")
def lesser(lhs, rhs):
    return _ufunc(lhs, rhs, "broadcast_lesser", lambda x, y: 1 if x < y else 0, "_lesser_scalar", "_greater_scalar")
def lesser_equal(lhs, rhs):
    return _ufunc(lhs, rhs, "broadcast_lesser_equal", lambda x, y: 1 if x <= y else 0, "_lesser_equal_scalar",
                  "_greater_equal_scalar")
def logical_and(lhs, rhs):
    return _ufunc(lhs, rhs, "broadcast_logical_and", lambda x, y: 1 if x and y else 0, "_logical_and_scalar")
def logical_or(lhs, rhs):
    return _ufunc(lhs, rhs, "broadcast_logical_or", lambda x, y: 1 if x or y else 0, "_logical_or_scalar")
def logical_xor(lhs, rhs):
    return _ufunc(lhs, rhs, "broadcast_logical_xor", lambda x, y: 1 if bool(x) ^ bool(y) else 0, "_logical_xor_scalar")
def hypot(arr1, arr2): return _ufunc(arr1, arr2, _hypot_arrays, math.hypot, "_hypot_scalar")


def from_dlpack(source):
    """An NDArray over the memory of a DLPack capsule or of any object with __dlpack__ (a numpy
    array, a torch tensor), without copying."""
    if hasattr(source, "__dlpack__"):
        device = source.__dlpack_device__()[0] if hasattr(source, "__dlpack_device__") else 1
        if device == 2:  # kDLCUDA: the producer readies the data on the legacy default stream,
            # and mx's ops on the array wait for that point of it (an event), not the host
            return NDArray(dlpack.from_capsule(source.__dlpack__(stream=1), stream=1))
        return NDArray(dlpack.from_capsule(source.__dlpack__()))
    return NDArray(dlpack.from_capsule(source))


to_dlpack_for_read = NDArray.to_dlpack_for_read
to_dlpack_for_write = NDArray.to_dlpack_for_write


def waitall():
    check_call(LIB.mx_ndarray_wait_all())


def concat(*arrays, dim=1):
    return _ops.invoke("Concat", list(arrays), {"num_args": len(arrays), "dim": dim})


def save(fname, data):
    """Saves a list or a str-keyed dict of arrays in MXNet's .params format."""
    if isinstance(data, NDArray):
        data = [data]
    keys = None
    if isinstance(data, dict):
        keys = c_array(ctypes.c_char_p, [c_str(k) for k in data.keys()])  # refuses non-strings and NULs
        data = list(data.values())
    for a in data:
        if not isinstance(a, NDArray):
            raise MXNetTypeError("mx.nd.save: %s is not an NDArray" % type(a).__name__)
    handles = c_array(_handle, [a.handle for a in data])
    check_call(LIB.mx_ndarray_save(c_str(fname), ctypes.c_uint32(len(data)), handles, keys))


def load(fname):
    n, nk = ctypes.c_uint32(), ctypes.c_uint32()
    arrs = ctypes.POINTER(_handle)()
    keys = ctypes.POINTER(ctypes.c_char_p)()
    check_call(LIB.mx_ndarray_load(c_str(fname), ctypes.byref(n), ctypes.byref(arrs), ctypes.byref(nk),
                                   ctypes.byref(keys)))
    values = [NDArray(_handle(arrs[i])) for i in range(n.value)]
    if nk.value == 0:
        return values
    return {keys[i].decode(): values[i] for i in range(n.value)}


_ops.init(NDArray)
# Op functions join this module's namespace (mx.nd.sum, mx.nd.slice, ...), shadowing builtins of
# the same names: the code above reaches those through `builtins`.
from ._shape_funcs import moveaxis, concatenate, split_v2, histogram, onehot_encode  # noqa: E402  (MXNet's Python forms)

_ops.generate(globals())


from . import ndarray_random as random  # noqa: E402  (mx.nd.random, as MXNet)
from . import ndarray_contrib as contrib  # noqa: E402  (mx.nd.contrib)
from . import ndarray_linalg as linalg  # noqa: E402  (mx.nd.linalg)


def _fill_subspaces():
    _ops.fill_subspaces(globals(), {"contrib": contrib, "linalg": linalg, "random": random})


_fill_subspaces()


from . import _fluent, ndarray_methods  # noqa: E402
ndarray_methods.install(NDArray)
_fluent.attach(NDArray, sys.modules[__name__])  # x.sum(), x.clip(0, 1), ... call the ops above

from . import _fastpath  # noqa: E402
_PY_METHODS = {name: NDArray.__dict__[name] for name in _fastpath.METHODS}  # the ctypes path
_fastpath.install(NDArray)  # a + b, a * 2.0, ... in C where the extension is built (MX_NO_FASTPATH=1: not)
