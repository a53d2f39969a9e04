"""mx.operator: operators written in Python (MXNet 1.x's CustomOp, CustomOpProp and register).

    class Sigmoid(mx.operator.CustomOp):
        def forward(self, is_train, req, in_data, out_data, aux):
            self.assign(out_data[0], req[0], 1 / (1 + mx.nd.exp(-in_data[0])))
        def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
            y = out_data[0]
            self.assign(in_grad[0], req[0], out_grad[0] * y * (1 - y))

    @mx.operator.register("sigmoid")
    class SigmoidProp(mx.operator.CustomOpProp):
        def create_operator(self, ctx, in_shapes, in_dtypes):
            return Sigmoid()

    y = mx.nd.Custom(x, op_type="sigmoid")          # also mx.sym.Custom, under autograd, in executors

Each registered type becomes two ops of the core (mx/extension.h, through mx_custom_op_register):
`_custom_<type>` (inputs: list_arguments() then list_auxiliary_states(); outputs: list_outputs())
and `_backward_custom_<type>` (inputs: output gradients, inputs, outputs; outputs: the
arguments' gradients), whose parameters are the keyword arguments of the prop's __init__, passed
to it as strings as MXNet does. forward and backward run on an engine worker with NDArrays over
the op's own memory; ops they issue run synchronously there. Arrays handed to them are valid
during the call only; they should not use arrays with work still pending from outside.
"""
import ctypes
import threading

import numpy as np

from . import _ops
from .base import LIB, MXNetError, check_call, c_str
from .context import Context
from .dlpack import _DLTensor

__all__ = ["CustomOp", "CustomOpProp", "register", "get_all_registered_operators"]

# ---------------------------------------------------------------- mx/backend.h, mx/extension.h in ctypes

_I32P = ctypes.POINTER(ctypes.c_int32)
_STRP = ctypes.POINTER(ctypes.c_char_p)


class _KernelArgs(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("op_name", ctypes.c_char_p), ("num_attrs", ctypes.c_int32),
                ("attr_keys", _STRP), ("attr_vals", _STRP), ("num_inputs", ctypes.c_int32),
                ("inputs", ctypes.POINTER(_DLTensor)), ("num_outputs", ctypes.c_int32),
                ("outputs", ctypes.POINTER(_DLTensor)), ("device_id", ctypes.c_int32)]


class _KernelCtx(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("device_id", ctypes.c_int32), ("stream", ctypes.c_void_p),
                ("temp_space", ctypes.c_void_p), ("temp_bytes", ctypes.c_uint64), ("rng_seed", ctypes.c_uint64),
                ("rng_offset", ctypes.c_uint64), ("is_train", ctypes.c_int32)]


_CreateFn = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(_KernelArgs), ctypes.POINTER(ctypes.c_void_p))
_RunFn = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(_KernelCtx), ctypes.POINTER(_DLTensor),
                          ctypes.c_int32, ctypes.POINTER(_DLTensor), ctypes.c_int32)
_DestroyFn = ctypes.CFUNCTYPE(None, ctypes.c_void_p)


class _Kernel(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("op_name", ctypes.c_char_p), ("create", _CreateFn),
                ("run", _RunFn), ("destroy", _DestroyFn), ("workspace_bytes", ctypes.c_void_p)]


class _InferArgs(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("op_name", ctypes.c_char_p), ("num_attrs", ctypes.c_int32),
                ("attr_keys", _STRP), ("attr_vals", _STRP), ("num_inputs", ctypes.c_int32), ("in_ndims", _I32P),
                ("in_shapes", ctypes.POINTER(ctypes.POINTER(ctypes.c_int64))), ("in_dtypes", _I32P),
                ("num_outputs", ctypes.c_int32), ("out_ndims", _I32P),
                ("out_shapes", ctypes.POINTER(ctypes.POINTER(ctypes.c_int64))), ("out_dtypes", _I32P)]


_CallFn = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int32, _I32P, ctypes.c_int32,
                           _STRP, _STRP)
_CallAllFn = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int32, _I32P,
                              ctypes.c_int32, _STRP, _STRP, ctypes.c_int32, _I32P)


class _GradBuilder(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("self", ctypes.c_void_p), ("call", _CallFn),
                ("call_all", _CallAllFn)]


