"""Whether this process is a DataLoader worker, and the guard that keeps mx out of such workers.

A worker is forked from a parent whose dependency engine has threads; the child has none of them,
so any mx call that reaches the engine would wait forever. Inside a worker, datasets hand out
numpy arrays instead of NDArrays, and every other mx C call raises a clear error instead.
"""
import ctypes

from ...base import LIB, MXNetError

_state = {"in_worker": False}

# C functions a worker may still call: record files (no engine) and error text.
_ALLOWED_PREFIXES = ("mx_recordio", "mx_get_last_error")


def in_worker():
    """True inside a DataLoader worker process (samples should be numpy there, not NDArray)."""
    return _state["in_worker"]


class _GuardedLib(ctypes.CDLL):
    """libmx as a forked worker sees it: engine-bound calls raise, frees become no-ops."""

    def __getattribute__(self, name):
        if name.startswith("mx_") and not name.startswith(_ALLOWED_PREFIXES):
            if name.endswith("_free"):
                return lambda *args: 0  # the parent owns the memory; the child just forgets it
            raise MXNetError(
                "%s: mx operations (NDArray, ops, autograd) cannot run inside a DataLoader worker "
                "process, whose parent's engine threads do not exist after fork. Let the dataset, "
                "transforms and batchify_fn use numpy there, or use thread_pool=True / "
                "num_workers=0." % name)
        return super().__getattribute__(name)


def enter_worker():
    """Called first thing in a freshly forked worker."""
    _state["in_worker"] = True
    LIB.__class__ = _GuardedLib
