"""mx.engine: which dependency engine runs ops ("threaded", the default, or "naive": synchronous),
and MXNet's bulk size (bulk, set_bulk_size)."""
import ctypes
import numbers
import threading

from .base import LIB, check_call, c_str


def set_engine_type(kind):
    check_call(LIB.mx_engine_set_type(c_str(kind)))


def get_engine_type():
    out = ctypes.c_char_p()
    check_call(LIB.mx_engine_get_type(ctypes.byref(out)))
    return out.value.decode()


# Bulk size: in MXNet, how many consecutive imperative ops the threaded engine may fuse into one
# engine task. mx pushes every imperative op as its own task, and bound executors group their ops
# by MX_EXEC_BULK_SIZE (an environment variable read by the core), so here the size is only
# recorded (per thread, as MXNet keeps it) and changes no execution; bulk() / set_bulk_size()
# exist so that MXNet code using them runs unchanged.
_bulk_state = threading.local()


def set_bulk_size(size):
    """Sets this thread's bulk size; returns the previous one (0 initially), as MXNet's
    mx.engine.set_bulk_size. Recorded only: see the comment above."""
    if not isinstance(size, numbers.Integral) or isinstance(size, bool) or size < 0:
        raise ValueError("set_bulk_size: size must be a non-negative int, got %r" % (size,))
    previous = getattr(_bulk_state, "size", 0)
    _bulk_state.size = int(size)
    return previous


class _BulkScope:
    """`with mx.engine.bulk(size):` sets the bulk size for the block and restores it on exit."""

    def __init__(self, size):
        self._size = size
        self._old_size = None

    def __enter__(self):
        self._old_size = set_bulk_size(self._size)
        return self

    def __exit__(self, *exc):
        set_bulk_size(self._old_size)
        return False


def bulk(size):
    """A scope with bulk size `size`, as MXNet's mx.engine.bulk."""
    return _BulkScope(size)
