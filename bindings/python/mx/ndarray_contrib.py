"""mx.nd.contrib: MXNet's contrib ops (`_contrib_X` registered as contrib.X, added at import) and the
imperative control flow of MXNet 1.x: foreach, while_loop and cond run their Python bodies eagerly,
so autograd records every step like any other op."""
from . import _control_flow as cf


def _nd():
    from . import ndarray
    return ndarray


def foreach(body, data, init_states, name="foreach"):
    """Runs body(data[i], states) -> (outputs, states) for i along data's first axis; returns the
    outputs stacked along a new first axis (in body's structure) and the final states."""
    nd = _nd()
    flat_data, _ = cf.flatten(data, nd.NDArray, "foreach: data")
    cf.flatten(init_states, nd.NDArray, "foreach: init_states")
    single = isinstance(data, nd.NDArray)
    length = flat_data[0].shape[0]
    for d in flat_data:
        if d.shape[0] != length:
            raise ValueError("foreach: every data array needs the same first dimension (%d vs %d)" % (length, d.shape[0]))
    states, steps, fmt = init_states, [], None
    for i in range(length):
        outs, states = body(data[i] if single else [d[i] for d in data], states)
        flat, fmt = cf.flatten(outs, nd.NDArray, "foreach: the body's outputs")
        steps.append(flat)
    if not steps:
        return [], states
    stacked = [nd.stack(*column, axis=0) for column in zip(*steps)]
    return cf.regroup(stacked, fmt), states


def while_loop(cond, func, loop_vars, max_iterations=None, name="while_loop"):
    """While cond(*loop_vars) is true and fewer than max_iterations steps ran:
    step_output, loop_vars = func(*loop_vars). Returns the step outputs stacked along a new first
    axis and padded to max_iterations rows (the padding's values are unspecified, as MXNet's), and
    the final loop_vars."""
    nd = _nd()
    if max_iterations is None:
        raise ValueError("while_loop: max_iterations is required")
    max_iterations = int(max_iterations)
    cf.flatten(loop_vars, nd.NDArray, "while_loop: loop_vars")
    single = isinstance(loop_vars, nd.NDArray)
    vars_ = [loop_vars] if single else list(loop_vars)
    n_vars = len(cf.flatten(vars_, nd.NDArray, "")[0])
    steps, out_fmt = [], None
    while len(steps) < max_iterations:
        c = cond(*vars_)
        if not isinstance(c, nd.NDArray) or c.size != 1:
            raise ValueError("while_loop: cond must return a one-element NDArray, got %r" % (c,))
        if not bool(c.asnumpy().reshape(-1)[0]):
            break
        out, new_vars = func(*vars_)
        flat_out, out_fmt = cf.flatten([] if out is None else out, nd.NDArray, "while_loop: func's step output")
        new_vars = cf.as_list(new_vars)
        if len(cf.flatten(new_vars, nd.NDArray, "while_loop: func's new loop_vars")[0]) != n_vars:
            raise ValueError("while_loop: func must return as many loop vars as it was given (%d)" % n_vars)
        vars_ = new_vars
        steps.append(flat_out)
    stacked = []
    for column in zip(*steps):
        rows = [x.expand_dims(0) for x in column]
        if len(steps) < max_iterations:
            rows.append(nd.zeros((max_iterations - len(steps),) + column[0].shape, ctx=column[0].context,
                                 dtype=column[0].dtype))
        stacked.append(nd.concat(*rows, dim=0))
    outputs = cf.regroup(stacked, out_fmt) if out_fmt is not None else []
    return outputs, (vars_[0] if single else vars_)


def cond(pred, then_func, else_func, name="cond"):
    """then_func() if the one-element array pred is non-zero, else else_func()."""
    if pred.size != 1:
        raise ValueError("cond: pred must be a one-element array, got shape %s" % (pred.shape,))
    return then_func() if bool(pred.asnumpy().reshape(-1)[0]) else else_func()


def boolean_mask(data, index, axis=0):
    """The slices of data along `axis` where the 1-d `index` is non-zero (MXNet's boolean_mask).
    The output's size depends on index's values, so this waits for index and gathers with `take`
    (whose gradient scatters back into the kept slices); the symbolic op reports that it needs the
    values at graph-build time."""
    import numpy as np
    nd = _nd()
    from .base import MXNetError
    if not -data.ndim <= axis < data.ndim:
        raise MXNetError("boolean_mask: axis %d is out of range for data of shape %s" % (axis, data.shape))
    axis = axis % data.ndim
    if index.ndim != 1 or index.shape[0] != data.shape[axis]:
        raise ValueError("boolean_mask: index must be 1-d of length data.shape[%d] = %d, got shape %s"
                         % (axis, data.shape[axis], index.shape))
    keep = np.flatnonzero(index.asnumpy())
    return nd.take(data, nd.array(keep, ctx=data.context, dtype="int64"), axis=axis)
