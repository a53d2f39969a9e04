"""The C fast path of NDArray's arithmetic operators (bindings/python/_ext/fastpath.c).

`a + b`, `a - 2.0`, `1 / a` ... on NDArrays and the finaliser NDArray.__del__ are replaced by C
functions of the `_mx_fastpath` extension, which make the same C API calls as the ctypes path
(mx_imperative_invoke, mx_ndarray_free) without building ctypes objects per call. The extension
is looked for beside the loaded libmx.so, built for this interpreter (its EXTENSION_SUFFIXES).
Without it, or with MX_NO_FASTPATH=1 in the environment, every operator stays on ctypes; cases
the C code does not take itself (numpy scalars, bools, subclasses) go to the Python methods.
"""
import ctypes
import importlib.machinery
import importlib.util
import os

from .base import LIB, check_call

# The methods the extension replaces; the Python ones stay reachable as its fallbacks.
METHODS = ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__",
           "__rtruediv__", "__del__")

active = False  # whether NDArray's operators run through the extension


def _extension_path():
    folder = os.path.dirname(os.path.abspath(LIB._name))
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = os.path.join(folder, "_mx_fastpath" + suffix)
        if os.path.isfile(path):
            return path
    return None


def _load(path):
    loader = importlib.machinery.ExtensionFileLoader("_mx_fastpath", path)
    spec = importlib.util.spec_from_file_location("_mx_fastpath", path, loader=loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def _raise_last_error():
    check_call(-1)


def install(ndarray_class):
    """Puts the extension's operators on ndarray_class; returns whether it did."""
    global active
    if os.environ.get("MX_NO_FASTPATH", "") not in ("", "0"):
        return False
    path = _extension_path()
    if path is None:
        return False
    try:
        module = _load(path)
    except ImportError:  # built for another interpreter, or a broken file: ctypes it is
        return False
    addr = lambda fn: ctypes.cast(fn, ctypes.c_void_p).value
    fallbacks = {name: ndarray_class.__dict__[name] for name in METHODS}
    methods = module.setup(ndarray_class, ctypes.c_void_p, addr(LIB.mx_imperative_invoke), addr(LIB.mx_ndarray_free),
                           addr(LIB.mx_ndarray_get_shape), _raise_last_error, fallbacks)
    if methods is None:  # this interpreter's objects are not laid out as the extension expects
        return False
    for name in METHODS:
        setattr(ndarray_class, name, methods[name])
    active = True
    return True


def uninstall(ndarray_class, fallbacks):
    """Puts the Python methods back (tests compare both paths in one process)."""
    global active
    for name in METHODS:
        setattr(ndarray_class, name, fallbacks[name])
    active = False
