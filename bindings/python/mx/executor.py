"""mx.executor: a bound symbol (Symbol.bind / simple_bind) running forward and backward."""
import ctypes
import weakref

from .base import LIB, check_call, check_shape, c_array, c_str
from .ndarray import NDArray

_handle = ctypes.c_void_p
# void (*)(const char* name, mx_ndarray_t arr, void* user_data): mx_executor_monitor_callback
_MONITOR_CALLBACK = ctypes.CFUNCTYPE(None, ctypes.c_char_p, _handle, ctypes.c_void_p)
# Arguments of every step, built once: ctypes objects cost more than the calls they feed.
_TRAIN, _INFER = ctypes.c_int32(1), ctypes.c_int32(0)
_NO_GRADS = (ctypes.c_uint32(0), None)


def _flat_shapes(shapes, fn):
    keys = list(shapes)
    shapes = [check_shape(shapes[k], "%s: argument '%s'" % (fn, k)) for k in keys]
    ndims = [len(s) for s in shapes]
    dims = [d for s in shapes for d in s]
    return (len(keys), c_array(ctypes.c_char_p, [c_str(k) for k in keys]), c_array(ctypes.c_uint32, ndims),
            c_array(ctypes.c_int64, dims))


class Executor:
    """A bound symbol: forward, backward, outputs and the argument / gradient / auxiliary arrays."""

    def __init__(self, handle, symbol):
        self.handle = handle
        self._symbol = symbol
        self._monitor_callback = None  # the ctypes function the library calls: kept alive here
        # Callbacks replaced while a forward / backward may be calling them (a callback that
        # removes itself): kept alive until that call returns.
        self._retired_callbacks = []
        self._monitor_error = None
        self._refresh()

    def __del__(self):
        if self.handle is not None and LIB is not None:
            LIB.mx_executor_free(self.handle)
            self.handle = None

    def _arrays(self, which):
        n = ctypes.c_uint32()
        out = ctypes.POINTER(_handle)()
        check_call(LIB.mx_executor_arrays(self.handle, ctypes.c_int32(which), ctypes.byref(n), ctypes.byref(out)))
        return [NDArray(_handle(out[i])) if out[i] else None for i in range(n.value)]

    def _refresh(self):
        self.outputs = self._arrays(0)
        self.arg_arrays = self._arrays(1)
        self.grad_arrays = self._arrays(2)
        self.aux_arrays = self._arrays(3)
        self.arg_dict = dict(zip(self._symbol.list_arguments(), self.arg_arrays))
        self.grad_dict = dict(zip(self._symbol.list_arguments(), self.grad_arrays))
        self.aux_dict = dict(zip(self._symbol.list_auxiliary_states(), self.aux_arrays))
        self.output_dict = dict(zip(self._symbol.list_outputs(), self.outputs))

    def forward(self, is_train=False, **kwargs):
        for k, v in kwargs.items():
            if k not in self.arg_dict:
                raise ValueError("forward: %r is not an argument" % k)
            self.arg_dict[k][:] = v
        try:
            check_call(LIB.mx_executor_forward(self.handle, _TRAIN if is_train else _INFER))
        finally:
            self._retired_callbacks.clear()
        self._raise_monitor_error()
        return self.outputs

    def backward(self, out_grads=None, is_train=True):
        """Gradients of the outputs (times out_grads, MXNet's head gradients; ones by default)
        into grad_arrays. is_train is MXNet's argument: here backward always differentiates the
        pass the last forward ran (its mode, its saved state)."""
        if isinstance(out_grads, NDArray):
            out_grads = [out_grads]
        if out_grads:
            grads = list(out_grads)
            count, handles = ctypes.c_uint32(len(grads)), c_array(_handle, [g.handle if g is not None else None
                                                                            for g in grads])
        else:  # the training step's case: head gradients of ones, nothing to marshal
            count, handles = _NO_GRADS
        try:
            check_call(LIB.mx_executor_backward(self.handle, count, handles))
        finally:
            self._retired_callbacks.clear()
        self._raise_monitor_error()

    def set_monitor_callback(self, callback, monitor_all=False):
        """callback(name, handle) for every node output during forward and backward, on this
        thread, as MXNet 1.x: name (bytes) is "<node>_output" (with monitor_all also each node's
        inputs, "<node>_<input>" and a variable's own name), handle a new NDArrayHandle holding a
        copy of the value (later nodes may reuse the node's memory) that the callback owns: wrap
        it, NDArray(handle) (mx.monitor.Monitor does), or it is never freed. An exception in the
        callback is raised from forward / backward once the pass is pushed. None removes it."""
        if self._monitor_callback is not None:
            self._retired_callbacks.append(self._monitor_callback)
        if callback is None:
            check_call(LIB.mx_executor_set_monitor_callback(self.handle, None, None, ctypes.c_int32(0)))
            self._monitor_callback = None
            return

        # A weak reference: the executor keeps the callback, so a strong one would be a cycle
        # only the cyclic GC frees.
        self_ref = weakref.ref(self)

        def call(name, handle, _):
            try:
                callback(name, _handle(handle))
            except BaseException as e:  # noqa: B036 - ctypes would print and drop it
                ex = self_ref()
                if ex is not None and ex._monitor_error is None:
                    ex._monitor_error = e

        cb = _MONITOR_CALLBACK(call)
        check_call(LIB.mx_executor_set_monitor_callback(self.handle, cb, None, ctypes.c_int32(int(bool(monitor_all)))))
        self._monitor_callback = cb

    def _raise_monitor_error(self):
        if self._monitor_error is not None:
            e, self._monitor_error = self._monitor_error, None
            raise e

    def reshape(self, allow_up_sizing=False, **shapes):
        n, keys, ndims, dims = _flat_shapes(shapes, "Executor.reshape")
        out = _handle()
        check_call(LIB.mx_executor_reshape(self.handle, ctypes.c_uint32(n), keys, ndims, dims,
                                           ctypes.c_int32(int(allow_up_sizing)), ctypes.byref(out)))
        return Executor(out, self._symbol)

    def debug_str(self):
        """The graph's nodes (Symbol.debug_str) and the executor's memory plan, as MXNet prints."""
        stats = self.memory_stats()
        return (self._symbol.debug_str() + "Total %d MB allocated (%d MB without planning)\n"
                % (stats["planned_bytes"] >> 20, stats["unplanned_bytes"] >> 20))

    def memory_stats(self):
        class _Stats(ctypes.Structure):
            _fields_ = [("struct_size", ctypes.c_uint32), ("planned_bytes", ctypes.c_uint64),
                        ("unplanned_bytes", ctypes.c_uint64), ("external_bytes", ctypes.c_uint64),
                        ("inplace_count", ctypes.c_uint32), ("num_buffers", ctypes.c_uint32),
                        ("num_segments", ctypes.c_uint32)]
        s = _Stats()
        s.struct_size = ctypes.sizeof(s)
        check_call(LIB.mx_executor_memory_stats_get(self.handle, ctypes.byref(s)))
        return {k: getattr(s, k) for k, _ in _Stats._fields_[1:]}
