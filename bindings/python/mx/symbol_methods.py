"""Symbol methods with MXNet 1.x's semantics that are built on the core's basic calls: partial
shape / type inference, eval, debug_str and composition of a whole graph (net(data=other)).
symbol.py attaches them to Symbol (install(Symbol)); they are kept here to keep symbol.py short."""
import json
import warnings

from .base import MXNetError, check_shape
from .util import is_np_shape


# ---------------------------------------------------------------- shape / type inference

def _shape_request(sym, fn, args, kwargs):
    """{name: shape} from positional (list_arguments order) and keyword shapes. A 0 dimension means
    "unknown" (MXNet 1.x): the core keeps the known dimensions and infers the rest."""
    if args and kwargs:
        raise TypeError("%s: give shapes by position or by name, not both" % fn)
    if args:
        names = sym.list_arguments()
        if len(args) > len(names):
            raise ValueError("%s: %d shapes given, the symbol has %d arguments" % (fn, len(args), len(names)))
        kwargs = {k: s for k, s in zip(names, args) if s is not None}
    out = {}
    for key, shape in kwargs.items():
        if is_np_shape():  # numpy semantics: -1 is unknown, 0 a zero-size dimension
            shape = tuple(shape)
            if 0 in shape:
                raise MXNetError("%s: argument '%s' has shape %s: zero-size dimensions are not supported in "
                                 "symbolic shape inference yet (np_shape is on, so 0 means zero-size; use -1 "
                                 "for an unknown dimension)" % (fn, key, shape))
            shape = tuple(0 if d == -1 else d for d in shape)  # the core's "unknown"
        out[key] = check_shape(shape, "%s: argument '%s'" % (fn, key))
    return out


def _np_form(group):
    """Under np_shape, unknown dimensions read -1 (the core reports 0) and unknown shapes None."""
    return [None if s is None else tuple(-1 if d == 0 else d for d in s) for s in group]


def _known(shape):
    return shape is not None and 0 not in shape


def infer_shape(self, *args, **kwargs):
    """(arg_shapes, out_shapes, aux_shapes) from known shapes by name (or position). When the given
    shapes do not determine everything, warns and returns (None, None, None), as MXNet 1.x."""
    shapes = _shape_request(self, "infer_shape", args, kwargs)
    arg, out, aux = self._infer_shape(True, (), shapes)
    if all(_known(s) for group in (arg, out, aux) for s in group):
        return arg, out, aux
    np_mode = is_np_shape()
    shown = _np_form(arg) if np_mode else arg
    unknown = ["%s: %s" % (name, ("None" if np_mode else "()") if s is None else str(s))
               for name, s, raw in zip(self.list_arguments(), shown, arg) if not _known(raw)]
    msg = ("Cannot decide shape for the following arguments (%s in shape means unknown dimensions). "
           "Consider providing them as input:\n\t" % ("-1s" if np_mode else "0s") + "\n\t".join(unknown))
    warnings.warn(msg, stacklevel=2)
    return None, None, None


def infer_shape_partial(self, *args, **kwargs):
    """As infer_shape, but never gives up: unknown dimensions are 0, as in (0, 5), and wholly unknown
    shapes () (MXNet 1.x's form); under mx.util.np_shape -1 and None (MXNet's numpy form)."""
    shapes = _shape_request(self, "infer_shape_partial", args, kwargs)
    arg, out, aux = self._infer_shape(True, (), shapes)
    if is_np_shape():  # MXNet's numpy semantics: -1 for an unknown dimension, None for an unknown shape
        return _np_form(arg), _np_form(out), _np_form(aux)
    unknown_is_empty = lambda group: [() if s is None else s for s in group]
    return unknown_is_empty(arg), unknown_is_empty(out), unknown_is_empty(aux)


def _type_request(sym, fn, args, kwargs):
    if args and kwargs:
        raise TypeError("%s: give types by position or by name, not both" % fn)
    if args:
        kwargs = {k: t for k, t in zip(sym.list_arguments(), args) if t is not None}
    return kwargs


def infer_type(self, *args, **kwargs):
    """(arg_types, out_types, aux_types) as numpy types; (None, None, None) when the given types do
    not determine every type, as MXNet 1.x."""
    arg, out, aux = self._infer_type(**_type_request(self, "infer_type", args, kwargs))
    if all(t is not None for group in (arg, out, aux) for t in group):
        return arg, out, aux
    return None, None, None


def infer_type_partial(self, *args, **kwargs):
    """As infer_type, with None for each type that cannot be decided."""
    return self._infer_type(**_type_request(self, "infer_type_partial", args, kwargs))


# ---------------------------------------------------------------- misc

def symbol_bool(self):
    raise NotImplementedError("Symbol: the truth value of a Symbol is not defined (bool(Symbol) is not supported)")


