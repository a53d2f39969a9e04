"""mx.test_utils' whole-graph checks: the same symbol bound on several contexts / dtypes agrees
(check_consistency), timing a forward(-backward) pass (check_speed), and two optimizers making the
same update (compare_optimizer)."""
import numbers
import time

import numpy as np

from . import ndarray as nd
from .ndarray_random import uniform
from .symbol import Symbol
from .test_utils import assert_almost_equal, default_context

_FLOAT_RANK = {np.dtype(np.float16): 0, np.dtype(np.float32): 1, np.dtype(np.float64): 2}


def _consistency_tols(tol):
    dtypes = [np.dtype(t) for t in (np.float16, np.float32, np.float64, np.uint8, np.int32, np.int64)]
    if tol is None:
        return dict(zip(dtypes, (1e-1, 1e-3, 1e-5, 0, 0, 0)))
    if isinstance(tol, numbers.Number):
        return {d: tol for d in dtypes}
    return {np.dtype(k): v for k, v in tol.items()}


def check_consistency(sym, ctx_list, scale=1.0, grad_req="write", arg_params=None, aux_params=None, tol=None,
                      raise_on_err=True, ground_truth=None, equal_nan=False, use_uniform=False, rand_type=np.float64):
    """Binds sym (or one symbol per entry) with each ctx_list entry, a dict of simple_bind arguments
    such as {'ctx': mx.cpu(0), 'data': (2, 3), 'type_dict': {'data': np.float16}}, runs forward and
    (unless grad_req is 'null') backward from the same random inputs, and compares outputs and
    gradients with the most precise entry (or ground_truth) at tol[dtype]. Returns the ground truth,
    a dict of numpy arrays by output / argument name."""
    if len(ctx_list) < 2 and ground_truth is None:
        raise ValueError("check_consistency: ctx_list needs at least two entries, got %d" % len(ctx_list))
    tol = _consistency_tols(tol)
    syms = [sym] * len(ctx_list) if isinstance(sym, Symbol) else list(sym)
    if len(syms) != len(ctx_list):
        raise ValueError("check_consistency: %d symbols for %d contexts" % (len(syms), len(ctx_list)))
    output_names, arg_names = syms[0].list_outputs(), syms[0].list_arguments()
    for s in syms[1:]:
        if s.list_outputs() != output_names or s.list_arguments() != arg_names:
            raise ValueError("check_consistency: the symbols differ in arguments or outputs")
    exes = [s.simple_bind(grad_req=grad_req, **spec) for s, spec in zip(syms, ctx_list)]
    arg_params = dict(arg_params or {})
    aux_params = dict(aux_params or {})
    for name, arr in exes[0].arg_dict.items():
        if name not in arg_params:
            shape = arr.shape
            arg_params[name] = (np.random.uniform(-0.92 * scale, 0.92 * scale, size=shape) if use_uniform
                                else np.random.normal(size=shape, scale=scale)).astype(rand_type)
    for exe in exes:
        for name, arr in exe.arg_dict.items():
            arr[:] = np.asarray(arg_params[name]).astype(arr.dtype)
        for name, arr in exe.aux_dict.items():
            arr[:] = np.broadcast_to(np.asarray(aux_params.get(name, 0)), arr.shape).astype(arr.dtype)
    dtypes = [np.dtype(exe.outputs[0].dtype) for exe in exes]
    ref = max(range(len(exes)), key=lambda i: _FLOAT_RANK.get(dtypes[i], -1))

    def compare(results, what):
        gt = ground_truth if ground_truth is not None else results[ref]
        for i, result in enumerate(results):
            if i == ref and ground_truth is None:
                continue
            rtol = tol.get(dtypes[i], 1e-3)
            for name, value in result.items():
                if name not in gt:
                    continue
                try:
                    assert_almost_equal(value, np.asarray(gt[name]).astype(dtypes[i]), rtol=rtol, atol=rtol,
                                        names=("%s %s of ctx %d" % (what, name, i), "ground truth"),
                                        equal_nan=equal_nan)
                except AssertionError as err:
                    if raise_on_err:
                        raise
                    print("check_consistency: %s" % err)
        return gt

    predictions = [dict(zip(output_names, (o.asnumpy() for o in exe.forward(is_train=False)))) for exe in exes]
    truth = compare(predictions, "prediction")
    if grad_req != "null":
        trained = []
        for exe in exes:
            outputs = exe.forward(is_train=True)
            exe.backward(outputs)
            result = dict(zip(output_names, (o.asnumpy() for o in outputs)))
            result.update({k: g.asnumpy() for k, g in exe.grad_dict.items() if g is not None})
            trained.append(result)
        truth = compare(trained, "training")
    return dict(truth)


