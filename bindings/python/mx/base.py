"""Loading libmx through ctypes, and turning C API errors into MXNetError."""
import ctypes
import os

__all__ = ["MXNetError", "check_call", "LIB", "c_str", "c_array"]


class MXNetError(RuntimeError):
    """An error reported by the mx C API; the message names the op, node, shapes or file."""


def _candidates():
    env = os.environ.get("MX_LIBRARY_PATH")
    if env:
        yield os.path.join(env, "libmx.so") if os.path.isdir(env) else env
    here = os.path.dirname(os.path.abspath(__file__))
    yield os.path.join(here, "libmx.so")
    # A development checkout: bindings/python/mx -> build/release/lib
    root = os.path.dirname(os.path.dirname(os.path.dirname(here)))
    yield os.path.join(root, "build", "release", "lib", "libmx.so")


def _load():
    tried = []
    for path in _candidates():
        if os.path.exists(path):
            return ctypes.CDLL(path, mode=ctypes.RTLD_LOCAL)
        tried.append(path)
    raise ImportError("mx: libmx.so not found (set MX_LIBRARY_PATH); looked at " + ", ".join(tried))


LIB = _load()
LIB.mx_get_last_error.restype = ctypes.c_char_p


def check_call(ret):
    """Raises MXNetError with the library's message when a C API call returned -1."""
    if ret != 0:
        raise MXNetError(LIB.mx_get_last_error().decode("utf-8", "replace"))


def c_str(s):
    return s.encode("utf-8")


def c_array(ctype, values):
    values = list(values)
    return (ctype * len(values))(*values)
