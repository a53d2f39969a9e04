"""Gluon's HybridBlock (MXNet 1.9.1): hybrid_forward(F, x, ..., **params) runs with F = mx.nd on
arrays, or F = mx.sym to build a graph. hybridize() makes later calls run that graph as a CachedOp
(built once per input structure; the C CachedOp binds once per shape). Unknown parameter shapes
(0s) are found by shape inference on the graph at the first call (deferred initialization)."""
import warnings

from .. import ndarray as nd
from .. import symbol
from ..base import MXNetError, MXNetValueError
from ..cached_op import CachedOp
from .block import Block
from .parameter import DeferredInitializationError

__all__ = ["HybridBlock"]


def _flatten(args, inout_str):
    """(flat list of arrays/symbols, format) for a nested list; a format is 0 for one array, n for a
    symbol with n > 1 outputs, -1 for None, a list for a list."""
    if isinstance(args, nd.NDArray):
        return [args], 0
    if isinstance(args, symbol.Symbol):
        length = len(args.list_outputs())
        return [args], length if length > 1 else 0
    if args is None:
        return [None], -1
    if not isinstance(args, (list, tuple)):
        raise MXNetValueError("HybridBlock %s must be a (nested) list of Symbol or NDArray, but got %s of type %s"
                              % (inout_str, str(args), str(type(args))))
    flat, fmts = [], []
    for i in args:
        arg, fmt = _flatten(i, inout_str)
        flat.extend(arg)
        fmts.append(fmt)
    return flat, fmts


def _regroup(args, fmt):
    """Inverse of _flatten: (nested structure, the args left over)."""
    if isinstance(fmt, int):
        if fmt < -1:
            raise MXNetValueError("Unsupported encoded format {}.".format(fmt))
        if fmt == 0:
            return args[0], args[1:]
        if fmt == -1:
            if args[0] is not None:
                raise MXNetValueError("We do not support passing types that are not None when the initial "
                                      "HybridBlock has received NoneType and has been hybridized. Received "
                                      "arg = {}, fmt = {}.".format(args[0], fmt))
            return None, args[1:]
        return args[:fmt], args[fmt:]
    ret = []
    for i in fmt:
        res, args = _regroup(args, i)
        ret.append(res)
    return ret, args


def _key(fmt):
    return tuple(_key(f) for f in fmt) if isinstance(fmt, list) else fmt


class _Graph:
    """One traced graph: its input variables, output symbol, output format, and CachedOp."""

    def __init__(self, inputs, out, out_format):
        self.inputs, self.out, self.out_format = inputs, out, out_format
        self.op = None
        self.op_args = None  # per CachedOp input: (True, data index) or (False, Parameter)


