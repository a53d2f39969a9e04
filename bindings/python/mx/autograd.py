"""mx.autograd: recording, training mode and backward, as MXNet 1.x."""
import ctypes
from contextlib import contextmanager

from .base import LIB, check_call, c_array

_handle = ctypes.c_void_p
_REQ = {"null": 0, "write": 1, "add": 3}


def set_recording(is_recording):
    prev = ctypes.c_int32()
    check_call(LIB.mx_autograd_set_recording(ctypes.c_int32(int(bool(is_recording))), ctypes.byref(prev)))
    return bool(prev.value)


def set_training(train_mode):
    prev = ctypes.c_int32()
    check_call(LIB.mx_autograd_set_training(ctypes.c_int32(int(bool(train_mode))), ctypes.byref(prev)))
    return bool(prev.value)


def is_recording():
    v = ctypes.c_int32()
    check_call(LIB.mx_autograd_is_recording(ctypes.byref(v)))
    return bool(v.value)


def is_training():
    v = ctypes.c_int32()
    check_call(LIB.mx_autograd_is_training(ctypes.byref(v)))
    return bool(v.value)


@contextmanager
def _scope(recording, training):
    prev_rec = set_recording(recording) if recording is not None else None
    prev_train = set_training(training) if training is not None else None
    try:
        yield
    finally:
        if prev_rec is not None:
            set_recording(prev_rec)
        if prev_train is not None:
            set_training(prev_train)


def record(train_mode=True):
    """Records ops for backward (in training mode unless train_mode=False)."""
    return _scope(True, train_mode)


def pause(train_mode=False):
    return _scope(False, train_mode)


def train_mode():
    return _scope(None, True)


def predict_mode():
    return _scope(None, False)


def mark_variables(variables, gradients, grad_reqs="write"):
    if not isinstance(grad_reqs, (list, tuple)):
        grad_reqs = [grad_reqs] * len(variables)
    reqs = c_array(ctypes.c_int32, [_REQ[r] if isinstance(r, str) else int(r) for r in grad_reqs])
    check_call(LIB.mx_autograd_mark_variables(ctypes.c_uint32(len(variables)),
                                              c_array(_handle, [v.handle for v in variables]), reqs,
                                              c_array(_handle, [g.handle for g in gradients])))


def _heads(heads, head_grads):
    if not isinstance(heads, (list, tuple)):
        heads = [heads]
    if head_grads is not None and not isinstance(head_grads, (list, tuple)):
        head_grads = [head_grads]
    h = c_array(_handle, [x.handle for x in heads])
    g = None if head_grads is None else c_array(_handle, [None if x is None else x.handle for x in head_grads])
    return heads, h, g


def backward(heads, head_grads=None, retain_graph=False, train_mode=True):
    heads, h, g = _heads(heads, head_grads)
    check_call(LIB.mx_autograd_backward(ctypes.c_uint32(len(heads)), h, g, ctypes.c_int32(int(retain_graph)),
                                        ctypes.c_int32(0), ctypes.c_int32(int(train_mode))))


def grad(heads, variables, head_grads=None, retain_graph=None, create_graph=False, train_mode=True):
    """Gradients of heads with respect to variables, returned as new arrays."""
    from .ndarray import NDArray
    heads, h, g = _heads(heads, head_grads)
    single = not isinstance(variables, (list, tuple))
    if single:
        variables = [variables]
    retain_graph = create_graph if retain_graph is None else retain_graph
    out = ctypes.POINTER(_handle)()
    check_call(LIB.mx_autograd_grad(ctypes.c_uint32(len(heads)), h, g, ctypes.c_uint32(len(variables)),
                                    c_array(_handle, [v.handle for v in variables]), ctypes.c_int32(int(retain_graph)),
                                    ctypes.c_int32(int(create_graph)), ctypes.c_int32(int(train_mode)),
                                    ctypes.byref(out)))
    grads = [NDArray(_handle(out[i])) for i in range(len(variables))]
    return grads[0] if single else grads
