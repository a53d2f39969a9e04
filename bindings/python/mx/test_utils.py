"""mx.test_utils: MXNet's helpers for checking operators and graphs against numpy references and
central finite differences."""
import numpy as np

from . import ndarray as nd
from .context import Context, cpu

_default_ctx = [None]


def default_context():
    return _default_ctx[0] or cpu()


def set_default_context(ctx):
    _default_ctx[0] = Context(ctx)


def _host(x):
    return x.asnumpy() if isinstance(x, nd.NDArray) else np.asarray(x)


def default_tols(dtype):
    return {np.dtype(np.float16): (1e-2, 1e-2), np.dtype(np.float32): (1e-4, 1e-5),
            np.dtype(np.float64): (1e-7, 1e-9)}.get(np.dtype(dtype), (1e-4, 1e-5))


def almost_equal(a, b, rtol=None, atol=None, equal_nan=False):
    a, b = _host(a), _host(b)
    rt, at = default_tols(a.dtype)
    return np.allclose(a, b, rtol=rt if rtol is None else rtol, atol=at if atol is None else atol, equal_nan=equal_nan)


def assert_almost_equal(a, b, rtol=None, atol=None, names=("a", "b"), equal_nan=False):
    """Raises AssertionError naming the worst element when |a - b| > atol + rtol |b| anywhere."""
    a, b = _host(a), _host(b)
    rt, at = default_tols(a.dtype)
    rtol, atol = rt if rtol is None else rtol, at if atol is None else atol
    if a.shape != b.shape:
        raise AssertionError("%s has shape %s but %s has %s" % (names[0], a.shape, names[1], b.shape))
    if np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan):
        return
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    excess = np.abs(a64 - b64) - (atol + rtol * np.abs(b64))
    excess = np.where(np.isnan(excess), np.inf, excess)
    where = np.unravel_index(np.argmax(excess), a.shape) if a.ndim else ()
    raise AssertionError("Items are not equal (rtol=%g, atol=%g): worst at %s: %s=%r, %s=%r; %d of %d elements differ"
                         % (rtol, atol, where, names[0], a64[where], names[1], b64[where], int((excess > 0).sum()),
                            a.size))


def rand_ndarray(shape, stype="default", density=None, dtype=None, ctx=None):
    if stype != "default":
        raise ValueError("rand_ndarray: only dense ('default') arrays are supported, not %r" % (stype,))
    return nd.array(np.random.uniform(-1, 1, size=shape), ctx=ctx, dtype=dtype or np.float32)


def rand_shape_2d(dim0=10, dim1=10):
    return np.random.randint(1, dim0 + 1), np.random.randint(1, dim1 + 1)


def rand_shape_nd(num_dim, dim=10):
    return tuple(np.random.randint(1, dim + 1, size=num_dim))


def _location(sym, location, ctx, dtype):
    names = sym.list_arguments()
    if isinstance(location, dict):
        missing = set(names) - set(location)
        if missing:
            raise ValueError("location: no value for %s" % ", ".join(sorted(missing)))
    else:
        if len(location) != len(names):
            raise ValueError("location: %d values for the %d arguments %s" % (len(location), len(names), names))
        location = dict(zip(names, location))
    return {k: nd.array(_host(v), ctx=ctx, dtype=dtype) for k, v in location.items()}


def _aux(sym, aux_states, ctx, dtype):
    if aux_states is None:
        return None
    if not isinstance(aux_states, dict):
        aux_states = dict(zip(sym.list_auxiliary_states(), aux_states))
    return {k: nd.array(_host(v), ctx=ctx, dtype=dtype) for k, v in aux_states.items()}


def check_symbolic_forward(sym, location, expected, rtol=1e-4, atol=None, aux_states=None, ctx=None,
                           equal_nan=False, dtype=np.float32):
    """Binds sym at location and compares its outputs with expected (a list, or a dict by output name)."""
    ctx = ctx or default_context()
    args = _location(sym, location, ctx, dtype)
    exe = sym.bind(ctx, args, aux_states=_aux(sym, aux_states, ctx, dtype))
    outputs = [o.asnumpy() for o in exe.forward(is_train=False)]
    if isinstance(expected, dict):
        expected = [expected[k] for k in sym.list_outputs()]
    for name, out, exp in zip(sym.list_outputs(), outputs, expected):
        assert_almost_equal(out, exp, rtol, atol, ("forward " + name, "expected"), equal_nan)
    return outputs


