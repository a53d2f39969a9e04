"""Pooling and padding layers (MXNet 1.9.1 gluon.nn): MaxPool1D/2D/3D, AvgPool1D/2D/3D,
GlobalMaxPool1D/2D/3D, GlobalAvgPool1D/2D/3D, ReflectionPad2D. The Pooling op is 1-d and 2-d;
the 3-d layers pool 2-d slices, then across depth (see _conv3d.py)."""
from ... import symbol
from ..block import HybridBlock
from ._layer_utils import as_tuple, named_errors, non_default
from .conv_layers import check_layout
from . import _conv3d

__all__ = ['MaxPool1D', 'MaxPool2D', 'MaxPool3D', 'AvgPool1D', 'AvgPool2D', 'AvgPool3D',
           'GlobalMaxPool1D', 'GlobalMaxPool2D', 'GlobalMaxPool3D', 'GlobalAvgPool1D',
           'GlobalAvgPool2D', 'GlobalAvgPool3D', 'ReflectionPad2D']


class _Pooling(HybridBlock):
    """Shared by the pooling layers. strides=None means strides = pool_size; ceil_mode rounds
    the output size up (MXNet's pooling_convention 'full')."""

    def __init__(self, ndim, pool_size, strides, padding, ceil_mode, global_pool, pool_type,
                 layout, count_include_pad=None, **kwargs):
        super().__init__(**kwargs)
        name = type(self).__name__
        check_layout(name, layout, ndim)
        self._layout = layout
        pool_size = as_tuple(pool_size, ndim, name + ' pool_size')
        strides = pool_size if strides is None else as_tuple(strides, ndim, name + ' strides')
        self._kwargs = {
            'kernel': pool_size, 'stride': strides,
            'pad': as_tuple(padding, ndim, name + ' padding'), 'global_pool': global_pool,
            'pool_type': pool_type, 'pooling_convention': 'full' if ceil_mode else 'valid'}
        if count_include_pad is not None:
            self._kwargs['count_include_pad'] = count_include_pad
        self._op_kwargs = non_default(self._kwargs, {
            'stride': (1,) * ndim, 'pad': (0,) * ndim, 'global_pool': False,
            'pooling_convention': 'valid', 'count_include_pad': True})

    def _alias(self):
        return 'pool'

    def hybrid_forward(self, F, x):
        with named_errors(self, x):
            if len(self._kwargs['kernel']) == 3:
                if F is not symbol:
                    _conv3d.check_input('Pooling', x.shape)
                return _conv3d.pooling(F, x, **self._kwargs)
            return F.Pooling(x, name='fwd', **self._op_kwargs)

    def __repr__(self):
        kw = self._kwargs
        return ('%s(size=%s, stride=%s, padding=%s, ceil_mode=%s, global_pool=%s, pool_type=%s, '
                'layout=%s)' % (type(self).__name__, kw['kernel'], kw['stride'], kw['pad'],
                                kw['pooling_convention'] == 'full', kw['global_pool'],
                                kw['pool_type'], self._layout))


class MaxPool1D(_Pooling):
    """Max pooling over (N, C, W) data."""

    def __init__(self, pool_size=2, strides=None, padding=0, layout='NCW', ceil_mode=False,
                 **kwargs):
        super().__init__(1, pool_size, strides, padding, ceil_mode, False, 'max', layout,
                         **kwargs)


class MaxPool2D(_Pooling):
    """Max pooling over (N, C, H, W) data."""

    def __init__(self, pool_size=(2, 2), strides=None, padding=0, layout='NCHW',
                 ceil_mode=False, **kwargs):
        super().__init__(2, pool_size, strides, padding, ceil_mode, False, 'max', layout,
                         **kwargs)


class MaxPool3D(_Pooling):
    """Max pooling over (N, C, D, H, W) data."""

    def __init__(self, pool_size=(2, 2, 2), strides=None, padding=0, ceil_mode=False,
                 layout='NCDHW', **kwargs):
        super().__init__(3, pool_size, strides, padding, ceil_mode, False, 'max', layout,
                         **kwargs)


