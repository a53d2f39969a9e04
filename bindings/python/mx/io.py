"""mx.io: data iterators. The C iterators (MNISTIter, CSVIter, ImageRecordIter, ...) are generated at
import from mx_dataiter_list; NDArrayIter batches arrays held in memory."""
import ctypes
from collections import namedtuple

import numpy as np

from . import _ops
from .base import LIB, check_call, check_shape, c_str
from .ndarray import NDArray, array

_handle = ctypes.c_void_p


class DataDesc(namedtuple("DataDesc", ["name", "shape"])):
    """A named input's shape, dtype and layout, as Module.bind takes them."""

    def __new__(cls, name, shape, dtype=np.float32, layout="NCHW"):
        desc = super().__new__(cls, name, check_shape(shape, "DataDesc '%s'" % name))
        desc.dtype = dtype
        desc.layout = layout
        return desc

    def __repr__(self):
        return "DataDesc[%s,%s,%s,%s]" % (self.name, self.shape, np.dtype(self.dtype).name, self.layout)


class DataBatch:
    """One batch: lists of data and label arrays; `pad` trailing samples are padding."""

    def __init__(self, data, label=None, pad=0, index=None, bucket_key=None, provide_data=None, provide_label=None):
        self.data = data
        self.label = label
        self.pad = pad
        self.index = index
        self.bucket_key = bucket_key  # BucketingModule binds the graph of this key (MXNet's order of args)
        self.provide_data = provide_data
        self.provide_label = provide_label

    def __repr__(self):
        shapes = lambda arrs: [a.shape for a in arrs] if arrs else []
        return "DataBatch: data shapes: %s label shapes: %s pad: %d" % (shapes(self.data), shapes(self.label), self.pad)


class DataIter:
    """The iterator protocol MXNet's Module consumes: reset(), next() -> DataBatch, provide_data/label."""

    def __init__(self, batch_size=0):
        self.batch_size = batch_size

    def __iter__(self):
        return self

    def __next__(self):
        return self.next()

    def reset(self):
        pass

    def next(self):
        raise NotImplementedError


# ---------------------------------------------------------------- in-memory arrays

def _named_arrays(source, default_name):
    if source is None:
        return []
    if isinstance(source, dict):
        items = list(source.items())
    elif isinstance(source, (list, tuple)):
        items = [("%s_%d" % (default_name, i) if i else default_name, a) for i, a in enumerate(source)]
    else:
        items = [(default_name, source)]
    out = []
    for name, a in items:
        host = a.asnumpy() if isinstance(a, NDArray) else np.asarray(a)
        if host.dtype == np.float64:
            host = host.astype(np.float32)
        out.append((name, host))
    return out


class NDArrayIter(DataIter):
    """Batches of numpy arrays or NDArrays (one, a list, or a dict by name).

    last_batch_handle: 'pad' fills the last batch from the start of the epoch's order and sets
    `pad`; 'discard' drops it; 'roll_over' carries its samples into the next epoch's first batch
    (every sample of that batch is real data, so its pad is 0)."""

    def __init__(self, data, label=None, batch_size=1, shuffle=False, last_batch_handle="pad", data_name="data",
                 label_name="softmax_label"):
        super().__init__(batch_size)
        if last_batch_handle not in ("pad", "discard", "roll_over"):
            raise ValueError("NDArrayIter: last_batch_handle must be pad, discard or roll_over, not %r"
                             % (last_batch_handle,))
        self.data = _named_arrays(data, data_name)
        self.label = _named_arrays(label, label_name)
        if not self.data:
            raise ValueError("NDArrayIter: no data")
        self.num_data = self.data[0][1].shape[0]
        for name, a in self.data + self.label:
            if a.shape[0] != self.num_data:
                raise ValueError("NDArrayIter: %s has %d samples, %s has %d" % (name, a.shape[0], self.data[0][0],
                                                                                 self.num_data))
        if batch_size <= 0:
            raise ValueError("NDArrayIter: batch_size must be positive, got %d" % batch_size)
        if last_batch_handle == "discard" and self.num_data < batch_size:
            raise ValueError("NDArrayIter: %d samples make no batch of %d with discard" % (self.num_data, batch_size))
        self.shuffle = shuffle
        self.last_batch_handle = last_batch_handle
        self._carry = np.empty(0, dtype=np.int64)
        self._order = None
        self.reset()

    def _desc(self, arrays):
        return [DataDesc(n, (self.batch_size,) + a.shape[1:], a.dtype) for n, a in arrays]

    @property
    def provide_data(self):
        return self._desc(self.data)

    @property
    def provide_label(self):
        return self._desc(self.label)

    def reset(self):
        if self._order is not None and self.last_batch_handle == "roll_over":
            rest = self._order[self._cursor:]
            self._carry = rest if len(rest) < self.batch_size else np.empty(0, dtype=np.int64)
        perm = np.random.permutation(self.num_data) if self.shuffle else np.arange(self.num_data)
        self._pad_source = perm
        self._order = np.concatenate([self._carry, perm])
        self._cursor = 0

    def next(self):
        start, n = self._cursor, len(self._order)
        if start >= n or (self.last_batch_handle != "pad" and start + self.batch_size > n):
            raise StopIteration
        idx = self._order[start:start + self.batch_size]
        pad = self.batch_size - len(idx)
        if pad:
            idx = np.concatenate([idx, self._pad_source[:pad]])
        self._cursor = start + self.batch_size
        take = lambda arrays: [array(a[idx], dtype=a.dtype) for _, a in arrays]
        return DataBatch(take(self.data), take(self.label), pad=pad, index=idx,
                         provide_data=self.provide_data, provide_label=self.provide_label)

    def getpad(self):
        return max(0, self._cursor - len(self._order))


