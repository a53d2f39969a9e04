"""mx.nd: asynchronous n-d arrays over the C API, with every registered op generated at import."""
import builtins
import ctypes
import numbers

import numpy as np

from . import _ops, dlpack
from .base import LIB, check_call, c_array, c_str
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
        if self.handle is not None and LIB is not None:
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
        return self.shape[0]

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
        src = np.ascontiguousarray(source, dtype=_DTYPE_NP.get(self._dtype_flag, np.float32))
        if src.shape != self.shape:
            src = np.broadcast_to(src, self.shape).copy()
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
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        shape = kwargs.get("shape", shape)
        return _ops.invoke("Reshape", [self], {"shape": tuple(shape)})

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
        """A DLPack capsule over this array's memory, no copy (pending writes finish first)."""
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
        from . import autograd
        grad = zeros(self.shape, ctx=self.context, dtype=self.dtype)
        autograd.mark_variables([self], [grad], grad_req)

    @property
    def grad(self):
        out = _handle()
        check_call(LIB.mx_ndarray_get_grad(self.handle, ctypes.byref(out)))
        return NDArray(out) if out.value else None

    def backward(self, out_grad=None, retain_graph=False, train_mode=True):
        from . import autograd
        autograd.backward([self], None if out_grad is None else [out_grad], retain_graph, train_mode)

    def detach(self):
        return _ops.invoke("BlockGrad", [self], {})

    # ---- indexing
    def _basic_key(self, key):
        if not isinstance(key, tuple):
            key = (key,)
        shape = self.shape
        begin, end, step, squeeze = [], [], [], []
        for axis, k in enumerate(key):
            if isinstance(k, numbers.Integral):
                k = int(k) + (shape[axis] if k < 0 else 0)
                if not 0 <= k < shape[axis]:
                    raise IndexError("index %d is out of bounds for axis %d of size %d" % (k, axis, shape[axis]))
                begin.append(k), end.append(k + 1), step.append(1), squeeze.append(axis)
            elif isinstance(k, builtins.slice):
                begin.append(k.start), end.append(k.stop), step.append(k.step)
            else:
                return None
        return begin, end, step, squeeze

    def __getitem__(self, key):
        if isinstance(key, NDArray):
            return _ops.invoke("take", [self, key], {})
        parsed = self._basic_key(key)
        if parsed is None:
            raise TypeError("mx: unsupported index %r" % (key,))
        begin, end, step, squeeze = parsed
        out = _ops.invoke("slice", [self], {"begin": tuple(begin), "end": tuple(end), "step": tuple(step)})
        if squeeze:
            shape = [d for i, d in enumerate(out.shape) if i not in squeeze]
            out = out.reshape(tuple(shape) if shape else (1,)) if shape or self.ndim > 1 else out
        return out

    def __setitem__(self, key, value):
        if not self.writable:
            raise ValueError("the array is read-only")
        if isinstance(key, builtins.slice) and key == builtins.slice(None):
            if isinstance(value, NDArray):
                if value.shape != self.shape:
                    value = _ops.invoke("broadcast_to", [value], {"shape": self.shape})
                if value.handle != self.handle:
                    value.copyto(self)
            else:
                self._sync_copyfrom(np.asarray(value))
            return
        # General case through numpy: read, assign, write back (synchronous, like MXNet's slow path).
        host = self.asnumpy()
        host[key] = value.asnumpy() if isinstance(value, NDArray) else value
        self._sync_copyfrom(host)

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

    # ---- a few methods MXNet users call on arrays
    def sum(self, axis=None, keepdims=False): return _ops.invoke("sum", [self], {"axis": axis, "keepdims": keepdims})
    def mean(self, axis=None, keepdims=False): return _ops.invoke("mean", [self], {"axis": axis, "keepdims": keepdims})
    def max(self, axis=None, keepdims=False): return _ops.invoke("max", [self], {"axis": axis, "keepdims": keepdims})
    def min(self, axis=None, keepdims=False): return _ops.invoke("min", [self], {"axis": axis, "keepdims": keepdims})
    def argmax(self, axis=None): return _ops.invoke("argmax", [self], {"axis": axis})
    def transpose(self, axes=None): return _ops.invoke("transpose", [self], {} if axes is None else {"axes": axes})
    def flatten(self): return _ops.invoke("Flatten", [self], {})
    def expand_dims(self, axis): return _ops.invoke("expand_dims", [self], {"axis": axis})
    def square(self): return _ops.invoke("square", [self], {})
    def sqrt(self): return _ops.invoke("sqrt", [self], {})
    def exp(self): return _ops.invoke("exp", [self], {})
    def log(self): return _ops.invoke("log", [self], {})
    def relu(self): return _ops.invoke("relu", [self], {})
    def sigmoid(self): return _ops.invoke("sigmoid", [self], {})
    def tanh(self): return _ops.invoke("tanh", [self], {})
    def softmax(self, axis=-1): return _ops.invoke("softmax", [self], {"axis": axis})
    def zeros_like(self): return _ops.invoke("zeros_like", [self], {})
    def ones_like(self): return _ops.invoke("ones_like", [self], {})

    @property
    def T(self):
        return self.transpose()


# ---------------------------------------------------------------- creation

def empty(shape, ctx=None, dtype="float32"):
    if isinstance(shape, numbers.Integral):
        shape = (shape,)
    ctx = Context(ctx) if ctx is not None else current_context()
    out = _handle()
    shape = tuple(int(d) for d in shape)
    check_call(LIB.mx_ndarray_create(c_array(ctypes.c_int64, shape), ctypes.c_int32(len(shape)),
                                     ctypes.c_int32(_mx_dtype(dtype)), ctypes.c_int32(ctx.device_typeid),
                                     ctypes.c_int32(ctx.device_id), ctypes.byref(out)))
    return NDArray(out)


def array(source, ctx=None, dtype=None):
    if isinstance(source, NDArray):
        out = source.copyto(ctx or source.context)
        return out if dtype is None else out.astype(dtype)
    src = np.asarray(source)
    if dtype is None:
        dtype = src.dtype if src.dtype in _DTYPE_MX and src.dtype != np.float64 else np.float32
        if not isinstance(source, np.ndarray) and src.dtype.kind in "iu":
            dtype = np.float32  # MXNet: python lists become float32
    out = empty(src.shape, ctx, dtype)
    out._sync_copyfrom(src)
    return out


def zeros(shape, ctx=None, dtype="float32", **kwargs):
    out = empty(shape, ctx, dtype)
    _ops.invoke("zeros_like", [out], {}, out=out)
    return out


def ones(shape, ctx=None, dtype="float32", **kwargs):
    out = empty(shape, ctx, dtype)
    _ops.invoke("ones_like", [out], {}, out=out)
    return out


def full(shape, val, ctx=None, dtype="float32"):
    out = zeros(shape, ctx, dtype)
    return _ops.invoke("_plus_scalar", [out], {"scalar": float(val)}, out=out)


def arange(start, stop=None, step=1.0, ctx=None, dtype="float32"):
    return array(np.arange(start, stop, step), ctx=ctx, dtype=dtype)


def from_dlpack(source):
    """An NDArray over the memory of a DLPack capsule or of any object with __dlpack__ (a numpy
    array, a torch tensor), without copying."""
    capsule = source.__dlpack__() if hasattr(source, "__dlpack__") else source
    return NDArray(dlpack.from_capsule(capsule))


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
        keys = c_array(ctypes.c_char_p, [c_str(k) for k in data.keys()])
        data = list(data.values())
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
_ops.generate(globals())
