"""Whether this process is a DataLoader worker.

Workers are forked. The engine stops its threads around fork() and the child starts its own on
its first op (pthread_atfork handlers in core/engine), so user code in a worker (a dataset, a
transform, a batchify_fn) may call mx: NDArrays, ops, autograd. Batches still travel as numpy
through shared memory, which is faster than NDArrays in shared storage: inside a worker, datasets
hand out numpy arrays, and NDArrays in a batch become numpy before they cross (_worker_pool).
"""

_state = {"in_worker": False}


def in_worker():
    """True inside a DataLoader worker process (samples are numpy there, for the shared-memory
    transfer; mx calls work)."""
    return _state["in_worker"]


def enter_worker():
    """Called first thing in a freshly forked worker."""
    _state["in_worker"] = True
