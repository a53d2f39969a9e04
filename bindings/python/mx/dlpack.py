"""DLPack capsules (the Python array-API exchange protocol) over mx_ndarray_to_dlpack / _from_dlpack.

A capsule named "dltensor" owns a DLManagedTensor until a consumer takes it and renames the
capsule "used_dltensor"; a capsule nobody consumed calls the tensor's deleter when collected."""
import ctypes

from .base import LIB, check_call

_api = ctypes.pythonapi
_api.PyCapsule_New.restype = ctypes.py_object
_api.PyCapsule_New.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
_api.PyCapsule_GetPointer.restype = ctypes.c_void_p
_api.PyCapsule_GetPointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
_api.PyCapsule_SetName.restype = ctypes.c_int
_api.PyCapsule_SetName.argtypes = [ctypes.py_object, ctypes.c_char_p]
_api.PyCapsule_IsValid.restype = ctypes.c_int
_api.PyCapsule_IsValid.argtypes = [ctypes.py_object, ctypes.c_char_p]

# The destructor gets the dying capsule as a raw pointer: these take it as one, so that no new
# reference to an object being freed is made.
_raw_is_valid = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p)(("PyCapsule_IsValid", _api))
_raw_get_pointer = ctypes.PYFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_char_p)(("PyCapsule_GetPointer", _api))

_NAME = b"dltensor"
_USED = b"used_dltensor"


class _DLDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]


class _DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]


class _DLTensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("device", _DLDevice), ("ndim", ctypes.c_int32), ("dtype", _DLDataType),
                ("shape", ctypes.POINTER(ctypes.c_int64)), ("strides", ctypes.POINTER(ctypes.c_int64)),
                ("byte_offset", ctypes.c_uint64)]


class _DLManagedTensor(ctypes.Structure):
    pass


_Deleter = ctypes.CFUNCTYPE(None, ctypes.POINTER(_DLManagedTensor))
_DLManagedTensor._fields_ = [("dl_tensor", _DLTensor), ("manager_ctx", ctypes.c_void_p), ("deleter", _Deleter)]


@ctypes.CFUNCTYPE(None, ctypes.c_void_p)
def _capsule_destructor(capsule_ptr):
    # Runs when a capsule is collected. Only an unconsumed one still owns its tensor.
    if _raw_is_valid(capsule_ptr, _NAME):
        ptr = _raw_get_pointer(capsule_ptr, _NAME)
        managed = ctypes.cast(ptr, ctypes.POINTER(_DLManagedTensor))
        if managed.contents.deleter:
            managed.contents.deleter(managed)


_DESTRUCTOR = ctypes.cast(_capsule_destructor, ctypes.c_void_p)


def to_capsule(handle, stream=None):
    """A capsule over the array's memory. stream=None: pending writes are waited for first (on a
    GPU, DLPack's None means the legacy default stream, which mx orders like the host); an int is
    the consumer's stream (1 legacy default, 2 per-thread default, -1 no ordering): on a GPU that
    stream waits for mx's pending writes, the host does not."""
    managed = ctypes.c_void_p()
    if stream is None:
        check_call(LIB.mx_ndarray_to_dlpack(handle, ctypes.byref(managed)))
    else:
        check_call(LIB.mx_ndarray_to_dlpack_stream(handle, ctypes.c_int64(int(stream)), ctypes.byref(managed)))
    return _api.PyCapsule_New(managed, _NAME, _DESTRUCTOR)


def from_capsule(capsule, stream=None):
    """Takes the tensor out of a capsule: returns an mx_ndarray_t handle that owns it. stream: the
    stream the producer made the data ready on (the one passed to its __dlpack__), for GPU data:
    mx's ops on the array then wait for that point of the stream."""
    if not _api.PyCapsule_IsValid(capsule, _NAME):
        raise ValueError("from_dlpack: expected a capsule named 'dltensor' that was not consumed yet")
    ptr = _api.PyCapsule_GetPointer(capsule, _NAME)
    out = ctypes.c_void_p()
    if stream is None:
        check_call(LIB.mx_ndarray_from_dlpack(ctypes.c_void_p(ptr), ctypes.byref(out)))
    else:
        check_call(LIB.mx_ndarray_from_dlpack_stream(ctypes.c_void_p(ptr), ctypes.c_int64(int(stream)),
                                                     ctypes.byref(out)))
    _api.PyCapsule_SetName(capsule, _USED)
    return out