class HybridBlock(Block):
    """A Block that can be compiled to a graph (MXNet 1.9.1's gluon.HybridBlock). Subclasses define
    hybrid_forward(self, F, x, *args, **params), using only ops both mx.nd and mx.sym have."""

    def __init__(self, prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)
        self._graphs = {}          # input format -> _Graph
        self._cached_graph = ()    # (inputs, out) of the last graph traced, as MXNet
        self._active = False
        self._flags = []

    def __setattr__(self, name, value):
        super().__setattr__(name, value)
        if isinstance(value, HybridBlock):
            self._clear_cached_op()

    def _clear_cached_op(self):
        self._graphs = {}
        self._cached_graph = ()

    def register_child(self, block, name=None):
        if not isinstance(block, HybridBlock):
            raise MXNetValueError(
                "Children of HybridBlock must also be HybridBlock, but %s has type %s. If you are using "
                "Sequential, please try HybridSequential instead." % (str(block), str(type(block))))
        super().register_child(block, name)
        self._clear_cached_op()

    def hybridize(self, active=True, backend=None, backend_opts=None, clear=True, partition_if_dynamic=True,
                  static_alloc=False, static_shape=False, **kwargs):
        """Makes later calls run the traced graph as a CachedOp (flags static_alloc, static_shape);
        recurses into children. MXNet's tuning flags inline_limit, forward_bulk_size and
        backward_bulk_size are accepted and have no effect here."""
        if backend is not None:
            raise MXNetError("%s.hybridize: backend %r: mx has no subgraph backends (optimize_for)"
                             % (self.name, backend))
        unknown = set(kwargs) - {"inline_limit", "forward_bulk_size", "backward_bulk_size"}
        if unknown:
            raise TypeError("%s.hybridize got unexpected arguments %s" % (self.name, sorted(unknown)))
        self._active = active
        self._flags = [("static_alloc", static_alloc), ("static_shape", static_shape)]
        self._clear_cached_op()
        if active and (self._forward_hooks or self._forward_pre_hooks):
            warnings.warn('"{block}" is being hybridized while still having forward hook/pre-hook. If "{block}" '
                          'is a child of HybridBlock, the hooks will not take effect.'.format(block=self))
        super().hybridize(active, static_alloc=static_alloc, static_shape=static_shape, **kwargs)

    def cast(self, dtype):
        self._clear_cached_op()
        super().cast(dtype)

    # ---- graph
    def _trace(self, args, in_format):
        flat = _flatten(args, "%s input" % self.name)[0]
        if len(flat) > 1:
            inputs = [symbol.var("data%d" % i) if a is not None else None for i, a in enumerate(flat)]
        else:
            inputs = [symbol.var("data") if flat and flat[0] is not None else None]
        grouped = _regroup(inputs, in_format)[0]
        params = {i: j.var() for i, j in self._reg_params.items()}
        with self.name_scope():
            out = self.hybrid_forward(symbol, *grouped, **params)
        out, out_format = _flatten(out, "%s output" % self.name)
        return _Graph([i for i in inputs if i is not None], symbol.Group(out) if len(out) > 1 else out[0],
                      out_format)

    def _get_graph(self, *args):
        """The _Graph for these inputs' structure, traced with F = mx.sym the first time."""
        in_format = _flatten(args, "%s input" % self.name)[1]
        key = _key(in_format)
        graph = self._graphs.get(key)
        if graph is None:
            graph = self._graphs[key] = self._trace(args, in_format)
        if not self._cached_graph or self._cached_graph[1] is not graph.out:
            self._cached_graph = graph.inputs, graph.out
        return graph

    def _build_cache(self, graph):
        flat_names = {}
        for i, var in enumerate(graph.inputs):
            flat_names[var.name] = i
        params = self.collect_params()
        input_names = graph.out.list_inputs()
        expected = set(input_names)
        for name in expected:
            if name not in params and name not in flat_names:
                raise MXNetValueError("Unknown input to HybridBlock %s: %s" % (self.name, name))
        unused = [str(i) for name, i in flat_names.items() if name not in expected]
        if unused:
            warnings.warn("The %s-th input to HybridBlock is not used by any computation. Is this intended?"
                          % ", ".join(unused), stacklevel=4)
        unused = [n for n in params.keys() if n not in expected]
        if unused:
            warnings.warn("Parameter %s is not used by any computation. Is this intended?" % ", ".join(unused),
                          stacklevel=4)
        graph.op_args = [(True, flat_names[n]) if n in flat_names else (False, params[n]) for n in input_names]
        graph.op = CachedOp(graph.out, self._flags)

    def _call_cached_op(self, *args, ctx=None):
        graph = self._get_graph(*args)
        if graph.op is None:
            self._build_cache(graph)
        flat = [a for a in _flatten(args, "%s input" % self.name)[0] if a is not None]
        if ctx is None:
            ctx = flat[0].context
        try:
            cargs = [flat[i] if is_arg else i.data(ctx) for is_arg, i in graph.op_args]
        except DeferredInitializationError:
            self._deferred_infer_shape(*args)
            cargs = []
            for is_arg, i in graph.op_args:
                if not is_arg:
                    i._finish_deferred_init()
                cargs.append(flat[i] if is_arg else i.data(ctx))
        out = graph.op(*cargs)
        if isinstance(out, nd.NDArray):
            out = [out]
        return _regroup(out, graph.out_format)[0]

    # ---- inference
    def _deferred_infer_shape(self, *args):
        try:
            self.infer_shape(*args)
        except Exception as e:  # noqa: BLE001  (any failure: say deferred init could not finish)
            raise MXNetValueError("Deferred initialization failed because shape cannot be inferred. {}"
                                  .format(e)) from e

    def _infer_attrs(self, infer_fn, attr, *args):
        graph = self._get_graph(*args)
        flat = [a for a in _flatten(args, "%s input" % self.name)[0] if a is not None]
        given = {i.name: getattr(j, attr) for i, j in zip(graph.inputs, flat)}
        arg_attrs, _, aux_attrs = getattr(graph.out, infer_fn)(**given)
        if arg_attrs is None:
            raise MXNetValueError("%s: cannot infer %s of the parameters of %s from inputs %s"
                                  % (infer_fn, attr, self.name, given))
        sdict = dict(zip(graph.out.list_arguments(), arg_attrs))
        sdict.update(zip(graph.out.list_auxiliary_states(), aux_attrs))
        for p in self.collect_params().values():
            if sdict.get(p.name) is not None:
                setattr(p, attr, sdict[p.name])

    def infer_shape(self, *args):
        """Infers the shapes of the Parameters from the inputs' shapes."""
        self._infer_attrs("infer_shape", "shape", *args)

    def infer_type(self, *args):
        """Infers the dtypes of the Parameters from the inputs' dtypes."""
        self._infer_attrs("infer_type", "dtype", *args)

    # ---- calling
    def forward(self, x, *args):
        """On NDArrays: hybrid_forward with F = mx.nd (or the CachedOp when hybridized); on Symbols:
        hybrid_forward with F = mx.sym."""
        flat = [a for a in _flatten([x] + list(args), "%s input" % self.name)[0] if a is not None]
        if flat and isinstance(flat[0], nd.NDArray):
            ctx = flat[0].context
            with ctx:
                if self._active:
                    return self._call_cached_op(x, *args, ctx=ctx)
                try:
                    params = {k: v.data(ctx) for k, v in self._reg_params.items()}
                except DeferredInitializationError:
                    self._deferred_infer_shape(x, *args)
                    for v in self.params.values():
                        v._finish_deferred_init()
                    params = {k: v.data(ctx) for k, v in self._reg_params.items()}
                return self.hybrid_forward(nd, x, *args, **params)
        if not flat or not isinstance(flat[0], symbol.Symbol):
            raise MXNetError("HybridBlock %s requires the first argument to forward be either Symbol or NDArray, "
                             "but got %s" % (self.name, type(x)))
        params = {i: j.var() for i, j in self._reg_params.items()}
        with self.name_scope():
            return self.hybrid_forward(symbol, x, *args, **params)

    def hybrid_forward(self, F, x, *args, **kwargs):
        """Override: the computation, with F = mx.nd or mx.sym and the Parameters as keywords."""
        raise NotImplementedError("%s.hybrid_forward is not implemented" % self.__class__.__name__)

    def export(self, path, epoch=0, remove_amp_cast=True):
        """Writes path-symbol.json and path-%04d.params (keys arg:<name> / aux:<name>, as a Module
        checkpoint) for the graph of the last hybridized call; returns both file names."""
        if not self._cached_graph:
            raise MXNetError("Please first call block.hybridize() and then run forward with this block at "
                             "least once before calling export.")
        sym = self._cached_graph[1]
        sym_filename = "%s-symbol.json" % path
        sym.save(sym_filename)
        arg_names = set(sym.list_arguments())
        aux_names = set(sym.list_auxiliary_states())
        arg_dict = {}
        for name, param in self.collect_params().items():
            if name in arg_names:
                arg_dict["arg:%s" % name] = param._reduce()
            elif name in aux_names:
                arg_dict["aux:%s" % name] = param._reduce()
        params_filename = "%s-%04d.params" % (path, epoch)
        nd.save(params_filename, arg_dict)
        return sym_filename, params_filename
