"""mx.backend: the loaded backend plugins and which one runs each op (several plugins may serve
one device type; per op the highest kernel priority wins, see mx/backend.h)."""
import ctypes

from .base import LIB, check_call, c_str

_DEVICE_TYPES = {"cpu": 1, "gpu": 2}


class _BackendInfo(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("name", ctypes.c_char_p), ("path", ctypes.c_char_p),
                ("version", ctypes.c_char_p), ("device_type", ctypes.c_int32), ("num_devices", ctypes.c_int32),
                ("failed_step", ctypes.c_int32), ("message", ctypes.c_char_p), ("kernel_priority", ctypes.c_int32),
                ("kernels_only", ctypes.c_int32)]


def list_backends():
    """Every plugin tried, in discovery order: dicts with name, path, version, device_type, devices,
    usable, priority, kernels_only and message."""
    n = ctypes.c_int32(0)
    check_call(LIB.mx_backend_count(ctypes.byref(n)))
    out = []
    for i in range(n.value):
        info = _BackendInfo()
        info.struct_size = ctypes.sizeof(info)
        check_call(LIB.mx_backend_get_info(i, ctypes.byref(info)))
        dec = lambda b: b.decode() if b else ""
        out.append({"name": dec(info.name), "path": dec(info.path), "version": dec(info.version),
                    "device_type": {1: "cpu", 2: "gpu"}.get(info.device_type, info.device_type),
                    "devices": info.num_devices, "usable": info.failed_step == 0,
                    "priority": info.kernel_priority, "kernels_only": bool(info.kernels_only),
                    "message": dec(info.message)})
    return out


def load(path):
    """Loads a backend plugin explicitly (MX_BACKEND_PATH does it at start-up)."""
    check_call(LIB.mx_backend_load(c_str(path)))


def set_priority(name, priority):
    """Sets the kernel priority of the backend called `name` (as MX_BACKEND_PRIORITY="name=p")."""
    check_call(LIB.mx_backend_set_priority(c_str(name), ctypes.c_int32(int(priority))))


def op_backend(op_name, device_type="cpu"):
    """Name of the plugin (or extension library) whose kernel runs op_name on device_type."""
    out = ctypes.c_char_p()
    check_call(LIB.mx_op_get_backend(c_str(op_name), ctypes.c_int32(_DEVICE_TYPES[device_type]), ctypes.byref(out)))
    return out.value.decode()
