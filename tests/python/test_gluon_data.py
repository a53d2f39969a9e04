"""gluon.data: samplers, datasets and DataLoader (in-process, threads, worker processes) checked
against hand-written index lists and numpy."""
import os
import signal
import time

import numpy as np
import pytest

import mx
from mx.gluon.data import (ArrayDataset, BatchSampler, DataLoader, FilterSampler, IntervalSampler,
                           RandomSampler, RecordFileDataset, SequentialSampler, SimpleDataset,
                           default_batchify_fn)
from mx.gluon.data.vision import ImageRecordDataset


# ---------------------------------------------------------------- samplers

def test_sequential_and_random_sampler():
    assert list(SequentialSampler(5)) == [0, 1, 2, 3, 4]
    assert list(SequentialSampler(3, start=4)) == [4, 5, 6] and len(SequentialSampler(3, 4)) == 3
    first, second = list(RandomSampler(20)), list(RandomSampler(20))
    assert sorted(first) == list(range(20)) and sorted(second) == list(range(20))
    assert first != list(range(20)) or second != list(range(20))
    with pytest.raises(ValueError, match="length"):
        SequentialSampler(-1)


def test_batch_sampler_last_batch_modes():
    seq = SequentialSampler(10)
    keep = BatchSampler(seq, 3, "keep")
    assert list(keep) == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]] and len(keep) == 4
    discard = BatchSampler(seq, 3, "discard")
    assert list(discard) == [[0, 1, 2], [3, 4, 5], [6, 7, 8]] and len(discard) == 3
    roll = BatchSampler(seq, 3, "rollover")
    assert list(roll) == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    assert len(roll) == 3  # (1 left over + 10) // 3
    assert list(roll) == [[9, 0, 1], [2, 3, 4], [5, 6, 7]]  # the leftover 9 comes first
    assert list(roll) == [[8, 9, 0], [1, 2, 3], [4, 5, 6], [7, 8, 9]]
    with pytest.raises(ValueError, match="last_batch"):
        BatchSampler(seq, 3, "bogus")
    with pytest.raises(ValueError, match="batch_size"):
        BatchSampler(seq, 0)


def test_interval_and_filter_sampler():
    assert list(IntervalSampler(10, 3)) == [0, 3, 6, 9, 1, 4, 7, 2, 5, 8]
    assert len(IntervalSampler(10, 3)) == 10
    no_roll = IntervalSampler(10, 3, rollover=False)
    assert list(no_roll) == [0, 3, 6, 9] and len(no_roll) == 4
    with pytest.raises(ValueError, match="interval 5 must be smaller than length 5"):
        IntervalSampler(5, 5)
    fs = FilterSampler(lambda x: x % 3 == 0, list(range(10)))
    assert list(fs) == [0, 3, 6, 9] and len(fs) == 4


# ---------------------------------------------------------------- datasets

def test_dataset_views():
    ds = SimpleDataset(list(range(10)))
    assert [ds.shard(3, i)[j] for i in range(3) for j in range(len(ds.shard(3, i)))] == list(range(10))
    assert [len(ds.shard(3, i)) for i in range(3)] == [4, 3, 3]
    assert list(ds.shard(3, 1)) == [4, 5, 6]
    assert list(ds.take(4)) == [0, 1, 2, 3] and len(ds.take(None)) == 10 and len(ds.take(99)) == 10
    assert list(ds.filter(lambda x: x > 6)) == [7, 8, 9]
    assert list(ds.sample([9, 0, 5])) == [9, 0, 5]
    lazy = ds.transform(lambda x: x * 2)
    assert [lazy[i] for i in range(10)] == [2 * i for i in range(10)]
    eager = ds.transform(lambda x: x + 1, lazy=False)
    assert type(eager).__name__ == "SimpleDataset" and eager[9] == 10
    with pytest.raises(ValueError, match="index"):
        ds.shard(2, 2)
    pairs = SimpleDataset([(1, "a"), (2, "b")])
    assert pairs.transform(lambda x, y: (y, x))[1] == ("b", 2)
    assert pairs.transform_first(lambda x: -x)[1] == (-2, "b")
    assert SimpleDataset([5, 6]).transform_first(lambda x: -x)[0] == -5


