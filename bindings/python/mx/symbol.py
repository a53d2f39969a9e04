"""mx.sym: static graphs (Variable, every op generated at import, Group, JSON) and executors."""
import ctypes
import math
import numbers
import sys

import numpy as np

from . import _ops
from .base import LIB, check_call, check_shape, c_array, c_str
from .context import Context, current_context
from .ndarray import NDArray, _mx_dtype, _DTYPE_NP  # noqa: F401  (mx.sym.NDArray, as before)
from .executor import Executor, _flat_shapes
from .name import NameManager
from .attribute import AttrScope
from . import symbol_methods, _fluent

_handle = ctypes.c_void_p
_REQ = {"null": 0, "write": 1, "add": 3}


def _names(fn, handle):
    n = ctypes.c_uint32()
    out = ctypes.POINTER(ctypes.c_char_p)()
    check_call(fn(handle, ctypes.byref(n), ctypes.byref(out)))
    return [out[i].decode() for i in range(n.value)]


class Symbol:
    """A graph's outputs. Compose by calling ops on symbols: mx.sym.FullyConnected(data, num_hidden=10)."""

    def __init__(self, handle):
        self.handle = handle

    def __del__(self):
        if self.handle is not None and LIB is not None:
            LIB.mx_symbol_free(self.handle)
            self.handle = None

    def __copy__(self):
        out = _handle()
        check_call(LIB.mx_symbol_copy(self.handle, ctypes.byref(out)))
        return Symbol(out)

    @property
    def name(self):
        s, ok = ctypes.c_char_p(), ctypes.c_int32()
        check_call(LIB.mx_symbol_get_name(self.handle, ctypes.byref(s), ctypes.byref(ok)))
        return s.value.decode() if ok.value else None

    def __repr__(self):
        return "<Symbol %s>" % (self.name or "group [" + ", ".join(self.list_outputs()) + "]")

    def list_arguments(self): return _names(LIB.mx_symbol_list_arguments, self.handle)
    def list_outputs(self): return _names(LIB.mx_symbol_list_outputs, self.handle)
    def list_auxiliary_states(self): return _names(LIB.mx_symbol_list_auxiliary_states, self.handle)
    def list_inputs(self): return _names(LIB.mx_symbol_list_inputs, self.handle)

    def get_internals(self):
        out = _handle()
        check_call(LIB.mx_symbol_get_internals(self.handle, ctypes.byref(out)))
        return Symbol(out)

    def _get_children(self):  # get_children (None for a variable): symbol_methods
        out = _handle()
        check_call(LIB.mx_symbol_get_children(self.handle, ctypes.byref(out)))
        return Symbol(out)

    def __getitem__(self, index):
        if isinstance(index, str):
            names = self.list_outputs()
            if index not in names:
                raise ValueError("no output named %r (outputs: %s)" % (index, ", ".join(names)))
            index = names.index(index)
        if not isinstance(index, int) or isinstance(index, bool):
            raise TypeError("Symbol index must be an int or an output name, got %r" % (index,))
        n = len(self)
        if not -n <= index < n:  # IndexError ends a for loop / zip over the outputs, as MXNet
            raise IndexError("Symbol has %d outputs, index %d is out of range" % (n, index))
        index %= n
        out = _handle()
        check_call(LIB.mx_symbol_get_output(self.handle, ctypes.c_uint32(index), ctypes.byref(out)))
        return Symbol(out)

    def __len__(self):
        n = ctypes.c_uint32()
        check_call(LIB.mx_symbol_get_num_outputs(self.handle, ctypes.byref(n)))
        return n.value

    def attr(self, key):
        v, found = ctypes.c_char_p(), ctypes.c_int32()
        check_call(LIB.mx_symbol_get_attr(self.handle, c_str(key), ctypes.byref(v), ctypes.byref(found)))
        return v.value.decode() if found.value else None

    def _set_attr(self, **kwargs):
        for k, v in kwargs.items():
            check_call(LIB.mx_symbol_set_attr(self.handle, c_str(k), c_str(str(v))))

    def list_attr(self):
        n = ctypes.c_uint32()
        kv = ctypes.POINTER(ctypes.c_char_p)()
        check_call(LIB.mx_symbol_list_attr(self.handle, ctypes.byref(n), ctypes.byref(kv)))
        return {kv[2 * i].decode(): kv[2 * i + 1].decode() for i in range(n.value)}

    # ---- arithmetic, as MXNet's Symbol: elementwise between symbols (no broadcasting), scalar ops
    def _binary(self, other, op, scalar_op, reverse=False):
        if isinstance(other, Symbol):
            a, b = (other, self) if reverse else (self, other)
            return globals()[op](a, b)
        if isinstance(other, (int, float, np.number)):
            return globals()[scalar_op](self, scalar=float(other))
        return NotImplemented

    def __add__(self, o): return self._binary(o, "elemwise_add", "_plus_scalar")
    def __radd__(self, o): return self._binary(o, "elemwise_add", "_plus_scalar", True)
    def __sub__(self, o): return self._binary(o, "elemwise_sub", "_minus_scalar")
    def __rsub__(self, o): return self._binary(o, "elemwise_sub", "_rminus_scalar", True)
    def __mul__(self, o): return self._binary(o, "elemwise_mul", "_mul_scalar")
    def __rmul__(self, o): return self._binary(o, "elemwise_mul", "_mul_scalar", True)
    def __truediv__(self, o): return self._binary(o, "elemwise_div", "_div_scalar")
    def __rtruediv__(self, o): return self._binary(o, "elemwise_div", "_rdiv_scalar", True)
    def __mod__(self, o): return self._binary(o, "_mod", "_mod_scalar")
    def __rmod__(self, o): return self._binary(o, "_mod", "_rmod_scalar", True)
    def __pow__(self, o): return self._binary(o, "_power", "_power_scalar")
    def __rpow__(self, o): return self._binary(o, "_power", "_rpower_scalar", True)
    def __neg__(self): return globals()["negative"](self)
    # Comparisons build 1/0 symbols, as MXNet's (== and != stay Python's identity, so symbols can
    # still be dict keys and list members).
    def __lt__(self, o): return self._binary(o, "_lesser", "_lesser_scalar")
    def __le__(self, o): return self._binary(o, "_lesser_equal", "_lesser_equal_scalar")
    def __gt__(self, o): return self._binary(o, "_greater", "_greater_scalar")
    def __ge__(self, o): return self._binary(o, "_greater_equal", "_greater_equal_scalar")

    # ---- pickling: through JSON, as MXNet does
    def __getstate__(self):
        return {"json": self.tojson()}

    def __setstate__(self, state):
        other = load_json(state["json"])
        self.handle, other.handle = other.handle, None

    def attr_dict(self):
        """{node name: {attr: value}} for the nodes of the graph that have attributes."""
        import json
        out = {}
        for node in json.loads(self.tojson())["nodes"]:
            attrs = node.get("attrs") or node.get("attr") or node.get("param") or {}
            if attrs:
                out[node["name"]] = dict(attrs)
        return out

    # ---- inference
    def _infer_shape(self, partial, args, kwargs):
        shapes = dict(kwargs)
        if args:
            for name, s in zip(self.list_arguments(), args):
                if s is not None:
                    shapes[name] = s
        n, keys, ndims, dims = _flat_shapes(shapes, "infer_shape_partial" if partial else "infer_shape")
        groups = [[ctypes.c_uint32(), ctypes.POINTER(ctypes.c_int32)(),
                   ctypes.POINTER(ctypes.POINTER(ctypes.c_int64))()] for _ in range(3)]
        complete = ctypes.c_int32()
        flat = [ctypes.byref(x) for g in groups for x in g]
        check_call(LIB.mx_symbol_infer_shape(self.handle, ctypes.c_uint32(n), keys, ndims, dims,
                                             ctypes.c_int32(int(partial)), *flat, ctypes.byref(complete)))

        def unpack(g):
            out = []
            for i in range(g[0].value):
                nd = g[1][i]
                out.append(None if nd < 0 else tuple(g[2][i][k] for k in range(nd)))
            return out
        return unpack(groups[0]), unpack(groups[1]), unpack(groups[2])

    # infer_shape(_partial), infer_type(_partial) with MXNet 1.x's handling of what is unknown:
    # symbol_methods, on top of these two (None for each unknown shape or type).
    def _infer_type(self, **kwargs):
        keys = list(kwargs)
        types = c_array(ctypes.c_int32, [_mx_dtype(kwargs[k]) for k in keys])
        g = [[ctypes.c_uint32(), ctypes.POINTER(ctypes.c_int32)()] for _ in range(3)]
        complete = ctypes.c_int32()
        check_call(LIB.mx_symbol_infer_type(self.handle, ctypes.c_uint32(len(keys)),
                                            c_array(ctypes.c_char_p, [c_str(k) for k in keys]), types,
                                            ctypes.c_int32(1), *[ctypes.byref(x) for grp in g for x in grp],
                                            ctypes.byref(complete)))
        conv = lambda grp: [None if grp[1][i] < 0 else _DTYPE_NP[grp[1][i]].type for i in range(grp[0].value)]
        return conv(g[0]), conv(g[1]), conv(g[2])

    # ---- JSON
    def tojson(self):
        s = ctypes.c_char_p()
        check_call(LIB.mx_symbol_to_json(self.handle, ctypes.byref(s)))
        return s.value.decode()

    def save(self, fname):
        check_call(LIB.mx_symbol_save(self.handle, c_str(fname)))

    # ---- binding
    def simple_bind(self, ctx=None, grad_req="write", type_dict=None, **shapes):
        ctx = Context(ctx) if ctx is not None else current_context()
        n, keys, ndims, dims = _flat_shapes(shapes, "simple_bind")
        type_dict = type_dict or {}
        tkeys = list(type_dict)
        reqs = grad_req if isinstance(grad_req, dict) else {}
        default = _REQ[grad_req] if isinstance(grad_req, str) else 1
        if isinstance(grad_req, (list, tuple)):
            reqs = dict(zip(self.list_arguments(), grad_req))
        out = _handle()
        check_call(LIB.mx_executor_simple_bind(
            self.handle, ctypes.c_int32(ctx.device_typeid), ctypes.c_int32(ctx.device_id), ctypes.c_uint32(n), keys,
            ndims, dims, ctypes.c_uint32(len(tkeys)), c_array(ctypes.c_char_p, [c_str(k) for k in tkeys]),
            c_array(ctypes.c_int32, [_mx_dtype(type_dict[k]) for k in tkeys]), ctypes.c_int32(default),
            ctypes.c_uint32(len(reqs)), c_array(ctypes.c_char_p, [c_str(k) for k in reqs]),
            c_array(ctypes.c_int32, [_REQ[v] for v in reqs.values()]), ctypes.byref(out)))
        return Executor(out, self)

    def bind(self, ctx, args, args_grad=None, grad_req="write", aux_states=None):
        ctx = Context(ctx)
        names, aux_names = self.list_arguments(), self.list_auxiliary_states()
        pick = lambda v, ns: [v[k] for k in ns] if isinstance(v, dict) else list(v or [])
        args = pick(args, names)
        aux = pick(aux_states, aux_names)
        grads = [args_grad.get(k) for k in names] if isinstance(args_grad, dict) else list(args_grad or [])
        if isinstance(grad_req, str):
            reqs = [_REQ[grad_req] if args_grad is not None else 0] * len(names)
        elif isinstance(grad_req, dict):
            reqs = [_REQ[grad_req.get(k, "null")] for k in names]
        else:
            reqs = [_REQ[r] for r in grad_req]
        reqs = [r if i < len(grads) and grads[i] is not None else 0 for i, r in enumerate(reqs)]
        out = _handle()
        check_call(LIB.mx_executor_bind(
            self.handle, ctypes.c_int32(ctx.device_typeid), ctypes.c_int32(ctx.device_id), ctypes.c_uint32(len(args)),
            c_array(_handle, [a.handle for a in args]),
            c_array(_handle, [g.handle if g is not None else None for g in grads]) if grads else None,
            c_array(ctypes.c_int32, reqs), ctypes.c_uint32(len(aux)), c_array(_handle, [a.handle for a in aux]),
            ctypes.byref(out)))
        return Executor(out, self)


