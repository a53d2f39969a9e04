"""mx.autograd: recording, training mode and backward, as MXNet 1.x."""
import ctypes
import itertools
import threading
from contextlib import contextmanager

from .base import LIB, MXNetError, check_call, c_array

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


def get_symbol(x):
    """The recorded computation that produced x, as a Symbol (marked variables are var<n>)."""
    from .symbol import Symbol
    out = _handle()
    check_call(LIB.mx_autograd_get_symbol(x.handle, ctypes.byref(out)))
    return Symbol(out)


# ---------------------------------------------------------------- Function
# The core calls two module-wide callbacks; user_data is a key into _live_functions, which holds
# each recorded Function until the core drops its node (after backward without retain_graph, or
# when the outputs are gone) and calls _free_function.
_live_functions = {}
_next_key = itertools.count(1)  # next() on a count is atomic under the GIL
_ERR_INVALID_ARGUMENT = 1


def _new_handle(arr):
    """A second handle over arr's storage (a reshape to its own shape), owned by whoever gets it."""
    out = _handle()
    shape = arr.shape
    check_call(LIB.mx_ndarray_reshape(arr.handle, c_array(ctypes.c_int64, shape), ctypes.c_int32(len(shape)),
                                      ctypes.byref(out)))
    return out


def _function_backward(num_ograds, ograds, num_igrads, igrads, key):
    from .ndarray import NDArray
    fn = _live_functions.get(key)
    name = type(fn).__name__ if fn is not None else "autograd.Function"
    try:
        # Wrapped first: the handles are ours to free, whatever happens next.
        out_grads = [NDArray(_handle(ograds[i])) for i in range(num_ograds)]
        if fn is None:
            raise MXNetError("the function was released before its backward ran")
        rets = fn.backward(*out_grads)
        rets = (rets,) if isinstance(rets, NDArray) or rets is None else tuple(rets)
        if len(rets) != num_igrads:
            raise MXNetError("returned %d gradient(s) but forward took %d input(s)" % (len(rets), num_igrads))
        for i, (g, shape) in enumerate(zip(rets, fn._input_shapes)):
            if g is not None and not isinstance(g, NDArray):
                raise MXNetError("gradient %d is a %s, not an NDArray" % (i, type(g).__name__))
            if g is not None and g.shape != shape:
                raise MXNetError("gradient %d has shape %s but input %d has shape %s" % (i, g.shape, i, shape), 2)
        for i, g in enumerate(rets):
            if g is not None:
                igrads[i] = _new_handle(g).value
        return 0
    except BaseException as e:  # nothing may unwind through the core's frames
        msg = "%s.backward: %s" % (name, e) if isinstance(e, MXNetError) else \
            "%s.backward raised %s: %s" % (name, type(e).__name__, e)
        LIB.mx_custom_op_set_error(ctypes.c_int32(getattr(e, "code", None) or _ERR_INVALID_ARGUMENT),
                                   msg.encode("utf-8", "replace"))
        return -1


def _free_function(key):
    try:
        _live_functions.pop(key, None)
    except BaseException:  # interpreter shutdown: the dict may be gone already
        pass


_BACKWARD_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_uint32, ctypes.POINTER(ctypes.c_void_p), ctypes.c_uint32,
                                ctypes.POINTER(ctypes.c_void_p), ctypes.c_void_p)
_FREE_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
_backward_callback = _BACKWARD_FN(_function_backward)
_free_callback = _FREE_FN(_free_function)


class Function:
    """A computation with a gradient of your own (MXNet's autograd.Function)::

        class sigmoid(mx.autograd.Function):
            def forward(self, x):
                y = 1 / (1 + mx.nd.exp(-x))
                self.save_for_backward(y)
                return y

            def backward(self, dy):
                y, = self.saved_tensors
                return dy * y * (1 - y)

    forward runs with recording paused; while recording, its outputs then become one node of the
    tape whose gradient is backward (one NDArray per forward input, from one per output). Each
    instance is called once.
    """

    def __init__(self):
        self._used = False
        self.saved_tensors = ()

    def save_for_backward(self, *args):
        self.saved_tensors = args

    def __call__(self, *inputs):
        from .ndarray import NDArray
        if self._used:
            raise MXNetError("%s: each Function instance can only be called once; make another instance"
                             % type(self).__name__)
        self._used = True
        prev = set_recording(False)
        try:
            outputs = self.forward(*inputs)
        finally:
            set_recording(prev)
        if not prev:
            return outputs
        single = isinstance(outputs, NDArray)
        outs = (outputs,) if single else tuple(outputs)
        for what, arrays in (("input", inputs), ("output", outs)):
            for i, a in enumerate(arrays):
                if not isinstance(a, NDArray):
                    raise MXNetError("%s: %s %d is a %s; a Function takes and returns NDArrays"
                                     % (type(self).__name__, what, i, type(a).__name__))
        self._input_shapes = [x.shape for x in inputs]
        # The caller gets new handles over the outputs, and only they join the tape: arrays the
        # function saved (its outputs, say) then do not keep its node, and so the function, alive.
        results = [NDArray(_new_handle(o)) for o in outs]
        key = next(_next_key)
        _live_functions[key] = self  # until the core calls _free_function (also when this call fails)
        check_call(LIB.mx_autograd_record_function(
            ctypes.c_uint32(len(inputs)), c_array(_handle, [x.handle for x in inputs]), ctypes.c_uint32(len(outs)),
            c_array(_handle, [r.handle for r in results]), _backward_callback, _free_callback, ctypes.c_void_p(key)))
        if single:
            return results[0]
        return results if isinstance(outputs, list) else tuple(results)

    def forward(self, *inputs):
        """Forward computation."""
        raise NotImplementedError

    def backward(self, *output_grads):
        """Backward computation: as many NDArrays as forward's inputs, from as many as its outputs."""
        raise NotImplementedError
