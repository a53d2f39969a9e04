"""mx.recordio: dmlc RecordIO files (.rec, with .idx indexes) and MXNet's image record header.

Images go through Pillow (Debian's python3-pil). As in MXNet, where images are OpenCV arrays,
pack_img takes and unpack_img returns channels in BGR order."""
import ctypes
import io as _io
from collections import namedtuple

import numpy as np

from .base import LIB, check_call, c_str

_handle = ctypes.c_void_p

IRHeader = namedtuple("HEADER", ["flag", "label", "id", "id2"])


class MXRecordIO:
    """Sequential reading ('r') or writing ('w') of a RecordIO file."""

    def __init__(self, uri, flag):
        if flag not in ("r", "w"):
            raise ValueError("MXRecordIO: flag must be 'r' or 'w', not %r" % (flag,))
        self.uri, self.flag = str(uri), flag
        self.handle = None
        self.is_open = False
        self.open()

    def _idx_path(self):
        return None

    def open(self):
        h = _handle()
        if self.flag == "w":
            idx = self._idx_path()
            check_call(LIB.mx_recordio_writer_create(c_str(self.uri), c_str(idx) if idx else None, ctypes.byref(h)))
            self.writable = True
        else:
            check_call(LIB.mx_recordio_reader_create(c_str(self.uri), ctypes.byref(h)))
            self.writable = False
        self.handle = h
        self.is_open = True

    def close(self):
        if not self.is_open:
            return
        h, self.handle, self.is_open = self.handle, None, False
        if LIB is not None:
            check_call(LIB.mx_recordio_writer_free(h) if self.writable else LIB.mx_recordio_reader_free(h))

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001 - nothing can be reported from a finaliser
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __getstate__(self):
        """Pickles the file name and mode (for DataLoader workers), reopening on load."""
        was_open = self.is_open
        self.close()
        state = dict(self.__dict__)
        state["is_open"], state["handle"] = was_open, None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        if state["is_open"]:
            self.is_open = False
            self.open()

    def reset(self):
        self.close()
        self.open()

    def write(self, buf):
        if not self.writable:
            raise MXRecordIOError("write: %s is open for reading" % self.uri)
        buf = bytes(buf)
        check_call(LIB.mx_recordio_writer_write(self.handle, buf, ctypes.c_uint64(len(buf))))

    def read(self):
        """The next record as bytes, or None at the end of the file."""
        if self.writable:
            raise MXRecordIOError("read: %s is open for writing" % self.uri)
        data, size = ctypes.c_void_p(), ctypes.c_uint64()
        check_call(LIB.mx_recordio_reader_read(self.handle, ctypes.byref(data), ctypes.byref(size)))
        return None if not data.value else ctypes.string_at(data.value, size.value)

    def tell(self):
        pos = ctypes.c_uint64()
        fn = LIB.mx_recordio_writer_tell if self.writable else LIB.mx_recordio_reader_tell
        check_call(fn(self.handle, ctypes.byref(pos)))
        return pos.value


class MXRecordIOError(RuntimeError):
    pass


class MXIndexedRecordIO(MXRecordIO):
    """Random access by key through an .idx file of "key<TAB>offset" lines."""

    def __init__(self, idx_path, uri, flag, key_type=int):
        self.idx_path = str(idx_path)
        self.key_type = key_type
        self.idx = {}
        self.keys = []
        super().__init__(uri, flag)

    def _idx_path(self):
        return self.idx_path

    def open(self):
        super().open()
        self.idx, self.keys = {}, []
        if not self.writable:
            n = ctypes.c_uint64()
            keys, offs = ctypes.POINTER(ctypes.c_int64)(), ctypes.POINTER(ctypes.c_uint64)()
            check_call(LIB.mx_recordio_read_index(c_str(self.idx_path), ctypes.byref(n), ctypes.byref(keys),
                                                  ctypes.byref(offs)))
            for i in range(n.value):
                key = self.key_type(keys[i])
                self.idx[key] = offs[i]
                self.keys.append(key)

    def seek(self, idx):
        if self.writable:
            raise MXRecordIOError("seek: %s is open for writing" % self.uri)
        if idx not in self.idx:
            raise KeyError("MXIndexedRecordIO: no record %r in %s" % (idx, self.idx_path))
        check_call(LIB.mx_recordio_reader_seek(self.handle, ctypes.c_uint64(self.idx[idx])))

    def read_idx(self, idx):
        self.seek(idx)
        return self.read()

    def write_idx(self, idx, buf):
        key = self.key_type(idx)
        pos = self.tell()
        buf = bytes(buf)
        check_call(LIB.mx_recordio_writer_write_keyed(self.handle, ctypes.c_int64(int(key)), buf,
                                                      ctypes.c_uint64(len(buf))))
        self.idx[key] = pos
        self.keys.append(key)


