"""Samplers: iterables of dataset indices (MXNet 1.9.1's gluon.data.sampler)."""
import numpy as np

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "FilterSampler", "BatchSampler",
           "IntervalSampler"]


class Sampler:
    """Base class for samplers: iterating yields indices (or, for BatchSampler, lists of them)."""

    def __iter__(self):
        raise NotImplementedError

    def __len__(self):
        raise NotImplementedError


def _check_count(name, value, minimum=0):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError("%s must be an integer >= %d, got %r" % (name, minimum, value))
    return int(value)


class SequentialSampler(Sampler):
    """Samples start, start+1, ..., start+length-1 in order."""

    def __init__(self, length, start=0):
        self._length = _check_count("SequentialSampler: length", length)
        self._start = _check_count("SequentialSampler: start", start)

    def __iter__(self):
        return iter(range(self._start, self._start + self._length))

    def __len__(self):
        return self._length


class RandomSampler(Sampler):
    """Samples 0 .. length-1 in a new random order (numpy's global RNG) on every pass."""

    def __init__(self, length):
        self._length = _check_count("RandomSampler: length", length)

    def __iter__(self):
        indices = np.arange(self._length)
        np.random.shuffle(indices)
        return iter(indices.tolist())

    def __len__(self):
        return self._length


class FilterSampler(Sampler):
    """Samples the indices i of dataset for which fn(dataset[i]) is true (evaluated once, here)."""

    def __init__(self, fn, dataset):
        self._indices = [i for i, sample in enumerate(dataset) if fn(sample)]

    def __iter__(self):
        return iter(self._indices)

    def __len__(self):
        return len(self._indices)


class BatchSampler(Sampler):
    """Groups the indices of sampler into lists of batch_size.

    last_batch says what happens to a last batch shorter than batch_size: 'keep' yields it,
    'discard' drops it, 'rollover' keeps its indices and puts them first in the next pass.
    """

    def __init__(self, sampler, batch_size, last_batch="keep"):
        if last_batch not in ("keep", "discard", "rollover"):
            raise ValueError("BatchSampler: last_batch must be 'keep', 'discard' or 'rollover', not %r"
                             % (last_batch,))
        self._sampler = sampler
        self._batch_size = _check_count("BatchSampler: batch_size", batch_size, 1)
        self._last_batch = last_batch
        self._prev = []

    def __iter__(self):
        batch, self._prev = self._prev, []
        for i in self._sampler:
            batch.append(i)
            if len(batch) == self._batch_size:
                yield batch
                batch = []
        if batch:
            if self._last_batch == "keep":
                yield batch
            elif self._last_batch == "rollover":
                self._prev = batch

    def __len__(self):
        n, size = len(self._sampler), self._batch_size
        if self._last_batch == "keep":
            return (n + size - 1) // size
        if self._last_batch == "discard":
            return n // size
        return (len(self._prev) + n) // size


class IntervalSampler(Sampler):
    """Samples 0, interval, 2*interval, ... then (rollover=True) 1, 1+interval, ... and so on."""

    def __init__(self, length, interval, rollover=True):
        self._length = _check_count("IntervalSampler: length", length)
        self._interval = _check_count("IntervalSampler: interval", interval, 1)
        if self._interval >= max(self._length, 1):
            raise ValueError("IntervalSampler: interval %d must be smaller than length %d"
                             % (self._interval, self._length))
        self._rollover = rollover

    def __iter__(self):
        for i in range(self._interval if self._rollover else 1):
            yield from range(i, self._length, self._interval)

    def __len__(self):
        if self._rollover:
            return self._length
        return (self._length + self._interval - 1) // self._interval
