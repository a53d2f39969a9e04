"""Gluon's ParameterDict (MXNet 1.9.1): Parameters by full name, created with a prefix, possibly
sharing another dict's Parameters; initialize / save / load for all of them at once."""
from collections import OrderedDict

from .. import initializer
from .. import ndarray as nd
from ..base import MXNetValueError
from .parameter import Constant, Parameter
from .utils import _brief_print_list, _indent

__all__ = ["ParameterDict"]


class ParameterDict:
    """Parameters by name. get(name) returns the Parameter `prefix + name`, from this dict or the
    `shared` one, creating it when neither has it."""

    def __init__(self, prefix="", shared=None):
        self._prefix = prefix
        self._params = OrderedDict()
        self._shared = shared

    def __repr__(self):
        name = self._prefix + " " if self._prefix else ""
        return "{name}(\n{content}\n)".format(
            name=name, content="\n".join([_indent("  {0}".format(v), 2) for v in self.values()]))

    def __getitem__(self, key):
        return self._params[key]

    def __iter__(self):
        return iter(self._params)

    def __len__(self):
        return len(self._params)

    def __contains__(self, key):
        return key in self._params

    def items(self):
        return self._params.items()

    def keys(self):
        return self._params.keys()

    def values(self):
        return self._params.values()

    @property
    def prefix(self):
        """The prefix every Parameter created by get() gets."""
        return self._prefix

    def _get_impl(self, name):
        if name in self._params:
            return self._params[name]
        if self._shared is not None and name in self._shared._params:
            self._params[name] = self._shared._params[name]
            return self._shared._params[name]
        return None

    def get(self, name, **kwargs):
        """The Parameter `prefix + name`, created with kwargs (Parameter's arguments) when missing.
        For an existing one, kwargs must agree with it (a 0 in its shape may be filled in)."""
        name = self.prefix + name
        param = self._get_impl(name)
        if param is None:
            param = Parameter(name, **kwargs)
            self._params[name] = param
            return param
        for k, v in kwargs.items():
            if hasattr(param, k) and getattr(param, k) is not None:
                existing = getattr(param, k)
                if k == "shape" and v is not None:
                    v = (v,) if isinstance(v, int) else tuple(v)
                    if len(v) == len(existing):
                        inferred = []
                        matched = True
                        for dim1, dim2 in zip(v, existing):
                            if dim1 != dim2 and dim1 > 0 and dim2 > 0:
                                matched = False
                                break
                            inferred.append(max(dim1, dim2))
                        if matched:
                            param._shape = tuple(inferred)
                            continue
                elif k == "dtype" and v is not None:
                    import numpy as np
                    if np.dtype(v) == np.dtype(existing):
                        continue
                if v is not None and v != existing:
                    raise MXNetValueError(
                        "Cannot retrieve Parameter '%s' because desired attribute does not match with stored "
                        "for attribute '%s': desired '%s' vs stored '%s'." % (name, k, str(v), str(existing)))
            else:
                setattr(param, k, v)
        return param

    def get_constant(self, name, value=None):
        """The Constant `prefix + name`, created from value when missing."""
        name = self.prefix + name
        param = self._get_impl(name)
        if param is None:
            if value is None:
                raise MXNetValueError("No constant named '{}'. Please specify value if you want to create a new "
                                      "constant.".format(name))
            param = Constant(name, value)
            self._params[name] = param
        elif value is not None:
            if not isinstance(param, Constant):
                raise MXNetValueError("Parameter '{}' already exists but it is not a constant.".format(name))
            if isinstance(value, nd.NDArray):
                value = value.asnumpy()
            import numpy as np
            if param.shape != np.shape(value) or not np.array_equal(param.value.asnumpy(), value):
                raise MXNetValueError("Constant '{}' already exists but its value doesn't match new value"
                                      .format(name))
        return param

    def update(self, other):
        """Adds other's Parameters (the same name must mean the same Parameter)."""
        for k, v in other.items():
            if k in self._params:
                if self._params[k] is not v:
                    raise MXNetValueError("Cannot update self with other because they have different Parameters "
                                          "with the same name '%s'" % k)
            else:
                self._params[k] = v

    def initialize(self, init=initializer.Uniform(), ctx=None, verbose=False, force_reinit=False):
        """Initializes every Parameter (each one's own init, if set, wins over `init`)."""
        if verbose:
            init.set_verbosity(verbose=verbose)
        for v in self.values():
            v.initialize(None, ctx, init, force_reinit=force_reinit)

    def zero_grad(self):
        for v in self.values():
            v.zero_grad()

    def reset_ctx(self, ctx):
        for v in self.values():
            v.reset_ctx(ctx)

    def list_ctx(self):
        s = []
        for v in self.values():
            for c in v.list_ctx():
                if c not in s:
                    s.append(c)
        return s

    def setattr(self, name, value):
        """Sets attribute `name` (e.g. 'grad_req', 'lr_mult') of every Parameter to value."""
        for v in self.values():
            setattr(v, name, value)

    def save(self, filename, strip_prefix=""):
        """Saves every Parameter (averaged over contexts) with mx.nd.save, keys without strip_prefix."""
        arg_dict = {}
        for param in self.values():
            weight = param._reduce()
            if not param.name.startswith(strip_prefix):
                raise MXNetValueError(
                    "Prefix '%s' is to be striped before saving, but Parameter's name '%s' does not start with "
                    "'%s'. this may be due to your Block shares parameters from other Blocks or you forgot to "
                    "use 'with name_scope()' when creating child blocks. For more info on naming, please see "
                    "https://mxnet.apache.org/api/python/docs/tutorials/packages/gluon/blocks/naming.html"
                    % (strip_prefix, param.name, strip_prefix))
            arg_dict[param.name[len(strip_prefix):]] = weight
        nd.save(filename, arg_dict)

    def load(self, filename, ctx=None, allow_missing=False, ignore_extra=False, restore_prefix="",
             cast_dtype=False, dtype_source="current"):
        """Loads a file written by save (or a Module checkpoint: 'arg:' / 'aux:' keys), names
        prefixed with restore_prefix."""
        if restore_prefix:
            for name in self.keys():
                if not name.startswith(restore_prefix):
                    raise MXNetValueError("restore_prefix is '%s' but Parameters name '%s' does not start with "
                                          "'%s'" % (restore_prefix, name, restore_prefix))
        loaded = nd.load(filename)
        if not isinstance(loaded, dict):
            raise MXNetValueError("ParameterDict.load: '%s' holds arrays without names; a .params file of "
                                  "named arrays is needed" % filename)
        arg_dict = {restore_prefix + (k[4:] if k.startswith(("arg:", "aux:")) else k): v
                    for k, v in loaded.items()}
        if not allow_missing:
            for name in self.keys():
                if name not in arg_dict:
                    raise MXNetValueError(
                        "Parameter '%s' is missing in file '%s', which contains parameters: %s. Please make sure "
                        "source and target networks have the same prefix." % (
                            name[len(restore_prefix):], filename, _brief_print_list(arg_dict.keys())))
        for name in arg_dict:
            if name not in self._params:
                if not ignore_extra:
                    raise MXNetValueError(
                        "Parameter '%s' loaded from file '%s' is not present in ParameterDict, choices are: %s. "
                        "Set ignore_extra to True to ignore. Please make sure source and target networks have "
                        "the same prefix." % (name[len(restore_prefix):], filename,
                                              _brief_print_list(self._params.keys())))
                continue
            self[name]._load_init(arg_dict[name], ctx, cast_dtype=cast_dtype, dtype_source=dtype_source)
