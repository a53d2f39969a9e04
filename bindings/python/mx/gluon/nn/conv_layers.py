"""Convolution layers (MXNet 1.9.1 gluon.nn): Conv1D/2D/3D and Conv1D/2D/3DTranspose.
The Convolution / Deconvolution ops are 1-d and 2-d; the 3-d layers run as a sum of 2-d
convolutions over the depth taps (see _conv3d.py)."""
from ... import symbol
from ..block import HybridBlock
from ._layer_utils import as_tuple, named_errors, non_default
from .activations import Activation
from . import _conv3d

__all__ = ['Conv1D', 'Conv2D', 'Conv3D', 'Conv1DTranspose', 'Conv2DTranspose',
           'Conv3DTranspose']

_LAYOUTS = {1: 'NCW', 2: 'NCHW', 3: 'NCDHW'}


def check_layout(layer, layout, ndim):
    """Only channels-first layouts exist in mx's convolution and pooling ops."""
    if layout != _LAYOUTS[ndim]:
        raise ValueError("%s: layout %r is not supported; mx's %d-d ops take channels-first "
                         "data (%r)" % (layer, layout, ndim, _LAYOUTS[ndim]))


class _Conv(HybridBlock):
    """Shared by every convolution layer: the params, the op's arguments and the repr.

    weight is (channels, in_channels / groups, *kernel_size) for a convolution and
    (in_channels, channels / groups, *kernel_size) for a transposed one; bias is (channels,).
    in_channels=0 leaves the input side of weight to the first forward."""

    def __init__(self, channels, kernel_size, strides, padding, dilation, groups, layout,
                 in_channels=0, activation=None, use_bias=True, weight_initializer=None,
                 bias_initializer='zeros', op_name='Convolution', adj=None, **kwargs):
        super().__init__(**kwargs)
        ndim = len(kernel_size)
        check_layout(type(self).__name__, layout, ndim)
        if channels <= 0 or groups <= 0 or channels % groups:
            raise ValueError("%s: channels (%r) must be a positive multiple of groups (%r)"
                             % (type(self).__name__, channels, groups))
        if in_channels % groups:
            raise ValueError("%s: in_channels (%r) must be a multiple of groups (%r)"
                             % (type(self).__name__, in_channels, groups))
        with self.name_scope():
            self._channels = channels
            self._in_channels = in_channels
            self._op_name = op_name
            self._kwargs = {
                'kernel': kernel_size, 'stride': strides, 'dilate': dilation, 'pad': padding,
                'num_filter': channels, 'num_group': groups, 'no_bias': not use_bias}
            if adj is not None:
                self._kwargs['adj'] = adj
            ones, zeros = (1,) * ndim, (0,) * ndim
            defaults = {'stride': ones, 'dilate': ones, 'pad': zeros, 'num_group': 1, 'adj': zeros}
            if op_name == 'Convolution':  # Deconvolution's no_bias defaults to True: always pass it
                defaults['no_bias'] = False
            self._op_kwargs = non_default(self._kwargs, defaults)
            if op_name == 'Convolution':
                wshape = (channels, in_channels // groups) + kernel_size
            else:
                wshape = (in_channels, channels // groups) + kernel_size
            self.weight = self.params.get('weight', shape=wshape, init=weight_initializer,
                                          allow_deferred_init=True)
            if use_bias:
                self.bias = self.params.get('bias', shape=(channels,), init=bias_initializer,
                                            allow_deferred_init=True)
            else:
                self.bias = None
            self.act = Activation(activation, prefix=activation + '_') if activation else None

    def _alias(self):
        return 'conv'

    def hybrid_forward(self, F, x, weight, bias=None):
        inputs = [x, weight] if bias is None else [x, weight, bias]
        with named_errors(self, x):
            if len(self._kwargs['kernel']) == 3:
                if F is not symbol:
                    _conv3d.check_input(self._op_name, x.shape, weight.shape,
                                        self._kwargs['num_group'])
                elif self._in_channels == 0:  # deferred: let shape inference see C
                    inputs[1] = _conv3d.tie_weight_shape(
                        F, self._op_name, x, weight, self._kwargs['kernel'],
                        self._channels, self._kwargs['num_group'])
                out = _conv3d.convolution(F, self._op_name, *inputs, **self._kwargs)
            else:
                out = getattr(F, self._op_name)(*inputs, name='fwd', **self._op_kwargs)
        return self.act(out) if self.act is not None else out

    def __repr__(self):
        kw = self._kwargs
        ndim = len(kw['kernel'])
        shape = self.weight.shape
        in_channels = shape[1] * kw['num_group'] if self._op_name == 'Convolution' else shape[0]
        s = '%s(%s -> %s, kernel_size=%s, stride=%s' % (
            type(self).__name__, in_channels or None, self._channels, kw['kernel'], kw['stride'])
        if kw['pad'] != (0,) * ndim:
            s += ', padding=%s' % (kw['pad'],)
        if kw['dilate'] != (1,) * ndim:
            s += ', dilation=%s' % (kw['dilate'],)
        if kw.get('adj', (0,) * ndim) != (0,) * ndim:
            s += ', output_padding=%s' % (kw['adj'],)
        if kw['num_group'] != 1:
            s += ', groups=%s' % kw['num_group']
        if self.bias is None:
            s += ', bias=False'
        if self.act is not None:
            s += ', %s' % self.act
        return s + ')'


def _conv(layer, ndim, channels, kernel_size, strides, padding, dilation, **kwargs):
    """_Conv.__init__ with every size argument turned into an ndim-tuple."""
    name = type(layer).__name__
    _Conv.__init__(layer, channels, as_tuple(kernel_size, ndim, name + ' kernel_size'),
                   as_tuple(strides, ndim, name + ' strides'),
                   as_tuple(padding, ndim, name + ' padding'),
                   as_tuple(dilation, ndim, name + ' dilation'), **kwargs)


def _transpose(layer, ndim, output_padding, **kwargs):
    adj = as_tuple(output_padding, ndim, type(layer).__name__ + ' output_padding')
    _conv(layer, ndim, op_name='Deconvolution', adj=adj, **kwargs)


class Conv1D(_Conv):
    """1-d convolution over (N, C, W) data: weight (channels, in_channels / groups, k)."""

    def __init__(self, channels, kernel_size, strides=1, padding=0, dilation=1, groups=1,
                 layout='NCW', activation=None, use_bias=True, weight_initializer=None,
                 bias_initializer='zeros', in_channels=0, **kwargs):
        _conv(self, 1, channels, kernel_size, strides, padding, dilation, groups=groups,
              layout=layout, in_channels=in_channels, activation=activation,
              use_bias=use_bias, weight_initializer=weight_initializer,
              bias_initializer=bias_initializer, **kwargs)


class Conv2D(_Conv):
    """2-d convolution over (N, C, H, W) data: weight (channels, in_channels / groups, kh, kw).
    kernel_size, strides, padding, dilation: an int or a pair."""

    def __init__(self, channels, kernel_size, strides=(1, 1), padding=(0, 0), dilation=(1, 1),
                 groups=1, layout='NCHW', activation=None, use_bias=True,
                 weight_initializer=None, bias_initializer='zeros', in_channels=0, **kwargs):
        _conv(self, 2, channels, kernel_size, strides, padding, dilation, groups=groups,
              layout=layout, in_channels=in_channels, activation=activation,
              use_bias=use_bias, weight_initializer=weight_initializer,
              bias_initializer=bias_initializer, **kwargs)


class Conv3D(_Conv):
    """3-d convolution over (N, C, D, H, W) data: weight (channels, in_channels / groups, kd,
    kh, kw)."""

    def __init__(self, channels, kernel_size, strides=(1, 1, 1), padding=(0, 0, 0),
                 dilation=(1, 1, 1), groups=1, layout='NCDHW', activation=None, use_bias=True,
                 weight_initializer=None, bias_initializer='zeros', in_channels=0, **kwargs):
        _conv(self, 3, channels, kernel_size, strides, padding, dilation, groups=groups,
              layout=layout, in_channels=in_channels, activation=activation,
              use_bias=use_bias, weight_initializer=weight_initializer,
              bias_initializer=bias_initializer, **kwargs)


class Conv1DTranspose(_Conv):
    """1-d transposed convolution (the gradient of Conv1D) over (N, C, W) data: weight
    (in_channels, channels / groups, k); output_padding adds positions at the end."""

    def __init__(self, channels, kernel_size, strides=1, padding=0, output_padding=0,
                 dilation=1, groups=1, layout='NCW', activation=None, use_bias=True,
                 weight_initializer=None, bias_initializer='zeros', in_channels=0, **kwargs):
        _transpose(self, 1, output_padding, channels=channels, kernel_size=kernel_size,
                   strides=strides, padding=padding, dilation=dilation, groups=groups,
                   layout=layout, in_channels=in_channels, activation=activation,
                   use_bias=use_bias, weight_initializer=weight_initializer,
                   bias_initializer=bias_initializer, **kwargs)


class Conv2DTranspose(_Conv):
    """2-d transposed convolution over (N, C, H, W) data: weight (in_channels,
    channels / groups, kh, kw)."""

    def __init__(self, channels, kernel_size, strides=(1, 1), padding=(0, 0),
                 output_padding=(0, 0), dilation=(1, 1), groups=1, layout='NCHW',
                 activation=None, use_bias=True, weight_initializer=None,
                 bias_initializer='zeros', in_channels=0, **kwargs):
        _transpose(self, 2, output_padding, channels=channels, kernel_size=kernel_size,
                   strides=strides, padding=padding, dilation=dilation, groups=groups,
                   layout=layout, in_channels=in_channels, activation=activation,
                   use_bias=use_bias, weight_initializer=weight_initializer,
                   bias_initializer=bias_initializer, **kwargs)


class Conv3DTranspose(_Conv):
    """3-d transposed convolution over (N, C, D, H, W) data: weight (in_channels,
    channels / groups, kd, kh, kw)."""

    def __init__(self, channels, kernel_size, strides=(1, 1, 1), padding=(0, 0, 0),
                 output_padding=(0, 0, 0), dilation=(1, 1, 1), groups=1, layout='NCDHW',
                 activation=None, use_bias=True, weight_initializer=None,
                 bias_initializer='zeros', in_channels=0, **kwargs):
        _transpose(self, 3, output_padding, channels=channels, kernel_size=kernel_size,
                   strides=strides, padding=padding, dilation=dilation, groups=groups,
                   layout=layout, in_channels=in_channels, activation=activation,
                   use_bias=use_bias, weight_initializer=weight_initializer,
                   bias_initializer=bias_initializer, **kwargs)