def test_array_dataset():
    a = np.arange(12, dtype=np.float32).reshape(4, 3)
    b = mx.nd.array(np.arange(8).reshape(4, 2) + 100)
    c = mx.nd.array([7, 8, 9, 10])
    ds = ArrayDataset(a, b, c, [0, 1, 2, 3])
    assert len(ds) == 4
    x, y, z, w = ds[2]
    np.testing.assert_array_equal(x, a[2])
    assert isinstance(y, mx.nd.NDArray) and y.asnumpy().tolist() == [104, 105]
    assert float(z) == 9 and w == 2  # a 1-d NDArray gives scalars, as MXNet's
    single = ArrayDataset(a)
    np.testing.assert_array_equal(single[3], a[3])
    with pytest.raises(ValueError, match="array 0 has length 4 but array 1 has length 3"):
        ArrayDataset(a, np.zeros(3))


def _write_images(tmp_path, images, fmt=".png"):
    rec, idx = str(tmp_path / "imgs.rec"), str(tmp_path / "imgs.idx")
    with mx.recordio.MXIndexedRecordIO(idx, rec, "w") as w:
        for i, img in enumerate(images):
            w.write_idx(i, mx.recordio.pack_img(mx.recordio.IRHeader(0, float(i % 3), i, 0), img, img_fmt=fmt))
    return rec


def test_record_file_and_image_record_dataset(tmp_path):
    rec, idx = str(tmp_path / "raw.rec"), str(tmp_path / "raw.idx")
    with mx.recordio.MXIndexedRecordIO(idx, rec, "w") as w:
        for i in range(5):
            w.write_idx(i, b"record-%d" % i * (i + 1))
    ds = RecordFileDataset(rec)
    assert len(ds) == 5 and ds[3] == b"record-3" * 4
    with pytest.raises(FileNotFoundError, match="nope.idx"):
        RecordFileDataset(str(tmp_path / "nope.rec"))

    rng = np.random.RandomState(0)
    bgr = [rng.randint(0, 256, (4 + i, 5, 3)).astype(np.uint8) for i in range(6)]
    images = ImageRecordDataset(_write_images(tmp_path, bgr))
    assert len(images) == 6
    img, label = images[4]
    assert isinstance(img, mx.nd.NDArray) and img.dtype == np.uint8
    np.testing.assert_array_equal(img.asnumpy(), bgr[4][:, :, ::-1])  # packed as BGR, read as RGB
    assert label == 1.0
    gray, _ = ImageRecordDataset(_write_images(tmp_path, bgr), flag=0)[0]
    assert gray.shape == (4, 5, 1)
    # the workers reopen the record file after fork and decode in numpy
    loader = DataLoader(images.transform_first(lambda im: im[:4]), batch_size=2, num_workers=2)
    got = [b for b in loader]
    for i, (data, labels) in enumerate(got):
        np.testing.assert_array_equal(data.asnumpy(), np.stack([bgr[2 * i][:4, :, ::-1], bgr[2 * i + 1][:4, :, ::-1]]))
        np.testing.assert_array_equal(labels.asnumpy(), [(2 * i) % 3, (2 * i + 1) % 3])


# ---------------------------------------------------------------- DataLoader

X = np.arange(23 * 3, dtype=np.float32).reshape(23, 3)
Y = np.arange(23, dtype=np.int32) * 10


