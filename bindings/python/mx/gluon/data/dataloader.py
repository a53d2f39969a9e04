"""DataLoader: mini-batches from a Dataset, built in this process, in threads or in worker
processes (MXNet 1.9.1's gluon.data.DataLoader)."""
import concurrent.futures
import itertools

import numpy as np

from ... import context
from ... import ndarray as nd
from ...base import MXNetError
from .sampler import BatchSampler, RandomSampler, SequentialSampler
from ._worker_mode import in_worker
from ._worker_pool import WorkerPool, read_shm

__all__ = ["DataLoader", "default_batchify_fn", "default_mp_batchify_fn"]


def default_batchify_fn(data):
    """Stacks a list of samples into a batch: NDArrays with nd.stack, numbers and numpy arrays
    into one NDArray of their dtype; tuple samples give a list with one batch per element.
    In a worker process it is default_mp_batchify_fn (numpy; NDArrays are made in the parent)."""
    if in_worker():
        return default_mp_batchify_fn(data)
    if isinstance(data[0], nd.NDArray):
        return nd.stack(*data)
    if isinstance(data[0], tuple):
        return [default_batchify_fn(list(field)) for field in zip(*data)]
    data = np.asarray(data)
    return nd.array(data, dtype=data.dtype)


def default_mp_batchify_fn(data):
    """default_batchify_fn for worker processes: the same batch as numpy arrays (the parent turns
    them into NDArrays after they cross shared memory). Samples may be NDArrays: a worker's
    dataset or transform may call mx."""
    if isinstance(data[0], tuple):
        return [default_mp_batchify_fn(list(field)) for field in zip(*data)]
    if isinstance(data[0], (np.ndarray, nd.NDArray)):
        return np.stack([d.asnumpy() if isinstance(d, nd.NDArray) else np.asarray(d) for d in data])
    return np.asarray(data)


def _to_nd(batch):
    """numpy arrays anywhere in a (nested list/tuple) batch become NDArrays (one copy)."""
    if isinstance(batch, (list, tuple)):
        return type(batch)(_to_nd(b) for b in batch)
    if isinstance(batch, np.ndarray):
        return nd.array(batch, dtype=batch.dtype)
    return batch


def _pin(batch, device_id):
    if isinstance(batch, nd.NDArray):
        return batch.as_in_context(context.cpu_pinned(device_id))
    if isinstance(batch, (list, tuple)):
        return type(batch)(_pin(b, device_id) for b in batch)
    return batch


