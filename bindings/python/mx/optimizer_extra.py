"""The optimizers of MXNet 1.9.1 beyond SGD, Adam and RMSProp, registered into mx.optimizer. Each
follows MXNet's update rule (in its docstring), through MXNet's fused update op where one exists and
through NDArray arithmetic otherwise. States are NDArrays updated in place, so Updater pickles them."""
import math

from . import _ops
from .ndarray import maximum
from .ndarray_random import normal as random_normal
from .optimizer import SGD, Optimizer, _zeros_like, register

__all__ = ["NAG", "AdaGrad", "AdaDelta", "Adamax", "Nadam", "Ftrl", "FTML", "SGLD", "Signum", "LAMB", "LARS", "DCASGD", "ccSGD"]


def _sqrt(x):
    return _ops.invoke("sqrt", [x], {})


@register
class NAG(Optimizer):
    """Nesterov momentum: mom = momentum * mom + g + wd * w; w -= lr * (g + wd * w + momentum * mom),
    g = clip(rescale_grad * grad); plain SGD when momentum is 0."""

    def __init__(self, momentum=0.0, **kwargs):
        super().__init__(**kwargs)
        self.momentum = momentum

    def create_state(self, index, weight):
        return _zeros_like(weight) if self.momentum != 0.0 else None

    def update(self, index, weight, grad, state):
        self._update_count(index)
        kw = self._common(index)
        if state is None:
            _ops.invoke("sgd_update", [weight, grad], kw, out=weight)
        else:
            kw["momentum"] = self.momentum
            _ops.invoke("nag_mom_update", [weight, grad, state], kw, out=weight)


@register
class AdaGrad(Optimizer):
    """Duchi et al.: h += g^2; w -= lr * (g / sqrt(h + eps) + wd * w), g = clip(rescale_grad * grad)."""

    def __init__(self, eps=1e-7, **kwargs):
        super().__init__(**kwargs)
        self.float_stable_eps = eps

    def create_state(self, index, weight):
        return _zeros_like(weight)

    def update(self, index, weight, grad, state):
        self._update_count(index)
        lr, wd = self._get_lr(index), self._get_wd(index)
        g = self._scaled_grad(grad)
        state[:] = state + g * g
        weight[:] = weight - lr * (g / _sqrt(state + self.float_stable_eps) + wd * weight)


@register
class AdaDelta(Optimizer):
    """Zeiler's AdaDelta (no learning rate, as in MXNet 1.x): acc_g = rho acc_g + (1 - rho) g^2;
    d = sqrt(acc_d + eps) / sqrt(acc_g + eps) * g; acc_d = rho acc_d + (1 - rho) d^2; w -= d + wd * w."""

    def __init__(self, rho=0.90, epsilon=1e-5, **kwargs):
        super().__init__(**kwargs)
        self.rho, self.epsilon = rho, epsilon

    def create_state(self, index, weight):
        return (_zeros_like(weight), _zeros_like(weight))

    def update(self, index, weight, grad, state):
        self._update_count(index)
        wd = self._get_wd(index)
        g = self._scaled_grad(grad)
        acc_g, acc_delta = state
        acc_g[:] = self.rho * acc_g + (1.0 - self.rho) * g * g
        delta = _sqrt(acc_delta + self.epsilon) / _sqrt(acc_g + self.epsilon) * g
        acc_delta[:] = self.rho * acc_delta + (1.0 - self.rho) * delta * delta
        weight[:] = weight - (delta + wd * weight)


@register
class Adamax(Optimizer):
    """Adam with the infinity norm: g = clip(rescale_grad * grad + wd * w); m = b1 m + (1 - b1) g;
    u = max(b2 u, |g|); w -= lr / (1 - b1^t) * m / u."""

    def __init__(self, learning_rate=0.002, beta1=0.9, beta2=0.999, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta1, self.beta2 = beta1, beta2

    def create_state(self, index, weight):
        return (_zeros_like(weight), _zeros_like(weight))

    def update(self, index, weight, grad, state):
        self._update_count(index)
        t = self._index_update_count[index]
        lr = self._get_lr(index) / (1.0 - self.beta1 ** t)
        g = self._scaled_grad(grad, weight, self._get_wd(index))
        m, u = state
        m[:] = self.beta1 * m + (1.0 - self.beta1) * g
        u[:] = maximum(self.beta2 * u, abs(g))
        weight[:] = weight - lr * m / u


@register
class Nadam(Optimizer):
    """Dozat's Nesterov Adam with the momentum schedule b1 (1 - 0.5 * 0.96^(t * schedule_decay))."""

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8, schedule_decay=0.004, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta1, self.beta2, self.epsilon = beta1, beta2, epsilon
        self.schedule_decay = schedule_decay
        self.m_schedule = 1.0  # shared by all parameters, as in MXNet

    def create_state(self, index, weight):
        return (_zeros_like(weight), _zeros_like(weight))

    def update(self, index, weight, grad, state):
        self._update_count(index)
        t = self._index_update_count[index]
        lr = self._get_lr(index)
        g = self._scaled_grad(grad, weight, self._get_wd(index))
        momentum_t = self.beta1 * (1.0 - 0.5 * 0.96 ** (t * self.schedule_decay))
        momentum_t_1 = self.beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * self.schedule_decay))
        self.m_schedule = self.m_schedule * momentum_t
        m_schedule_next = self.m_schedule * momentum_t_1
        m, v = state
        m[:] = self.beta1 * m + (1.0 - self.beta1) * g
        v[:] = self.beta2 * v + (1.0 - self.beta2) * g * g
        g_prime = g / (1.0 - self.m_schedule)
        m_prime = m / (1.0 - m_schedule_next)
        v_prime = v / (1.0 - self.beta2 ** t)
        m_bar = (1.0 - momentum_t) * g_prime + momentum_t_1 * m_prime
        weight[:] = weight - lr * m_bar / (_sqrt(v_prime) + self.epsilon)