class _GradArgs(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("builder", ctypes.POINTER(_GradBuilder)),
                ("num_attrs", ctypes.c_int32), ("attr_keys", _STRP), ("attr_vals", _STRP),
                ("num_inputs", ctypes.c_int32), ("inputs", _I32P), ("num_outputs", ctypes.c_int32),
                ("outputs", _I32P), ("out_grads", _I32P), ("in_grads", _I32P)]


class _Param(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("name", ctypes.c_char_p), ("type", ctypes.c_int32),
                ("default_value", ctypes.c_char_p), ("doc", ctypes.c_char_p)]


_InferFn = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(_InferArgs))
_GradFn = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(_GradArgs))


class _ExtOp(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("name", ctypes.c_char_p), ("doc", ctypes.c_char_p),
                ("num_inputs", ctypes.c_int32), ("input_names", _STRP), ("num_outputs", ctypes.c_int32),
                ("num_params", ctypes.c_int32), ("params", ctypes.POINTER(ctypes.POINTER(_Param))),
                ("infer_shape", _InferFn), ("infer_dtype", _InferFn), ("cpu_kernel", ctypes.POINTER(_Kernel)),
                ("cuda_kernel", ctypes.POINTER(_Kernel)), ("gradient", _GradFn), ("user", ctypes.c_void_p)]


_MX_ERR_INVALID_ARGUMENT, _MX_ERR_UNSUPPORTED, _MX_ERR_INTERNAL = 1, 4, 7
_PARAM_STRING = 3
_DT_TO_MX = {np.dtype("float32"): 0, np.dtype("float64"): 1, np.dtype("float16"): 2, np.dtype("uint8"): 3,
             np.dtype("int32"): 4, np.dtype("int8"): 5, np.dtype("int64"): 6, np.dtype("bool"): 7}
_MX_TO_DT = {v: k for k, v in _DT_TO_MX.items()}
_DL_TO_DT = {(2, 32): "float32", (2, 64): "float64", (2, 16): "float16", (1, 8): "uint8", (0, 8): "int8",
             (0, 32): "int32", (0, 64): "int64", (6, 8): "bool"}

# ---------------------------------------------------------------- the user-facing classes (MXNet 1.x)


class CustomOp:
    """Base class of a Python operator: override forward and backward."""

    def forward(self, is_train, req, in_data, out_data, aux):
        raise NotImplementedError("%s.forward" % type(self).__name__)

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        raise NotImplementedError("%s.backward" % type(self).__name__)

    def assign(self, dst, req, src):
        """Writes src into dst as req says ('write', 'inplace', 'add' or 'null')."""
        if req == "null":
            return
        if req in ("write", "inplace"):
            dst[:] = src
        elif req == "add":
            dst[:] = dst + src
        else:
            raise ValueError("assign: unknown req %r" % (req,))


class CustomOpProp:
    """Describes a Python operator: its inputs, outputs, shapes and types, and makes its CustomOp."""

    def __init__(self, need_top_grad=True):
        self.need_top_grad_ = need_top_grad

    def infer_shape(self, in_shape):
        return in_shape, (in_shape[0],) * len(self.list_outputs()), ()

    def infer_type(self, in_type):
        return (in_type, [in_type[0]] * len(self.list_outputs()),
                [in_type[0]] * len(self.list_auxiliary_states()))

    def list_outputs(self):
        return ["output"]

    def list_arguments(self):
        return ["data"]

    def list_auxiliary_states(self):
        return []

    def declare_backward_dependency(self, out_grad, in_data, out_data):
        deps = []
        if self.need_top_grad_:
            deps.extend(out_grad)
        deps.extend(in_data)
        deps.extend(out_data)
        return deps

    def create_operator(self, ctx, in_shapes, in_dtypes):
        raise NotImplementedError("%s.create_operator" % type(self).__name__)


# ---------------------------------------------------------------- registration

_registry = {}   # op_type -> _Registered
_keepalive = []  # ctypes objects the core holds pointers to, for the life of the process
_lock = threading.Lock()


def _fail(code, message):
    LIB.mx_custom_op_set_error(ctypes.c_int32(code), c_str(message))
    return -1


def _attrs(n, keys, vals):
    return {keys[i].decode(): vals[i].decode() for i in range(n)}


