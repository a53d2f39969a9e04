"""Basic layers (MXNet 1.9.1 gluon.nn): Sequential, HybridSequential, Dense, Dropout, Embedding,
Flatten, Lambda, HybridLambda, Identity."""
import warnings

from ... import ndarray as nd
from ... import symbol as sym
from ..block import Block, HybridBlock
from ..utils import _indent
from ._layer_utils import named_errors
from .activations import Activation

__all__ = ['Sequential', 'HybridSequential', 'Dense', 'Dropout', 'Embedding', 'Flatten',
           'Lambda', 'HybridLambda', 'Identity']


class _SequentialMixin:
    """add / indexing / len / repr / the chained call shared by Sequential and HybridSequential."""

    def add(self, *blocks):
        """Adds blocks on top of the stack."""
        for block in blocks:
            if not isinstance(block, Block):
                raise TypeError("%s.add: expected a Block, got %r" % (self.name, block))
            self.register_child(block)

    def __getitem__(self, key):
        """One child block (int index) or a new container of the same type (slice)."""
        layers = list(self._children.values())[key]
        if isinstance(layers, list):
            net = type(self)(prefix=self._prefix)
            with net.name_scope():
                net.add(*layers)
            return net
        return layers

    def __len__(self):
        return len(self._children)

    def __repr__(self):
        body = '\n'.join('  (%s): %s' % (key, _indent(repr(block), 2))
                         for key, block in self._children.items())
        return '%s(\n%s\n)' % (type(self).__name__, body)

    def _chain(self, x, args):
        """Each child takes the previous one's output; a tuple / list output's first item is the
        next x and the rest its extra arguments (as MXNet's Sequential)."""
        for block in self._children.values():
            x = block(x, *args)
            args = []
            if isinstance(x, (tuple, list)):
                args = x[1:]
                x = x[0]
        if args:
            x = tuple([x] + list(args))
        return x


class Sequential(_SequentialMixin, Block):
    """Stacks Blocks sequentially: forward feeds each child's output to the next child."""

    def __init__(self, prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)

    def forward(self, x, *args):
        return self._chain(x, args)

    def hybridize(self, active=True, **kwargs):
        """Hybridizes the HybridBlock children (a Sequential itself always runs imperatively)."""
        if self._children and all(isinstance(c, HybridBlock) for c in self._children.values()):
            warnings.warn("All children of this Sequential layer '%s' are HybridBlocks. Consider "
                          "using HybridSequential for the best performance." % self.prefix,
                          stacklevel=2)
        super().hybridize(active, **kwargs)


class HybridSequential(_SequentialMixin, HybridBlock):
    """Stacks HybridBlocks sequentially; hybridizes into one graph."""

    def __init__(self, prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)

    def add(self, *blocks):
        for block in blocks:
            if not isinstance(block, HybridBlock):
                raise TypeError("%s.add: children of a HybridSequential must be HybridBlocks, "
                                "got %s" % (self.name, type(block).__name__))
        super().add(*blocks)

    def hybrid_forward(self, F, x, *args):
        return self._chain(x, args)


class Dense(HybridBlock):
    """Densely connected layer: out = activation(dot(data, weight.T) + bias).

    units: output size; activation: an Activation name or None; use_bias; flatten: collapse all
    but the first axis (True) or apply to the last axis only (False); dtype; weight_initializer;
    bias_initializer ('zeros'); in_units: input size, 0 to infer it at the first forward.
    Params: `weight` (units, in_units), `bias` (units,)."""

    def __init__(self, units, activation=None, use_bias=True, flatten=True, dtype='float32',
                 weight_initializer=None, bias_initializer='zeros', in_units=0, **kwargs):
        super().__init__(**kwargs)
        self._flatten = flatten
        self._flatten_kwarg = {} if flatten else {'flatten': False}
        self._units = units
        self._in_units = in_units
        with self.name_scope():
            self.weight = self.params.get('weight', shape=(units, in_units),
                                          init=weight_initializer, dtype=dtype,
                                          allow_deferred_init=True)
            if use_bias:
                self.bias = self.params.get('bias', shape=(units,), init=bias_initializer,
                                            dtype=dtype, allow_deferred_init=True)
            else:
                self.bias = None
            self.act = Activation(activation, prefix=activation + '_') if activation else None

    def hybrid_forward(self, F, x, weight, bias=None):
        # Only the attributes that differ from the op's defaults (no_bias=False, flatten=True):
        # fewer to convert on each imperative call.
        with named_errors(self, x):
            if bias is None:
                out = F.FullyConnected(x, weight, no_bias=True, num_hidden=self._units,
                                       name='fwd', **self._flatten_kwarg)
            else:
                out = F.FullyConnected(x, weight, bias, num_hidden=self._units, name='fwd',
                                       **self._flatten_kwarg)
        return self.act(out) if self.act is not None else out

    def __repr__(self):
        shape = self.weight.shape
        return '%s(%s -> %s, %s)' % (type(self).__name__, shape[1] if shape[1] else None,
                                     shape[0], self.act if self.act else 'linear')


