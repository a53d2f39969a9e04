"""Devices, named as MXNet's contexts: mx.cpu(), mx.gpu(1), mx.cpu_pinned(), mx.cpu_shared()."""
import ctypes
import threading
import warnings

# MXNet's device type ids (Context.devtype2str / devstr2type).
_MXNET_TYPEIDS = {"cpu": 1, "gpu": 2, "cpu_pinned": 3, "cpu_shared": 5}
# The C API's device types (MX_DEVICE_*): pinned and shared memory are plain CPU memory in mx.
_DEVICE_TYPES = {"cpu": 1, "gpu": 2, "cpu_pinned": 1, "cpu_shared": 1}
_DEVICE_NAMES = {1: "cpu", 2: "gpu"}


class _ContextMeta(type):
    """Gives Context MXNet's deprecated class attribute Context.default_ctx (get and set)."""

    @property
    def default_ctx(cls):
        warnings.warn("Context.default_ctx has been deprecated. Please use mx.context.current_context() "
                      "instead, or `with ctx:` to set it", DeprecationWarning, stacklevel=2)
        return current_context()

    @default_ctx.setter
    def default_ctx(cls, value):
        warnings.warn("Context.default_ctx has been deprecated. Please use `with ctx:` to set the "
                      "current context", DeprecationWarning, stacklevel=2)
        if not isinstance(value, Context):
            raise TypeError("Context.default_ctx: expected a Context, got %s %r" % (type(value).__name__, value))
        cls._default.value = value


class Context(metaclass=_ContextMeta):
    """A device: type ('cpu', 'gpu', 'cpu_pinned' or 'cpu_shared') and id. Usable as
    `with mx.gpu(0):` to set the default. cpu_pinned / cpu_shared print and compare as MXNet's,
    but their arrays live in ordinary CPU memory (and report cpu(id) as their context)."""

    devtype2str = {v: k for k, v in _MXNET_TYPEIDS.items()}
    devstr2type = dict(_MXNET_TYPEIDS)
    _default = threading.local()

    def __init__(self, device_type, device_id=0):
        if isinstance(device_type, Context):
            device_type, device_id = device_type.device_type, device_type.device_id
        if device_type not in _DEVICE_TYPES:
            raise ValueError("Context: unknown device type %r (cpu, gpu, cpu_pinned or cpu_shared)" % (device_type,))
        self.device_type = device_type
        self.device_id = int(device_id)

    @property
    def device_typeid(self):
        """The C API's device type (MX_DEVICE_*): 1 (cpu) for cpu, cpu_pinned and cpu_shared, 2 for gpu.
        (MXNet's numbers, 3 for cpu_pinned and 5 for cpu_shared, are in Context.devstr2type.)"""
        return _DEVICE_TYPES[self.device_type]

    def __eq__(self, other):
        return isinstance(other, Context) and (self.device_type, self.device_id) == (other.device_type, other.device_id)

    def __hash__(self):
        return hash((self.device_type, self.device_id))

    def __repr__(self):
        return "%s(%d)" % (self.device_type, self.device_id)

    def __enter__(self):
        self._old = current_context()
        Context._default.value = self
        return self

    def __exit__(self, *exc):
        Context._default.value = self._old


def cpu(device_id=0):
    return Context("cpu", device_id)


def gpu(device_id=0):
    return Context("gpu", device_id)


def cpu_pinned(device_id=0):
    """MXNet's page-locked CPU context; here its memory is plain CPU memory."""
    return Context("cpu_pinned", device_id)


def cpu_shared(device_id=0):
    """MXNet's shared-memory CPU context; here its memory is plain CPU memory."""
    return Context("cpu_shared", device_id)


def current_context():
    return getattr(Context._default, "value", None) or cpu()


def from_typeid(type_id, device_id):
    return Context(_DEVICE_NAMES[type_id], device_id)


def num_gpus():
    """Number of GPUs mx can use (0 when no CUDA backend serves one), as mx.context.num_gpus()."""
    from .base import LIB, MXNetError, check_call

    n = ctypes.c_int32(0)
    try:
        check_call(LIB.mx_device_count(ctypes.c_int32(_DEVICE_TYPES["gpu"]), ctypes.byref(n)))
    except MXNetError:  # MXNet answers 0 on a build or machine without CUDA; so does mx
        return 0
    return n.value


class _DeviceInfo(ctypes.Structure):  # mx_device_info
    _fields_ = [("struct_size", ctypes.c_uint32), ("name", ctypes.c_char_p), ("total_memory", ctypes.c_uint64),
                ("free_memory", ctypes.c_uint64), ("supports_async", ctypes.c_int32),
                ("supports_events", ctypes.c_int32), ("supports_pinned", ctypes.c_int32)]


def gpu_memory_info(device_id=0):
    """(free, total) bytes of GPU device_id, as MXNet's mx.context.gpu_memory_info."""
    from .base import LIB, MXNetError, check_call

    count = num_gpus()
    if not isinstance(device_id, int) or isinstance(device_id, bool) or not 0 <= device_id < count:
        raise MXNetError("gpu_memory_info: no GPU with device_id %r (num_gpus() is %d)" % (device_id, count))
    info = _DeviceInfo()
    info.struct_size = ctypes.sizeof(_DeviceInfo)
    check_call(LIB.mx_device_get_info(ctypes.c_int32(_DEVICE_TYPES["gpu"]), ctypes.c_int32(device_id),
                                      ctypes.byref(info)))
    return info.free_memory, info.total_memory
