"""MXNet 1.x NDArray semantics kept out of ndarray.py: unpickling the state MXNet 1.x pickles hold
({'handle': the bytes of MXNDArraySaveRawBytes})."""
import struct

import numpy as np

from .base import MXNetValueError

# NDArray::Save's magics (MXNet's src/ndarray/ndarray.cc): v1 has an int64 shape, v2 adds the
# storage type, v3 is v2 written under numpy shape semantics; any other first word is the ndim
# of the legacy layout (uint32 dims).
_V1_MAGIC, _V2_MAGIC, _V3_MAGIC = 0xF993FAC8, 0xF993FAC9, 0xF993FACA
_STORAGE_NAMES = {1: "row_sparse", 2: "csr"}
_ITEM_SIZES = {0: 4, 1: 8, 2: 2, 3: 1, 4: 4, 5: 1, 6: 8, 7: 1, 12: 2}


class _Reader:
    """Little-endian reads from bytes, with a clear error when they run out."""

    def __init__(self, raw):
        self.raw, self.pos = raw, 0

    def take(self, fmt_or_count):
        n = fmt_or_count if isinstance(fmt_or_count, int) else struct.calcsize(fmt_or_count)
        if self.pos + n > len(self.raw):
            raise MXNetValueError("NDArray.__setstate__: MXNet array bytes end after %d bytes; %d more needed"
                                  % (len(self.raw), self.pos + n - len(self.raw)))
        chunk = self.raw[self.pos:self.pos + n]
        self.pos += n
        return chunk if isinstance(fmt_or_count, int) else struct.unpack("<" + fmt_or_count, chunk)


def parse_mxnet_bytes(raw):
    """(numpy values, dtype flag, device type id) of one dense array in NDArray::Save's layout.
    bfloat16 values come back as float32 (flag 12 tells the caller to cast back)."""
    r = _Reader(bytes(raw))
    (magic,) = r.take("I")
    if magic in (_V2_MAGIC, _V3_MAGIC):
        (stype,) = r.take("i")
        if stype != 0:
            raise MXNetValueError("NDArray.__setstate__: MXNet array has %s storage; mx loads dense arrays only"
                                  % _STORAGE_NAMES.get(stype, "storage type %d" % stype))
    if magic in (_V1_MAGIC, _V2_MAGIC, _V3_MAGIC):
        (ndim,) = r.take("i")
        shape = r.take("%dq" % ndim) if ndim > 0 else ()
    else:  # legacy: the magic was the ndim
        ndim = magic
        if ndim > 32:
            raise MXNetValueError("NDArray.__setstate__: 0x%08X is not an MXNet array's magic" % magic)
        shape = r.take("%dI" % ndim)
    if ndim < 0 or (ndim == 0 and magic != _V3_MAGIC) or any(d < 0 for d in shape):  # v3: ndim 0 a scalar
        raise MXNetValueError("NDArray.__setstate__: MXNet array bytes hold an array of unknown shape")
    dev_type, _dev_id = r.take("ii")  # 1 cpu, 2 gpu, 3 cpu_pinned, 5 cpu_shared: all load on the CPU
    (flag,) = r.take("i")
    if flag not in _ITEM_SIZES:
        raise MXNetValueError("NDArray.__setstate__: MXNet array has unknown dtype flag %d" % flag)
    count = int(np.prod(shape, dtype=np.int64))
    data = r.take(count * _ITEM_SIZES[flag])
    if flag == 12:  # bfloat16: the high half of a float32
        bits = np.frombuffer(data, dtype="<u2").astype(np.uint32) << 16
        values = bits.view(np.float32)
    else:
        values = np.frombuffer(data, dtype=_numpy_dtype(flag).newbyteorder("<")).astype(_numpy_dtype(flag))
    return values.reshape(shape), flag, dev_type


def _numpy_dtype(flag):
    from .ndarray import _DTYPE_NP
    return _DTYPE_NP[flag]


def install(cls):
    """Makes cls (NDArray) unpickle MXNet 1.x's pickles too."""
    own_setstate = cls.__setstate__

    def __setstate__(self, state):
        if isinstance(state, dict) and "handle" in state and "data" not in state:
            _set_from_mxnet_state(self, state["handle"])
        else:
            own_setstate(self, state)
    __setstate__.__doc__ = "Restores a pickle written by mx or by MXNet 1.x ({'handle': raw bytes})."
    cls.__setstate__ = __setstate__


def _set_from_mxnet_state(self, raw):
    from .ndarray import array
    if raw is None:
        raise MXNetValueError("NDArray.__setstate__: the MXNet pickle holds no array (handle None)")
    values, flag, _ = parse_mxnet_bytes(raw)
    fresh = array(values, dtype=values.dtype)
    if flag == 12:
        fresh = fresh.astype("bfloat16")
    self.handle, fresh.handle = fresh.handle, None
    self.writable = True
    self._shape = None

