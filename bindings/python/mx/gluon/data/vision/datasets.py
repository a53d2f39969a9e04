"""Image datasets read from local files (MXNet 1.9.1's gluon.data.vision.datasets; nothing is
downloaded: a missing file is an error that names it)."""
import gzip
import io
import os
import struct

import numpy as np

from .... import recordio
from ..dataset import Dataset, RecordFileDataset, _as_sample

__all__ = ["MNIST", "FashionMNIST", "CIFAR10", "CIFAR100", "ImageRecordDataset", "ImageFolderDataset"]


def _missing(path, what):
    return FileNotFoundError("%s: no such file (%s; nothing is downloaded)" % (path, what))


def imdecode(source, flag=1):
    """Decodes an encoded image (bytes) or an image file (path) to an HxWx3 RGB (flag=1) or HxWx1
    gray (flag=0) uint8 numpy array, as mx.image.imdecode / imread do in MXNet."""
    from PIL import Image
    try:
        im = Image.open(io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source)
        im.load()
    except Exception as e:  # PIL raises several types for a bad image
        name = source if isinstance(source, str) else "%d bytes" % len(source)
        raise ValueError("cannot decode the image %s: %s" % (name, e)) from None
    if flag == 0:
        return np.asarray(im.convert("L"))[:, :, None]
    return np.asarray(im.convert("RGB"))


class _LabelledImages(Dataset):
    """Images in memory (N x H x W x C uint8 numpy) with labels; transform(data, label)."""

    def __init__(self, transform):
        self._transform = transform
        self._data = self._label = None

    def __getitem__(self, idx):
        data, label = _as_sample(self._data[idx]), self._label[idx]
        if self._transform is not None:
            return self._transform(data, label)
        return data, label

    def __len__(self):
        return len(self._label)


