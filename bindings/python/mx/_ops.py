"""Op calls through mx_imperative_invoke, and the functions generated from mx_op_list / mx_op_info."""
import ctypes
import functools
import keyword

import numpy as np

from .base import LIB, MXNetTypeError, check_call, check_shape, c_array, c_str

_handle = ctypes.c_void_p
_NDArray = None


class _OpInfo(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("name", ctypes.c_char_p), ("doc", ctypes.c_char_p),
                ("num_inputs", ctypes.c_uint32), ("input_names", ctypes.POINTER(ctypes.c_char_p)),
                ("num_outputs", ctypes.c_int32), ("num_params", ctypes.c_uint32),
                ("param_names", ctypes.POINTER(ctypes.c_char_p)), ("param_types", ctypes.POINTER(ctypes.c_char_p)),
                ("param_defaults", ctypes.POINTER(ctypes.c_char_p)), ("param_docs", ctypes.POINTER(ctypes.c_char_p)),
                ("has_gradient", ctypes.c_int32), ("num_backends", ctypes.c_uint32),
                ("backends", ctypes.POINTER(ctypes.c_char_p))]


def param_str(v):
    """A Python value in MXNet's attribute syntax: (2, 3), True, None, float32."""
    if isinstance(v, bool):
        return "True" if v else "False"
    if v is None:
        return "None"
    if isinstance(v, (tuple, list)):
        return "(" + ", ".join(param_str(x) for x in v) + ("," if len(v) == 1 else "") + ")"
    if isinstance(v, type) and issubclass(v, np.generic):
        return np.dtype(v).name
    if isinstance(v, np.dtype):
        return v.name
    if hasattr(v, "device_type") and hasattr(v, "device_id"):
        # the core knows cpu and gpu: MXNet's cpu_pinned / cpu_shared are plain CPU memory in mx
        return "%s(%d)" % ("cpu" if v.device_type.startswith("cpu") else v.device_type, v.device_id)
    return str(v)


def c_params(params):
    """(keys, values) of a str-keyed dict as C string arrays, values in MXNet's attribute syntax."""
    return (c_array(ctypes.c_char_p, [c_str(k) for k in params]),
            c_array(ctypes.c_char_p, [c_str(param_str(v)) for v in params.values()]))


def shape_params(name, params):
    """{param: lowest allowed dimension} for the Shape(tuple) params of an op or iterator. Their
    values are validated by check_shape before they become attribute strings, where a float or a
    dimension past int64 would be misread. Params named *shape are shapes (dims >= 0, reshape's
    codes down to -4); the rest (kernel, axes, reps...) get the type and int64 checks only."""
    out = {}
    for pname, ptype, _, _ in params:
        if ptype == "Shape(tuple)":
            out[pname] = (-4 if name in ("Reshape", "reshape") else 0) if pname.endswith("shape") else -2 ** 63
    return out


def check_shape_params(name, checks, kwargs):
    """Validates (check_shape) and normalises the shape-valued entries of kwargs in place."""
    for k, lowest in checks.items():
        v = kwargs.get(k)
        if v is not None:
            kwargs[k] = check_shape(v, "%s: attribute '%s'" % (name, k), lowest)


def _not_an_array(name, values):
    bad = next((v for v in values if not isinstance(v, _NDArray)), None)
    return MXNetTypeError("%s: inputs must be NDArrays, got %s %r" % (name, type(bad).__name__, bad))


def list_names(fn):
    """The strings a C API listing call (fn(out_num, out_names)) returns."""
    n = ctypes.c_uint32()
    names = ctypes.POINTER(ctypes.c_char_p)()
    check_call(fn(ctypes.byref(n), ctypes.byref(names)))
    return [names[i].decode() for i in range(n.value)]


def params_doc(params):
    """Docstring lines for (name, type, default, doc) tuples; an empty default means required."""
    return ["  %s : %s%s -- %s" % (name, ptype, ", required" if default == "" else ", default " + default, doc)
            for name, ptype, default, doc in params]


def op_names():
    return list_names(LIB.mx_op_list)


def op_info(name):
    info = _OpInfo()
    info.struct_size = ctypes.sizeof(_OpInfo)
    check_call(LIB.mx_op_get_info(c_str(name), ctypes.byref(info)))
    p = lambda arr, n: [arr[i].decode() for i in range(n)]
    return {
        "name": info.name.decode(), "doc": info.doc.decode(), "inputs": p(info.input_names, info.num_inputs),
        "params": list(zip(p(info.param_names, info.num_params), p(info.param_types, info.num_params),
                           p(info.param_defaults, info.num_params), p(info.param_docs, info.num_params))),
        "has_gradient": bool(info.has_gradient), "backends": p(info.backends, info.num_backends),
    }


def init(ndarray_class):
    global _NDArray
    _NDArray = ndarray_class


_names = {}
_NO_PARAMS = (0, None, None)

# Encoded attributes are cached per (key, type, value) tuple: 1, 1.0 and True compare and hash
# alike but print differently, so the type is part of the key; so is the sign of a float zero
# (-0.0 == 0.0). Only immutable values of these exact types are cached; anything else (lists,
# numpy arrays, contexts, subclasses) is encoded afresh on every call, so mutating it after a call
# cannot leak into the next one.
_SCALARS = frozenset([int, bool, str, type(None), type, np.int32, np.int64])
_FLOATS = frozenset([float, np.float32, np.float64])
_CACHE_SIZE = 1024


def _attr_key(params):
    """A hashable key that determines params' attribute strings exactly, or None (not cacheable)."""
    key = []
    for k, v in params.items():
        t = type(v)
        if t in _FLOATS:
            if v == 0.0 and str(v).startswith("-"):
                t = (t, "-0")
        elif t is tuple:
            for d in v:
                if type(d) is not int:
                    return None
        elif t not in _SCALARS:
            return None
        key.append(k)
        key.append(t)
        key.append(v)
    return tuple(key)


