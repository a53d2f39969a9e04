"""Normalisation layers (MXNet 1.9.1 gluon.nn): BatchNorm, InstanceNorm, LayerNorm, GroupNorm.
in_channels=0 leaves gamma / beta (and BatchNorm's running statistics) to be shaped at the
first forward."""
import numpy as np

from ..block import HybridBlock
from ._layer_utils import named_errors

__all__ = ['BatchNorm', 'BatchNormReLU', 'InstanceNorm', 'LayerNorm', 'GroupNorm']


def _gamma_beta(block, size, scale, center, gamma_initializer, beta_initializer, differentiable=False):
    """A normalisation layer's gamma and beta, of `size`; gamma is frozen (grad_req 'null') without
    scale and beta without center. differentiable: a frozen one is also marked not differentiable
    (BatchNorm's fix_gamma)."""
    extra = (lambda on: {'differentiable': on}) if differentiable else (lambda on: {})
    block.gamma = block.params.get('gamma', grad_req='write' if scale else 'null', shape=(size,),
                                   init=gamma_initializer, allow_deferred_init=True, **extra(scale))
    block.beta = block.params.get('beta', grad_req='write' if center else 'null', shape=(size,),
                                  init=beta_initializer, allow_deferred_init=True, **extra(center))


def _kwargs_repr(block, kwargs, in_channels):
    content = ', '.join('%s=%r' % item for item in kwargs.items())
    return '%s(%s, in_channels=%s)' % (type(block).__name__, content, in_channels)


class BatchNorm(HybridBlock):
    """Batch normalisation (Ioffe and Szegedy, 2015) over every axis but `axis`.

    In training (inside autograd.record() / train_mode()) it normalises by the batch's mean and
    (biased) variance and updates running_mean / running_var as
    running = momentum * running + (1 - momentum) * batch; in inference — or with
    use_global_stats — it normalises by the running statistics. center / scale: learn beta /
    gamma (otherwise they stay at their initial 0 / 1 and get no gradient). Params `gamma`,
    `beta`, and the auxiliary states `running_mean`, `running_var` (grad_req 'null')."""

    def __init__(self, axis=1, momentum=0.9, epsilon=1e-5, center=True, scale=True,
                 use_global_stats=False, beta_initializer='zeros', gamma_initializer='ones',
                 running_mean_initializer='zeros', running_variance_initializer='ones',
                 in_channels=0, **kwargs):
        super().__init__(**kwargs)
        self._kwargs = {'axis': axis, 'eps': epsilon, 'momentum': momentum,
                        'fix_gamma': not scale, 'use_global_stats': use_global_stats}
        if in_channels != 0:
            self.in_channels = in_channels
        _gamma_beta(self, in_channels, scale, center, gamma_initializer, beta_initializer, differentiable=True)
        self.running_mean = self.params.get('running_mean', grad_req='null',
                                            shape=(in_channels,),
                                            init=running_mean_initializer,
                                            allow_deferred_init=True, differentiable=False)
        self.running_var = self.params.get('running_var', grad_req='null',
                                           shape=(in_channels,),
                                           init=running_variance_initializer,
                                           allow_deferred_init=True, differentiable=False)

    def cast(self, dtype):
        """Casts the parameters; float16 is kept at float32 for the statistics' precision."""
        if np.dtype(dtype).name == 'float16':
            dtype = 'float32'
        super().cast(dtype)

    def hybrid_forward(self, F, x, gamma, beta, running_mean, running_var):
        with named_errors(self, x):
            return F.BatchNorm(x, gamma, beta, running_mean, running_var, name='fwd',
                               **self._kwargs)

    def __repr__(self):
        return _kwargs_repr(self, self._kwargs, self.gamma.shape[0] or None)


class BatchNormReLU(BatchNorm):
    """BatchNorm followed by relu (MXNet 1.9.1 fuses them in one op; here they are two)."""

    def hybrid_forward(self, F, x, gamma, beta, running_mean, running_var):
        return F.relu(super().hybrid_forward(F, x, gamma, beta, running_mean, running_var))


class InstanceNorm(HybridBlock):
    """Instance normalisation (Ulyanov et al., 2016): each (sample, channel) is normalised over
    the remaining axes; `axis` is the channel axis. Note MXNet's default scale=False: gamma
    stays 1 and gets no gradient."""

    def __init__(self, axis=1, epsilon=1e-5, center=True, scale=False,
                 beta_initializer='zeros', gamma_initializer='ones', in_channels=0, **kwargs):
        super().__init__(**kwargs)
        self._kwargs = {'eps': epsilon, 'axis': axis, 'center': center, 'scale': scale}
        self._axis = axis
        self._epsilon = epsilon
        _gamma_beta(self, in_channels, scale, center, gamma_initializer, beta_initializer)

    def hybrid_forward(self, F, x, gamma, beta):
        with named_errors(self, x):
            if self._axis == 1:
                return F.InstanceNorm(x, gamma, beta, name='fwd', eps=self._epsilon)
            x = F.swapaxes(x, dim1=1, dim2=self._axis)
            out = F.InstanceNorm(x, gamma, beta, name='fwd', eps=self._epsilon)
            return F.swapaxes(out, dim1=1, dim2=self._axis)

    def __repr__(self):
        return _kwargs_repr(self, self._kwargs, self.gamma.shape[0])


class LayerNorm(HybridBlock):
    """Layer normalisation (Ba et al., 2016): each sample is normalised over `axis` (default
    the last), then scaled by gamma and shifted by beta (both of that axis's length)."""

    def __init__(self, axis=-1, epsilon=1e-5, center=True, scale=True,
                 beta_initializer='zeros', gamma_initializer='ones', in_channels=0,
                 prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)
        self._kwargs = {'eps': epsilon, 'axis': axis, 'center': center, 'scale': scale}
        self._axis = axis
        self._epsilon = epsilon
        _gamma_beta(self, in_channels, scale, center, gamma_initializer, beta_initializer)

    def hybrid_forward(self, F, data, gamma, beta):
        with named_errors(self, data):
            return F.LayerNorm(data, gamma, beta, axis=self._axis, eps=self._epsilon)

    def __repr__(self):
        return _kwargs_repr(self, self._kwargs, self.gamma.shape[0])


class GroupNorm(HybridBlock):
    """Group normalisation (Wu and He, 2018): the channels (axis 1) are split into num_groups
    groups and each (sample, group) is normalised over its channels and positions. As in MXNet
    1.x, gamma and beta hold one value per group: shape (num_groups,)."""

    def __init__(self, num_groups=1, epsilon=1e-5, center=True, scale=True,
                 beta_initializer='zeros', gamma_initializer='ones', prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)
        self._kwargs = {'eps': epsilon, 'num_groups': num_groups, 'center': center,
                        'scale': scale}
        self._num_groups = num_groups
        self._epsilon = epsilon
        _gamma_beta(self, num_groups, scale, center, gamma_initializer, beta_initializer)

    def hybrid_forward(self, F, data, gamma, beta):
        with named_errors(self, data):
            return F.GroupNorm(data, gamma, beta, num_groups=self._num_groups,
                               eps=self._epsilon)

    def __repr__(self):
        content = ', '.join('%s=%r' % item for item in self._kwargs.items())
        return '%s(%s)' % (type(self).__name__, content)