def _check_epoch(loader, expect_order=None):
    xs, ys = [], []
    for data, label in loader:
        assert isinstance(data, mx.nd.NDArray) and isinstance(label, mx.nd.NDArray)
        xs.append(data.asnumpy())
        ys.append(label.asnumpy())
    x, y = np.concatenate(xs), np.concatenate(ys)
    assert y.dtype == np.int32 and x.dtype == np.float32
    np.testing.assert_array_equal(x, X[y // 10])  # every row stays with its label
    assert sorted((y // 10).tolist()) == list(range(23))  # each sample exactly once
    if expect_order is not None:
        np.testing.assert_array_equal(y // 10, expect_order)
    return [len(b) for b in ys]


@pytest.mark.parametrize("num_workers,thread_pool", [(0, False), (2, False), (2, True)])
def test_dataloader_yields_the_dataset(num_workers, thread_pool):
    ds = ArrayDataset(X, Y)
    loader = DataLoader(ds, batch_size=5, num_workers=num_workers, thread_pool=thread_pool)
    assert len(loader) == 5
    assert _check_epoch(loader, np.arange(23)) == [5, 5, 5, 5, 3]
    assert _check_epoch(loader, np.arange(23)) == [5, 5, 5, 5, 3]  # a second pass
    shuffled = DataLoader(ds, batch_size=4, shuffle=True, num_workers=num_workers, thread_pool=thread_pool)
    for _ in range(2):
        _check_epoch(shuffled)


def test_dataloader_last_batch_and_batchify():
    ds = ArrayDataset(X, Y)
    assert _check_epoch_sizes(DataLoader(ds, batch_size=5, last_batch="discard", num_workers=2)) == [5, 5, 5, 5]
    roll = DataLoader(ds, batch_size=5, last_batch="rollover", num_workers=2)
    first = [b[1].asnumpy() // 10 for b in roll]
    second = [b[1].asnumpy() // 10 for b in roll]
    assert [len(b) for b in first] == [5] * 4
    np.testing.assert_array_equal(second[0], [20, 21, 22, 0, 1])

    def pad_batchify(samples):  # numpy only: it also runs in the worker processes
        data = np.zeros((len(samples), 4), np.float32)
        for i, (x, _) in enumerate(samples):
            data[i, :3] = x
        return data, np.array([y for _, y in samples], np.int64)

    explicit = list(DataLoader(ds, batch_size=12, batchify_fn=default_batchify_fn, num_workers=2))
    np.testing.assert_array_equal(explicit[1][0].asnumpy(), X[12:])  # numpy in the workers, NDArray here

    for workers in (0, 2):
        data, label = next(iter(DataLoader(ds, batch_size=3, batchify_fn=pad_batchify, num_workers=workers)))
        assert isinstance(data, mx.nd.NDArray) or workers == 0
        data = data.asnumpy() if isinstance(data, mx.nd.NDArray) else data
        np.testing.assert_array_equal(data, np.hstack([X[:3], np.zeros((3, 1), np.float32)]))
        label = label.asnumpy() if isinstance(label, mx.nd.NDArray) else label
        np.testing.assert_array_equal(label, Y[:3])


def _check_epoch_sizes(loader):
    return [len(b[0]) for b in loader]


def test_dataloader_bad_arguments():
    ds = ArrayDataset(X)
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(ds)
    with pytest.raises(ValueError, match="shuffle"):
        DataLoader(ds, batch_size=2, shuffle=True, sampler=SequentialSampler(23))
    with pytest.raises(ValueError, match="batch_sampler"):
        DataLoader(ds, batch_size=2, batch_sampler=BatchSampler(SequentialSampler(23), 2))
    with pytest.raises(ValueError, match="num_workers"):
        DataLoader(ds, batch_size=2, num_workers=-1)
    loader = DataLoader(ds, batch_sampler=BatchSampler(SequentialSampler(23), 10, "discard"))
    assert len(loader) == 2 and [b.shape for b in loader] == [(10, 3), (10, 3)]


class _Failing(SimpleDataset):
    def __getitem__(self, idx):
        if idx == 13:
            raise KeyError("sample 13 is cursed")
        return np.float32(idx)


class _Sleepy(SimpleDataset):
    def __getitem__(self, idx):
        if idx >= 4:
            time.sleep(20)
        return np.float32(idx)


def test_worker_exception_is_reraised_with_its_traceback():
    loader = DataLoader(_Failing(list(range(20))), batch_size=4, num_workers=2)
    seen = []
    with pytest.raises(KeyError) as err:
        for batch in loader:
            seen.append(batch.asnumpy())
    assert len(seen) == 3  # batches 0-2 came in order before batch 3 failed
    text = str(err.value)
    assert "sample 13 is cursed" in text and "Traceback" in text and "__getitem__" in text
    assert "batch 3" in text
    assert len(list(DataLoader(_Failing(list(range(12))), batch_size=4, num_workers=2))) == 3  # pool still works


def test_dead_worker_and_timeout_are_errors_not_hangs():
    loader = DataLoader(_Sleepy(list(range(12))), batch_size=4, num_workers=2)
    it = iter(loader)
    np.testing.assert_array_equal(next(it).asnumpy(), [0, 1, 2, 3])
    for w in loader._pool.workers:
        os.kill(w.pid, signal.SIGKILL)
    start = time.monotonic()
    with pytest.raises(mx.MXNetError, match="exited unexpectedly with exit code -9"):
        next(it)
    assert time.monotonic() - start < 10
    # the next pass starts new workers
    np.testing.assert_array_equal(next(iter(loader)).asnumpy(), [0, 1, 2, 3])

    slow = DataLoader(_Sleepy(list(range(12))), batch_size=4, num_workers=1, timeout=3)
    it = iter(slow)
    next(it)
    start = time.monotonic()
    with pytest.raises(mx.MXNetError, match="timed out after 3s"):
        next(it)
    assert time.monotonic() - start < 10


def test_mx_inside_a_worker_works_and_workers_shut_down():
    class UsesNd(SimpleDataset):
        def __getitem__(self, idx):
            return mx.nd.ones((2,)) * idx

    # the engine restarts its threads in a forked worker (engine fork handlers), so mx works there
    loader = DataLoader(UsesNd(list(range(4))), batch_size=2, num_workers=1, timeout=30)
    np.testing.assert_array_equal(np.concatenate([b.asnumpy() for b in loader]), [[0, 0], [1, 1], [2, 2], [3, 3]])
    # ... and in threads
    threaded = DataLoader(UsesNd(list(range(4))), batch_size=2, num_workers=2, thread_pool=True)
    np.testing.assert_array_equal(np.concatenate([b.asnumpy() for b in threaded]), [[0, 0], [1, 1], [2, 2], [3, 3]])

    workers, shm_dir = loader._pool.workers, loader._pool.shm_dir
    assert os.path.isdir(shm_dir)
    del loader
    deadline = time.monotonic() + 5
    while any(w.is_alive() for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(w.is_alive() for w in workers)
    assert not os.path.exists(shm_dir)


def test_abandoned_iteration_frees_its_batches():
    loader = DataLoader(ArrayDataset(X, Y), batch_size=2, num_workers=2)  # 12 batches, prefetch 4
    it = iter(loader)
    next(it)
    del it  # 4 more batches were in flight: they are freed when they arrive
    for _ in range(4):
        _check_epoch(loader, np.arange(23))
    files = os.listdir(loader._pool.shm_dir)
    # a slow worker may still be writing an abandoned batch; everything else was handed back ...
    assert sum(not f.endswith(".free") for f in files) <= 4, files
    assert len(files) <= 16  # ... and reused: 49 batches went through far fewer files


def test_workers_draw_different_random_numbers():
    class Noise(SimpleDataset):
        def __getitem__(self, idx):
            return np.random.rand(4)

    np.random.seed(7)
    first = np.concatenate([b.asnumpy() for b in DataLoader(Noise(list(range(8))), batch_size=1, num_workers=2)])
    assert len({row.tobytes() for row in first}) == 8  # no two workers repeat one stream
    def one_worker_epoch():
        np.random.seed(7)
        return np.concatenate([b.asnumpy() for b in DataLoader(Noise(list(range(4))), batch_size=1, num_workers=1)])

    np.testing.assert_array_equal(one_worker_epoch(), one_worker_epoch())  # seeded from the parent's RNG


def test_unpicklable_results_are_errors_not_timeouts():
    class LocalError(Exception):  # defined in a function: its class cannot be pickled
        pass

    class Raises(SimpleDataset):
        def __getitem__(self, idx):
            raise LocalError("local failure %d" % idx)

    start = time.monotonic()
    with pytest.raises(mx.MXNetError, match="LocalError: local failure 0"):
        list(DataLoader(Raises([0, 1]), batch_size=2, num_workers=1))
    with pytest.raises(Exception, match="pickle"):  # a batch holding a lambda cannot cross processes
        list(DataLoader(SimpleDataset([0, 1]), batch_size=2, num_workers=1, batchify_fn=lambda s: (lambda: s)))
    assert time.monotonic() - start < 10


def test_workers_exit_when_their_parent_is_killed(tmp_path):
    script = tmp_path / "parent.py"
    script.write_text(
        "import sys, time, numpy as np\n"
        "sys.path.insert(0, %r)\n"
        "from mx.gluon.data import ArrayDataset, DataLoader\n"
        "dl = DataLoader(ArrayDataset(np.zeros((40, 8), np.float32)), batch_size=4, num_workers=2)\n"
        "it = iter(dl); next(it)\n"
        "print(' '.join(str(w.pid) for w in dl._pool.workers), dl._pool.shm_dir, flush=True)\n"
        "time.sleep(60)\n" % os.path.join(os.path.dirname(mx.__file__), ".."))
    import subprocess
    import sys
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    *pids, shm_dir = proc.stdout.readline().split()
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 10
    alive = lambda pid: os.path.exists("/proc/%s" % pid) and "zombie" not in open("/proc/%s/status" % pid).read()
    while (any(alive(p) for p in pids) or os.path.exists(shm_dir)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(alive(p) for p in pids) and not os.path.exists(shm_dir)
