"""Nested-structure helpers shared by the control-flow functions of mx.nd.contrib and mx.sym.contrib
(foreach, while_loop, cond): a body may return one array or a (nested) list of them, and the loop
returns its results in the same structure."""


def flatten(value, kind, what):
    """(flat list of `kind` instances, format) of an instance or a nested list / tuple of them."""
    if isinstance(value, kind):
        return [value], 0
    if not isinstance(value, (list, tuple)):
        raise TypeError("%s must be %s or a (nested) list of them, got %s" % (what, kind.__name__, type(value).__name__))
    flat, fmt = [], []
    for v in value:
        f, sub = flatten(v, kind, what)
        flat.extend(f)
        fmt.append(sub)
    return flat, fmt


def regroup(flat, fmt):
    """The inverse of flatten: rebuilds the structure `fmt` from the flat list."""
    def take(pos, f):
        if f == 0:
            return flat[pos], pos + 1
        out = []
        for sub in f:
            v, pos = take(pos, sub)
            out.append(v)
        return out, pos
    value, _ = take(0, fmt)
    return value


def as_list(value):
    return list(value) if isinstance(value, (list, tuple)) else [value]