def check_speed(sym, location=None, ctx=None, N=20, grad_req=None, typ="whole", **kwargs):
    """Seconds per iteration of forward+backward (typ='whole') or forward (typ='forward'), averaged over
    N runs after a warm-up. location maps argument names to numpy inputs; else kwargs give the shapes
    and inputs are standard normal."""
    if typ not in ("whole", "forward"):
        raise ValueError("check_speed: typ can only be 'whole' or 'forward', got %r" % (typ,))
    ctx = ctx or default_context()
    grad_req = grad_req or "write"
    if location is None:
        exe = sym.simple_bind(grad_req=grad_req, ctx=ctx, **kwargs)
        location = {k: np.random.normal(size=arr.shape) for k, arr in exe.arg_dict.items()}
    else:
        if not isinstance(location, dict):
            raise TypeError("check_speed: location must be a dict of numpy arrays, got %s" % type(location).__name__)
        exe = sym.simple_bind(grad_req=grad_req, ctx=ctx, **{k: v.shape for k, v in location.items()})
    for name, value in location.items():
        exe.arg_dict[name][:] = np.asarray(value).astype(exe.arg_dict[name].dtype)

    def one_pass():
        if typ == "whole":
            exe.backward(exe.forward(is_train=True))
        else:
            exe.forward(is_train=False)

    one_pass()
    nd.waitall()
    tic = time.time()
    for _ in range(N):
        one_pass()
    nd.waitall()
    return (time.time() - tic) / N


def _assert_states_close(s1, s2, rtol=None, atol=None):
    if s1 is None or s2 is None:
        return
    if isinstance(s1, (tuple, list)):
        for a, b in zip(s1, s2):
            _assert_states_close(a, b, rtol, atol)
    else:
        assert_almost_equal(s1.asnumpy(), s2.asnumpy(), rtol=rtol, atol=atol, names=("state of opt1", "state of opt2"))


def compare_optimizer(opt1, opt2, shape, dtype, w_stype="default", g_stype="default", rtol=1e-4, atol=1e-5,
                      compare_states=True):
    """Applies one update of opt1 and of opt2 to the same random weight and gradient and asserts the
    new weights (and the states, if compare_states) agree. Only dense storage is supported."""
    for arg, stype in (("w_stype", w_stype), ("g_stype", g_stype)):
        if stype != "default":
            raise ValueError("compare_optimizer: only dense storage is supported, got %s=%r" % (arg, stype))
    ctx = default_context()
    w2 = uniform(shape=shape, ctx=ctx, dtype=dtype)
    g2 = uniform(shape=shape, ctx=ctx, dtype=dtype)
    w1, g1 = w2.copyto(ctx), g2.copyto(ctx)

    def create(opt, w):
        return (opt.create_state_multi_precision(0, w) if hasattr(opt, "create_state_multi_precision")
                else opt.create_state(0, w))

    def update(opt, w, g, state):
        if hasattr(opt, "update_multi_precision"):
            opt.update_multi_precision(0, w, g, state)
        else:
            opt.update(0, w, g, state)

    state1, state2 = create(opt1, w1), create(opt2, w2)
    if compare_states:
        _assert_states_close(state1, state2)
    update(opt1, w1, g1, state1)
    update(opt2, w2, g2, state2)
    if compare_states:
        _assert_states_close(state1, state2, rtol, atol)
    assert_almost_equal(w1.asnumpy(), w2.asnumpy(), rtol=rtol, atol=atol, names=("weight of opt1", "weight of opt2"))
