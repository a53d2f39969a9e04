"""Gluon's SymbolBlock (MXNet 1.9.1): a HybridBlock made from a Symbol, e.g. a graph exported by
HybridBlock.export and read back with SymbolBlock.imports. Every argument that is not an input
becomes a Parameter named as in the graph; auxiliary states get grad_req 'null'."""
import os

from .. import ndarray as nd
from .. import symbol
from ..base import MXNetError, MXNetValueError
from .hybrid_block import HybridBlock, _Graph, _flatten, _key, _regroup
from .parameter_dict import ParameterDict

__all__ = ["SymbolBlock"]


def _common_prefix(names):
    if not names:
        return ""
    prefix = names[0]
    for name in names:
        i = 0
        while i < len(prefix) and i < len(name) and prefix[i] == name[i]:
            i += 1
        prefix = prefix[:i]
    return prefix


class SymbolBlock(HybridBlock):
    """SymbolBlock(outputs, inputs, params=None): outputs a Symbol (or a list), inputs the
    variables (or a list) fed by the call's arguments, params a ParameterDict to share."""

    @staticmethod
    def imports(symbol_file, input_names, param_file=None, ctx=None, allow_missing=False, ignore_extra=False):
        """A SymbolBlock from a -symbol.json file (and its .params file, loaded onto ctx)."""
        if not os.path.isfile(symbol_file):
            raise MXNetValueError("SymbolBlock.imports: symbol file '%s' does not exist" % symbol_file)
        sym = symbol.load(symbol_file)
        if isinstance(input_names, str):
            input_names = [input_names]
        if param_file is None:
            inputs = [symbol.var(i, dtype="float32") for i in input_names]
        else:
            inputs = [symbol.var(i) for i in input_names]
        ret = SymbolBlock(sym, inputs)
        if param_file is not None:
            if not os.path.isfile(param_file):
                raise MXNetValueError("SymbolBlock.imports: parameter file '%s' does not exist" % param_file)
            ret.collect_params().load(param_file, ctx, allow_missing, ignore_extra, cast_dtype=True,
                                      dtype_source="saved")
        return ret

    def __repr__(self):
        inputs, out = self._cached_graph
        return "{name}(\n{block} : {n_in} -> {n_out}\n)".format(
            name=self.__class__.__name__, block=out, n_in=len(inputs), n_out=len(out.list_outputs()))

    def __init__(self, outputs, inputs, params=None):
        super().__init__(prefix=None, params=None)
        self._prefix = ""
        self._params = ParameterDict("", params)
        if isinstance(inputs, symbol.Symbol) and len(inputs.list_outputs()) == 1:
            inputs = [inputs]
        if isinstance(outputs, (list, tuple)) and len(outputs) == 1:
            outputs = outputs[0]
        syms, self._in_format = _flatten(inputs, "input")
        out, out_format = _flatten(outputs, "output")
        out = symbol.Group(out) if len(out) > 1 else out[0]
        input_names = set()
        for i in syms:
            if len(i.get_internals().list_outputs()) != 1:
                raise MXNetValueError("Input symbols must be variable, but %s is an output of operators" % str(i))
            input_names.add(i.name)
        for i in out.list_arguments():
            if i not in input_names:
                self.params.get(i, allow_deferred_init=True)
        for i in out.list_auxiliary_states():
            if i not in input_names:
                self.params.get(i, grad_req="null", allow_deferred_init=True)
        self._fixed = _Graph(syms, out, out_format)
        self._cached_graph = syms, out
        len_prefix = len(_common_prefix(list(self._params.keys())))
        self._reg_params = {key[len_prefix:]: val for key, val in self._params.items()}

    def _get_graph(self, *args):
        fmt = _flatten(args, "%s input" % self.name)[1]
        if _key(fmt) != _key(self._in_format):
            raise MXNetValueError("SymbolBlock: invalid input format %s, expected %s" % (fmt, self._in_format))
        return self._fixed

    def _clear_cached_op(self):
        graph = getattr(self, "_fixed", None)
        super()._clear_cached_op()
        if graph is not None:
            graph.op = None
            self._cached_graph = graph.inputs, graph.out

    def forward(self, x, *args):
        if isinstance(x, nd.NDArray):
            with x.context:
                return self._call_cached_op(x, *args)
        if not isinstance(x, symbol.Symbol):
            raise MXNetError("HybridBlock requires the first argument to forward be either Symbol or NDArray, "
                             "but got %s" % type(x))
        flat, in_fmt = _flatten([x] + list(args), "%s input" % self.name)
        if _key(in_fmt) != _key(self._in_format):
            raise MXNetValueError("SymbolBlock: invalid input format %s, expected %s" % (in_fmt, self._in_format))
        ret = self._fixed.out(**{k.name: v for k, v in zip(self._fixed.inputs, flat)})
        n = len(ret.list_outputs())
        return _regroup([ret] if n == 1 else [ret[i] for i in range(n)], self._fixed.out_format)[0]

    def hybrid_forward(self, F, x, *args, **kwargs):
        raise NotImplementedError