# ---------------------------------------------------------------- the C iterators

class _IterInfo(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("name", ctypes.c_char_p), ("doc", ctypes.c_char_p),
                ("num_params", ctypes.c_uint32), ("param_names", ctypes.POINTER(ctypes.c_char_p)),
                ("param_types", ctypes.POINTER(ctypes.c_char_p)), ("param_defaults", ctypes.POINTER(ctypes.c_char_p)),
                ("param_docs", ctypes.POINTER(ctypes.c_char_p))]


class MXDataIter(DataIter):
    """An iterator implemented in libmx. The first batch is read at construction to learn the shapes
    (as MXNet does) and handed out by the first next()."""

    def __init__(self, handle, data_name="data", label_name="softmax_label"):
        super().__init__()
        self.handle = handle
        self.first_batch = None
        self.first_batch = self.next()
        data, label = self.first_batch.data[0], self.first_batch.label[0]
        self.batch_size = data.shape[0]
        self.provide_data = [DataDesc(data_name, data.shape, data.dtype)]
        self.provide_label = [DataDesc(label_name, label.shape, label.dtype)]

    def __del__(self):
        if getattr(self, "handle", None) is not None and LIB is not None:
            LIB.mx_dataiter_free(self.handle)
            self.handle = None

    def reset(self):
        self.first_batch = None
        check_call(LIB.mx_dataiter_reset(self.handle))

    def iter_next(self):
        if self.first_batch is not None:
            return True
        has = ctypes.c_int32()
        check_call(LIB.mx_dataiter_next(self.handle, ctypes.byref(has)))
        return bool(has.value)

    def next(self):
        if self.first_batch is not None:
            batch, self.first_batch = self.first_batch, None
            return batch
        if not self.iter_next():
            raise StopIteration
        return DataBatch([self.getdata()], [self.getlabel()], pad=self.getpad(), index=self.getindex())

    def _array(self, fn):
        out = _handle()
        check_call(fn(self.handle, ctypes.byref(out)))
        return NDArray(out)

    def getdata(self):
        return self._array(LIB.mx_dataiter_get_data)

    def getlabel(self):
        return self._array(LIB.mx_dataiter_get_label)

    def getpad(self):
        pad = ctypes.c_int32()
        check_call(LIB.mx_dataiter_get_pad(self.handle, ctypes.byref(pad)))
        return pad.value

    def getindex(self):
        ptr, n = ctypes.POINTER(ctypes.c_uint64)(), ctypes.c_uint64()
        check_call(LIB.mx_dataiter_get_index(self.handle, ctypes.byref(ptr), ctypes.byref(n)))
        # string_at + frombuffer: 6.8 us a batch where ctypeslib.as_array + copy took 9.4
        return (np.frombuffer(ctypes.string_at(ptr, 8 * n.value), dtype=np.uint64).copy() if n.value
                else np.empty(0, np.uint64))


def _make_iter(name):
    info = _IterInfo()
    info.struct_size = ctypes.sizeof(info)
    check_call(LIB.mx_dataiter_get_info(c_str(name), ctypes.byref(info)))
    params = [(info.param_names[i].decode(), info.param_types[i].decode(), info.param_defaults[i].decode(),
               info.param_docs[i].decode()) for i in range(info.num_params)]
    shapes = _ops.shape_params(name, params)

    def create(data_name="data", label_name="softmax_label", **kwargs):
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
        _ops.check_shape_params(name, shapes, kwargs)
        out = _handle()
        keys, vals = _ops.c_params(kwargs)
        check_call(LIB.mx_dataiter_create(c_str(name), ctypes.c_uint32(len(kwargs)), keys, vals, ctypes.byref(out)))
        return MXDataIter(out, data_name, label_name)

    create.__name__ = name
    create.__doc__ = "\n".join([info.doc.decode(), "", "Parameters"] + _ops.params_doc(params))
    return create


for _name in _ops.list_names(LIB.mx_dataiter_list):
    globals()[_name] = _make_iter(_name)
del _name
