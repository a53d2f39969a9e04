"""mx.nd.random: MXNet 1.x's sampling functions over the _random_* / _sample_* ops.

As in MXNet, scalar parameters draw from `_random_X` (shape, ctx, dtype), NDArray parameters from
`_sample_X` (one distribution per element of the parameter arrays; the output's shape is theirs
followed by `shape`). Samples come from the device's Philox generator: the same seed gives the
same numbers on every device and for any thread count (mx.random.seed). The densities
(pdf_normal, ...) are added from the registry's `_random_pdf_X` ops."""
from numbers import Number

from . import _ops


def _is_array(x):
    return hasattr(x, "handle") and hasattr(x, "shape")


def _shape(shape):
    if shape is None:
        return None
    return (shape,) if isinstance(shape, int) else tuple(shape)


def _random_helper(random, sampler, params, shape, dtype, ctx, out, kwargs):
    """Runs `sampler` on NDArray parameters, or `random` on numbers (MXNet's _random_helper)."""
    if _is_array(params[0]):
        for p in params[1:]:
            if not _is_array(p):
                raise TypeError("Distribution parameters must all have the same type, but got both %s and %s."
                                % (type(params[0]), type(p)))
        if sampler is None:
            raise TypeError("%s takes numbers, not arrays, as parameters" % random)
        attrs = {"shape": _shape(shape) if shape is not None else None, "dtype": dtype}
        attrs.update(kwargs)
        return _ops.invoke(sampler, list(params), attrs, out)
    if isinstance(params[0], Number):
        for p in params[1:]:
            if not isinstance(p, Number):
                raise TypeError("Distribution parameters must all have the same type, but got both %s and %s."
                                % (type(params[0]), type(p)))
        if shape is None:
            shape = out.shape if out is not None else (1,)
        attrs = dict(zip(_PARAMS[random], params))
        attrs.update({"shape": _shape(shape), "dtype": dtype, "ctx": ctx})
        attrs.update(kwargs)
        return _ops.invoke(random, [], attrs, out)
    raise ValueError("Distribution parameters must be either NDArray or numbers, but got %s." % type(params[0]))


# Attribute names of the scalar parameters of each _random_X op.
_PARAMS = {
    "_random_uniform": ("low", "high"),
    "_random_normal": ("loc", "scale"),
    "_random_exponential": ("lam",),
    "_random_gamma": ("alpha", "beta"),
    "_random_poisson": ("lam",),
    "_random_negative_binomial": ("k", "p"),
    "_random_generalized_negative_binomial": ("mu", "alpha"),
    "_random_randint": ("low", "high"),
}


def uniform(low=0, high=1, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Samples from U[low, high); low / high numbers or NDArrays (one distribution per element)."""
    return _random_helper("_random_uniform", "_sample_uniform", [low, high], shape, dtype, ctx, out, kwargs)


def normal(loc=0, scale=1, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Samples from N(loc, scale^2); loc / scale numbers or NDArrays."""
    return _random_helper("_random_normal", "_sample_normal", [loc, scale], shape, dtype, ctx, out, kwargs)


def randn(*shape, **kwargs):
    """Standard normal samples of the given shape (loc, scale, dtype, ctx, out as keywords)."""
    loc = kwargs.pop("loc", 0)
    scale = kwargs.pop("scale", 1)
    dtype = kwargs.pop("dtype", None)
    ctx = kwargs.pop("ctx", None)
    out = kwargs.pop("out", None)
    return _random_helper("_random_normal", "_sample_normal", [loc, scale], shape or None, dtype, ctx, out, kwargs)


def exponential(scale=1, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Samples from the exponential distribution of the given scale (rate 1 / scale), as MXNet."""
    lam = 1.0 / scale
    return _random_helper("_random_exponential", "_sample_exponential", [lam], shape, dtype, ctx, out, kwargs)


def poisson(lam=1, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Samples from Poisson(lam) (floating-point values)."""
    return _random_helper("_random_poisson", "_sample_poisson", [lam], shape, dtype, ctx, out, kwargs)


def gamma(alpha=1, beta=1, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Samples from Gamma(shape alpha, scale beta)."""
    return _random_helper("_random_gamma", "_sample_gamma", [alpha, beta], shape, dtype, ctx, out, kwargs)


def negative_binomial(k=1, p=1, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Samples failures before the k-th success of probability p (floating-point values)."""
    return _random_helper("_random_negative_binomial", "_sample_negative_binomial", [k, p], shape, dtype, ctx, out,
                          kwargs)


def generalized_negative_binomial(mu=1, alpha=1, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Samples from the negative binomial of mean mu and dispersion alpha (variance mu + alpha mu^2)."""
    return _random_helper("_random_generalized_negative_binomial", "_sample_generalized_negative_binomial",
                          [mu, alpha], shape, dtype, ctx, out, kwargs)


def randint(low, high, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Samples integers uniformly from [low, high) (int32 by default, or int64)."""
    return _random_helper("_random_randint", None, [low, high], shape, dtype, ctx, out, kwargs)


def multinomial(data, shape=None, get_prob=False, out=None, dtype="int32", **kwargs):
    """Samples category indices from the distributions in data's last axis; with get_prob, returns
    [samples, log-probabilities] (differentiable with respect to data)."""
    attrs = {"shape": _shape(shape), "get_prob": get_prob, "dtype": dtype}
    attrs.update(kwargs)
    return _ops.invoke("_sample_multinomial", [data], attrs, out)


def shuffle(data, **kwargs):
    """Randomly permutes data along its first axis."""
    out = kwargs.pop("out", None)
    return _ops.invoke("_shuffle", [data], kwargs, out)
