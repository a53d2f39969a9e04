"""mx.engine: which dependency engine runs ops ("threaded", the default, or "naive": synchronous)."""
import ctypes

from .base import LIB, check_call, c_str


def set_engine_type(kind):
    check_call(LIB.mx_engine_set_type(c_str(kind)))


def get_engine_type():
    out = ctypes.c_char_p()
    check_call(LIB.mx_engine_get_type(ctypes.byref(out)))
    return out.value.decode()
