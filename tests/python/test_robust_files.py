"""Hostile and broken files through Python: crafted .params files for mx.nd.load, MNISTIter on a
gzip bomb, a directory and /dev/zero, mx.recordio on a directory. Each is an MXNetError naming the
file, found without reading or allocating more than the file justifies, and the process keeps
working. The cases that could run away (memory, time) run in a child process (with a memory limit
and a timeout where the old code never stopped); the child's peak RSS comes from os.wait4."""
import gzip
import os
import resource
import struct
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import mx
from mx.base import MXNetError

ERR_IO = 6
HERE = os.path.dirname(os.path.abspath(__file__))


# ---------------------------------------------------------------- .params

def params_file(path, arrays, keys=None):
    """Writes MXNet's list format: arrays are (shape, dtype flag, data bytes) records (V2)."""
    out = struct.pack("<QQQ", 0x112, 0, len(arrays))
    for shape, flag, data in arrays:
        out += struct.pack("<Iii", 0xF993FAC9, 0, len(shape))
        out += struct.pack("<%dq" % len(shape), *shape)
        out += struct.pack("<iii", 1, 0, flag) + data
    keys = keys or []
    out += struct.pack("<Q", len(keys))
    for k in keys:
        out += struct.pack("<Q", len(k)) + k
    with open(path, "wb") as f:
        f.write(out)
    return str(path)


def assert_normal_load_works(tmp_path):
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    path = str(tmp_path / "good.params")
    mx.nd.save(path, {"arg:w": mx.nd.array(x)})
    got = mx.nd.load(path)
    assert list(got) == ["arg:w"]
    np.testing.assert_array_equal(got["arg:w"].asnumpy(), x)


@pytest.mark.parametrize("name, arrays, keys, part", [
    # the element count wraps to 0 in 64 bits: before, this loaded as an array of 2^64 elements
    ("huge_shape", [((1 << 32, 1 << 32), 0, b"")], None, "offset 36"),
    ("dims33", [((1,) * 33, 0, b"\0" * 4)], None, "offset 32"),
    ("data_past_end", [((1000,), 0, b"\0" * 8)], None, "offset 56"),
    # before, this loaded and the key came back as "arg:w"
    ("nul_key", [((2,), 0, b"\0" * 8)], [b"arg:w\0bad"], "NUL"),
])
def test_crafted_params_are_errors_naming_file_and_offset(tmp_path, name, arrays, keys, part):
    path = params_file(tmp_path / (name + ".params"), arrays, keys)
    with pytest.raises(MXNetError) as e:
        mx.nd.load(path)
    assert e.value.code == ERR_IO
    assert path in str(e.value) and part in str(e.value)
    assert_normal_load_works(tmp_path)


def test_absurd_key_length_and_array_count(tmp_path):
    path = str(tmp_path / "absurd.params")
    raw = open(params_file(path, [((1,), 0, b"\0" * 4)]), "rb").read()
    with open(path, "wb") as f:  # key count 1, key length 2^60
        f.write(raw[:-8] + struct.pack("<QQ", 1, 1 << 60) + b"abc")
    with pytest.raises(MXNetError, match="key length"):
        mx.nd.load(path)
    with open(path, "wb") as f:  # 2^62 arrays
        f.write(struct.pack("<QQQ", 0x112, 0, 1 << 62) + raw[24:])
    with pytest.raises(MXNetError, match="array count"):
        mx.nd.load(path)
    with pytest.raises(MXNetError, match="directory"):
        mx.nd.load(str(tmp_path))
    assert_normal_load_works(tmp_path)


# ---------------------------------------------------------------- MNISTIter, RecordIO