def _encode(params):
    """(count, keys, values) C string arrays for params (None values dropped, except axis=None)."""
    params = {k: v for k, v in params.items() if v is not None or k == "axis"}
    if not params:
        return _NO_PARAMS
    keys, vals = c_params(params)
    return len(params), keys, vals


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _encode_key(key):
    return _encode({key[i]: key[i + 2] for i in range(0, len(key), 3)})


def _encoded(params):
    if not params:
        return _NO_PARAMS
    key = _attr_key(params)
    return _encode(params) if key is None else _encode_key(key)


def _handles(name, arrays):
    try:
        return (_handle * len(arrays))(*[a.handle for a in arrays])
    except AttributeError:
        raise _not_an_array(name, arrays) from None


def invoke(name, inputs, params, out=None):
    """Runs op `name`; returns one array, or a list when the op has several visible outputs."""
    # The per-op path of every NDArray operation: kept to the few ctypes objects it needs.
    c_name = _names.get(name)
    if c_name is None:
        c_name = _names[name] = c_str(name)
    return _call(name, c_name, inputs, _encoded(params), out)


def _call(name, c_name, inputs, encoded, out):
    """mx_imperative_invoke with already encoded attributes (count, keys, values)."""
    ins = _handles(name, inputs)
    outs = ctypes.POINTER(_handle)()
    if out is None:
        n_out = ctypes.c_int32(0)
    else:
        given = out if isinstance(out, (list, tuple)) else [out]
        n_out = ctypes.c_int32(len(given))
        # a pointer to the handle array (the C side reads it as NDArrayHandle*); cheaper than a cast
        outs = ctypes.pointer(_handles(name + " (out=)", given))
    if LIB.mx_imperative_invoke(c_name, len(inputs), ins, ctypes.byref(n_out), ctypes.byref(outs), *encoded):
        check_call(-1)
    if out is not None:
        return out
    if n_out.value == 1:
        return _NDArray(_handle(outs[0]))
    return [_NDArray(_handle(outs[i])) for i in range(n_out.value)]


def _make(name, info):
    inputs = info["inputs"]
    n_inputs = len(inputs)
    param_names = {p[0] for p in info["params"]}
    variadic = "num_args" in param_names
    shapes = shape_params(name, info["params"])
    c_name = c_str(name)
    param_order = [p[0] for p in info["params"]]

    def checked(kwargs):
        # what every call's attributes go through before encoding (once per cached tuple)
        for k, v in kwargs.items():
            if isinstance(v, _NDArray):
                raise TypeError("%s: unknown input %r (inputs: %s)" % (name, k, ", ".join(inputs)))
        if shapes:
            check_shape_params(name, shapes, kwargs)
        return kwargs

    @functools.lru_cache(maxsize=_CACHE_SIZE)
    def encode_key(key):
        return _encode(checked({key[i]: key[i + 2] for i in range(0, len(key), 3)}))

    def op(*args, out=None, name=None, **kwargs):
        # As MXNet's generated functions: positional values fill the inputs, then the params in
        # order (mx.nd.clip(x, 0, 1), x.one_hot(3)); a variadic op takes them all as inputs.
        n_arrays = len(args) if variadic else n_inputs
        if n_arrays >= len(args):
            arrays = list(args)
        else:
            while n_arrays < len(args) and isinstance(args[n_arrays], _NDArray):
                n_arrays += 1
            arrays = list(args[:n_arrays])
            extra = args[n_arrays:]
            if extra:
                free = [p for p in param_order if p not in kwargs]
                if len(extra) > len(free):
                    raise TypeError("%s: %d positional values after the inputs, but only %d params left (%s)"
                                    % (op.__name__, len(extra), len(free), ", ".join(free)))
                for pname, value in zip(free, extra):
                    if isinstance(value, _NDArray):
                        raise TypeError("%s: array given after non-array positional values, for param %r"
                                        % (op.__name__, pname))
                    kwargs[pname] = value
        if kwargs:
            for i in inputs:
                if i in kwargs:
                    arrays.append(kwargs.pop(i))
        if variadic and "num_args" not in kwargs:
            kwargs["num_args"] = len(arrays)
        if not kwargs:
            encoded = _NO_PARAMS
        else:
            key = _attr_key(kwargs)
            encoded = _encode(checked(kwargs)) if key is None else encode_key(key)
        return _call(op.__name__, c_name, arrays, encoded, out)

    op.__name__ = name
    op.__doc__ = "\n".join([info["doc"], "", "Inputs: " + ", ".join(inputs), "", "Parameters"] +
                           params_doc(info["params"]))
    return op


def generate(namespace):
    """Adds a function per registered op (aliases included) to namespace, keeping existing names."""
    for name in op_names():
        if keyword.iskeyword(name) or name in namespace:
            continue
        namespace[name] = _make(name, op_info(name))


# Ops named `_<space>_X` also appear as <space>.X (mx.nd.contrib.box_nms, mx.sym.linalg.gemm2,
# mx.nd.random.pdf_normal), as MXNet places them; a function a module already has (the
# hand-written mx.nd.random.uniform) is kept.
SUBSPACES = ("contrib", "linalg", "random")


def fill_subspaces(namespace, spaces):
    """Adds namespace[op] to spaces[space] as X for every generated op `_<space>_X`."""
    for name, fn in list(namespace.items()):
        if not name.startswith("_") or not callable(fn):
            continue
        for space, module in spaces.items():
            prefix = "_%s_" % space
            short = name[len(prefix):]
            if name.startswith(prefix) and short and not keyword.iskeyword(short) and not hasattr(module, short):
                setattr(module, short, fn)