class DataLoader:
    """Loads batches from dataset.

    batch_size, shuffle, sampler and last_batch ('keep', 'discard', 'rollover') build a
    BatchSampler unless batch_sampler is given. batchify_fn turns a list of samples into a batch
    (default: default_batchify_fn, or default_mp_batchify_fn in worker processes).
    num_workers > 0 loads batches in that many forked processes (thread_pool=True: threads),
    at most prefetch (default 2 * num_workers) batches ahead; batches come back in order. Inside a
    worker process the dataset, transforms and batchify_fn see numpy arrays and must not call mx;
    numpy arrays in the batch they return become NDArrays here. A worker that raises makes the
    iteration raise the same exception type with the worker's traceback in the message; a worker
    that dies, or no batch for timeout seconds, raises MXNetError.
    """

    def __init__(self, dataset, batch_size=None, shuffle=False, sampler=None, last_batch=None,
                 batch_sampler=None, batchify_fn=None, num_workers=0, pin_memory=False,
                 pin_device_id=0, prefetch=None, thread_pool=False, timeout=120):
        self._dataset = dataset
        if batch_sampler is None:
            if batch_size is None:
                raise ValueError("DataLoader: batch_size must be specified unless batch_sampler is")
            if sampler is None:
                sampler = RandomSampler(len(dataset)) if shuffle else SequentialSampler(len(dataset))
            elif shuffle:
                raise ValueError("DataLoader: shuffle must not be specified if sampler is")
            batch_sampler = BatchSampler(sampler, batch_size, last_batch if last_batch else "keep")
        elif batch_size is not None or shuffle or sampler is not None or last_batch is not None:
            raise ValueError("DataLoader: batch_size, shuffle, sampler and last_batch must not be "
                             "specified if batch_sampler is specified")
        if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError("DataLoader: num_workers must be an integer >= 0, got %r" % (num_workers,))
        if not timeout or timeout <= 0:
            raise ValueError("DataLoader: timeout must be a positive number of seconds, got %r" % (timeout,))
        self._batch_sampler = batch_sampler
        self._num_workers = num_workers
        self._thread_pool = thread_pool
        self._pin_memory, self._pin_device_id = pin_memory, pin_device_id
        self._timeout = timeout
        self._prefetch = max(1, int(prefetch) if prefetch is not None else 2 * num_workers)
        self._mp = num_workers > 0 and not thread_pool
        if batchify_fn is None:
            batchify_fn = default_mp_batchify_fn if self._mp else default_batchify_fn
        self._batchify_fn = batchify_fn
        self._pool = None
        if num_workers > 0:
            self._pool = self._make_pool()

    def _make_pool(self):
        if self._thread_pool:
            return concurrent.futures.ThreadPoolExecutor(self._num_workers)
        return WorkerPool(self._dataset, self._batchify_fn, self._num_workers)

    def _load(self, indices):
        return self._batchify_fn([self._dataset[i] for i in indices])

    def __iter__(self):
        if self._num_workers == 0:
            return self._same_process_iter()
        if self._mp and self._pool.broken:  # a worker died last time: start afresh
            self._pool = self._make_pool()
        if self._thread_pool:
            return self._thread_iter()
        return _MultiWorkerIter(self._pool, iter(self._batch_sampler), len(self), self._prefetch,
                                self._timeout, self._finish)

    def _finish(self, batch):
        return _pin(batch, self._pin_device_id) if self._pin_memory else batch

    def _same_process_iter(self):
        for indices in self._batch_sampler:
            yield self._finish(self._load(indices))

    def _thread_iter(self):
        pending = []
        batches = iter(self._batch_sampler)
        for indices in itertools.islice(batches, self._prefetch):
            pending.append(self._pool.submit(self._load, indices))
        while pending:
            future = pending.pop(0)
            for indices in itertools.islice(batches, 1):
                pending.append(self._pool.submit(self._load, indices))
            try:
                batch = future.result(timeout=self._timeout)
            except concurrent.futures.TimeoutError:
                raise MXNetError("DataLoader timed out after %gs waiting for a batch from its threads"
                                 % self._timeout) from None
            yield self._finish(_to_nd(batch))

    def __len__(self):
        return len(self._batch_sampler)

    def __del__(self):
        pool = getattr(self, "_pool", None)
        if pool is not None:
            if isinstance(pool, WorkerPool):
                pool.close()
            else:
                pool.shutdown(wait=False)


class _MultiWorkerIter:
    """Hands out batches in order while the workers build up to prefetch batches ahead."""
    _ids = itertools.count()

    def __init__(self, pool, batches, length, prefetch, timeout, finish):
        self._pool, self._batches, self._len = pool, batches, length
        self._timeout, self._finish = timeout, finish
        self._id = next(self._ids)
        self._sent = self._taken = 0
        for _ in range(prefetch):
            self._push_next()

    def _push_next(self):
        indices = next(self._batches, None)
        if indices is None:
            return
        self._pool.submit((self._id, self._sent), indices)
        self._sent += 1

    def __len__(self):
        return self._len

    def __iter__(self):
        return self

    def __next__(self):
        self._push_next()
        if self._taken == self._sent:
            raise StopIteration
        key = (self._id, self._taken)
        self._taken += 1
        path, layout, error = self._pool.fetch(key, self._timeout)
        if error is not None:
            raise _worker_error(key[1], *error)
        return self._finish(read_shm(path, layout, lambda a: nd.array(a, dtype=a.dtype)))

    def __del__(self):
        if getattr(self, "_taken", 0) < getattr(self, "_sent", 0):
            self._pool.discard(self._id)


def _worker_error(batch, etype, message, text, pid):
    """The worker's exception, rebuilt here with its traceback in the message."""
    full = "%s\n\nDataLoader worker (pid %d) raised it while loading batch %d:\n%s" % (
        message, pid, batch, text)
    try:
        return etype(full)
    except Exception:  # pylint: disable=broad-except  (a type whose constructor wants more)
        return MXNetError("%s: %s" % (etype.__name__, full))