# ---------------------------------------------------------------- image records

class _Header(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("flag", ctypes.c_uint32), ("label", ctypes.c_float),
                ("id", ctypes.c_uint64), ("id2", ctypes.c_uint64)]


def pack(header, s):
    """A record: the header (a float label, or an array of labels which sets flag), then bytes s."""
    header = IRHeader(*header)
    labels = np.atleast_1d(np.asarray(header.label, dtype=np.float32))
    many = not np.isscalar(header.label) and np.ndim(header.label) > 0
    h = _Header(ctypes.sizeof(_Header), header.flag if not many else labels.size,
                0.0 if many else float(header.label), int(header.id), int(header.id2))
    s = bytes(s)
    out, size = ctypes.c_void_p(), ctypes.c_uint64()
    check_call(LIB.mx_recordio_pack_image(ctypes.byref(h), labels.ctypes.data_as(ctypes.POINTER(ctypes.c_float)),
                                          ctypes.c_uint32(labels.size if many else 1), s, ctypes.c_uint64(len(s)),
                                          ctypes.byref(out), ctypes.byref(size)))
    return ctypes.string_at(out.value, size.value)


def unpack(s):
    """(IRHeader, payload bytes); the label is an array when the record has several."""
    s = bytes(s)
    h = _Header()
    h.struct_size = ctypes.sizeof(h)
    labels, n = ctypes.POINTER(ctypes.c_float)(), ctypes.c_uint32()
    payload, size = ctypes.c_void_p(), ctypes.c_uint64()
    check_call(LIB.mx_recordio_unpack_image(s, ctypes.c_uint64(len(s)), ctypes.byref(h), ctypes.byref(labels),
                                            ctypes.byref(n), ctypes.byref(payload), ctypes.byref(size)))
    label = np.ctypeslib.as_array(labels, (n.value,)).copy() if h.flag > 0 else h.label
    body = ctypes.string_at(payload.value, size.value) if size.value else b""
    return IRHeader(h.flag, label, h.id, h.id2), body


def pack_img(header, img, quality=95, img_fmt=".jpg"):
    """Encodes img (HxW gray or HxWx3 BGR uint8) as JPEG or PNG and packs it with header."""
    from PIL import Image
    img = np.asarray(img)
    if img.ndim == 3 and img.shape[2] == 3:
        img = img[:, :, ::-1]  # BGR (OpenCV's order, as in MXNet) -> RGB for Pillow
    fmt = img_fmt.lower().lstrip(".")
    fmt = {"jpg": "JPEG", "jpeg": "JPEG", "png": "PNG"}.get(fmt)
    if fmt is None:
        raise ValueError("pack_img: img_fmt must be .jpg or .png, not %r" % (img_fmt,))
    buf = _io.BytesIO()
    Image.fromarray(np.ascontiguousarray(img, dtype=np.uint8)).save(
        buf, format=fmt, **({"quality": quality} if fmt == "JPEG" else {"compress_level": min(9, max(0, quality))}))
    return pack(header, buf.getvalue())


def unpack_img(s, iscolor=-1):
    """(IRHeader, image): BGR HxWx3 when the image is in colour or iscolor=1, HxW when iscolor=0."""
    from PIL import Image
    header, body = unpack(s)
    im = Image.open(_io.BytesIO(body))
    if iscolor == 0:
        return header, np.asarray(im.convert("L"))
    if iscolor == 1 or im.mode not in ("L", "I;16"):
        return header, np.asarray(im.convert("RGB"))[:, :, ::-1].copy()
    return header, np.asarray(im)