class AvgPool1D(_Pooling):
    """Average pooling over (N, C, W) data; count_include_pad: divide by the whole window."""

    def __init__(self, pool_size=2, strides=None, padding=0, layout='NCW', ceil_mode=False,
                 count_include_pad=True, **kwargs):
        super().__init__(1, pool_size, strides, padding, ceil_mode, False, 'avg', layout,
                         count_include_pad, **kwargs)


class AvgPool2D(_Pooling):
    """Average pooling over (N, C, H, W) data; count_include_pad: divide by the whole window."""

    def __init__(self, pool_size=(2, 2), strides=None, padding=0, ceil_mode=False,
                 layout='NCHW', count_include_pad=True, **kwargs):
        super().__init__(2, pool_size, strides, padding, ceil_mode, False, 'avg', layout,
                         count_include_pad, **kwargs)


class AvgPool3D(_Pooling):
    """Average pooling over (N, C, D, H, W) data; count_include_pad: divide by the whole
    window."""

    def __init__(self, pool_size=(2, 2, 2), strides=None, padding=0, ceil_mode=False,
                 layout='NCDHW', count_include_pad=True, **kwargs):
        super().__init__(3, pool_size, strides, padding, ceil_mode, False, 'avg', layout,
                         count_include_pad, **kwargs)


class GlobalMaxPool1D(_Pooling):
    """Max over the whole W axis: (N, C, W) -> (N, C, 1)."""

    def __init__(self, layout='NCW', **kwargs):
        super().__init__(1, (1,), None, 0, True, True, 'max', layout, **kwargs)


class GlobalMaxPool2D(_Pooling):
    """Max over H and W: (N, C, H, W) -> (N, C, 1, 1)."""

    def __init__(self, layout='NCHW', **kwargs):
        super().__init__(2, (1, 1), None, 0, True, True, 'max', layout, **kwargs)


class GlobalMaxPool3D(_Pooling):
    """Max over D, H and W: (N, C, D, H, W) -> (N, C, 1, 1, 1)."""

    def __init__(self, layout='NCDHW', **kwargs):
        super().__init__(3, (1, 1, 1), None, 0, True, True, 'max', layout, **kwargs)


class GlobalAvgPool1D(_Pooling):
    """Mean over the whole W axis: (N, C, W) -> (N, C, 1)."""

    def __init__(self, layout='NCW', **kwargs):
        super().__init__(1, (1,), None, 0, True, True, 'avg', layout, **kwargs)


class GlobalAvgPool2D(_Pooling):
    """Mean over H and W: (N, C, H, W) -> (N, C, 1, 1)."""

    def __init__(self, layout='NCHW', **kwargs):
        super().__init__(2, (1, 1), None, 0, True, True, 'avg', layout, **kwargs)


class GlobalAvgPool3D(_Pooling):
    """Mean over D, H and W: (N, C, D, H, W) -> (N, C, 1, 1, 1)."""

    def __init__(self, layout='NCDHW', **kwargs):
        super().__init__(3, (1, 1, 1), None, 0, True, True, 'avg', layout, **kwargs)


class ReflectionPad2D(HybridBlock):
    """Pads the H and W axes of (N, C, H, W) data by mirroring them (the edge is not repeated).
    padding: an int for every side, or MXNet's pad_width 8-tuple
    (0, 0, 0, 0, top, bottom, left, right)."""

    def __init__(self, padding=0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(padding, int):
            padding = (0, 0, 0, 0, padding, padding, padding, padding)
        padding = tuple(padding)
        if len(padding) != 8:
            raise ValueError("ReflectionPad2D: padding must be an int or an 8-tuple "
                             "(0, 0, 0, 0, top, bottom, left, right), got %r" % (padding,))
        self._padding = padding

    def hybrid_forward(self, F, x):
        with named_errors(self, x):
            return F.pad(x, mode='reflect', pad_width=self._padding)
