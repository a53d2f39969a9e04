"""Loading libmx through ctypes, and turning C API errors into MXNetError."""
import ctypes
import numbers
import os

import numpy as np

__all__ = ["MXNetError", "check_call", "LIB", "c_str", "c_array", "check_shape",
           # MXNet 1.x's names in mxnet.base, for code that imports them
           "_LIB", "mx_real_t", "NDArrayHandle", "SymbolHandle", "string_types", "numeric_types",
           "integer_types", "py_str"]

mx_real_t = np.float32  # MXNet's default real type
# Opaque C handles, as MXNet types them (mx's C API hands out pointers to its own structs).
NDArrayHandle = ctypes.c_void_p
SymbolHandle = ctypes.c_void_p
string_types = (str,)
numeric_types = (float, int, np.generic)
integer_types = (int, np.integer)


def py_str(x):
    """A C string (bytes) from the library as a Python str."""
    return x.decode("utf-8")


class MXNetError(RuntimeError):
    """An error reported by the mx C API; the message names the op, node, shapes or file.

    `code` is the C API's stable category (mx_get_last_error_code: 1 invalid argument,
    2 shape mismatch, 3 not found, 4 unsupported, 5 out of memory, 6 io, 7 internal,
    8 invalid handle), or 0 for errors raised by the binding itself."""

    def __init__(self, message="", code=0):
        super().__init__(message)
        self.code = code


# Errors the binding finds before calling the C API. They are MXNetErrors (what MXNet code
# catches) and TypeError / ValueError (what numpy code catches) at once.
class MXNetTypeError(MXNetError, TypeError):
    """A value of the wrong type (a float or a bool where a dimension is needed, a non-string name)."""


class MXNetValueError(MXNetError, ValueError):
    """A value of the right type that C cannot take (a dimension out of range, a NUL in a string)."""


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
_LIB = LIB  # MXNet's name for the loaded library
LIB.mx_get_last_error.restype = ctypes.c_char_p


def check_call(ret):
    """Raises MXNetError with the library's message when a C API call returned -1."""
    if ret != 0:
        raise MXNetError(LIB.mx_get_last_error().decode("utf-8", "replace"), LIB.mx_get_last_error_code())


def c_str(s):
    """s as a C string. Every string reaches C through here: a NUL inside would silently cut it
    (a key saved as "a\\0b" reads back as "a"), so it is refused instead."""
    if type(s) is not str:
        if isinstance(s, os.PathLike):
            s = os.fspath(s)
        if isinstance(s, bytes):
            if b"\0" in s:
                raise MXNetValueError("string %r contains a NUL character, which a C string cannot carry" % s[:200])
            return s
        if not isinstance(s, str):
            raise MXNetTypeError("expected a string, got %s %r" % (type(s).__name__, s))
    if "\0" in s:
        raise MXNetValueError("string %r contains a NUL character, which a C string cannot carry" % s[:200])
    return s.encode("utf-8")


def c_array(ctype, values):
    values = list(values)
    return (ctype * len(values))(*values)


_MAX_NDIM = 32  # the core's kMaxNdim
_DIM_END = 2 ** 63  # dimensions are int64 in the C API


def check_shape(shape, what, min_dim=0):
    """shape (an int or a sequence of ints) as a tuple of Python ints, or MXNetTypeError /
    MXNetValueError naming `what` (the argument). Python ints and numpy integers are dimensions;
    bools, floats and anything else are not (int() would silently turn 1.5 into 1). Each dimension
    lies in [min_dim, 2**63): 0 for plain shapes, -4 where reshape's codes are allowed."""
    if type(shape) is not tuple:
        if isinstance(shape, numbers.Integral) and not isinstance(shape, bool):
            shape = (shape,)
        else:
            try:
                shape = tuple(shape)
            except TypeError:
                raise MXNetTypeError("%s: shape must be a tuple of ints, got %s %r"
                                     % (what, type(shape).__name__, shape)) from None
    if len(shape) > _MAX_NDIM:
        raise MXNetValueError("%s: shape has %d dimensions, more than the %d supported" % (what, len(shape), _MAX_NDIM))
    plain = True
    for d in shape:
        if type(d) is not int:  # the common case first: the ABC check below is slow
            if isinstance(d, bool) or not isinstance(d, numbers.Integral):
                raise MXNetTypeError("%s: shape %r has a dimension %r of type %s, not an integer"
                                     % (what, shape, d, type(d).__name__))
            plain = False
        if not min_dim <= d < _DIM_END:
            raise MXNetValueError("%s: shape %r has a dimension %d outside [%d, 2**63)" % (what, shape, d, min_dim))
    return shape if plain else tuple(int(d) for d in shape)
