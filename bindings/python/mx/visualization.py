"""mx.viz: look at a Symbol — MXNet 1.x's print_summary (a layer table) and plot_network (a
graphviz drawing).

    sym = ...                                    # e.g. a LeNet ending in SoftmaxOutput
    mx.viz.print_summary(sym, shape={"data": (1, 1, 28, 28)})
    dot = mx.viz.plot_network(sym, shape={"data": (1, 1, 28, 28)})
    dot.render("lenet")                          # needs Debian's python3-graphviz and graphviz
"""
import copy
import json
import re
import warnings

import numpy as np

from .symbol import Symbol

__all__ = ["print_summary", "plot_network"]

# Variables with these suffixes are parameters (MXNet's naming): plot_network hides them and
# print_summary counts them in their layer instead of listing them as inputs.
_WEIGHT_SUFFIXES = ("_weight", "_bias", "_beta", "_gamma", "_moving_var", "_moving_mean",
                    "_running_var", "_running_mean")

# Ops whose trainable parameters are their variable inputs after the data (input 0).
_PARAM_OPS = ("Convolution", "Deconvolution", "FullyConnected", "BatchNorm", "Embedding",
              "LayerNorm", "InstanceNorm", "GroupNorm", "LeakyReLU", "RNN")

# MXNet's colour map (ColorBrewer Set3).
_COLORS = ("#8dd3c7", "#fb8072", "#ffffb3", "#bebada", "#80b1d3", "#fdb462", "#b3de69", "#fccde5")


def _str2tuple(string):
    """'(5, 5)' -> ['5', '5']."""
    return re.findall(r"\d+", string)


def _looks_like_weight(name):
    return name.endswith(_WEIGHT_SUFFIXES)


def _check_symbol(symbol, fn):
    if not isinstance(symbol, Symbol):
        raise TypeError("mx.viz.%s: symbol must be an mx.sym.Symbol, got %s" % (fn, type(symbol).__name__))


def _infer_shapes(symbol, shape, fn):
    """{internal output name or variable name: shape} of every node, from the input shapes."""
    if not isinstance(shape, dict):
        raise TypeError("mx.viz.%s: shape must be a dict {input name: shape tuple}, got %s"
                        % (fn, type(shape).__name__))
    unknown = set(shape) - set(symbol.list_inputs())
    if unknown:
        raise ValueError("mx.viz.%s: shape names %s, which are not inputs of the symbol (its inputs: %s)"
                         % (fn, sorted(unknown), symbol.list_inputs()))
    internals = symbol.get_internals()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        arg_shapes, out_shapes, aux_shapes = internals.infer_shape(**shape)
    if out_shapes is None:
        arg_partial, _, _ = internals.infer_shape_partial(**shape)
        missing = [n for n, s in zip(internals.list_arguments(), arg_partial) if not s or 0 in s]
        raise ValueError("mx.viz.%s: input shape is incomplete: cannot infer the shapes of %s from %s"
                         % (fn, missing, shape))
    shapes = dict(zip(internals.list_outputs(), out_shapes))
    shapes.update(zip(internals.list_arguments(), arg_shapes))
    shapes.update(zip(internals.list_auxiliary_states(), aux_shapes))
    return shapes


def _output_key(node, index, shapes):
    """The internals' name of output `index` of an op node: name_output, or name_output<i> when the
    op has several visible outputs."""
    if node["op"] == "null":
        return node["name"]
    single = node["name"] + "_output"
    if index == 0 and single in shapes:
        return single
    return "%s_output%d" % (node["name"], index)


def _fmt_shape(shape):
    return "x".join(str(x) for x in shape)


# ---------------------------------------------------------------- print_summary

def _layer_params(node, nodes, shapes, aux_names):
    """Number of trainable parameters of one op node (auxiliary states such as BatchNorm's moving
    statistics are not counted, as MXNet). Exact from the inferred shapes of its parameter inputs;
    without shapes, MXNet's formulas from the attributes (bias only for Convolution/FullyConnected)."""
    op, attrs = node["op"], node.get("attrs", {})
    if op not in _PARAM_OPS:
        return 0
    if shapes is not None:
        total = 0
        for item in node["inputs"][1:]:
            src = nodes[item[0]]
            if src["op"] == "null" and src["name"] not in aux_names:
                total += int(np.prod(shapes[src["name"]], dtype=np.int64))
        return total
    if attrs.get("no_bias", "False") in ("True", "true", "1"):
        return 0
    if op in ("Convolution", "Deconvolution"):
        return int(attrs["num_filter"])
    if op == "FullyConnected":
        return int(attrs["num_hidden"])
    if op == "Embedding":
        return int(attrs["input_dim"]) * int(attrs["output_dim"])
    return 0