def idx_header(*dims):
    return bytes([0, 0, 8, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims)


@pytest.fixture
def mnist(tmp_path):
    image, label = str(tmp_path / "img.idx"), str(tmp_path / "lbl.idx")
    with open(image, "wb") as f:
        f.write(idx_header(2, 2, 2) + bytes(range(8)))
    with open(label, "wb") as f:
        f.write(idx_header(2) + bytes([3, 5]))
    return image, label


def assert_mnist_works(image, label):
    it = mx.io.MNISTIter(image=image, label=label, batch_size=2, shuffle=False, silent=True)
    batch = next(iter(it))
    np.testing.assert_array_equal(batch.data[0].asnumpy().ravel(), np.arange(8, dtype=np.float32) / 256)
    np.testing.assert_array_equal(batch.label[0].asnumpy(), [3, 5])


def child_peak_mb(code, timeout=120):
    """(exit code, output, peak RSS in MB) of `code` in a fresh interpreter (no memory limit)."""
    env = dict(os.environ, PYTHONPATH=os.path.join(HERE, "..", "..", "bindings", "python"))
    p = subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    out = p.stdout.read()
    _, status, usage = os.wait4(p.pid, 0)
    return os.waitstatus_to_exitcode(status), out.decode(errors="replace"), usage.ru_maxrss // 1024


MNIST_CHILD = """
    import sys, mx
    from mx.base import MXNetError
    try:
        mx.io.MNISTIter(image=%r, label=%r, batch_size=2, silent=True)
    except MXNetError as e:
        print(e)
        sys.exit(0 if %r in str(e) and e.code == 6 else 2)
    sys.exit(0 if %r == "ok" else 3)
"""


def test_mnist_gzip_bomb_costs_only_what_the_header_declares(tmp_path, mnist):
    image, label = mnist
    bomb = str(tmp_path / "bomb.gz")
    # 256 MB of zeros behind a 2-image header: 256 gzip members of 1 MB each, read as one stream
    zeros = gzip.compress(bytes(1 << 20), compresslevel=9)
    with open(bomb, "wb") as f:
        f.write(gzip.compress(idx_header(2, 2, 2)) + zeros * 256)
    assert os.path.getsize(bomb) < 1 << 20
    rc, out, control = child_peak_mb(MNIST_CHILD % (image, label, "", "ok"))
    assert rc == 0, out
    rc, out, peak = child_peak_mb(MNIST_CHILD % (bomb, label, "bomb.gz", ""))
    assert rc == 0, out
    # before: the whole 256 MB was decompressed before the header was looked at
    assert peak - control < 64, "peak RSS %d MB, control %d MB" % (peak, control)
    assert_mnist_works(image, label)


def test_mnist_on_dev_zero_ends_quickly(mnist):
    image, label = mnist
    env = dict(os.environ, PYTHONPATH=os.path.join(HERE, "..", "..", "bindings", "python"))
    limit = lambda: resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
    # before: read /dev/zero until the memory limit (or forever)
    p = subprocess.run([sys.executable, "-c", textwrap.dedent(MNIST_CHILD % ("/dev/zero", label, "/dev/zero", ""))],
                       env=env, capture_output=True, timeout=120, preexec_fn=limit)
    assert p.returncode == 0, p.stdout + p.stderr
    assert_mnist_works(image, label)


def test_directories_are_errors_naming_the_path(tmp_path, mnist):
    image, label = mnist
    d = tmp_path / "a_dir"
    d.mkdir()
    with pytest.raises(MXNetError, match="directory") as e:
        mx.io.MNISTIter(image=str(d), label=label, silent=True)
    assert str(d) in str(e.value)
    # before: a RecordIO reader opened on a directory read it as empty
    with pytest.raises(MXNetError, match="directory") as e:
        mx.recordio.MXRecordIO(str(d), "r")
    assert str(d) in str(e.value)
    rec = str(tmp_path / "ok.rec")
    w = mx.recordio.MXRecordIO(rec, "w")
    w.write(b"hello")
    w.close()
    with pytest.raises(MXNetError, match="directory"):
        mx.recordio.MXIndexedRecordIO(str(d), rec, "r")
    with pytest.raises(MXNetError, match="directory"):
        mx.io.CSVIter(data_csv=str(d), data_shape=(2,), batch_size=1)
    r = mx.recordio.MXRecordIO(rec, "r")
    assert r.read() == b"hello"
    r.close()
    assert_mnist_works(image, label)
