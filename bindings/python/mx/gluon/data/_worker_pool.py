"""Worker processes for DataLoader: forked workers build batches as numpy arrays and hand them
back through shared memory (a file per batch under /dev/shm), so only a few bytes of metadata
are pickled. The parent copies each array once into an NDArray and then marks the file free
(renames it to NAME.free); the worker that wrote it reuses it for a later batch, because writing
into pages that tmpfs already holds is several times faster than into fresh ones."""
import multiprocessing
import os
import pickle
import queue
import random
import shutil
import tempfile
import time
import traceback
import weakref

import numpy as np

from ... import ndarray as nd
from ... import random as mx_random
from ...base import MXNetError
from ._worker_mode import enter_worker

_ALIGN = 64
_POLL_S = 0.2
_FREE = ".free"


class _ShmArray:
    """Where one array of a batch lies: byte offset, shape and dtype inside the batch's file."""
    __slots__ = ("offset", "shape", "dtype")

    def __init__(self, offset, shape, dtype):
        self.offset, self.shape, self.dtype = offset, shape, dtype


def _flatten(batch, arrays):
    """Replaces each numpy array in a (nested list/tuple) batch by an _ShmArray placeholder;
    arrays collects (offset, array); an NDArray (a user batchify_fn's) goes as its numpy copy.
    Anything else travels pickled."""
    if isinstance(batch, (list, tuple)):
        return type(batch)(_flatten(b, arrays) for b in batch)
    if isinstance(batch, nd.NDArray):
        batch = batch.asnumpy()
    if isinstance(batch, np.ndarray):
        arr = np.ascontiguousarray(batch)
        offset = arrays[-1][0] + -(-arrays[-1][1].nbytes // _ALIGN) * _ALIGN if arrays else 0
        arrays.append((offset, arr))
        return _ShmArray(offset, arr.shape, arr.dtype.str)
    return batch


def _take_free_file(shm_dir, path):
    """Renames one of this worker's freed files to path; False when there is none."""
    mine = str(os.getpid()) + "-"
    for name in os.listdir(shm_dir):
        if name.startswith(mine) and name.endswith(_FREE):
            try:
                os.rename(os.path.join(shm_dir, name), path)
                return True
            except OSError:
                continue
    return False


def write_shm(shm_dir, name, batch):
    """Writes the arrays of batch into shm_dir/name; returns (path, layout)."""
    arrays = []
    layout = _flatten(batch, arrays)
    path = os.path.join(shm_dir, name)
    _take_free_file(shm_dir, path)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        for offset, arr in arrays:
            if arr.nbytes:
                os.pwrite(fd, memoryview(arr.reshape(-1)).cast("B"), offset)
    finally:
        os.close(fd)
    return path, layout


def free_shm(path):
    """Hands a batch's file back to its worker for reuse."""
    try:
        os.rename(path, path + _FREE)
    except OSError:
        pass


def read_shm(path, layout, wrap):
    """Rebuilds a batch from its file: every placeholder becomes wrap(numpy view), which must copy;
    then frees the file."""
    size = os.path.getsize(path)
    buf = np.memmap(path, dtype=np.uint8, mode="r") if size else np.zeros(0, np.uint8)

    def build(item):
        if isinstance(item, (list, tuple)):
            return type(item)(build(b) for b in item)
        if isinstance(item, _ShmArray):
            dtype = np.dtype(item.dtype)
            count = int(np.prod(item.shape, dtype=np.int64))
            return wrap(np.frombuffer(buf, dtype, count, item.offset).reshape(item.shape))
        return item

    try:
        return build(layout)
    finally:
        free_shm(path)


def _worker_loop(dataset, batchify_fn, tasks, results, shm_dir, seed):
    enter_worker()
    # a forked child starts with the parent's RNG states: give every worker its own streams
    np.random.seed(seed)
    random.seed(seed)
    mx_random.seed(seed)  # mx works in workers too: their mx.nd.random draws differ likewise
    parent = os.getppid()
    while True:
        try:
            task = tasks.get(timeout=1.0)
        except queue.Empty:
            if os.getppid() != parent:  # the parent was killed: nobody will read or free our files
                shutil.rmtree(shm_dir, ignore_errors=True)
                return
            continue
        if task is None:
            return
        key, indices = task
        try:
            batch = batchify_fn([dataset[i] for i in indices])
            path, layout = write_shm(shm_dir, "%d-%d-%d" % (os.getpid(), key[0], key[1]), batch)
            # pickled here, not in the queue's feeder thread, which would drop what fails to pickle
            reply = pickle.dumps((key, path, layout, None))
        except BaseException as e:  # pylint: disable=broad-except
            reply = pickle.dumps((key, None, None, _error_info(e)))
        results.put(reply)


def _error_info(e):
    """(type, message, traceback text, pid) of the exception e, all picklable: a type that isn't
    (a class defined inside a function) becomes MXNetError with the type's name in the message."""
    try:
        pickle.dumps(type(e))
        etype, message = type(e), str(e)
    except Exception:  # pylint: disable=broad-except
        etype, message = MXNetError, "%s: %s" % (type(e).__name__, e)
    return etype, message, traceback.format_exc(), os.getpid()


def _shutdown(workers, tasks, shm_dir):
    for _ in workers:
        try:
            tasks.put(None)
        except (OSError, ValueError):
            pass
    deadline = time.monotonic() + 2.0
    for w in workers:
        w.join(max(0.0, deadline - time.monotonic()))
        if w.is_alive():
            w.terminate()
            w.join(1.0)
    shutil.rmtree(shm_dir, ignore_errors=True)


class WorkerPool:
    """num_workers forked processes sharing one task queue and one result queue."""

    def __init__(self, dataset, batchify_fn, num_workers):
        ctx = multiprocessing.get_context("fork")
        base = "/dev/shm" if os.path.isdir("/dev/shm") else None
        self.shm_dir = tempfile.mkdtemp(prefix="mx-dataloader-", dir=base)
        self.tasks, self.results = ctx.Queue(), ctx.Queue()
        base_seed = int(np.random.randint(0, 2**31 - num_workers))  # np.random.seed makes it repeatable
        self.workers = [ctx.Process(target=_worker_loop, daemon=True,
                                    args=(dataset, batchify_fn, self.tasks, self.results, self.shm_dir,
                                          base_seed + i))
                        for i in range(num_workers)]
        for w in self.workers:
            w.start()
        self.done = {}  # results that arrived for any iterator, by (iterator id, batch index)
        self.abandoned = set()  # iterators whose late results are freed on arrival
        self.broken = None
        self._finalizer = weakref.finalize(self, _shutdown, self.workers, self.tasks, self.shm_dir)

    def submit(self, key, indices):
        self.tasks.put((key, indices))

    def fetch(self, key, timeout):
        """The (path, layout, error) of batch key; raises MXNetError on a dead worker or timeout."""
        deadline = time.monotonic() + timeout
        while key not in self.done:
            if self.broken:
                raise MXNetError(self.broken)
            try:
                got = pickle.loads(self.results.get(timeout=_POLL_S))
                self.done[got[0]] = got[1:]
                if got[0][0] in self.abandoned:
                    self.discard(got[0][0])
                continue
            except queue.Empty:
                pass
            dead = [w for w in self.workers if w.exitcode is not None]
            if dead:
                self.broken = ("DataLoader worker (pid %d) exited unexpectedly with exit code %s"
                               % (dead[0].pid, dead[0].exitcode))
                self.close()
                raise MXNetError(self.broken)
            if time.monotonic() > deadline:
                self.broken = "DataLoader timed out after %gs waiting for batch %d from its workers" % (
                    timeout, key[1])
                self.close()
                raise MXNetError(self.broken)
        return self.done.pop(key)

    def discard(self, iter_id):
        """Forgets (and frees) the results that an abandoned iterator will never take."""
        self.abandoned.add(iter_id)
        for key in [k for k in self.done if k[0] == iter_id]:
            path = self.done.pop(key)[0]
            if path:
                free_shm(path)

    def close(self):
        self._finalizer()
