#!/usr/bin/python3
"""The reference for run-test.sh: the test accuracy Python computes for a checkpoint, printed with
4 decimals. The images go through mx.mod.Module.predict; the labels are read from the idx file here
with numpy, so the count does not depend on mx's iterator for them.

    MX_LIBRARY_PATH=PREFIX/lib /usr/bin/python3 python_accuracy.py PREFIX EPOCH [DATA_DIR]
"""
import gzip
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bindings", "python"))

import numpy as np  # noqa: E402

import mx  # noqa: E402


def main(prefix, epoch, data_dir="/usr/share/datasets/fashion-mnist"):
    images = os.path.join(data_dir, "t10k-images-idx3-ubyte.gz")
    label_file = os.path.join(data_dir, "t10k-labels-idx1-ubyte.gz")
    with gzip.open(label_file) as f:
        labels = np.frombuffer(f.read(), dtype=np.uint8, offset=8)
    # Batches of 100 divide the 10000 test images: none is padded or dropped.
    test = mx.io.MNISTIter(image=images, label=label_file, batch_size=100, shuffle=False, silent=True)
    mod = mx.mod.Module.load(prefix, int(epoch))
    mod.bind(test.provide_data, for_training=False)
    classes = mod.predict(test).asnumpy().argmax(axis=1)
    assert classes.shape == labels.shape, (classes.shape, labels.shape)
    print("%.4f" % (classes == labels).mean())


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit("usage: python_accuracy.py PREFIX EPOCH [DATA_DIR]")
    main(*sys.argv[1:])