def _view(t):
    """A numpy array over a DLTensor's memory (no copy)."""
    dt = _DL_TO_DT.get((t.dtype.code, t.dtype.bits))
    if dt is None or t.dtype.lanes != 1:
        raise MXNetError("custom ops run on float32/64/16, int8/32/64, uint8 and bool arrays, not DLPack "
                         "type (%d, %d)" % (t.dtype.code, t.dtype.bits))
    shape = tuple(t.shape[i] for i in range(t.ndim))
    dt = np.dtype(dt)
    n = int(np.prod(shape, dtype=np.int64)) * dt.itemsize
    if n == 0:
        return np.zeros(shape, dt)
    buf = (ctypes.c_char * n).from_address(t.data + t.byte_offset)
    return np.frombuffer(buf, dtype=dt).reshape(shape)


class _Registered:
    """One op_type: the prop class, the core ops made for it, and the live operator instances."""

    def __init__(self, op_type, prop_cls):
        self.op_type = op_type
        self.prop_cls = prop_cls
        self.forward_name = "_custom_" + op_type
        self.backward_name = "_backward_custom_" + op_type
        import inspect  # here, not at import: it costs `import mx` ~10 ms
        sig = inspect.signature(prop_cls.__init__)
        self.params = []  # (name, default or None)
        for p in list(sig.parameters.values())[1:]:
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                continue
            self.params.append((p.name, None if p.default is p.empty else str(p.default)))
        self.props = {}      # kwargs tuple -> prop
        self.instances = {}  # (kwargs, forward input shapes, dtypes) -> CustomOp: backward reuses forward's
        self.states = {}     # kernel state id -> CustomOp
        self.next_state = 1
        self.core_registered = False

    def prop(self, kwargs):
        key = tuple(sorted(kwargs.items()))
        p = self.props.get(key)
        if p is None:
            p = self.props[key] = self.prop_cls(**kwargs)
        return p

    def kwargs(self, n, keys, vals):
        """The prop's keyword arguments from an op's attributes: as MXNet, only those given (an
        attribute equal to its declared default is taken as not given) and as strings."""
        defaults = dict(self.params)
        return {k: v for k, v in _attrs(n, keys, vals).items() if defaults.get(k) != v}

    # ---- the core ops
    def ensure_core_ops(self, kwargs):
        """Registers _custom_<type> and its backward with the core (once; input names from a prop)."""
        with _lock:
            if self.core_registered:
                return
            prop = self.prop(kwargs)
            self.args = list(prop.list_arguments())
            self.aux = list(prop.list_auxiliary_states())
            self.outs = list(prop.list_outputs())
            n_in, n_out = len(self.args) + len(self.aux), len(self.outs)
            for name in (self.forward_name, self.backward_name):  # both or neither get registered
                try:
                    _ops.op_info(name)
                except MXNetError:
                    continue
                raise MXNetError("mx.operator.register(%r): an op named %s exists already" % (self.op_type, name))
            fwd = self._op_def(self.forward_name, self.args + self.aux, n_out, False)
            bwd = self._op_def(self.backward_name, ["out_grad_" + o for o in self.outs] +
                               self.args + self.aux + ["out_" + o for o in self.outs], len(self.args), True)
            check_call(LIB.mx_custom_op_register(ctypes.byref(fwd), c_str("python op " + self.op_type)))
            check_call(LIB.mx_custom_op_register(ctypes.byref(bwd), c_str("python op " + self.op_type)))
            self.n_in, self.n_out = n_in, n_out
            self.core_registered = True
        from . import library
        library.refresh_namespaces()

    def _op_def(self, name, inputs, n_out, backward):
        keep = []
        params = []
        for pname, default in self.params:
            p = _Param(ctypes.sizeof(_Param), c_str(pname), _PARAM_STRING,
                       None if default is None else c_str(default), c_str(""))
            keep.append(p)
            params.append(ctypes.pointer(p))
        param_arr = (ctypes.POINTER(_Param) * max(1, len(params)))(*params)
        names = (ctypes.c_char_p * max(1, len(inputs)))(*[c_str(i) for i in inputs])
        infer_shape = _InferFn(lambda user, a: self._infer(a, backward, shapes=True))
        infer_dtype = _InferFn(lambda user, a: self._infer(a, backward, shapes=False))
        create = _CreateFn(lambda a, out: self._create(a, out, backward))
        run = _RunFn(lambda st, ctx, ins, n, outs, m: self._run(st, ctx, ins, n, outs, m, backward))
        destroy = _DestroyFn(lambda st: self.states.pop(st, None) and None)
        kernel = _Kernel(ctypes.sizeof(_Kernel), c_str(name), create, run, destroy, None)
        gradient = _GradFn() if backward else _GradFn(lambda user, a: self._gradient(a))
        d = _ExtOp(ctypes.sizeof(_ExtOp), c_str(name),
                   c_str("Python custom op %s%s" % (self.op_type, " (backward)" if backward else "")),
                   len(inputs), names, n_out, len(params), param_arr, infer_shape, infer_dtype,
                   ctypes.pointer(kernel), None, gradient, None)
        _keepalive.extend([keep, param_arr, names, infer_shape, infer_dtype, create, run, destroy, kernel, gradient, d])
        return d

    # ---- callbacks (never raise into C)
    def _infer(self, a_ptr, backward, shapes):
        a = a_ptr.contents
        try:
            prop = self.prop(self.kwargs(a.num_attrs, a.attr_keys, a.attr_vals))
            n_args = len(self.args)
            if backward:  # the arguments sit after the output gradients; their gradients match them
                first = self.n_out
                if shapes:
                    outs = [[a.in_shapes[first + i][d] for d in range(a.in_ndims[first + i])] for i in range(n_args)]
                else:
                    outs = [a.in_dtypes[first + i] for i in range(n_args)]
            elif shapes:
                in_shapes = [[a.in_shapes[i][d] for d in range(a.in_ndims[i])] for i in range(n_args)]
                _, outs, _ = prop.infer_shape(in_shapes)
            else:
                in_types = [_MX_TO_DT.get(a.in_dtypes[i], np.dtype("float32")).type for i in range(n_args)]
                _, out_types, _ = prop.infer_type(in_types)
                outs = [_DT_TO_MX[np.dtype(t)] for t in out_types]
            if len(outs) != a.num_outputs:
                return _fail(_MX_ERR_INVALID_ARGUMENT, "Custom %s: infer_%s gave %d outputs, list_outputs has %d"
                             % (self.op_type, "shape" if shapes else "type", len(outs), a.num_outputs))
            for i, o in enumerate(outs):
                if shapes:
                    o = [int(d) for d in o]
                    if len(o) > 32 or any(d < 0 for d in o):  # MX_EXT_MAX_NDIM: room the core gave
                        return _fail(_MX_ERR_INVALID_ARGUMENT, "Custom %s: infer_shape gave output %d the shape %s "
                                     "(at most 32 dims, none negative)" % (self.op_type, i, o))
                    a.out_ndims[i] = len(o)
                    for d, v in enumerate(o):
                        a.out_shapes[i][d] = v
                else:
                    a.out_dtypes[i] = int(o)
            return 0
        except Exception as e:  # noqa: BLE001 - reported to the caller through the C API
            return _fail(_MX_ERR_INVALID_ARGUMENT, "Custom %s: infer_%s raised %s: %s"
                         % (self.op_type, "shape" if shapes else "type", type(e).__name__, e))

    def _create(self, a_ptr, out, backward):
        a = a_ptr.contents
        try:
            kwargs = self.kwargs(a.num_attrs, a.attr_keys, a.attr_vals)
            prop = self.prop(kwargs)
            # The forward's inputs (backward's come after the output gradients): as in MXNet, one
            # CustomOp serves a forward and its backward, so state kept on self carries over.
            first = self.n_out if backward else 0
            ins = [a.inputs[first + i] for i in range(self.n_in)]
            shapes = [[t.shape[d] for d in range(t.ndim)] for t in ins]
            dtypes = [np.dtype(_DL_TO_DT.get((t.dtype.code, t.dtype.bits), "float32")) for t in ins]
            key = (tuple(sorted(kwargs.items())), tuple(map(tuple, shapes)), tuple(d.str for d in dtypes), a.device_id)
            with _lock:
                op = self.instances.get(key)
            if op is None:
                op = prop.create_operator(Context("cpu", a.device_id), shapes, dtypes)
                with _lock:
                    op = self.instances.setdefault(key, op)
            with _lock:
                sid = self.next_state
                self.next_state += 1
                self.states[sid] = op
            out[0] = sid
            return 0
        except Exception as e:  # noqa: BLE001
            return _fail(_MX_ERR_INVALID_ARGUMENT, "Custom %s: create_operator raised %s: %s"
                         % (self.op_type, type(e).__name__, e))

    def _run(self, sid, ctx_ptr, ins, n, outs, m, backward):
        from . import ndarray as nd
        try:
            op = self.states[sid]
            arrays = [nd.from_dlpack(_view(ins[i])) for i in range(n)]
            results = [nd.from_dlpack(_view(outs[i])) for i in range(m)]
            if backward:
                k = self.n_out
                out_grad = arrays[:k]
                in_data = arrays[k:k + len(self.args)]
                aux = arrays[k + len(self.args):k + self.n_in]
                out_data = arrays[k + self.n_in:]
                op.backward(["write"] * m, out_grad, in_data, out_data, results, aux)
            else:
                ctx = ctx_ptr.contents
                is_train = bool(ctx.is_train) if ctx.struct_size >= _KernelCtx.is_train.offset + 4 else False
                op.forward(is_train, ["write"] * m, arrays[:len(self.args)], results, arrays[len(self.args):])
            for r in results:
                r.wait_to_read()  # surfaces a failure of the ops forward issued
            return 0
        except Exception as e:  # noqa: BLE001
            import traceback
            tb = traceback.extract_tb(e.__traceback__)
            where = (" at %s:%d" % (tb[-1].filename, tb[-1].lineno)) if tb else ""
            return _fail(_MX_ERR_INTERNAL, "Custom %s: %s raised %s: %s%s" % (
                self.op_type, "backward" if backward else "forward", type(e).__name__, e, where))

    def _gradient(self, a_ptr):
        a = a_ptr.contents
        try:
            values = ([a.out_grads[i] for i in range(a.num_outputs)] + [a.inputs[i] for i in range(a.num_inputs)] +
                      [a.outputs[i] for i in range(a.num_outputs)])
            vals = (ctypes.c_int32 * len(values))(*values)
            n_args = len(self.args)
            got = (ctypes.c_int32 * max(1, n_args))()
            b = a.builder.contents
            r = b.call_all(b.self, c_str(self.backward_name), len(values), vals, a.num_attrs, a.attr_keys,
                           a.attr_vals, n_args, got)
            if r < 0:
                return -1  # the builder recorded why
            for i in range(a.num_inputs):
                a.in_grads[i] = got[i] if i < n_args else -1  # auxiliary states get no gradient
            return 0
        except Exception as e:  # noqa: BLE001
            return _fail(_MX_ERR_INTERNAL, "Custom %s: gradient: %s: %s" % (self.op_type, type(e).__name__, e))