# ---------------------------------------------------------------- construction

def Variable(name, attr=None, shape=None, lr_mult=None, wd_mult=None, dtype=None, init=None, stype=None, **kwargs):
    if not isinstance(name, str):
        raise TypeError("Variable: name must be a string, got %r" % (name,))
    attrs = dict(AttrScope.current.get(attr))
    if shape is not None:
        attrs["__shape__"] = _ops.param_str(check_shape(shape, "Variable '%s'" % name))
    out = _handle()
    check_call(LIB.mx_symbol_create_variable(c_str(name), ctypes.byref(out)))
    s = Symbol(out)
    if dtype is not None:
        attrs["__dtype__"] = np.dtype(dtype).name
    if lr_mult is not None:
        attrs["__lr_mult__"] = lr_mult
    if wd_mult is not None:
        attrs["__wd_mult__"] = wd_mult
    if init is not None:  # an Initializer or its JSON; Initializer.__call__ reads it back
        attrs["__init__"] = init if isinstance(init, str) else init.dumps()
    if stype not in (None, "default"):
        raise ValueError("Variable '%s': stype %r: mx has dense storage only" % (name, stype))
    for k, v in kwargs.items():  # MXNet: extra attributes must be __xxx__
        if not (k.startswith("__") and k.endswith("__")):
            raise ValueError("Variable '%s': attribute name=%s is not supported; additional attributes must "
                             "start and end with double underscores, e.g. __yourattr__" % (name, k))
        attrs[k] = str(v)
    s._set_attr(**attrs)
    return s