def print_summary(symbol, shape=None, line_length=120, positions=[.44, .64, .74, 1.]):  # noqa: B006 (MXNet's signature)
    """Prints MXNet's layer table of a symbol: Layer (type), Output Shape (without the batch
    dimension), Param #, Previous Layer, then the total number of trainable parameters.

    Parameters
    ----------
    symbol : Symbol
    shape : dict, optional
        Input shapes by name, e.g. {"data": (1, 1, 28, 28)}; needed for output shapes and for
        exact parameter counts.
    line_length : int
        Width of the table in characters.
    positions : list of float or int
        Right edge of each column, as fractions of line_length (or absolute columns).
    """
    _check_symbol(symbol, "print_summary")
    shapes = None if shape is None else _infer_shapes(symbol, shape, "print_summary")
    aux_names = set(symbol.list_auxiliary_states())
    conf = json.loads(symbol.tojson())
    nodes = conf["nodes"]
    if positions[-1] <= 1:
        positions = [int(line_length * p) for p in positions]

    def print_row(fields):
        line = ""
        for field, edge in zip(fields, positions):
            line += str(field)
            line = line[:edge]
            line += " " * (edge - len(line))
        print(line)

    def is_input(node):  # a data variable: a row of its own, a Previous Layer of others (labels
        # are left out, as MXNet's table shows them nowhere)
        return node["op"] == "null" and not _looks_like_weight(node["name"]) \
            and node["name"] not in aux_names and not node["name"].endswith("_label")

    print("_" * line_length)
    print_row(["Layer (type)", "Output Shape", "Param #", "Previous Layer"])
    print("=" * line_length)
    total = 0
    rows = [i for i, n in enumerate(nodes) if n["op"] != "null" or is_input(n)]
    for k, i in enumerate(rows):
        node = nodes[i]
        previous = [] if node["op"] == "null" else \
            [nodes[item[0]]["name"] for item in node["inputs"]
             if nodes[item[0]]["op"] != "null" or is_input(nodes[item[0]])]
        out_shape = ""
        if shapes is not None:
            key = _output_key(node, 0, shapes)
            out_shape = _fmt_shape(shapes[key][1:]) if key in shapes else ""
        params = 0 if node["op"] == "null" else _layer_params(node, nodes, shapes, aux_names)
        total += params
        print_row(["%s(%s)" % (node["name"], node["op"]), out_shape, params,
                   previous[0] if previous else ""])
        for name in previous[1:]:
            print_row(["", "", "", name])
        print(("=" if k == len(rows) - 1 else "_") * line_length)
    print("Total params: {params}".format(params=total))
    print("_" * line_length)


# ---------------------------------------------------------------- plot_network

def _node_style(node, attr):
    """(label, attr) of one op node: MXNet's labels and colours."""
    op, name = node["op"], node["name"]
    attrs = node.get("attrs", {})
    label = name
    if op == "Convolution":
        kernel = _str2tuple(attrs["kernel"])
        stride = _str2tuple(attrs["stride"]) if "stride" in attrs else ["1"] * len(kernel)
        label = "Convolution\n%s/%s, %s" % ("x".join(kernel), "x".join(stride), attrs["num_filter"])
        attr["fillcolor"] = _COLORS[1]
    elif op == "FullyConnected":
        label = "FullyConnected\n%s" % attrs["num_hidden"]
        attr["fillcolor"] = _COLORS[1]
    elif op == "BatchNorm":
        attr["fillcolor"] = _COLORS[3]
    elif op == "Activation":
        label = "Activation\n%s" % attrs["act_type"]
        attr["fillcolor"] = _COLORS[2]
    elif op == "LeakyReLU":
        label = "LeakyReLU\n%s" % attrs.get("act_type", "leaky")
        attr["fillcolor"] = _COLORS[2]
    elif op == "Pooling":
        kernel = "x".join(_str2tuple(attrs["kernel"])) if "kernel" in attrs else "[]"
        stride = "x".join(_str2tuple(attrs["stride"])) if "stride" in attrs else "1"
        label = "Pooling\n%s, %s/%s" % (attrs.get("pool_type", "max"), kernel, stride)
        attr["fillcolor"] = _COLORS[4]
    elif op in ("Concat", "Flatten", "Reshape"):
        attr["fillcolor"] = _COLORS[5]
    elif op == "Softmax":
        attr["fillcolor"] = _COLORS[6]
    else:
        attr["fillcolor"] = _COLORS[7]
        if op == "Custom" and "op_type" in attrs:
            label = attrs["op_type"]
    return label, attr