def register(reg_name):
    """Class decorator: registers a CustomOpProp subclass under op_type `reg_name`."""
    def do_register(prop_cls):
        if not (isinstance(prop_cls, type) and issubclass(prop_cls, CustomOpProp)):
            raise TypeError("mx.operator.register(%r): %r is not a CustomOpProp subclass" % (reg_name, prop_cls))
        if reg_name in _registry:
            raise MXNetError("mx.operator.register: op_type %r is registered already" % reg_name)
        reg = _registry[reg_name] = _Registered(reg_name, prop_cls)
        if all(default is not None for _, default in reg.params):
            reg.ensure_core_ops({})  # known now, so symbol JSON naming the op loads before any call
        return prop_cls
    return do_register


def get_all_registered_operators():
    return list(_registry)


def _lookup(op_type, kwargs):
    reg = _registry.get(op_type)
    if reg is None:
        raise MXNetError("Custom: op_type %r is not registered (mx.operator.register); registered: %s"
                         % (op_type, ", ".join(sorted(_registry)) or "none"))
    reg.ensure_core_ops({k: str(v) for k, v in kwargs.items()})
    return reg


def _nd_custom(*data, op_type=None, out=None, name=None, **kwargs):
    """mx.nd.Custom(*inputs, op_type=..., **params): runs a registered Python operator."""
    reg = _lookup(op_type, kwargs)
    return _ops.invoke(reg.forward_name, list(data), {k: str(v) for k, v in kwargs.items()}, out)


def _sym_custom(*data, op_type=None, name=None, attr=None, **kwargs):
    """mx.sym.Custom(*inputs, op_type=..., **params)."""
    from . import symbol
    reg = _lookup(op_type, {k: v for k, v in kwargs.items() if not isinstance(v, symbol.Symbol)})
    fn = getattr(symbol, reg.forward_name)
    return fn(*data, name=name, attr=attr, **{k: (v if isinstance(v, symbol.Symbol) else str(v))
                                             for k, v in kwargs.items()})
