"""DLPack robustness (issue 12): exported views are read right by numpy and torch (their first
element is the data pointer, byte_offset 0, which torch 1.13 ignores), imports are validated, and
a rejected tensor stays usable by its producer. Views are made through the C API directly."""
import ctypes
import gc

import numpy as np
import pytest

import mx
from mx.base import LIB, check_call

try:
    import torch
    import torch.utils.dlpack
except ImportError:  # python3-torch is optional
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="python3-torch is not installed")


def rows(arr, begin, end):
    """The C API's mx_ndarray_slice view of rows [begin, end) (shares arr's memory)."""
    out = ctypes.c_void_p()
    check_call(LIB.mx_ndarray_slice(arr.handle, ctypes.c_int64(begin), ctypes.c_int64(end), ctypes.byref(out)))
    return mx.nd.NDArray(out)


def reshaped(arr, shape):
    out = ctypes.c_void_p()
    dims = (ctypes.c_int64 * len(shape))(*shape)
    check_call(LIB.mx_ndarray_reshape(arr.handle, dims, ctypes.c_int32(len(shape)), ctypes.byref(out)))
    return mx.nd.NDArray(out)


def still_works():
    np.testing.assert_array_equal((mx.nd.array([1.0, 2.0]) + 1).asnumpy(), [2.0, 3.0])


def views():
    """(mx view, the numpy elements it must show) pairs, offsets at row and at element granularity."""
    ref = np.arange(24, dtype=np.float32).reshape(4, 6)
    base = mx.nd.array(ref)
    flat = reshaped(base, (24,))
    return [(rows(base, 1, 3), ref[1:3]),
            (rows(base, 3, 4), ref[3:4]),
            (rows(flat, 5, 11), ref.reshape(-1)[5:11]),
            (reshaped(rows(flat, 6, 18), (3, 4)), ref.reshape(-1)[6:18].reshape(3, 4))]


def test_numpy_reads_views():
    for view, want in views():
        got = np.from_dlpack(view)
        np.testing.assert_array_equal(got, want)


@needs_torch
def test_torch_reads_views_and_writes_through():
    for view, want in views():
        t = torch.utils.dlpack.from_dlpack(view.__dlpack__())
        np.testing.assert_array_equal(t.numpy(), want)
    base = mx.nd.array(np.zeros((3, 2), np.float32))
    t = torch.utils.dlpack.from_dlpack(rows(base, 2, 3).__dlpack__())
    t[0, 1] = 7.0  # zero-copy: torch writes the view's row of mx's memory
    np.testing.assert_array_equal(base.asnumpy(), [[0, 0], [0, 0], [0, 7]])


@needs_torch
def test_torch_offset_and_zero_size_tensors_import():
    t = torch.arange(10, dtype=torch.float32)[3:7]  # a storage offset
    np.testing.assert_array_equal(mx.nd.from_dlpack(t).asnumpy(), [3, 4, 5, 6])
    empty = torch.empty(3, 0)
    a = mx.nd.from_dlpack(empty)
    assert a.shape == (3, 0) and a.size == 0
    still_works()


@needs_torch
def test_rejected_torch_tensor_stays_with_torch():
    t = torch.arange(6, dtype=torch.float32).reshape(2, 3).t()  # not row-major
    capsule = torch.utils.dlpack.to_dlpack(t)
    with pytest.raises(mx.MXNetError, match="row-major") as e:
        mx.nd.from_dlpack(capsule)
    assert e.value.code == 4  # unsupported
    # The capsule was not consumed: torch can still take it, and t is intact.
    back = torch.utils.dlpack.from_dlpack(capsule)
    np.testing.assert_array_equal(back.numpy(), np.arange(6, dtype=np.float32).reshape(2, 3).T)
    del capsule, back
    gc.collect()
    still_works()


def test_numpy_import_offsets_and_rejections():
    host = np.arange(10, dtype=np.float32)
    np.testing.assert_array_equal(mx.nd.from_dlpack(host[3:7]).asnumpy(), host[3:7])
    with pytest.raises(mx.MXNetError, match="row-major"):
        mx.nd.from_dlpack(host[::2])
    with pytest.raises(mx.MXNetError):
        mx.nd.from_dlpack(np.arange(4, dtype=np.complex64))  # no mx dtype
    still_works()


def test_round_trip_of_a_view_through_dlpack():
    ref = np.arange(12, dtype=np.float64).reshape(4, 3)
    view = rows(mx.nd.array(ref, dtype=np.float64), 2, 4)
    back = mx.nd.from_dlpack(view.__dlpack__())
    np.testing.assert_array_equal(back.asnumpy(), ref[2:4])
    np.testing.assert_array_equal((back * 2).asnumpy(), ref[2:4] * 2)
