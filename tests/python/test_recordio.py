"""mx.recordio: round trips through the C reader / writer, checked against a naive parse of dmlc's
format written here, and image records against Pillow."""
import pickle
import struct

import numpy as np
import pytest

import mx

MAGIC = 0xCED7230A


def naive_records(path):
    """dmlc RecordIO by hand: magic, (cflag << 29 | length), payload padded to 4 bytes."""
    raw = open(path, "rb").read()
    out, pos, parts = [], 0, []
    while pos < len(raw):
        magic, lrec = struct.unpack_from("<II", raw, pos)
        assert magic == MAGIC
        cflag, length = lrec >> 29, lrec & ((1 << 29) - 1)
        parts.append(raw[pos + 8:pos + 8 + length])
        pos += 8 + ((length + 3) & ~3)
        if cflag in (0, 3):
            out.append(struct.pack("<I", MAGIC).join(parts))
            parts = []
    return out


def test_record_round_trip(tmp_path):
    path = str(tmp_path / "a.rec")
    magic = struct.pack("<I", MAGIC)
    records = [b"", b"x", b"hello world", magic + b"abc" + magic, bytes(range(256)) * 5]
    with mx.recordio.MXRecordIO(path, "w") as w:
        for r in records:
            w.write(r)
    assert naive_records(path) == records
    r = mx.recordio.MXRecordIO(path, "r")
    assert [r.read() for _ in records] == records
    assert r.read() is None
    r.reset()
    assert r.read() == records[0]
    # Pickling reopens the reader from the start (MXNet's behaviour for worker processes).
    r2 = pickle.loads(pickle.dumps(r))
    assert r2.read() == records[0]
    with pytest.raises(mx.MXNetError, match="missing.rec"):
        mx.recordio.MXRecordIO(str(tmp_path / "missing.rec"), "r")


def test_indexed_random_access(tmp_path):
    idx, rec = str(tmp_path / "b.idx"), str(tmp_path / "b.rec")
    w = mx.recordio.MXIndexedRecordIO(idx, rec, "w")
    payloads = {k: ("record %d " % k).encode() * (k + 1) for k in (5, 1, 9, 3)}
    for k, v in payloads.items():
        w.write_idx(k, v)
    w.close()
    lines = [line.split("\t") for line in open(idx).read().split("\n") if line]
    assert [int(k) for k, _ in lines] == list(payloads)
    r = mx.recordio.MXIndexedRecordIO(idx, rec, "r")
    assert r.keys == list(payloads)
    for k in (9, 1, 5, 3, 9):
        assert r.read_idx(k) == payloads[k]
    with pytest.raises(KeyError):
        r.read_idx(7)


def test_pack_unpack_headers():
    h = mx.recordio.IRHeader(0, 3.0, 17, 4)
    s = mx.recordio.pack(h, b"payload")
    # The header is four little-endian fields: uint32 flag, float label, uint64 id, uint64 id2.
    assert s[:24] == struct.pack("<IfQQ", 0, 3.0, 17, 4) and s[24:] == b"payload"
    h2, body = mx.recordio.unpack(s)
    assert (h2.flag, h2.label, h2.id, h2.id2, body) == (0, 3.0, 17, 4, b"payload")

    multi = mx.recordio.pack(mx.recordio.IRHeader(0, [1.5, 2.5, 3.5], 2, 0), b"z")
    assert struct.unpack_from("<I", multi)[0] == 3
    h3, body = mx.recordio.unpack(multi)
    assert h3.flag == 3 and body == b"z"
    np.testing.assert_array_equal(h3.label, [1.5, 2.5, 3.5])


def test_pack_img_png_exact_and_jpeg_close():
    rng = np.random.RandomState(1)
    img = rng.randint(0, 256, size=(12, 9, 3), dtype=np.uint8)
    h, out = mx.recordio.unpack_img(mx.recordio.pack_img(mx.recordio.IRHeader(0, 2.0, 1, 0), img, img_fmt=".png"))
    assert h.label == 2.0
    np.testing.assert_array_equal(out, img)
    smooth = np.tile(np.linspace(0, 255, 32, dtype=np.uint8)[None, :, None], (32, 1, 3))
    _, out = mx.recordio.unpack_img(mx.recordio.pack_img(mx.recordio.IRHeader(0, 0, 0, 0), smooth, quality=95))
    assert out.shape == smooth.shape and np.abs(out.astype(int) - smooth).max() <= 8
    gray = rng.randint(0, 256, size=(5, 7), dtype=np.uint8)
    _, out = mx.recordio.unpack_img(mx.recordio.pack_img(mx.recordio.IRHeader(0, 0, 0, 0), gray, img_fmt=".png"), 0)
    np.testing.assert_array_equal(out, gray)
