"""mx: a deep-learning runtime with MXNet 1.x's names, driven through its C API (ctypes only).

    import mx
    a = mx.nd.array([[1, 2], [3, 4]])
    with mx.autograd.record():
        ...
"""
from . import base, context
from .base import MXNetError
from .context import Context, cpu, gpu, current_context
from . import ndarray
from . import ndarray as nd
from . import autograd
from . import symbol
from . import symbol as sym
from . import random

__version__ = "0.1.0"
