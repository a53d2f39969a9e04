"""mx: a deep-learning runtime with MXNet 1.x's names, driven through its C API (ctypes;
an optional compiled extension, _mx_fastpath, speeds up NDArray arithmetic).

    import mx
    a = mx.nd.array([[1, 2], [3, 4]])
    with mx.autograd.record():
        ...
"""
from . import base, context
from .base import MXNetError
from .context import Context, cpu, gpu, current_context, cpu_pinned
from . import ndarray
from . import ndarray as nd
from . import autograd
from . import symbol
from . import symbol as sym
from . import random
from . import io
from . import recordio
from . import initializer
from . import initializer as init
from . import lr_scheduler
from . import optimizer
from . import metric
from . import model
from . import callback
from . import module
from . import module as mod
from . import monitor
from . import monitor as mon
from . import test_utils
from . import engine
from . import kvstore
from . import kvstore as kv
from . import library
from . import backend
from . import operator
from . import executor
from . import util
from . import runtime
from . import name
from . import attribute
from .attribute import AttrScope
from . import rnn
from . import gluon
from . import profiler
from . import visualization
from . import visualization as viz
ndarray.Custom = operator._nd_custom
symbol.Custom = operator._sym_custom

if kvstore._is_server_process():  # started by tools/launch.py -s N as a dist_async server
    kvstore._run_server_and_exit()

__version__ = "0.1.0"