def get_children(self):
    """The symbol's inputs as a grouped symbol, or None for a variable (no inputs), as MXNet."""
    children = self._get_children()
    return children if len(children.list_outputs()) else None


def eval(self, ctx=None, **kwargs):  # noqa: A001  (MXNet's Symbol.eval)
    """Binds the symbol to the arrays given by name and runs forward: the list of outputs."""
    from .context import current_context
    return self.bind(current_context() if ctx is None else ctx, kwargs).forward()


def debug_str(self):
    """A listing of the graph in MXNet's (nnvm's) print form: outputs, variables, then each op with
    its inputs and attributes."""
    graph = json.loads(self.tojson())
    nodes = graph["nodes"]
    entry = lambda e: "%s(%d)" % (nodes[e[0]]["name"], e[1])
    lines = ["Symbol Outputs:"]
    lines += ["\toutput[%d]=%s" % (i, entry(h)) for i, h in enumerate(graph["heads"])]
    for node in nodes:
        if node["op"] == "null":
            lines.append("Variable:" + node["name"])
            continue
        lines += ["--------------------", "Op:%s, Name=%s" % (node["op"], node["name"]), "Inputs:"]
        lines += ["\targ[%d]=%s version=0" % (i, entry(e)) for i, e in enumerate(node["inputs"])]
        attrs = node.get("attrs") or node.get("attr") or node.get("param") or {}
        if attrs:
            lines.append("Attrs:")
            lines += ["\t%s=%s" % (k, v) for k, v in attrs.items()]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- composition

def _merge_graphs(sym, replace, load_json):
    """A new symbol: sym's graph with each variable named in `replace` swapped for that symbol's
    graph. Variables with the same name in several graphs become one node (one argument)."""
    nodes, var_index = [], {}

    def add_graph(graph):
        """Appends graph's nodes; returns {old node index: new entry head or node index}."""
        moved = {}
        for i, node in enumerate(graph["nodes"]):
            if node["op"] == "null":
                if node["name"] in replace and graph is mine:
                    moved[i] = ("entry", replaced_heads[node["name"]])
                    continue
                if node["name"] in var_index:
                    moved[i] = ("node", var_index[node["name"]])
                    continue
                var_index[node["name"]] = len(nodes)
            node = dict(node)
            node["inputs"] = [remap(moved, e) for e in node["inputs"]]
            moved[i] = ("node", len(nodes))
            nodes.append(node)
        return moved

    def remap(moved, e):
        kind, where = moved[e[0]]
        if kind == "entry":
            return list(where)
        return [where, e[1]] + list(e[2:])

    mine = json.loads(sym.tojson())
    replaced_heads = {}
    for name, other in replace.items():
        graph = json.loads(other.tojson())
        moved = add_graph(graph)
        replaced_heads[name] = remap(moved, graph["heads"][0])
    moved = add_graph(mine)
    heads = [remap(moved, h) for h in mine["heads"]]
    out = {"nodes": nodes, "arg_nodes": [i for i, n in enumerate(nodes) if n["op"] == "null"],
           "heads": heads}
    if "attrs" in mine:
        out["attrs"] = mine["attrs"]
    return load_json(json.dumps(out))


def make_call(symbol_cls, load_json):
    """Symbol.__call__: a copy of the symbol with variables replaced by symbols, by name
    (net(data=other)). As MXNet's general (non-atomic) composition, only keyword inputs."""

    def __call__(self, *args, **kwargs):
        kwargs.pop("name", None)  # MXNet names only atomic symbols; a graph keeps its names
        if args:
            raise TypeError("Symbol.__call__: general composition only supports keyword inputs "
                            "(net(data=other)), got %d positional" % len(args))
        names = set(self.list_arguments()) | set(self.list_auxiliary_states())
        for key, value in kwargs.items():
            if not isinstance(value, symbol_cls):
                raise TypeError("Symbol.__call__: input %r must be a Symbol, got %s" % (key, type(value).__name__))
            if len(value.list_outputs()) != 1:
                raise ValueError("Symbol.__call__: input %r has %d outputs, expected one"
                                 % (key, len(value.list_outputs())))
            if key not in names:
                raise MXNetError("Symbol.__call__: keyword argument %r is not an input of the symbol (inputs: %s)"
                                 % (key, ", ".join(self.list_arguments())), 1)
        if not kwargs:
            return self.__copy__()
        return _merge_graphs(self, kwargs, load_json)

    return __call__


def install(symbol_cls, load_json):
    """Puts the methods above on Symbol."""
    for fn in (infer_shape, infer_shape_partial, infer_type, infer_type_partial, get_children, eval, debug_str):
        setattr(symbol_cls, fn.__name__, fn)
    symbol_cls.__bool__ = symbol_bool
    symbol_cls.__call__ = make_call(symbol_cls, load_json)
