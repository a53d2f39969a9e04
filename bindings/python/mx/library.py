"""mx.library: extension libraries of operators (MXNet 1.x's mx.library.load).

A library is a shared object written against mx/extension.h; loading it registers its ops,
which then appear in mx.nd and mx.sym like built-in ones."""
import ctypes
import os

from . import _ops
from .base import LIB, check_call, c_str

_loaded = []


def load(path, verbose=True):
    """Loads the extension library at `path` and returns the names of the ops it added."""
    path = os.path.abspath(path)
    n = ctypes.c_uint32(0)
    names = ctypes.POINTER(ctypes.c_char_p)()
    check_call(LIB.mx_library_load(c_str(path), ctypes.byref(n), ctypes.byref(names)))
    ops = [names[i].decode() for i in range(n.value)]
    refresh_namespaces()
    _loaded.append(path)
    if verbose:
        print("mx.library: loaded %s (%s)" % (path, ", ".join(ops)))
    return ops


def refresh_namespaces():
    """Adds functions for ops registered since import (libraries, custom ops) to mx.nd and mx.sym."""
    from . import ndarray, symbol
    _ops.generate(vars(ndarray))
    ndarray._fill_subspaces()
    symbol._generate()


def loaded_libraries():
    return list(_loaded)
