"""gluon.data.vision: datasets read against the files parsed here with numpy/gzip, transforms
against numpy and Pillow."""
import gzip
import os
import struct

import numpy as np
import pytest
from PIL import Image

import mx
from mx.gluon.data import ArrayDataset, DataLoader
from mx.gluon.data.vision import CIFAR10, CIFAR100, MNIST, FashionMNIST, ImageFolderDataset
from mx.gluon.data.vision import transforms as T

FASHION = "/usr/share/datasets/fashion-mnist"


def _idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    shape = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    return np.frombuffer(raw[4 + 4 * ndim:], np.uint8).reshape(shape)


@pytest.mark.skipif(not os.path.isdir(FASHION), reason="Debian's dataset-fashion-mnist is not installed")
def test_fashion_mnist_matches_the_idx_files():
    train, test = FashionMNIST(train=True), FashionMNIST(train=False)
    assert len(train) == 60000 and len(test) == 10000
    images, labels = _idx(FASHION + "/t10k-images-idx3-ubyte.gz"), _idx(FASHION + "/t10k-labels-idx1-ubyte.gz")
    for i in (0, 9999):
        img, label = test[i]
        assert isinstance(img, mx.nd.NDArray) and img.shape == (28, 28, 1) and img.dtype == np.uint8
        np.testing.assert_array_equal(img.asnumpy()[:, :, 0], images[i])
        assert label == labels[i] and isinstance(label, np.int32)
    first = _idx(FASHION + "/train-labels-idx1-ubyte.gz")[0]
    assert train[0][1] == first
    tensor, label = test.transform_first(T.ToTensor())[0]
    assert tensor.shape == (1, 28, 28) and label == labels[0]


def test_missing_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte.gz"):
        MNIST(root=str(tmp_path))
    with pytest.raises(FileNotFoundError, match="data_batch_1.bin"):
        CIFAR10(root=str(tmp_path))
    with pytest.raises(FileNotFoundError, match="no such folder"):
        ImageFolderDataset(str(tmp_path / "absent"))


def test_mnist_uncompressed_idx(tmp_path):
    imgs = np.random.RandomState(1).randint(0, 256, (3, 28, 28)).astype(np.uint8)
    with open(tmp_path / "t10k-images-idx3-ubyte", "wb") as f:
        f.write(struct.pack(">IIII", 0x803, 3, 28, 28) + imgs.tobytes())
    with open(tmp_path / "t10k-labels-idx1-ubyte", "wb") as f:
        f.write(struct.pack(">II", 0x801, 3) + bytes([4, 0, 7]))
    ds = MNIST(root=str(tmp_path), train=False)
    assert len(ds) == 3 and ds[2][1] == 7
    np.testing.assert_array_equal(ds[1][0].asnumpy()[:, :, 0], imgs[1])


def _cifar_records(rng, n, label_bytes):
    labels = rng.randint(0, 10, (n, label_bytes)).astype(np.uint8)
    pixels = rng.randint(0, 256, (n, 3072)).astype(np.uint8)
    return np.hstack([labels, pixels]), labels, pixels


def test_cifar10_and_cifar100_binary_batches(tmp_path):
    rng = np.random.RandomState(0)
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    expected = []
    for i in range(1, 6):
        rec, labels, pixels = _cifar_records(rng, 2, 1)
        rec.tofile(folder / ("data_batch_%d.bin" % i))
        expected += [(p, l[0]) for p, l in zip(pixels, labels)]
    rec, _, _ = _cifar_records(rng, 3, 1)
    rec.tofile(folder / "test_batch.bin")
    train = CIFAR10(root=str(tmp_path), train=True)
    assert len(train) == 10 and len(CIFAR10(root=str(tmp_path), train=False)) == 3
    for i in (0, 7):
        img, label = train[i]
        assert img.shape == (32, 32, 3) and img.dtype == np.uint8
        # a record is 1024 red, 1024 green, then 1024 blue bytes, row by row
        np.testing.assert_array_equal(img.asnumpy()[5, 9], expected[i][0][[5 * 32 + 9, 1024 + 5 * 32 + 9, 2048 + 5 * 32 + 9]])
        assert label == expected[i][1] and isinstance(label, np.int32)

    rec, labels, pixels = _cifar_records(rng, 4, 2)
    rec.tofile(tmp_path / "test.bin")
    coarse, fine = CIFAR100(root=str(tmp_path), train=False), CIFAR100(root=str(tmp_path), fine_label=True, train=False)
    assert [coarse[i][1] for i in range(4)] == labels[:, 0].tolist()
    assert [fine[i][1] for i in range(4)] == labels[:, 1].tolist()
    np.testing.assert_array_equal(fine[3][0].asnumpy()[:, :, 2].ravel(), pixels[3, 2048:])

    (tmp_path / "bad").mkdir()
    np.zeros(3000, np.uint8).tofile(tmp_path / "bad" / "test_batch.bin")
    with pytest.raises(ValueError, match="3000 bytes is not a whole number of 3073-byte"):
        CIFAR10(root=str(tmp_path / "bad"), train=False)


