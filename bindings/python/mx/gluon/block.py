"""Gluon's Block (MXNet 1.9.1): the base of every layer and model. Children and Parameters assigned
as attributes are registered; parameters are named by the name_scope prefix (dense0_weight) and,
in save_parameters files, by structure (features.0.weight). HybridBlock is in hybrid_block.py,
SymbolBlock in symbol_block.py; both are importable from here as in MXNet."""
import re
import warnings
from collections import OrderedDict, defaultdict

from .. import initializer
from .. import ndarray as nd
from ..base import MXNetValueError
from ._scope import _BlockScope
from .parameter import Parameter
from .parameter_dict import ParameterDict
from .utils import HookHandle, _brief_print_list, _indent

__all__ = ["Block", "HybridBlock", "SymbolBlock", "HookHandle"]


class Block:
    """Base class for all neural network layers and models (MXNet 1.9.1's gluon.Block).

    prefix: the prefix of this block's Parameter and child names (default: the class name in lower
    case with a counter, e.g. 'dense0_'). params: a ParameterDict whose Parameters this block shares.
    Create children inside `with self.name_scope():` so they get this block's prefix."""

    def __init__(self, prefix=None, params=None):
        self._empty_prefix = prefix == ""
        self._prefix, self._params = _BlockScope.create(prefix, params, self._alias())
        self._name = self._prefix[:-1] if self._prefix.endswith("_") else self._prefix
        self._scope = _BlockScope(self)
        self._children = OrderedDict()
        self._reg_params = {}
        self._forward_hooks = OrderedDict()
        self._forward_pre_hooks = OrderedDict()

    def __repr__(self):
        modstr = "\n".join(["  ({key}): {block}".format(key=key, block=_indent(block.__repr__(), 2))
                            for key, block in self.__dict__.items() if isinstance(block, Block)])
        return "{name}(\n{modstr}\n)".format(name=self.__class__.__name__, modstr=modstr)

    def __setattr__(self, name, value):
        """Registers Blocks and Parameters assigned as attributes."""
        if hasattr(self, name):
            existing = getattr(self, name)
            if isinstance(existing, (Parameter, Block)) and not isinstance(value, type(existing)):
                raise TypeError("Changing attribute type for {name} from {type1} to {type2} is not allowed."
                                .format(name=name, type1=type(existing), type2=type(value)))
        if isinstance(value, Block):
            self.register_child(value, name)
        elif isinstance(value, Parameter):
            if name in self._reg_params and self._reg_params[name] is not value:
                raise MXNetValueError("Overriding Parameter attribute %s of %s is not allowed. If you want to "
                                      "share parameters between blocks, please set 'params' at Block "
                                      "construction instead." % (name, self.name))
            self._reg_params[name] = value
        super().__setattr__(name, value)

    def _check_container_with_block(self):
        children = set(self._children.values())

        def _find_unregistered_block_in_container(data):
            if isinstance(data, (list, tuple)):
                return any(_find_unregistered_block_in_container(ele) for ele in data)
            if isinstance(data, dict):
                return any(_find_unregistered_block_in_container(v) for v in data.values())
            if isinstance(data, Block):
                return data not in children
            return False
        for k, v in self.__dict__.items():
            if isinstance(v, (list, tuple, dict)) and not (k.startswith("__") or k == "_children"):
                if _find_unregistered_block_in_container(v):
                    warnings.warn('"{name}" is an unregistered container with Blocks. Note that Blocks inside '
                                  'the list, tuple or dict will not be registered automatically. Make sure to '
                                  'register them using register_child() or switching to nn.Sequential/'
                                  'nn.HybridSequential instead. '.format(name=self.__class__.__name__ + "." + k),
                                  stacklevel=3)

    def _alias(self):
        return self.__class__.__name__.lower()

    @property
    def prefix(self):
        """Prefix of this Block's names ('dense0_')."""
        return self._prefix

    @property
    def name(self):
        """The prefix without its trailing '_' ('dense0')."""
        return self._name

    def name_scope(self):
        """A scope in which children get this Block's prefix: `with self.name_scope(): ...`."""
        return self._scope

    @property
    def params(self):
        """This Block's own ParameterDict (not its children's: see collect_params)."""
        return self._params

    def collect_params(self, select=None):
        """A ParameterDict of this Block's and its descendants' Parameters; select: a regex the
        names must match from their start, e.g. 'conv1_weight|conv1_bias' or '.*weight'."""
        self._check_container_with_block()
        ret = ParameterDict(self._params.prefix)
        if not select:
            ret.update(self.params)
        else:
            pattern = re.compile(select)
            ret.update({name: value for name, value in self.params.items() if pattern.match(name)})
        for cld in self._children.values():
            ret.update(cld.collect_params(select=select))
        return ret

    def _collect_params_with_prefix(self, prefix=""):
        if prefix:
            prefix += "."
        ret = {prefix + key: val for key, val in self._reg_params.items()}
        for name, child in self._children.items():
            ret.update(child._collect_params_with_prefix(prefix + name))
        return ret

    def save_parameters(self, filename, deduplicate=False):
        """Saves the Parameters with structural names (features.0.weight) with mx.nd.save."""
        params = self._collect_params_with_prefix()
        if deduplicate:
            reverse_params = {v: k for k, v in params.items()}
            params = {v: k for k, v in reverse_params.items()}
        arg_dict = {key: val._reduce() for key, val in params.items()}
        nd.save(filename, arg_dict)

    def load_parameters(self, filename, ctx=None, allow_missing=False, ignore_extra=False, cast_dtype=False,
                        dtype_source="current"):
        """Loads a file written by save_parameters (or, without '.' in its keys, by
        collect_params().save)."""
        loaded = nd.load(filename)
        if not isinstance(loaded, dict):
            raise MXNetValueError("%s.load_parameters: '%s' holds arrays without names" % (self.name, filename))
        params = self._collect_params_with_prefix()
        if not loaded and not params:
            return
        if not any("." in i for i in loaded.keys()):
            # a file of ParameterDict.save (prefixed names), as MXNet's legacy loading
            del loaded
            self.collect_params().load(filename, ctx, allow_missing, ignore_extra, self.prefix,
                                       cast_dtype=cast_dtype, dtype_source=dtype_source)
            return
        if not allow_missing:
            params_inv = defaultdict(list)
            for k, v in params.items():
                params_inv[v].append(k)
            for name, param in params.items():
                if not any(p in loaded for p in params_inv[param]):
                    raise MXNetValueError(
                        "Parameter '%s' is missing in file '%s', which contains parameters: %s. Set "
                        "allow_missing=True to ignore missing parameters." % (name, filename,
                                                                             _brief_print_list(loaded.keys())))
        for name in loaded:
            if not ignore_extra and name not in params:
                raise MXNetValueError(
                    "Parameter '%s' loaded from file '%s' is not present in ParameterDict, which contains "
                    "parameters %s. Set ignore_extra=True to ignore. " % (name, filename,
                                                                          _brief_print_list(params.keys())))
            if name in params:
                params[name]._load_init(loaded[name], ctx, cast_dtype=cast_dtype, dtype_source=dtype_source)

    # MXNet's deprecated names
    def save_params(self, filename):
        warnings.warn("save_params is deprecated. Please use save_parameters.")
        self.collect_params().save(filename, strip_prefix=self.prefix)

    def load_params(self, filename, ctx=None, allow_missing=False, ignore_extra=False):
        warnings.warn("load_params is deprecated. Please use load_parameters.")
        self.load_parameters(filename, ctx, allow_missing, ignore_extra)

    def register_child(self, block, name=None):
        """Registers block as a child (name: its key in structural names; default its index)."""
        if name is None:
            name = str(len(self._children))
        self._children[name] = block

    def register_forward_pre_hook(self, hook):
        """hook(block, inputs) runs before forward; returns a HookHandle."""
        handle = HookHandle()
        handle.attach(self._forward_pre_hooks, hook)
        return handle

    def register_forward_hook(self, hook):
        """hook(block, inputs, outputs) runs after forward; returns a HookHandle."""
        handle = HookHandle()
        handle.attach(self._forward_hooks, hook)
        return handle

    def apply(self, fn):
        """Calls fn(block) on every descendant, then on this Block; returns self."""
        for cld in self._children.values():
            cld.apply(fn)
        fn(self)
        return self

    def initialize(self, init=initializer.Uniform(), ctx=None, verbose=False, force_reinit=False):
        """Initializes collect_params() (see ParameterDict.initialize)."""
        self.collect_params().initialize(init, ctx, verbose, force_reinit)

    def hybridize(self, active=True, **kwargs):
        """Hybridizes the HybridBlock descendants (a plain Block itself runs imperatively)."""
        for cld in self._children.values():
            cld.hybridize(active, **kwargs)

    def cast(self, dtype):
        """Casts this Block's and its descendants' Parameters to dtype."""
        for child in self._children.values():
            child.cast(dtype)
        for _, param in self.params.items():
            param.cast(dtype)

    def zero_grad(self):
        self.collect_params().zero_grad()

    def reset_ctx(self, ctx):
        self.collect_params().reset_ctx(ctx)

    def __call__(self, *args):
        """Runs the pre-hooks, forward, then the hooks."""
        for hook in self._forward_pre_hooks.values():
            hook(self, args)
        out = self.forward(*args)
        for hook in self._forward_hooks.values():
            hook(self, args, out)
        return out

    def forward(self, *args):
        """Override: the computation on NDArrays."""
        raise NotImplementedError("%s.forward is not implemented" % self.__class__.__name__)

    def summary(self, *inputs):
        """Prints a table of each layer's output shape and parameter count for a forward of inputs."""
        from ._summary import summary
        summary(self, *inputs)


from .hybrid_block import HybridBlock, _flatten, _regroup  # noqa: E402,F401  (MXNet's names in gluon.block)
from .symbol_block import SymbolBlock  # noqa: E402
