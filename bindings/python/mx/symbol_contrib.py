"""mx.sym.contrib: the symbolic contrib ops (`_contrib_X` as contrib.X) and control flow."""
from . import _control_flow as cf


def _sym():
    from . import symbol
    return symbol


def _select(pred, then_value, else_value):
    """where(pred, then, else) with the one-element pred broadcast to then's shape: the value of the
    branch taken, and gradients only into that branch."""
    s = _sym()
    mask = s.broadcast_add(s.zeros_like(then_value), s.Reshape(pred, shape=(1,)))
    return s.where(mask, then_value, else_value)


def _length(data, what):
    try:
        _, out_shapes, _ = data.infer_shape_partial()
    except Exception:  # noqa: BLE001  (any inference failure means: not known here)
        out_shapes = None
    if not out_shapes or not out_shapes[0] or not out_shapes[0][0]:
        raise ValueError("%s: the length of the data's first axis must be known when the graph is built "
                         "(give its Variable a shape=...): mx.sym.contrib.foreach unrolls the loop" % what)
    return int(out_shapes[0][0])


def foreach(body, data, init_states, name="foreach"):
    """Symbolic foreach: body(data[i], states) -> (outputs, states) over data's first axis, unrolled
    into the graph (the length must be inferable from the data's shape). Returns the outputs stacked
    along a new first axis and the final states, as MXNet's."""
    s = _sym()
    flat_data, _ = cf.flatten(data, s.Symbol, "foreach: data")
    cf.flatten(init_states, s.Symbol, "foreach: init_states")
    length = _length(flat_data[0], name)
    single = isinstance(data, s.Symbol)
    slices = [s.split(d, num_outputs=length, axis=0, squeeze_axis=True) if length > 1 else [s.squeeze(d, axis=0)]
              for d in flat_data]
    states, steps, fmt = init_states, [], None
    for i in range(length):
        step_in = slices[0][i] if single else [sl[i] for sl in slices]
        outs, states = body(step_in, states)
        flat, fmt = cf.flatten(outs, s.Symbol, "foreach: the body's outputs")
        steps.append(flat)
    stacked = [s.stack(*column, axis=0, num_args=len(column)) for column in zip(*steps)]
    return (cf.regroup(stacked, fmt) if fmt is not None else []), states


def while_loop(cond, func, loop_vars, max_iterations=None, name="while_loop"):
    """Symbolic while_loop, unrolled to max_iterations steps: a step after cond first fails keeps the
    loop vars unchanged and outputs zeros (MXNet leaves those rows unspecified)."""
    s = _sym()
    if max_iterations is None:
        raise ValueError("while_loop: max_iterations is required")
    cf.flatten(loop_vars, s.Symbol, "while_loop: loop_vars")
    single = isinstance(loop_vars, s.Symbol)
    vars_ = [loop_vars] if single else list(loop_vars)
    alive, steps, out_fmt = None, [], None
    for _ in range(int(max_iterations)):
        c = s.Reshape(cond(*vars_), shape=(1,))
        alive = c if alive is None else s.broadcast_mul(alive, c)
        out, new_vars = func(*vars_)
        flat_out, out_fmt = cf.flatten([] if out is None else out, s.Symbol, "while_loop: func's step output")
        new_flat, new_fmt = cf.flatten(cf.as_list(new_vars), s.Symbol, "while_loop: func's new loop_vars")
        old_flat, _ = cf.flatten(vars_, s.Symbol, "")
        if len(new_flat) != len(old_flat):
            raise ValueError("while_loop: func must return as many loop vars as it was given (%d)" % len(old_flat))
        kept = [_select(alive, n, o) for n, o in zip(new_flat, old_flat)]
        vars_ = cf.regroup(kept, new_fmt)
        steps.append([_select(alive, o, s.zeros_like(o)) for o in flat_out])
    stacked = [s.stack(*column, axis=0, num_args=len(column)) for column in zip(*steps)]
    outputs = cf.regroup(stacked, out_fmt) if out_fmt is not None and stacked else []
    return outputs, (vars_[0] if single else vars_)


def cond(pred, then_func, else_func, name="cond"):
    """Symbolic cond: both branches are in the graph and the one pred selects is the result (and the
    only one that receives gradients); pred is a one-element symbol."""
    s = _sym()
    then_flat, fmt = cf.flatten(then_func(), s.Symbol, "cond: then_func's result")
    else_flat, else_fmt = cf.flatten(else_func(), s.Symbol, "cond: else_func's result")
    if len(then_flat) != len(else_flat):
        raise ValueError("cond: then_func returns %d outputs, else_func %d" % (len(then_flat), len(else_flat)))
    picked = [_select(pred, t, e) for t, e in zip(then_flat, else_flat)]
    return cf.regroup(picked, fmt)