var = Variable


def Group(symbols):
    out = _handle()
    check_call(LIB.mx_symbol_create_group(ctypes.c_uint32(len(symbols)), c_array(_handle, [s.handle for s in symbols]),
                                          ctypes.byref(out)))
    return Symbol(out)


def load_json(json_str):
    out = _handle()
    check_call(LIB.mx_symbol_from_json(c_str(json_str), ctypes.byref(out)))
    return Symbol(out)


def load(fname):
    out = _handle()
    check_call(LIB.mx_symbol_load(c_str(fname), ctypes.byref(out)))
    return Symbol(out)


def _make(op_name, info):
    inputs = info["inputs"]
    variadic = "num_args" in {p[0] for p in info["params"]}
    shapes = _ops.shape_params(op_name, info["params"])
    param_order = [p[0] for p in info["params"]]

    def op(*args, name=None, attr=None, **kwargs):
        # As mx.nd: positional values after the Symbols fill the params in order (sym.clip(x, 0, 6)).
        n_syms = 0
        while n_syms < len(args) and isinstance(args[n_syms], Symbol):
            n_syms += 1
        if n_syms < len(args):
            extra, args = args[n_syms:], args[:n_syms]
            free = [p for p in param_order if p not in kwargs]
            if len(extra) > len(free) or any(isinstance(v, Symbol) for v in extra):
                raise TypeError("%s: %d positional values after the inputs, but only the params %s are left "
                                "(Symbols come first)" % (op_name, len(extra), ", ".join(free)))
            kwargs.update(zip(free, extra))
        syms = {k: kwargs.pop(k) for k in list(kwargs) if isinstance(kwargs[k], Symbol)}
        if shapes:
            _ops.check_shape_params(op_name, shapes, kwargs)
        if variadic and "num_args" not in kwargs:
            kwargs["num_args"] = len(args) + len(syms)
        h = _handle()
        keys, vals = _ops.c_params(kwargs)
        check_call(LIB.mx_symbol_create_atomic(c_str(op_name), ctypes.c_uint32(len(kwargs)), keys, vals,
                                               ctypes.byref(h)))
        s = Symbol(h)
        name = NameManager.current.get(name, op_name.lower())
        if op_name == "LeakyReLU" and kwargs.get("act_type") == "prelu" and "gamma" not in syms and len(args) < 2:
            # MXNet gives PReLU's own gamma variable the initial slope 0.25 (its __init__ attribute).
            syms["gamma"] = Variable(name + "_gamma", attr={"__init__": '["Constant", {"value": 0.25}]'})
            if not args and "data" not in syms:
                raise TypeError("LeakyReLU: input 'data' is missing")
        if args and syms:  # FullyConnected(data, weight=w): positions name the first inputs
            if variadic or len(args) > len(inputs):
                raise TypeError("%s: give inputs by position or by name, not both" % op_name)
            syms = {**dict(zip(inputs, args)), **syms}
            args = ()
        given = list(args) if args else list(syms.values())
        names = None if args else c_array(ctypes.c_char_p, [c_str(k) for k in syms])
        check_call(LIB.mx_symbol_compose(s.handle, c_str(name), ctypes.c_uint32(len(given)), names,
                                         c_array(_handle, [g.handle for g in given])))
        attr = AttrScope.current.get(attr)
        if attr:
            s._set_attr(**attr)
        return s

    op.__name__ = op_name
    op.__doc__ = "Symbolic " + op_name + " (inputs: " + ", ".join(inputs) + ").\n\n" + info["doc"]
    return op


