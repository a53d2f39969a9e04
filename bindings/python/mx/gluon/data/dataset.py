"""Datasets: random access to samples (MXNet 1.9.1's gluon.data.dataset)."""
import os

import numpy as np

from ... import ndarray as nd
from ... import recordio
from ._worker_mode import in_worker
from .sampler import FilterSampler, SequentialSampler

__all__ = ["Dataset", "SimpleDataset", "ArrayDataset", "RecordFileDataset"]


def _as_sample(array):
    """An array-valued sample as the caller expects it: NDArray, or numpy inside a worker."""
    if in_worker() or not isinstance(array, np.ndarray):
        return array
    return nd.array(array, dtype=array.dtype)


class Dataset:
    """Abstract dataset: subclasses implement __getitem__(idx) and __len__()."""

    def __getitem__(self, idx):
        raise NotImplementedError

    def __len__(self):
        raise NotImplementedError

    def filter(self, fn):
        """A dataset of the samples for which fn(sample) is true."""
        return _SampledDataset(self, FilterSampler(fn, self))

    def shard(self, num_shards, index):
        """The index-th of num_shards contiguous parts; the first len % num_shards get one more."""
        if not 0 < num_shards or not 0 <= index < num_shards:
            raise ValueError("Dataset.shard: need 0 <= index < num_shards, got index=%r num_shards=%r"
                             % (index, num_shards))
        length = len(self)
        shard_len, rest = divmod(length, num_shards)
        start = shard_len * index + min(index, rest)
        return _SampledDataset(self, SequentialSampler(shard_len + (index < rest), start))

    def take(self, count):
        """The first count samples (all of them when count is None or larger than the dataset)."""
        if count is None or count > len(self):
            count = len(self)
        return _SampledDataset(self, SequentialSampler(count))

    def sample(self, sampler):
        """The samples at the indices sampler yields, in that order."""
        return _SampledDataset(self, sampler)

    def transform(self, fn, lazy=True):
        """A dataset whose samples are fn(sample) (fn(*sample) when a sample is a tuple).

        lazy=False applies fn to every sample now and keeps the results in memory."""
        trans = _LazyTransformDataset(self, fn)
        if lazy:
            return trans
        return SimpleDataset([trans[i] for i in range(len(trans))])

    def transform_first(self, fn, lazy=True):
        """Like transform, but fn applies only to the first element of each sample (the data)."""
        return self.transform(_TransformFirstClosure(fn), lazy)


class SimpleDataset(Dataset):
    """A dataset over any object with __getitem__ and __len__ (a list, a numpy array, ...)."""

    def __init__(self, data):
        self._data = data

    def __len__(self):
        return len(self._data)

    def __getitem__(self, idx):
        return self._data[idx]


class _LazyTransformDataset(Dataset):
    def __init__(self, data, fn):
        self._data = data
        self._fn = fn

    def __len__(self):
        return len(self._data)

    def __getitem__(self, idx):
        item = self._data[idx]
        if isinstance(item, tuple):
            return self._fn(*item)
        return self._fn(item)


class _TransformFirstClosure:
    """fn on the first element only; a class (not a lambda) so that it pickles."""

    def __init__(self, fn):
        self._fn = fn

    def __call__(self, x, *args):
        if args:
            return (self._fn(x),) + args
        return self._fn(x)


class _SampledDataset(Dataset):
    def __init__(self, dataset, sampler):
        self._dataset = dataset
        self._indices = list(sampler)

    def __len__(self):
        return len(self._indices)

    def __getitem__(self, idx):
        return self._dataset[self._indices[idx]]


class ArrayDataset(Dataset):
    """Zips arrays of equal length: sample i is (a[i], b[i], ...), or a[i] for a single array.

    Arrays may be numpy arrays, NDArrays or sequences. NDArrays are kept as numpy (so worker
    processes can read them) and a row of one comes back as an NDArray, a scalar as numpy."""

    def __init__(self, *args):
        if not args:
            raise ValueError("ArrayDataset needs at least one array")
        self._length = len(args[0])
        self._data, self._was_nd = [], []
        for i, data in enumerate(args):
            if len(data) != self._length:
                raise ValueError("ArrayDataset: all arrays must have the same length; array 0 has "
                                 "length %d but array %d has length %d" % (self._length, i, len(data)))
            is_nd = isinstance(data, nd.NDArray)
            self._data.append(data.asnumpy() if is_nd else data)
            self._was_nd.append(is_nd)

    def _row(self, k, idx):
        item = self._data[k][idx]
        if self._was_nd[k] and isinstance(item, np.ndarray) and item.ndim > 0:
            return _as_sample(item)
        return item

    def __getitem__(self, idx):
        if len(self._data) == 1:
            return self._row(0, idx)
        return tuple(self._row(k, idx) for k in range(len(self._data)))

    def __len__(self):
        return self._length


class RecordFileDataset(Dataset):
    """The raw records (bytes) of a RecordIO file, read through its index (filename's .idx)."""

    def __init__(self, filename):
        self.filename = str(filename)
        self.idx_file = os.path.splitext(self.filename)[0] + ".idx"
        for path in (self.filename, self.idx_file):
            if not os.path.isfile(path):
                raise FileNotFoundError("%s: no such file (RecordFileDataset needs %s and its index %s)"
                                        % (path, self.filename, self.idx_file))
        self._open()

    def _open(self):
        self._record = recordio.MXIndexedRecordIO(self.idx_file, self.filename, "r")
        self._pid = os.getpid()

    def __getitem__(self, idx):
        if self._pid != os.getpid():  # a forked worker must not share the parent's file offset
            self._open()
        return self._record.read_idx(self._record.keys[idx])

    def __len__(self):
        return len(self._record.keys)
