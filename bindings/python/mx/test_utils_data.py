"""mx.test_utils' data sets, read from local files only (mx never downloads): MNIST in its idx .gz
format (Fashion-MNIST has the same format and file names) and CIFAR-10's RecordIO files."""
import gzip
import os
import struct

import numpy as np

MNIST_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
               "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"


def _read_idx_labels(path):
    with gzip.open(path, "rb") as f:
        magic, count = struct.unpack(">II", f.read(8))
        if magic != 2049:
            raise ValueError("get_mnist: %s is not an idx label file (magic %d)" % (path, magic))
        return np.frombuffer(f.read(count), dtype=np.uint8).astype(np.int8)


def _read_idx_images(path):
    with gzip.open(path, "rb") as f:
        magic, count, rows, cols = struct.unpack(">IIII", f.read(16))
        if magic != 2051:
            raise ValueError("get_mnist: %s is not an idx image file (magic %d)" % (path, magic))
        pixels = np.frombuffer(f.read(count * rows * cols), dtype=np.uint8)
    # MXNet's layout: N x 1 x rows x cols float32 in [0, 1].
    return pixels.reshape(count, 1, rows, cols).astype(np.float32) / 255


def get_mnist(path=None):
    """MNIST as MXNet's dict {train_data, train_label, test_data, test_label} from the four idx .gz
    files in path (default: $MX_DATA_DIR, else Fashion-MNIST in /usr/share/datasets/fashion-mnist)."""
    if path is None:
        candidates = [d for d in (os.environ.get("MX_DATA_DIR"), FASHION_MNIST_DIR) if d]
    else:
        candidates = [path]
    path = next((d for d in candidates if all(os.path.isfile(os.path.join(d, f)) for f in MNIST_FILES)), None)
    if path is None:
        raise FileNotFoundError("get_mnist: no MNIST data set in %s: looked for %s (mx reads local files only; "
                                "put the four files in one of these directories)"
                                % (" or ".join(repr(d) for d in candidates), ", ".join(MNIST_FILES)))
    files = [os.path.join(path, f) for f in MNIST_FILES]
    return {"train_data": _read_idx_images(files[0]), "train_label": _read_idx_labels(files[1]),
            "test_data": _read_idx_images(files[2]), "test_label": _read_idx_labels(files[3])}


def get_cifar10(path="data"):
    """Checks that CIFAR-10's RecordIO files path/cifar/train.rec and test.rec are there, as MXNet's
    get_cifar10 leaves them (it downloads; mx does not)."""
    wanted = [os.path.join(path, "cifar", name) for name in ("train.rec", "test.rec")]
    missing = [w for w in wanted if not os.path.isfile(w)]
    if missing:
        raise FileNotFoundError("get_cifar10: no CIFAR-10 data set in %r: missing %s (mx reads local files only)"
                                % (path, ", ".join(missing)))
