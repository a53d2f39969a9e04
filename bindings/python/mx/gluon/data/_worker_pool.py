"""Worker processes for DataLoader: forked workers build batches as numpy arrays and hand them
back through shared memory (one file per batch under /dev/shm), so only a few bytes of metadata
are pickled. The parent copies each array once into an NDArray and removes the file."""
import multiprocessing
import os
import queue
import shutil
import tempfile
import time
import traceback
import weakref

import numpy as np

from ...base import MXNetError
from ._worker_mode import enter_worker

_ALIGN = 64
_POLL_S = 0.2


class _ShmArray:
    """Where one array of a batch lies: byte offset, shape and dtype inside the batch's file."""
    __slots__ = ("offset", "shape", "dtype")

    def __init__(self, offset, shape, dtype):
        self.offset, self.shape, self.dtype = offset, shape, dtype


def _flatten(batch, arrays):
    """Replaces each numpy array in a (nested list/tuple) batch by an _ShmArray placeholder."""
    if isinstance(batch, (list, tuple)):
        return type(batch)(_flatten(b, arrays) for b in batch)
    if isinstance(batch, np.ndarray) or isinstance(batch, np.generic):
        arr = np.ascontiguousarray(batch)
        offset = sum(-(-a.nbytes // _ALIGN) * _ALIGN for a in arrays)
        arrays.append(arr)
        return _ShmArray(offset, arr.shape, arr.dtype.str)
    return batch


def _write_shm(path, batch):
    arrays = []
    layout = _flatten(batch, arrays)
    with open(path, "wb") as f:
        for arr in arrays:
            f.write(arr.tobytes())  # memoryview of a contiguous array: no pickling
            pad = -arr.nbytes % _ALIGN
            if pad:
                f.write(b"\0" * pad)
    return layout


def read_shm(path, layout, wrap):
    """Rebuilds a batch from its file: every placeholder becomes wrap(numpy view); removes path."""
    size = os.path.getsize(path)
    buf = np.memmap(path, dtype=np.uint8, mode="r") if size else np.zeros(0, np.uint8)

    def build(item):
        if isinstance(item, (list, tuple)):
            return type(item)(build(b) for b in item)
        if isinstance(item, _ShmArray):
            dtype = np.dtype(item.dtype)
            count = int(np.prod(item.shape, dtype=np.int64))
            view = np.frombuffer(buf, dtype, count, item.offset).reshape(item.shape)
            return wrap(view)
        return item

    try:
        return build(layout)
    finally:
        del buf
        os.unlink(path)


def _worker_loop(dataset, batchify_fn, tasks, results, shm_dir):
    enter_worker()
    while True:
        task = tasks.get()
        if task is None:
            return
        key, indices = task
        try:
            batch = batchify_fn([dataset[i] for i in indices])
            path = os.path.join(shm_dir, "%d-%d-%d" % (os.getpid(), key[0], key[1]))
            results.put((key, path, _write_shm(path, batch), None))
        except BaseException as e:  # pylint: disable=broad-except
            results.put((key, None, None, (type(e), str(e), traceback.format_exc(), os.getpid())))


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
        self.workers = [ctx.Process(target=_worker_loop, daemon=True,
                                    args=(dataset, batchify_fn, self.tasks, self.results, self.shm_dir))
                        for _ in range(num_workers)]
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
                got = self.results.get(timeout=_POLL_S)
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
                try:
                    os.unlink(path)
                except OSError:
                    pass

    def close(self):
        self._finalizer()
