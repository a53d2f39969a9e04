"""mx.test_utils: MXNet's helpers for tests: tolerant comparison by dtype, random inputs, checking
operators and graphs against numpy references and central finite differences, consistency and speed
checks, and (from test_utils_stats / test_utils_data) sampler checks and local MNIST loading."""
import contextlib
import functools
import numbers
import os
import sys

import numpy as np

from . import ndarray as nd
from .context import Context, cpu

_default_ctx = [None]


def default_context():
    """The context tests run on: cpu() unless set_default_context chose another."""
    return _default_ctx[0] or cpu()


def set_default_context(ctx):
    _default_ctx[0] = Context(ctx)


def default_dtype():
    return np.float32


def default_rtols():
    """MXNet's relative tolerances by dtype (0 for integer and bool: they must match exactly)."""
    exact = {np.dtype(t): 0 for t in (np.bool_, np.int8, np.uint8, np.int32, np.uint32, np.int64, np.uint64)}
    exact.update({np.dtype(np.float16): 1e-2, np.dtype(np.float32): 1e-4, np.dtype(np.float64): 1e-5})
    return exact


def default_atols():
    exact = {np.dtype(t): 0 for t in (np.bool_, np.int8, np.uint8, np.int32, np.uint32, np.int64, np.uint64)}
    exact.update({np.dtype(np.float16): 1e-1, np.dtype(np.float32): 1e-3, np.dtype(np.float64): 1e-20})
    return exact


def default_numeric_eps():
    """Finite-difference step by dtype, as MXNet's check_numeric_gradient picks it."""
    return {np.dtype(np.float16): 1.0 / 2 ** 6, np.dtype(np.float32): 1.0 / 2 ** 9,
            np.dtype(np.float64): 1.0 / 2 ** 14}


def default_tols(dtype):
    """(rtol, atol) for dtype: MXNet's defaults."""
    dtype = np.dtype(dtype)
    return default_rtols().get(dtype, 1e-4), default_atols().get(dtype, 1e-3)


def _host(x):
    return x.asnumpy() if isinstance(x, nd.NDArray) else np.asarray(x)


def get_tolerance(x, tol, default_tol):
    """tol when given, else the default for x's dtype (python numbers count as float64)."""
    if tol is not None:
        return tol
    dtype = np.dtype(np.float64) if isinstance(x, numbers.Number) else np.dtype(_host(x).dtype)
    return default_tol.get(dtype, default_tol[np.dtype(np.float32)])


def get_tols(x, y, rtol, atol):
    """The looser default of the two operands' dtypes, unless rtol / atol are given."""
    rtol = max(get_tolerance(x, rtol, default_rtols()), get_tolerance(y, rtol, default_rtols()))
    atol = max(get_tolerance(x, atol, default_atols()), get_tolerance(y, atol, default_atols()))
    return rtol, atol


def same(a, b):
    """True when a and b have the same shape and exactly equal elements."""
    return np.array_equal(_host(a), _host(b))


def _check_shapes(a, b, names, use_broadcast):
    if not use_broadcast and a.shape != b.shape:
        raise AssertionError("%s has shape %s but %s has shape %s" % (names[0], a.shape, names[1], b.shape))


def almost_equal(a, b, rtol=None, atol=None, equal_nan=False, use_broadcast=True):
    """True when |a - b| <= atol + rtol * |b| everywhere (tolerances default by dtype)."""
    rtol, atol = get_tols(a, b, rtol, atol)
    a, b = _host(a), _host(b)
    _check_shapes(a, b, ("a", "b"), use_broadcast)
    return bool(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))


def find_max_violation(a, b, rtol=None, atol=None):
    """(index, ratio) of the element where |a - b| / (atol + rtol |b|) is largest."""
    rtol, atol = get_tols(a, b, rtol, atol)
    a64, b64 = np.broadcast_arrays(_host(a).astype(np.float64), _host(b).astype(np.float64))
    violation = np.abs(a64 - b64) / (atol + rtol * np.abs(b64) + 1e-20)
    violation = np.where(np.isnan(violation), np.inf, violation)
    index = np.unravel_index(np.argmax(violation), violation.shape) if violation.ndim else ()
    return index, float(np.max(violation))


def assert_almost_equal(a, b, rtol=None, atol=None, names=("a", "b"), equal_nan=False, use_broadcast=True,
                        mismatches=(10, 10)):
    """Raises AssertionError naming the worst element when |a - b| > atol + rtol |b| anywhere.
    With use_broadcast=False the shapes must match exactly."""
    rtol, atol = get_tols(a, b, rtol, atol)
    a, b = _host(a), _host(b)
    _check_shapes(a, b, names, use_broadcast)
    try:
        a64, b64 = np.broadcast_arrays(a.astype(np.float64), b.astype(np.float64))
    except ValueError:
        raise AssertionError("%s has shape %s but %s has %s" % (names[0], a.shape, names[1], b.shape))
    if np.allclose(a64, b64, rtol=rtol, atol=atol, equal_nan=equal_nan):
        return
    index, ratio = find_max_violation(a64, b64, rtol, atol)
    bad = ~np.isclose(a64, b64, rtol=rtol, atol=atol, equal_nan=equal_nan)
    raise AssertionError("Error %f exceeds tolerance rtol=%e, atol=%e (mismatch %f%%, %d of %d elements); "
                         "worst at %s: %s=%r, %s=%r"
                         % (ratio, rtol, atol, 100.0 * bad.mean(), int(bad.sum()), bad.size, index,
                            names[0], a64[index], names[1], b64[index]))