class Dropout(HybridBlock):
    """Zeroes a fraction `rate` of the inputs in training and scales the rest by 1/(1-rate);
    the identity in inference. `axes`: axes along which one mask value is shared."""

    def __init__(self, rate, axes=(), **kwargs):
        if not 0 <= rate <= 1:
            raise ValueError("Dropout: rate must be in [0, 1], got %r" % (rate,))
        super().__init__(**kwargs)
        self._rate = rate
        self._axes = tuple(axes)

    def hybrid_forward(self, F, x):
        if self._rate <= 0:
            return F.identity(x, name='fwd')
        if not self._axes:
            return F.Dropout(x, p=self._rate, name='fwd')
        return F.Dropout(x, p=self._rate, axes=self._axes, name='fwd')

    def __repr__(self):
        return '%s(p = %s, axes=%s)' % (type(self).__name__, self._rate, self._axes)


class Embedding(HybridBlock):
    """Maps integer indices of shape (x1, ..., xk) to rows of `weight` (input_dim, output_dim):
    out has shape (x1, ..., xk, output_dim)."""

    def __init__(self, input_dim, output_dim, dtype='float32', weight_initializer=None,
                 sparse_grad=False, **kwargs):
        super().__init__(**kwargs)
        self._kwargs = {'input_dim': input_dim, 'output_dim': output_dim, 'dtype': dtype,
                        'sparse_grad': sparse_grad}
        self.weight = self.params.get('weight', shape=(input_dim, output_dim),
                                      init=weight_initializer, dtype=dtype,
                                      allow_deferred_init=True)

    def hybrid_forward(self, F, x, weight):
        with named_errors(self, x):
            return F.Embedding(x, weight, name='fwd', **self._kwargs)

    def __repr__(self):
        return '{block_name}({input_dim} -> {output_dim}, {dtype})'.format(
            block_name=type(self).__name__, **self._kwargs)


class Flatten(HybridBlock):
    """Flattens (N, x1, ..., xk) to (N, x1 * ... * xk)."""

    def hybrid_forward(self, F, x):
        return F.flatten(x)

    def __repr__(self):
        return type(self).__name__


class Identity(HybridBlock):
    """Passes its input through unchanged (a placeholder in a container)."""

    def hybrid_forward(self, F, x):
        return F.identity(x)

    def __repr__(self):
        return type(self).__name__


def _function_name(function):
    return function if isinstance(function, str) else getattr(function, '__name__', repr(function))


class Lambda(Block):
    """Wraps a function as a Block: an mx.nd op name ('tanh') or a callable taking the inputs."""

    def __init__(self, function, prefix=None):
        super().__init__(prefix=prefix)
        if isinstance(function, str):
            if not hasattr(nd, function):
                raise ValueError("Lambda: mx.nd has no function %r" % function)
            self._func_impl = getattr(nd, function)
        elif callable(function):
            self._func_impl = function
        else:
            raise ValueError("Lambda: function must be a str (an mx.nd op) or a callable, got %r"
                             % (function,))
        self._func_name = _function_name(function)

    def forward(self, *args):
        return self._func_impl(*args)

    def __repr__(self):
        return '%s(%s)' % (type(self).__name__, self._func_name)


class HybridLambda(HybridBlock):
    """Wraps a function as a HybridBlock: an op name that exists in mx.nd and mx.sym ('tanh'),
    or a callable `function(F, x, *args)`."""

    def __init__(self, function, prefix=None):
        super().__init__(prefix=prefix)
        if isinstance(function, str):
            if not (hasattr(nd, function) and hasattr(sym, function)):
                raise ValueError("HybridLambda: %r is not an op of both mx.nd and mx.sym"
                                 % function)
            self._func = lambda F, *args: getattr(F, function)(*args)
        elif callable(function):
            self._func = function
        else:
            raise ValueError("HybridLambda: function must be a str (an op name) or a callable, "
                             "got %r" % (function,))
        self._func_name = _function_name(function)

    def hybrid_forward(self, F, x, *args):
        return self._func(F, x, *args)

    def __repr__(self):
        return '%s(%s)' % (type(self).__name__, self._func_name)