def plot_network(symbol, title="plot", save_format="pdf", shape=None, dtype=None,  # noqa: B006
                 node_attrs={}, hide_weights=True):
    """A graphviz.Digraph of the symbol's graph, drawn as MXNet 1.x: one box per op (labelled
    "Convolution\\n5x5/1x1, 20", "FullyConnected\\n500", "Activation\\nrelu" …), ovals for the
    inputs, parameters hidden (hide_weights), edges labelled with the shapes (without the batch
    dimension) when `shape` is given and with the dtypes when `dtype` is given.

    Parameters
    ----------
    symbol : Symbol
    title : str
        Name of the graph (and default file name of .render()).
    save_format : str
        graphviz output format: 'pdf', 'png', 'svg' …
    shape : dict, optional
        Input shapes by name.
    dtype : dict, optional
        Input dtypes by name.
    node_attrs : dict
        graphviz attributes that override the defaults of every node, e.g. {"fixedsize": "false"}.
    hide_weights : bool
        Leave out the parameter variables (names ending in _weight, _bias, _gamma, …).
    """
    try:
        from graphviz import Digraph
    except ImportError as e:
        raise ImportError("mx.viz.plot_network needs the Python graphviz module: install Debian's "
                          "python3-graphviz (and graphviz for the dot binary), or `pip install graphviz`"
                          ) from e
    _check_symbol(symbol, "plot_network")
    shapes = None if shape is None else _infer_shapes(symbol, shape, "plot_network")
    types = None
    if dtype is not None:
        internals = symbol.get_internals()
        arg_types, out_types, _ = internals.infer_type(**dtype)
        if out_types is None:
            raise ValueError("mx.viz.plot_network: input dtype is incomplete: %s" % (dtype,))
        types = dict(zip(internals.list_outputs(), out_types))
        types.update(zip(internals.list_arguments(), arg_types))
    conf = json.loads(symbol.tojson())
    nodes = conf["nodes"]
    names = [n["name"] for n in nodes]
    if len(names) != len(set(names)):
        repeated = sorted({n for n in names if names.count(n) > 1})
        warnings.warn("There are multiple variables with the same name in your graph, this may result "
                      "in cyclic graph. Repeated names: " + ",".join(repeated), RuntimeWarning)

    node_attr = {"shape": "box", "fixedsize": "true", "width": "1.3", "height": "0.8034", "style": "filled"}
    node_attr.update(node_attrs)
    dot = Digraph(name=title, format=save_format)
    hidden = set()
    for node in nodes:
        attr = copy.deepcopy(node_attr)
        if node["op"] == "null":
            if _looks_like_weight(node["name"]):
                if hide_weights:
                    hidden.add(node["name"])
                continue  # not hidden: drawn by the edge alone (an empty oval), as MXNet
            attr["shape"] = "oval"
            attr["fillcolor"] = _COLORS[0]
            label = node["name"]
        else:
            label, attr = _node_style(node, attr)
        dot.node(name=node["name"], label=label, **attr)

    for node in nodes:
        if node["op"] == "null":
            continue
        inputs = node["inputs"]
        if node["op"] == "_contrib_BilinearResize2D":
            inputs = inputs[:1]
        for item in inputs:
            src = nodes[item[0]]
            if src["name"] in hidden:
                continue
            attr = {"dir": "back", "arrowtail": "open", "label": ""}
            key = _output_key(src, item[1], shapes if shapes is not None else types or {})
            if shapes is not None and key in shapes:
                attr["label"] = _fmt_shape(shapes[key][1:])
            if types is not None and key in types:
                attr["label"] += "(%s)" % np.dtype(types[key]).name  # MXNet's "20x24x24(float32)"
            dot.edge(tail_name=node["name"], head_name=src["name"], **attr)
    return dot