def assert_allclose(a, b, rtol=1e-07, atol=0, equal_nan=True):
    """numpy.testing.assert_allclose on host copies of a and b (NDArrays welcome)."""
    np.testing.assert_allclose(_host(a), _host(b), rtol=rtol, atol=atol, equal_nan=equal_nan)


def assert_exception(f, exception_type, *args, **kwargs):
    """Calls f(*args, **kwargs) and fails unless it raises exception_type."""
    try:
        f(*args, **kwargs)
    except exception_type:
        return
    raise AssertionError("assert_exception: %s did not raise %s" % (getattr(f, "__name__", f), exception_type.__name__))


def retry(n):
    """Decorator: reruns a randomized test up to n times while it fails with AssertionError."""
    if not isinstance(n, int) or n < 1:
        raise ValueError("retry: n must be a positive int, got %r" % (n,))

    def decorate(test):
        @functools.wraps(test)
        def run(*args, **kwargs):
            for attempt in range(n):
                try:
                    return test(*args, **kwargs)
                except AssertionError:
                    if attempt == n - 1:
                        raise
        return run
    return decorate


def is_cd_run():
    """True inside MXNet's continuous-delivery jobs (CD_JOB=1)."""
    return os.environ.get("CD_JOB", "0") == "1"


@contextlib.contextmanager
def environment(*args):
    """Sets environment variables for the body of a with-block and restores them afterwards:
    environment('KEY', 'val') or environment({'K1': 'v1', 'K2': None}); None unsets."""
    if len(args) == 2:
        values = {args[0]: args[1]}
    elif len(args) == 1 and isinstance(args[0], dict):
        values = dict(args[0])
    else:
        raise ValueError("environment: expected (key, value) or a dict, got %r" % (args,))
    saved = {k: os.environ.get(k) for k in values}
    try:
        for key, value in values.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = str(value)
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextlib.contextmanager
def discard_stderr():
    """Sends what the process (C++ included) writes to file descriptor 2 to /dev/null in the body."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def random_arrays(*shapes):
    """Standard-normal float32 numpy arrays of the given shapes (one array when one shape)."""
    arrays = [np.array(np.random.randn(), dtype=default_dtype()) if len(s) == 0
              else np.random.randn(*s).astype(default_dtype()) for s in shapes]
    return arrays[0] if len(arrays) == 1 else arrays


def random_sample(population, k):
    """k distinct elements of population in random order."""
    if not 0 <= k <= len(population):
        raise ValueError("random_sample: k=%r must be in [0, %d]" % (k, len(population)))
    chosen = np.random.permutation(len(population))[:k]
    return [population[i] for i in chosen]


def rand_ndarray(shape, stype="default", density=None, dtype=None, modifier_func=None, shuffle_csr_indices=False,
                 distribution=None, ctx=None):
    """A dense NDArray of standard-normal values (sparse storage types are not supported by mx)."""
    if stype != "default":
        raise ValueError("rand_ndarray: only dense ('default') arrays are supported, not stype=%r" % (stype,))
    return nd.array(random_arrays(tuple(shape)), ctx=ctx, dtype=dtype or default_dtype())


def rand_shape_2d(dim0=10, dim1=10, allow_zero_size=False):
    low = 0 if allow_zero_size else 1
    return np.random.randint(low, dim0 + 1), np.random.randint(low, dim1 + 1)


def rand_shape_3d(dim0=10, dim1=10, dim2=10, allow_zero_size=False):
    low = 0 if allow_zero_size else 1
    return np.random.randint(low, dim0 + 1), np.random.randint(low, dim1 + 1), np.random.randint(low, dim2 + 1)


def rand_shape_nd(num_dim, dim=10, allow_zero_size=False):
    low = 0 if allow_zero_size else 1
    return tuple(np.random.randint(low, dim + 1, size=num_dim))


def np_reduce(dat, axis, keepdims, numpy_reduce_func):
    """Applies numpy_reduce_func over each axis in turn (axis: int, tuple or None for all)."""
    if isinstance(axis, int):
        axis = [axis]
    else:
        axis = list(axis) if axis is not None else list(range(dat.ndim))
    ret = dat
    for i in reversed(sorted(axis)):
        ret = numpy_reduce_func(ret, axis=i)
    if keepdims:
        shape = list(dat.shape)
        for i in axis:
            shape[i] = 1
        ret = ret.reshape(tuple(shape))
    return ret


def simple_forward(sym, ctx=None, is_train=False, **inputs):
    """Binds sym to the given numpy inputs and returns its output(s) as numpy."""
    ctx = ctx or default_context()
    args = {k: nd.array(v, ctx=ctx, dtype=np.asarray(v).dtype) for k, v in inputs.items()}
    outputs = [o.asnumpy() for o in sym.bind(ctx, args).forward(is_train=is_train)]
    return outputs[0] if len(outputs) == 1 else outputs


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


# Sampler statistics, consistency / speed checks and local data sets live in their own modules.
from .test_utils_checks import check_consistency, check_speed, compare_optimizer  # noqa: E402,F401
from .test_utils_stats import (gen_buckets_probs_with_ppf, mean_check, var_check,  # noqa: E402,F401
                               chi_square_check, verify_generator)
from .test_utils_data import get_mnist, get_cifar10  # noqa: E402,F401