def check_symbolic_backward(sym, location, out_grads, expected, rtol=1e-5, atol=None, aux_states=None,
                            grad_req="write", ctx=None, equal_nan=False, dtype=np.float32):
    """Runs forward (training) and backward with out_grads; compares argument gradients with expected."""
    ctx = ctx or default_context()
    args = _location(sym, location, ctx, dtype)
    if isinstance(expected, (list, tuple)):
        expected = dict(zip(sym.list_arguments(), expected))
    grads = {k: nd.zeros(v.shape, ctx, dtype) for k, v in args.items()}
    reqs = grad_req if isinstance(grad_req, dict) else {k: grad_req for k in args}
    reqs = {k: (reqs.get(k, "null") if k in expected else "null") for k in args}
    exe = sym.bind(ctx, args, args_grad=grads, grad_req=reqs, aux_states=_aux(sym, aux_states, ctx, dtype))
    exe.forward(is_train=True)
    if isinstance(out_grads, dict):
        out_grads = [out_grads[k] for k in sym.list_outputs()]
    exe.backward([nd.array(_host(g), ctx=ctx, dtype=dtype) for g in out_grads])
    result = {}
    for name, exp in expected.items():
        got = exe.grad_dict[name].asnumpy()
        assert_almost_equal(got, exp, rtol, atol, ("gradient of " + name, "expected"), equal_nan)
        result[name] = got
    return result


def numeric_grad(executor, location, aux_states=None, eps=1e-4, use_forward_train=True, dtype=np.float32):
    """Central differences of sum(outputs * projections) (executor.proj) for each location entry."""
    grads = {}
    for name, base in location.items():
        x = base.astype(np.float64)
        g = np.zeros_like(x)
        flat, gflat = x.reshape(-1), g.reshape(-1)
        for i in range(flat.size):
            old = flat[i]
            values = []
            for delta in (eps, -eps):
                flat[i] = old + delta
                executor.arg_dict[name][:] = x.astype(dtype)
                outs = executor.forward(is_train=use_forward_train)
                values.append(sum(float((o.asnumpy().astype(np.float64) * p).sum())
                                  for o, p in zip(outs, executor.proj)))
            flat[i] = old
            gflat[i] = (values[0] - values[1]) / (2 * eps)
        executor.arg_dict[name][:] = x.astype(dtype)
        grads[name] = g
    return grads


def check_numeric_gradient(sym, location, aux_states=None, numeric_eps=1e-3, rtol=1e-2, atol=None, grad_nodes=None,
                           use_forward_train=True, ctx=None, dtype=np.float32):
    """Compares the symbolic gradient of sum(outputs * random projections) with central finite
    differences, for the arguments in grad_nodes (default: all)."""
    ctx = ctx or default_context()
    args = _location(sym, location, ctx, dtype)
    grad_nodes = list(grad_nodes or sym.list_arguments())
    aux = _aux(sym, aux_states, ctx, dtype)
    grads = {k: nd.zeros(v.shape, ctx, dtype) for k, v in args.items() if k in grad_nodes}
    reqs = {k: ("write" if k in grad_nodes else "null") for k in args}
    exe = sym.bind(ctx, args, args_grad=grads, grad_req=reqs, aux_states=aux)
    outs = exe.forward(is_train=use_forward_train)
    exe.proj = [np.random.normal(0, 1, size=o.shape) for o in outs]
    exe.backward([nd.array(p, ctx=ctx, dtype=dtype) for p in exe.proj])
    symbolic = {k: exe.grad_dict[k].asnumpy() for k in grad_nodes}
    host = {k: args[k].asnumpy() for k in grad_nodes}
    numeric = numeric_grad(exe, host, eps=numeric_eps, use_forward_train=use_forward_train, dtype=dtype)
    for name in grad_nodes:
        assert_almost_equal(symbolic[name], numeric[name], rtol, atol if atol is not None else rtol * 1e-1,
                            ("symbolic gradient of " + name, "numeric"))