# ---- creation functions and the functional binary ops of MXNet's symbol module (the generated op
# functions they call are looked up when called)

def _op(name):
    return globals()[name]


def zeros(shape, dtype=None, **kwargs):
    return _op("_zeros")(shape=check_shape(shape, "mx.sym.zeros"), dtype=dtype or "float32", **kwargs)


def ones(shape, dtype=None, **kwargs):
    return _op("_ones")(shape=check_shape(shape, "mx.sym.ones"), dtype=dtype or "float32", **kwargs)


def full(shape, val, dtype=None, **kwargs):
    return _op("_full")(shape=check_shape(shape, "mx.sym.full"), value=float(val), dtype=dtype or "float32", **kwargs)


def arange(start, stop=None, step=1.0, repeat=1, infer_range=False, name=None, dtype=None):
    params = {"start": start, "step": step, "repeat": repeat, "infer_range": infer_range, "dtype": dtype or "float32"}
    if stop is not None:
        params["stop"] = stop
    return _op("_arange")(name=name, **params)


def linspace(start, stop, num, endpoint=True, name=None, dtype=None):
    return _op("_linspace")(start=start, stop=stop, num=num, endpoint=endpoint, name=name, dtype=dtype or "float32")


def eye(N, M=0, k=0, dtype=None, **kwargs):
    return _op("_eye")(N=N, M=M, k=k, dtype=dtype or "float32", **kwargs)


