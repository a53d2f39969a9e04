"""mx.cached_op: a Symbol called like an op (MXNet's CachedOp, what HybridBlock.hybridize uses).

    op = CachedOp(sym, flags=[('static_alloc', True)])
    out = op(x, w, b)          # inputs in sym.list_inputs() order

While autograd records, the C CachedOp records its graph op by op, so backward reaches the inputs."""
import ctypes

from .base import LIB, MXNetError, check_call, c_array, c_str

_handle = ctypes.c_void_p


def _flag_str(v):
    if isinstance(v, bool):
        return "True" if v else "False"
    return str(v)


class CachedOp:
    """A compiled symbol: `CachedOp(sym, flags=())`, flags as (key, value) pairs or a dict
    (static_alloc, static_shape). Calling it returns one NDArray, or a list for several outputs."""

    def __init__(self, sym, flags=()):
        self.handle = None
        items = list(flags.items()) if isinstance(flags, dict) else list(flags)
        keys = c_array(ctypes.c_char_p, [c_str(k) for k, _ in items])
        vals = c_array(ctypes.c_char_p, [c_str(_flag_str(v)) for _, v in items])
        out = _handle()
        check_call(LIB.mx_cached_op_create(sym.handle, ctypes.c_uint32(len(items)), keys, vals, ctypes.byref(out)))
        self.handle = out
        self._num_inputs = len(sym.list_inputs())
        self._input_names = sym.list_inputs()

    def __del__(self):
        if getattr(self, "handle", None) is not None and LIB is not None:
            LIB.mx_cached_op_free(self.handle)
            self.handle = None

    def __call__(self, *args, **kwargs):
        from .ndarray import NDArray
        out = kwargs.pop("out", None)
        if kwargs:
            raise TypeError("CachedOp.__call__ got unexpected arguments %s" % sorted(kwargs))
        if len(args) != self._num_inputs:
            raise MXNetError("CachedOp: %d inputs given, the symbol takes %d (%s)"
                             % (len(args), self._num_inputs, ", ".join(self._input_names)))
        for i, a in enumerate(args):
            if not isinstance(a, NDArray):
                raise TypeError("CachedOp: input %d (%s) is %s, expected an NDArray"
                                % (i, self._input_names[i], type(a).__name__))
        ins = c_array(_handle, [a.handle for a in args])
        n_out = ctypes.c_uint32(0)
        outs = ctypes.POINTER(_handle)()
        check_call(LIB.mx_cached_op_invoke(self.handle, ctypes.c_uint32(len(args)), ins,
                                           ctypes.byref(n_out), ctypes.byref(outs)))
        result = [NDArray(_handle(outs[i])) for i in range(n_out.value)]
        if out is not None:
            given = out if isinstance(out, (list, tuple)) else [out]
            for dst, src in zip(given, result):
                src.copyto(dst)
            return out
        return result[0] if len(result) == 1 else result
