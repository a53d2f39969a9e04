"""Activation layers (MXNet 1.9.1 gluon.nn): Activation, LeakyReLU, PReLU, ELU, SELU, GELU,
Swish, SiLU — each a HybridBlock over ops that exist in both mx.nd and mx.sym."""
import math

from ... import initializer
from ..block import HybridBlock

__all__ = ['Activation', 'LeakyReLU', 'PReLU', 'ELU', 'SELU', 'GELU', 'Swish', 'SiLU']


class Activation(HybridBlock):
    """Applies an activation function (see mx.nd.Activation: relu, sigmoid, tanh, softrelu,
    softsign, log_sigmoid, mish) elementwise. Its prefix is the activation's name (`relu0_`)."""

    def __init__(self, activation, **kwargs):
        if not isinstance(activation, str):
            raise TypeError("Activation: activation must be a str such as 'relu', got %r"
                            % (activation,))
        self._act_type = activation
        super().__init__(**kwargs)

    def _alias(self):
        return self._act_type

    def hybrid_forward(self, F, x):
        return F.Activation(x, act_type=self._act_type, name='fwd')

    def __repr__(self):
        return '%s(%s)' % (type(self).__name__, self._act_type)


class LeakyReLU(HybridBlock):
    """f(x) = x for x >= 0, alpha * x otherwise (alpha >= 0)."""

    def __init__(self, alpha, **kwargs):
        if alpha < 0:
            raise ValueError("LeakyReLU: slope coefficient alpha must be >= 0, got %r" % (alpha,))
        super().__init__(**kwargs)
        self._alpha = alpha

    def hybrid_forward(self, F, x):
        return F.LeakyReLU(x, act_type='leaky', slope=self._alpha, name='fwd')

    def __repr__(self):
        return '%s(%s)' % (type(self).__name__, self._alpha)


class PReLU(HybridBlock):
    """Leaky ReLU with a learned slope `alpha`: one for all channels (in_channels=1) or one per
    channel of axis 1 (in_channels=C)."""

    def __init__(self, alpha_initializer=initializer.Constant(0.25), in_channels=1, **kwargs):
        super().__init__(**kwargs)
        self._in_channels = in_channels
        with self.name_scope():
            self.alpha = self.params.get('alpha', shape=(in_channels,), init=alpha_initializer)

    def hybrid_forward(self, F, x, alpha):
        if self._in_channels == 1:
            # The prelu op wants one slope per channel; a single shared slope broadcasts:
            # max(x, 0) + alpha * min(x, 0).
            positive = F.relu(x)
            return positive + F.broadcast_mul(alpha, x - positive)
        return F.LeakyReLU(x, gamma=alpha, act_type='prelu', name='fwd')


class ELU(HybridBlock):
    """Exponential linear unit: x for x > 0, alpha * (exp(x) - 1) otherwise."""

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self._alpha = alpha

    def hybrid_forward(self, F, x):
        return F.LeakyReLU(x, act_type='elu', slope=self._alpha)


class SELU(HybridBlock):
    """Scaled exponential linear unit (Klambauer et al., 2017)."""

    def hybrid_forward(self, F, x):
        return F.LeakyReLU(x, act_type='selu', name='fwd')


class GELU(HybridBlock):
    """Gaussian error linear unit x * Phi(x); approximation='tanh' uses
    0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""

    def __init__(self, approximation='erf', **kwargs):
        if approximation not in ('erf', 'tanh'):
            raise ValueError("GELU: approximation must be 'erf' or 'tanh', got %r"
                             % (approximation,))
        super().__init__(**kwargs)
        self._approximation = approximation

    def hybrid_forward(self, F, x):
        if self._approximation == 'erf':
            return F.LeakyReLU(x, act_type='gelu', name='fwd')
        inner = math.sqrt(2 / math.pi) * (x + 0.044715 * x * x * x)
        return 0.5 * x * (1 + F.tanh(inner))


class Swish(HybridBlock):
    """swish(x) = x * sigmoid(beta * x) (Ramachandran et al., 2017)."""

    def __init__(self, beta=1.0, **kwargs):
        super().__init__(**kwargs)
        self._beta = beta

    def hybrid_forward(self, F, x):
        return x * F.sigmoid(self._beta * x, name='fwd')


class SiLU(Swish):
    """silu(x) = x * sigmoid(x): Swish with beta = 1."""

    def __init__(self, **kwargs):
        super().__init__(beta=1.0, **kwargs)