def _functional(lhs, rhs, array_op, scalar_op, rscalar_op, py_fn, what):
    """MXNet's symbol pow / maximum / minimum / hypot: elementwise op of two symbols, the scalar op
    with a number on either side, the Python value of two numbers."""
    if isinstance(lhs, Symbol) and isinstance(rhs, Symbol):
        return _op(array_op)(lhs, rhs)
    if isinstance(lhs, Symbol) and isinstance(rhs, numbers.Number):
        return _op(scalar_op)(lhs, scalar=float(rhs))
    if isinstance(lhs, numbers.Number) and isinstance(rhs, Symbol):
        return _op(rscalar_op)(rhs, scalar=float(lhs))
    if isinstance(lhs, numbers.Number) and isinstance(rhs, numbers.Number):
        return py_fn(lhs, rhs)
    raise TypeError("%s: types (%s, %s) not supported" % (what, type(lhs).__name__, type(rhs).__name__))


def pow(base, exp):  # noqa: A001  (MXNet's mx.sym.pow)
    return _functional(base, exp, "_power", "_power_scalar", "_rpower_scalar", lambda x, y: x ** y, "mx.sym.pow")


def power(base, exp):
    return _functional(base, exp, "_power", "_power_scalar", "_rpower_scalar", lambda x, y: x ** y, "mx.sym.power")


def maximum(left, right):
    return _functional(left, right, "_maximum", "_maximum_scalar", "_maximum_scalar", lambda x, y: x if x > y else y,
                       "mx.sym.maximum")


def minimum(left, right):
    return _functional(left, right, "_minimum", "_minimum_scalar", "_minimum_scalar", lambda x, y: x if x < y else y,
                       "mx.sym.minimum")


def hypot(left, right):
    return _functional(left, right, "_hypot", "_hypot_scalar", "_hypot_scalar", math.hypot, "mx.sym.hypot")


def _generate():
    """A function per registered op (run again after libraries or custom ops add ops)."""
    for name in _ops.op_names():
        if name not in globals():
            globals()[name] = _make(name, _ops.op_info(name))
    _ops.fill_subspaces(globals(), {"contrib": contrib, "linalg": linalg, "random": random})


from ._shape_funcs import sym_split_v2 as split_v2, sym_histogram as histogram  # noqa: E402,F401
from . import symbol_contrib as contrib  # noqa: E402  (mx.sym.contrib, as MXNet)
from . import symbol_linalg as linalg  # noqa: E402  (mx.sym.linalg)
from . import symbol_random as random  # noqa: E402  (mx.sym.random)

_generate()
symbol_methods.install(Symbol, load_json)
_fluent.attach(Symbol, sys.modules[__name__])
