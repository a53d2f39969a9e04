"""Devices, named as MXNet's contexts: mx.cpu(), mx.gpu(1)."""
import ctypes
import threading

_DEVICE_TYPES = {"cpu": 1, "gpu": 2}
_DEVICE_NAMES = {1: "cpu", 2: "gpu"}


class Context:
    """A device: type ('cpu' or 'gpu') and id. Usable as `with mx.gpu(0):` to set the default."""

    _default = threading.local()

    def __init__(self, device_type, device_id=0):
        if isinstance(device_type, Context):
            device_type, device_id = device_type.device_type, device_type.device_id
        if device_type not in _DEVICE_TYPES:
            raise ValueError("unknown device type %r (cpu or gpu)" % (device_type,))
        self.device_type = device_type
        self.device_id = int(device_id)

    @property
    def device_typeid(self):
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


def current_context():
    return getattr(Context._default, "value", None) or cpu()


def from_typeid(type_id, device_id):
    return Context(_DEVICE_NAMES[type_id], device_id)


def num_gpus():
    """Number of GPUs mx can use (0 when no CUDA backend serves one), as mx.context.num_gpus()."""
    from .base import LIB, check_call

    n = ctypes.c_int32(0)
    check_call(LIB.mx_device_count(ctypes.c_int32(_DEVICE_TYPES["gpu"]), ctypes.byref(n)))
    return n.value


class _DeviceInfo(ctypes.Structure):  # mx_device_info
    _fields_ = [("struct_size", ctypes.c_uint32), ("name", ctypes.c_char_p), ("total_memory", ctypes.c_uint64),
                ("free_memory", ctypes.c_uint64), ("supports_async", ctypes.c_int32),
                ("supports_events", ctypes.c_int32), ("supports_pinned", ctypes.c_int32)]


def gpu_memory_info(device_id=0):
    """(free, total) bytes of GPU device_id, as MXNet's mx.context.gpu_memory_info."""
    from .base import LIB, check_call

    info = _DeviceInfo()
    info.struct_size = ctypes.sizeof(_DeviceInfo)
    check_call(LIB.mx_device_get_info(ctypes.c_int32(_DEVICE_TYPES["gpu"]), ctypes.c_int32(device_id),
                                      ctypes.byref(info)))
    return info.free_memory, info.total_memory