def test_image_folder_dataset(tmp_path):
    rng = np.random.RandomState(2)
    imgs = {}
    for cls in ("cat", "dog"):
        (tmp_path / cls).mkdir()
        for j in range(2):
            imgs[(cls, j)] = rng.randint(0, 256, (6, 4, 3)).astype(np.uint8)
            Image.fromarray(imgs[(cls, j)]).save(tmp_path / cls / ("%d.png" % j))
    (tmp_path / "dog" / "notes.txt").write_text("not an image")
    ds = ImageFolderDataset(str(tmp_path), transform=lambda x, y: (x.astype("float32"), y))
    assert ds.synsets == ["cat", "dog"] and len(ds) == 4
    img, label = ds[3]
    assert label == 1 and img.dtype == np.float32
    np.testing.assert_array_equal(img.asnumpy(), imgs[("dog", 1)])


# ---------------------------------------------------------------- transforms

RNG = np.random.RandomState(3)
IMG = RNG.randint(0, 256, (6, 8, 3)).astype(np.uint8)
BATCH = RNG.randint(0, 256, (2, 6, 8, 3)).astype(np.uint8)


@pytest.mark.parametrize("hybridize", [False, True])
def test_to_tensor_and_normalize(hybridize):
    to_tensor, norm = T.ToTensor(), T.Normalize((0.5, 0.4, 0.3), (0.2, 0.25, 0.5))
    if hybridize:
        to_tensor.hybridize()
        norm.hybridize()
    mean, std = np.array([0.5, 0.4, 0.3]).reshape(3, 1, 1), np.array([0.2, 0.25, 0.5]).reshape(3, 1, 1)
    for src in (IMG, BATCH):
        ref = np.moveaxis(src.astype(np.float64) / 255, -1, -3)
        out = to_tensor(mx.nd.array(src, dtype="uint8"))
        assert out.dtype == np.float32 and out.shape == ref.shape
        np.testing.assert_allclose(out.asnumpy(), ref, rtol=1e-6)
        np.testing.assert_allclose(norm(out).asnumpy(), (ref - mean) / std, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(to_tensor(src), ref, rtol=1e-6)  # the numpy path
        np.testing.assert_allclose(norm(to_tensor(src)), (ref - mean) / std, rtol=1e-5, atol=1e-6)
    scalar = T.Normalize(0.5, 2.0)(mx.nd.array(np.ones((1, 2, 2))))
    np.testing.assert_allclose(scalar.asnumpy(), np.full((1, 2, 2), 0.25))
    with pytest.raises(ValueError, match="3 mean/std values but the input of shape \\(2, 2, 2\\) has 2 channels"):
        T.Normalize((0, 0, 0), (1, 1, 1))(mx.nd.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="3-d .* got shape \\(8, 3\\)"):
        T.ToTensor()(mx.nd.zeros((8, 3)))


def test_cast_and_compose():
    out = T.Cast("float16")(mx.nd.array(IMG, dtype="uint8"))
    assert out.dtype == np.float16
    np.testing.assert_array_equal(out.asnumpy(), IMG.astype(np.float16))
    pipeline = T.Compose([T.Resize((4, 3), interpolation=0), T.ToTensor(), T.Normalize(0.5, 0.5)])
    # nearest (Pillow's rule): output pixel i takes the source pixel under its centre, (i + 0.5) * in / out
    rows, cols = ((np.arange(3) + 0.5) * 6 / 3).astype(int), ((np.arange(4) + 0.5) * 8 / 4).astype(int)
    ref = (np.moveaxis(IMG[rows][:, cols], -1, 0) / 255.0 - 0.5) / 0.5
    np.testing.assert_allclose(pipeline(mx.nd.array(IMG, dtype="uint8")).asnumpy(), ref, rtol=1e-5, atol=1e-6)


def test_hybrid_compose_and_random_apply():
    pipe = T.HybridCompose([T.ToTensor(), T.Normalize((0.5, 0.4, 0.3), (0.2, 0.25, 0.5))])
    ref = (np.moveaxis(IMG / 255.0, -1, 0) - np.array([0.5, 0.4, 0.3]).reshape(3, 1, 1)) / np.array([0.2, 0.25, 0.5]).reshape(3, 1, 1)
    np.testing.assert_allclose(pipe(mx.nd.array(IMG, dtype="uint8")).asnumpy(), ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(pipe(IMG), ref, rtol=1e-5, atol=1e-6)
    pipe.hybridize()
    np.testing.assert_allclose(pipe(mx.nd.array(IMG, dtype="uint8")).asnumpy(), ref, rtol=1e-5, atol=1e-6)
    with pytest.raises(TypeError, match="transform 1"):
        T.HybridCompose([T.ToTensor(), T.Resize(3)])
    negate = T.RandomApply(lambda x: -x, p=0.5)
    outs = {float(negate(np.float32(1))) for _ in range(40)}
    assert outs == {1.0, -1.0}
    assert float(T.RandomApply(lambda x: -x, p=0.0)(np.float32(1))) == 1.0


@pytest.mark.parametrize("cls,flip", [(T.RandomFlipLeftRight, lambda a: a[..., ::-1, :]),
                                      (T.RandomFlipTopBottom, lambda a: a[..., ::-1, :, :])])
def test_random_flips(cls, flip):
    for hybridize in (False, True):
        block = cls()
        if hybridize:
            block.hybridize()
        seen = set()
        for _ in range(30):
            out = block(mx.nd.array(IMG, dtype="uint8")).asnumpy()
            assert out.dtype == np.uint8
            if np.array_equal(out, IMG):
                seen.add("same")
            else:
                np.testing.assert_array_equal(out, flip(IMG))
                seen.add("flipped")
        assert seen == {"same", "flipped"}
    outs = {cls()(IMG).tobytes() for _ in range(30)}
    assert outs == {IMG.tobytes(), np.ascontiguousarray(flip(IMG)).tobytes()}


def test_resize_and_crops():
    x = mx.nd.array(IMG, dtype="uint8")
    ref = np.asarray(Image.fromarray(IMG).resize((5, 3), Image.BILINEAR))
    np.testing.assert_array_equal(T.Resize((5, 3))(x).asnumpy(), ref)
    up = T.Resize(16, interpolation=0)(mx.nd.array(IMG[:4, :4], dtype="uint8")).asnumpy()
    np.testing.assert_array_equal(up, np.repeat(np.repeat(IMG[:4, :4], 4, 0), 4, 1))
    assert T.Resize(3, keep_ratio=True)(x).shape == (3, 4, 3)  # the shorter side (6) becomes 3
    assert T.Resize(4)(mx.nd.array(BATCH, dtype="uint8")).shape == (2, 4, 4, 3)
    floats = T.Resize((4, 3), interpolation=0)(IMG.astype(np.float32))
    assert floats.dtype == np.float32 and floats.shape == (3, 4, 3)
    np.testing.assert_array_equal(T.CenterCrop((4, 2))(x).asnumpy(), IMG[2:4, 2:6])
    np.testing.assert_array_equal(T.CenterCrop(3)(IMG), IMG[1:4, 2:5])
    assert T.CenterCrop(10)(x).shape == (10, 10, 3)  # too small: crop 6x6 and resize up
    for _ in range(5):
        assert T.RandomResizedCrop((5, 4))(x).shape == (4, 5, 3)
    # the whole image at its own aspect ratio: only a resize is left
    whole = T.RandomResizedCrop((4, 3), scale=(1.0, 1.0), ratio=(8 / 6, 8 / 6), interpolation=0)(IMG)
    rows, cols = ((np.arange(3) + 0.5) * 2).astype(int), ((np.arange(4) + 0.5) * 2).astype(int)
    np.testing.assert_array_equal(whole, IMG[rows][:, cols])
    with pytest.raises(ValueError, match="size"):
        T.Resize((0, 3))


def test_random_crop_with_padding():
    padded = np.pad(IMG, ((2, 2), (2, 2), (0, 0)), constant_values=7)  # 10 x 12
    offsets = set()
    for _ in range(40):
        out = T.RandomCrop((8, 6), pad=2, pad_value=7)(mx.nd.array(IMG, dtype="uint8")).asnumpy()
        assert out.shape == (6, 8, 3)
        found = [(dy, dx) for dy in range(5) for dx in range(5) if np.array_equal(out, padded[dy:dy + 6, dx:dx + 8])]
        assert found, "the crop is no window of the padded image"
        offsets.update(found)
    assert len(offsets) > 5
    np.testing.assert_array_equal(T.RandomCrop((8, 6))(IMG), IMG)  # nothing to choose


def test_transforms_run_in_worker_processes():
    labels = np.arange(7, dtype=np.int32)
    images = RNG.randint(0, 256, (7, 6, 8, 3)).astype(np.uint8)
    pipeline = T.Compose([T.CenterCrop(4), T.ToTensor(), T.Normalize((0.5, 0.5, 0.5), (0.1, 0.2, 0.4))])
    ds = ArrayDataset(mx.nd.array(images, dtype="uint8"), labels).transform_first(pipeline)
    std = np.array([0.1, 0.2, 0.4]).reshape(3, 1, 1)
    ref = (np.moveaxis(images[:, 1:5, 2:6].astype(np.float64) / 255, -1, 1) - 0.5) / std
    for workers in (0, 2):
        batches = list(DataLoader(ds, batch_size=3, num_workers=workers))
        data = np.concatenate([b[0].asnumpy() for b in batches])
        np.testing.assert_allclose(data, ref, rtol=1e-5, atol=1e-5)
        np.testing.assert_array_equal(np.concatenate([b[1].asnumpy() for b in batches]), labels)


@pytest.mark.parametrize("hybridize", [False, True])
def test_random_brightness_and_contrast(hybridize):
    img = np.array([[[10, 100, 250], [40, 0, 200]], [[255, 30, 60], [90, 120, 5]]], np.uint8)  # 2x2x3

    def alpha_after(seed, low, high):  # the factor the block draws after mx.random.seed(seed)
        mx.random.seed(seed)
        return float(mx.nd.random.uniform(low=low, high=high, shape=(1,)).asnumpy()[0])

    def contrast_ref(src, alpha):
        f = src.astype(np.float64)
        gray = (0.299 * f[..., 0] + 0.587 * f[..., 1] + 0.114 * f[..., 2]).mean()
        return alpha * f + (1 - alpha) * gray

    for cls, amount, ref in ((T.RandomBrightness, 0.6, lambda s, a: s.astype(np.float64) * a),
                             (T.RandomContrast, 0.8, contrast_ref)):
        block = cls(amount)
        if hybridize:
            block.hybridize()
        for seed in (1, 2, 3):
            alpha = alpha_after(seed, 1 - amount, 1 + amount)
            mx.random.seed(seed)
            out = block(mx.nd.array(img, dtype="uint8")).asnumpy()
            assert out.dtype == np.uint8
            expect = np.clip(ref(img, alpha), 0, 255)
            assert np.all(np.abs(out - expect) <= 1.0 + 1e-3), (cls.__name__, alpha, out, expect)
            mx.random.seed(seed)
            flt = block(mx.nd.array(img / 255.0, dtype="float32")).asnumpy()  # floats: no clipping
            assert flt.dtype == np.float32
            np.testing.assert_allclose(flt, ref(img / 255.0, alpha), rtol=1e-4, atol=1e-5)
        np.random.seed(4)  # alpha > 1.5: saturates
        alpha = np.random.uniform(1 - amount, 1 + amount)
        np.random.seed(4)  # alpha > 1.5: saturates
        out = block(img)  # the numpy path (worker processes)
        assert out.dtype == np.uint8 and np.all(np.abs(out - np.clip(ref(img, alpha), 0, 255)) <= 1.0 + 1e-3)
    with pytest.raises(ValueError, match="HxWx3"):
        T.RandomContrast(0.5)(mx.nd.zeros((2, 2, 1)))