@register
class Ftrl(Optimizer):
    """McMahan et al.'s FTRL-proximal through ftrl_update: z += g - (sqrt(n + g^2) - sqrt(n)) w / lr;
    n += g^2; w = (sign(z) lamda1 - z) / ((beta + sqrt(n)) / lr + wd) where |z| > lamda1, else 0."""

    def __init__(self, lamda1=0.01, learning_rate=0.1, beta=1, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.lamda1, self.beta = lamda1, beta

    def create_state(self, index, weight):
        return (_zeros_like(weight), _zeros_like(weight))  # z, n

    def update(self, index, weight, grad, state):
        self._update_count(index)
        kw = self._common(index)
        kw.update(lamda1=self.lamda1, beta=self.beta)
        z, n = state
        _ops.invoke("ftrl_update", [weight, grad, z, n], kw, out=weight)


@register
class FTML(Optimizer):
    """Zheng and Kwok's Follow the Moving Leader through ftml_update."""

    def __init__(self, beta1=0.6, beta2=0.999, epsilon=1e-8, **kwargs):
        super().__init__(**kwargs)
        self.beta1, self.beta2, self.epsilon = beta1, beta2, epsilon

    def create_state(self, index, weight):
        return (_zeros_like(weight), _zeros_like(weight), _zeros_like(weight))  # d, v, z

    def update(self, index, weight, grad, state):
        self._update_count(index)
        t = self._index_update_count[index]
        kw = {"lr": self._get_lr(index), "wd": self._get_wd(index), "rescale_grad": self.rescale_grad,
              "clip_grad": -1.0 if self.clip_gradient is None else self.clip_gradient,
              "beta1": self.beta1, "beta2": self.beta2, "epsilon": self.epsilon, "t": t}
        d, v, z = state
        _ops.invoke("ftml_update", [weight, grad, d, v, z], kw, out=weight)


@register
class SGLD(Optimizer):
    """Stochastic Gradient Langevin Dynamics: w += -lr / 2 * (g + wd * w) + N(0, sqrt(lr))."""

    def update(self, index, weight, grad, state):
        self._update_count(index)
        lr, wd = self._get_lr(index), self._get_wd(index)
        g = self._scaled_grad(grad)
        noise = random_normal(0.0, math.sqrt(lr), shape=weight.shape, dtype=weight.dtype, ctx=weight.context)
        weight[:] = weight - lr / 2 * (g + wd * weight) + noise


@register
class Signum(Optimizer):
    """Bernstein et al.'s signSGD with momentum: mom = momentum mom - (1 - momentum)(g + wd w);
    w = (1 - lr wd_lh) w + lr sign(mom); signsgd_update (w = (1 - lr wd) w - lr sign(g)) when momentum is 0."""

    def __init__(self, learning_rate=0.01, momentum=0.9, wd_lh=0.0, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.momentum, self.wd_lh = momentum, wd_lh

    def create_state(self, index, weight):
        return _zeros_like(weight) if self.momentum != 0.0 else None

    def update(self, index, weight, grad, state):
        self._update_count(index)
        kw = self._common(index)
        if state is None:
            _ops.invoke("signsgd_update", [weight, grad], kw, out=weight)
        else:
            kw.update(momentum=self.momentum, wd_lh=self.wd_lh)
            _ops.invoke("signum_update", [weight, grad, state], kw, out=weight)


@register
class LAMB(Optimizer):
    """You et al.'s layer-wise adaptive Adam: an Adam direction r (lamb_update_phase1), then
    w -= lr * (||w|| / ||r||) * r (lamb_update_phase2), ||w|| clipped to [lower_bound, upper_bound]."""

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-6, lower_bound=None,
                 upper_bound=None, bias_correction=True, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta1, self.beta2, self.epsilon = beta1, beta2, epsilon
        self.lower_bound, self.upper_bound = lower_bound, upper_bound
        self.bias_correction = bias_correction

    def create_state(self, index, weight):
        return (_zeros_like(weight), _zeros_like(weight))

    def update(self, index, weight, grad, state):
        self._update_count(index)
        t = self._index_update_count[index]
        mean, var = state
        kw = {"beta1": self.beta1, "beta2": self.beta2, "epsilon": self.epsilon, "t": t,
              "bias_correction": self.bias_correction, "wd": self._get_wd(index), "rescale_grad": self.rescale_grad,
              "clip_gradient": -1.0 if self.clip_gradient is None else self.clip_gradient}
        direction = _ops.invoke("lamb_update_phase1", [weight, grad, mean, var], kw)
        r1 = _ops.invoke("norm", [weight], {})
        r2 = _ops.invoke("norm", [direction], {})
        kw2 = {"lr": self._get_lr(index)}
        if self.lower_bound is not None:
            kw2["lower_bound"] = self.lower_bound
        if self.upper_bound is not None:
            kw2["upper_bound"] = self.upper_bound
        _ops.invoke("lamb_update_phase2", [weight, direction, r1, r2], kw2, out=weight)


def _is_lars_excluded(name):
    """LARS leaves biases and BatchNorm's gamma / beta at the plain learning rate."""
    return name.endswith("gamma") or name.endswith("beta") or name.endswith("bias")


@register
class LARS(SGD):
    """You et al.'s layer-wise adaptive rate scaling on SGD: for parameters other than biases / gamma /
    beta, lr_layer = lr * eta * ||w|| / (||rescale_grad * grad|| + wd * ||w|| + eps) when both norms
    are positive. Only *_weight names decay. With momentum_correction the momentum is scaled by
    lr / previous lr when a scheduler changes the learning rate."""

    def __init__(self, momentum=0.0, lazy_update=True, eta=0.001, eps=0, momentum_correction=True, **kwargs):
        self.last_lr = self.cur_lr = None
        super().__init__(momentum=momentum, lazy_update=lazy_update, **kwargs)
        self.aggregate_num = self._default_aggregate = 0  # its rate is computed one parameter at a time
        self.momentum_correction = momentum_correction
        self.eta, self.eps = eta, eps

    def set_wd_mult(self, args_wd_mult):
        self.wd_mult = {name: 0.0 for name in self.idx2name.values() if not name.endswith("_weight")}
        self.wd_mult.update(self._mults_from_symbol("__wd_mult__"))
        self.wd_mult.update(args_wd_mult)

    def _track_lr(self):
        """Records the global lr of this step and the previous one (for momentum_correction)."""
        lr = self.learning_rate
        self.last_lr = lr if self.cur_lr is None else self.cur_lr
        self.cur_lr = lr

    def _lars_lr(self, index, weight, grad, lr, wd):
        if _is_lars_excluded(self.idx2name.get(index, str(index))):
            return lr
        w_norm = _ops.invoke("norm", [weight.astype("float32")], {}).asscalar()
        g_norm = _ops.invoke("norm", [grad.astype("float32") * self.rescale_grad], {}).asscalar()
        if w_norm > 0.0 and g_norm > 0.0:
            return lr * self.eta * w_norm / (g_norm + wd * w_norm + self.eps)
        return lr

    def _update_impl(self, index, weight, grad, state, multi_precision):
        self._update_count(index)
        self._track_lr()
        kw = self._common(index)
        kw["lr"] = self._lars_lr(index, weight, grad, kw["lr"], kw["wd"])
        if self.momentum > 0:
            correct = self.momentum_correction and self.last_lr != 0
            kw["momentum"] = self.momentum * (self.cur_lr / self.last_lr) if correct else self.momentum
        self._sgd_step(weight, grad, state, kw, multi_precision)


@register
class DCASGD(Optimizer):
    """Zheng et al.'s delay-compensated SGD: step = g + wd w + lamda g^2 (w - w_prev);
    mom = momentum mom - lr step (or -lr step); w_prev = w; w += mom."""

    def __init__(self, momentum=0.0, lamda=0.04, **kwargs):
        super().__init__(**kwargs)
        self.momentum, self.weight_previous, self.lamda = momentum, {}, lamda

    def create_state(self, index, weight):
        mom = _zeros_like(weight) if self.momentum != 0.0 else None
        return (mom, weight.copy())

    def update(self, index, weight, grad, state):
        self._update_count(index)
        lr, wd = self._get_lr(index), self._get_wd(index)
        g = self._scaled_grad(grad)
        mom, previous = state
        step = -lr * (g + wd * weight + self.lamda * g * g * (weight - previous))
        if mom is not None:
            mom[:] = self.momentum * mom + step
            step = mom
        previous[:] = weight
        weight[:] = weight + step


@register
class ccSGD(SGD):  # noqa: N801 (MXNet's name)
    """[DEPRECATED in MXNet] The same as SGD; kept so that old scripts creating 'ccsgd' still run."""
