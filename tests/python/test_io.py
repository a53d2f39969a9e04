"""mx.io through Python: NDArrayIter's last-batch rules against a naive batching, and the C
iterators against independent reads of the same files (gzip + numpy, numpy.loadtxt, Pillow)."""
import gzip
import os

import numpy as np
import pytest

import mx

FASHION = "/usr/share/datasets/fashion-mnist"


def batches(it):
    return [(b.data[0].asnumpy(), b.label[0].asnumpy() if b.label else None, b.pad) for b in it]


def test_ndarrayiter_pad_discard_roll_over():
    n, bs = 10, 4
    x = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
    y = np.arange(n, dtype=np.float32)

    pad = batches(mx.io.NDArrayIter(x, y, batch_size=bs, last_batch_handle="pad"))
    assert [p for _, _, p in pad] == [0, 0, 2]
    # The last batch is samples 8, 9 then the first two of the epoch as padding.
    np.testing.assert_array_equal(pad[2][1], [8, 9, 0, 1])
    np.testing.assert_array_equal(np.concatenate([d for d, _, _ in pad])[:n], x)

    discard = batches(mx.io.NDArrayIter(x, y, batch_size=bs, last_batch_handle="discard"))
    assert len(discard) == 2
    np.testing.assert_array_equal(np.concatenate([l for _, l, _ in discard]), y[:8])

    it = mx.io.NDArrayIter(x, y, batch_size=bs, last_batch_handle="roll_over")
    first = batches(it)
    assert [list(l) for _, l, _ in first] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    it.reset()
    second = batches(it)
    # MXNet: the two samples left over open the next epoch, which then covers all ten.
    assert [list(l) for _, l, _ in second] == [[8, 9, 0, 1], [2, 3, 4, 5], [6, 7, 8, 9]]
    assert all(p == 0 for _, _, p in second)


def test_ndarrayiter_shuffle_dict_and_provide():
    n = 12
    x = np.random.rand(n, 3).astype(np.float32)
    it = mx.io.NDArrayIter({"a": x, "b": x * 2}, {"lab": np.arange(n)}, batch_size=5, shuffle=True)
    assert [d.name for d in it.provide_data] == ["a", "b"]
    assert it.provide_data[0].shape == (5, 3) and it.provide_label[0].shape == (5,)
    seen = []
    for b in it:
        a, b2, lab = b.data[0].asnumpy(), b.data[1].asnumpy(), b.label[0].asnumpy().astype(int)
        np.testing.assert_allclose(b2, a * 2)
        np.testing.assert_array_equal(a, x[lab])  # data and label stay paired through the shuffle
        seen.extend(lab[:len(lab) - b.pad])
    assert sorted(seen) == list(range(n))
    with pytest.raises(ValueError, match="samples"):
        mx.io.NDArrayIter(x, np.arange(n + 1), batch_size=4)


def read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = np.frombuffer(raw[4:4 + 4 * ndim], dtype=">u4")
    return np.frombuffer(raw[4 + 4 * ndim:], dtype=np.uint8).reshape(dims)


@pytest.mark.skipif(not os.path.isdir(FASHION), reason="Debian's dataset-fashion-mnist is not installed")
def test_mnistiter_matches_files():
    images = read_idx(os.path.join(FASHION, "t10k-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(FASHION, "t10k-labels-idx1-ubyte.gz"))
    it = mx.io.MNISTIter(image=os.path.join(FASHION, "t10k-images-idx3-ubyte.gz"),
                         label=os.path.join(FASHION, "t10k-labels-idx1-ubyte.gz"), batch_size=100, shuffle=False,
                         silent=True)
    assert it.provide_data[0].shape == (100, 1, 28, 28) and it.provide_label[0].shape == (100,)
    got = batches(it)
    assert len(got) == 100
    data = np.concatenate([d for d, _, _ in got])
    np.testing.assert_array_equal(np.concatenate([l for _, l, _ in got]), labels)
    np.testing.assert_allclose(data[:, 0], images / 256.0, atol=1e-7)
    it.reset()
    assert len(batches(it)) == 100  # a second epoch after reset


def test_csviter_matches_loadtxt(tmp_path):
    x = np.round(np.random.rand(7, 6) * 100, 3).astype(np.float32)
    y = np.arange(7, dtype=np.float32)
    np.savetxt(tmp_path / "x.csv", x, delimiter=",", fmt="%.3f")
    np.savetxt(tmp_path / "y.csv", y, delimiter=",", fmt="%.1f")
    it = mx.io.CSVIter(data_csv=str(tmp_path / "x.csv"), data_shape=(2, 3), label_csv=str(tmp_path / "y.csv"),
                       label_shape=(1,), batch_size=3)
    got = batches(it)
    assert [p for _, _, p in got] == [0, 0, 2]
    data = np.concatenate([d for d, _, _ in got])[:7]
    np.testing.assert_allclose(data.reshape(7, 6), np.loadtxt(tmp_path / "x.csv", delimiter=","), rtol=1e-6)
    with pytest.raises(mx.MXNetError, match="nope.csv"):
        mx.io.CSVIter(data_csv=str(tmp_path / "nope.csv"), data_shape=(6,), batch_size=2)


def test_imagerecorditer_reads_png_records_exactly(tmp_path):
    rng = np.random.RandomState(0)
    images = [rng.randint(0, 256, size=(8, 10, 3), dtype=np.uint8) for _ in range(5)]
    rec = mx.recordio.MXIndexedRecordIO(str(tmp_path / "d.idx"), str(tmp_path / "d.rec"), "w")
    for i, img in enumerate(images):
        rec.write_idx(i, mx.recordio.pack_img(mx.recordio.IRHeader(0, float(i), i, 0), img, img_fmt=".png"))
    rec.close()
    it = mx.io.ImageRecordIter(path_imgrec=str(tmp_path / "d.rec"), data_shape=(3, 8, 10), batch_size=5)
    batch = next(iter(it))
    data, label = batch.data[0].asnumpy(), batch.label[0].asnumpy()
    np.testing.assert_array_equal(label, np.arange(5))
    for i, img in enumerate(images):
        # pack_img takes BGR (OpenCV's order); the iterator yields RGB planes, as MXNet's does.
        np.testing.assert_array_equal(data[i], img[:, :, ::-1].transpose(2, 0, 1).astype(np.float32))