class MNIST(_LabelledImages):
    """MNIST handwritten digits from the idx files in root (train-images-idx3-ubyte.gz, ...; the
    uncompressed names work too). Samples are (28x28x1 uint8 NDArray, int32 label)."""
    _files = {True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
              False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}

    def __init__(self, root="/usr/share/datasets/mnist", train=True, transform=None):
        super().__init__(transform)
        self._root = os.path.expanduser(root)
        self._train = train
        images, labels = (self._find(name) for name in self._files[bool(train)])
        self._label = self._read_idx(labels, 1).astype(np.int32)
        data = self._read_idx(images, 3)
        if len(data) != len(self._label):
            raise ValueError("%s has %d images but %s has %d labels" % (images, len(data), labels, len(self._label)))
        self._data = data[:, :, :, None]

    def _find(self, name):
        for path in (os.path.join(self._root, name + ".gz"), os.path.join(self._root, name)):
            if os.path.isfile(path):
                return path
        raise _missing(os.path.join(self._root, name + ".gz"), "%s needs it" % type(self).__name__)

    @staticmethod
    def _read_idx(path, ndim):
        with (gzip.open if path.endswith(".gz") else open)(path, "rb") as f:
            raw = f.read()
        if len(raw) < 4 + 4 * ndim:
            raise ValueError("%s: truncated idx file (%d bytes)" % (path, len(raw)))
        magic = struct.unpack(">I", raw[:4])[0]
        if magic != 0x800 + ndim:
            raise ValueError("%s: not an idx%d-ubyte file (magic 0x%x)" % (path, ndim, magic))
        shape = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
        count = int(np.prod(shape))
        body = np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim)
        if body.size != count:
            raise ValueError("%s: header says %s bytes of data, file has %d" % (path, shape, body.size))
        return body.reshape(shape)


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST (same format as MNIST); default root is Debian's
    dataset-fashion-mnist."""

    def __init__(self, root="/usr/share/datasets/fashion-mnist", train=True, transform=None):
        super().__init__(root, train, transform)


class CIFAR10(_LabelledImages):
    """CIFAR-10 from its binary batches (data_batch_1..5.bin, test_batch.bin) in root or in
    root/cifar-10-batches-bin. Samples are (32x32x3 uint8 NDArray, int32 label)."""
    _subdir, _label_bytes = "cifar-10-batches-bin", 1

    def __init__(self, root="~/.mxnet/datasets/cifar10", train=True, transform=None):
        super().__init__(transform)
        self._root = os.path.expanduser(root)
        self._train = train
        parts = [self._read_batch(self._find(name)) for name in self._names(train)]
        self._data = np.concatenate([p[0] for p in parts])
        self._label = np.concatenate([p[1] for p in parts])

    @staticmethod
    def _names(train):
        return ["data_batch_%d.bin" % i for i in range(1, 6)] if train else ["test_batch.bin"]

    def _find(self, name):
        for path in (os.path.join(self._root, self._subdir, name), os.path.join(self._root, name)):
            if os.path.isfile(path):
                return path
        raise _missing(os.path.join(self._root, self._subdir, name), "%s needs it" % type(self).__name__)

    def _label_of(self, records):
        return records[:, 0]

    def _read_batch(self, path):
        record = 3072 + self._label_bytes
        raw = np.fromfile(path, dtype=np.uint8)
        if raw.size % record:
            raise ValueError("%s: %d bytes is not a whole number of %d-byte CIFAR records"
                             % (path, raw.size, record))
        records = raw.reshape(-1, record)
        images = records[:, self._label_bytes:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        return np.ascontiguousarray(images), self._label_of(records).astype(np.int32)


class CIFAR100(CIFAR10):
    """CIFAR-100 from train.bin / test.bin in root or root/cifar-100-binary; fine_label picks the
    100 fine classes instead of the 20 coarse ones."""
    _subdir, _label_bytes = "cifar-100-binary", 2

    def __init__(self, root="~/.mxnet/datasets/cifar100", fine_label=False, train=True, transform=None):
        self._fine_label = fine_label
        super().__init__(root, train, transform)

    @staticmethod
    def _names(train):
        return ["train.bin" if train else "test.bin"]

    def _label_of(self, records):
        return records[:, 1 if self._fine_label else 0]


class ImageRecordDataset(RecordFileDataset):
    """Images packed in a RecordIO file (im2rec / recordio.pack_img): samples are
    (HxWx3 RGB, or HxWx1 with flag=0, uint8 NDArray, label); transform(data, label)."""

    def __init__(self, filename, flag=1, transform=None):
        super().__init__(filename)
        self._flag = flag
        self._transform = transform

    def __getitem__(self, idx):
        header, body = recordio.unpack(super().__getitem__(idx))
        img = _as_sample(imdecode(body, self._flag))
        if self._transform is not None:
            return self._transform(img, header.label)
        return img, header.label


class ImageFolderDataset(Dataset):
    """Images in root/<class name>/<file>: the label is the index of the class folder in sorted
    order (self.synsets); self.items lists (path, label)."""

    def __init__(self, root, flag=1, transform=None):
        self._root = os.path.expanduser(root)
        if not os.path.isdir(self._root):
            raise FileNotFoundError("%s: no such folder (ImageFolderDataset)" % self._root)
        self._flag = flag
        self._transform = transform
        self._exts = [".jpg", ".jpeg", ".png"]
        self.synsets, self.items = [], []
        for folder in sorted(os.listdir(self._root)):
            path = os.path.join(self._root, folder)
            if not os.path.isdir(path):
                continue
            label = len(self.synsets)
            self.synsets.append(folder)
            for name in sorted(os.listdir(path)):
                if os.path.splitext(name)[1].lower() in self._exts:
                    self.items.append((os.path.join(path, name), label))

    def __getitem__(self, idx):
        path, label = self.items[idx]
        img = _as_sample(imdecode(path, self._flag))
        if self._transform is not None:
            return self._transform(img, label)
        return img, label

    def __len__(self):
        return len(self.items)
