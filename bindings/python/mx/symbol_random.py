"""mx.sym.random: symbolic sampling, as MXNet's symbol/random.py.

Number parameters build `_random_X` nodes (shape, dtype); Symbol parameters build `_sample_X`
nodes (one distribution per element of the parameter symbols, the output's shape theirs followed
by `shape`). The densities (pdf_normal, ...) are added from the registry's `_random_pdf_X` ops."""
from numbers import Number


def _sym():
    from . import symbol
    return symbol


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


def _attrs(shape, dtype, kwargs):
    a = {k: v for k, v in kwargs.items() if v is not None}
    if shape is not None:
        a["shape"] = (shape,) if isinstance(shape, int) else tuple(shape)
    if dtype is not None:
        a["dtype"] = dtype
    return a


def _random_helper(random, sampler, params, shape, dtype, kwargs):
    s = _sym()
    if isinstance(params[0], s.Symbol):
        for p in params[1:]:
            if not isinstance(p, s.Symbol):
                raise TypeError("Distribution parameters must all have the same type, but got both %s and %s."
                                % (type(params[0]), type(p)))
        if sampler is None:
            raise TypeError("%s takes numbers, not symbols, as parameters" % random)
        return getattr(s, sampler)(*params, **_attrs(shape, dtype, kwargs))
    if isinstance(params[0], Number):
        for p in params[1:]:
            if not isinstance(p, Number):
                raise TypeError("Distribution parameters must all have the same type, but got both %s and %s."
                                % (type(params[0]), type(p)))
        attrs = dict(zip(_PARAMS[random], params))
        attrs.update(_attrs(shape, dtype, kwargs))
        return getattr(s, random)(**attrs)
    raise ValueError("Distribution parameters must be either Symbol or numbers, but got %s." % type(params[0]))


def uniform(low=0, high=1, shape=None, dtype=None, **kwargs):
    """Samples from U[low, high)."""
    return _random_helper("_random_uniform", "_sample_uniform", [low, high], shape, dtype, kwargs)


def normal(loc=0, scale=1, shape=None, dtype=None, **kwargs):
    """Samples from N(loc, scale^2)."""
    return _random_helper("_random_normal", "_sample_normal", [loc, scale], shape, dtype, kwargs)


def randn(*shape, **kwargs):
    """Standard normal samples of the given shape."""
    loc = kwargs.pop("loc", 0)
    scale = kwargs.pop("scale", 1)
    dtype = kwargs.pop("dtype", None)
    return _random_helper("_random_normal", "_sample_normal", [loc, scale], shape or None, dtype, kwargs)


def exponential(scale=1, shape=None, dtype=None, **kwargs):
    """Samples from the exponential distribution of the given scale (rate 1 / scale)."""
    return _random_helper("_random_exponential", "_sample_exponential", [1.0 / scale], shape, dtype, kwargs)


def poisson(lam=1, shape=None, dtype=None, **kwargs):
    """Samples from Poisson(lam)."""
    return _random_helper("_random_poisson", "_sample_poisson", [lam], shape, dtype, kwargs)


def gamma(alpha=1, beta=1, shape=None, dtype=None, **kwargs):
    """Samples from Gamma(shape alpha, scale beta)."""
    return _random_helper("_random_gamma", "_sample_gamma", [alpha, beta], shape, dtype, kwargs)


def negative_binomial(k=1, p=1, shape=None, dtype=None, **kwargs):
    """Samples failures before the k-th success of probability p."""
    return _random_helper("_random_negative_binomial", "_sample_negative_binomial", [k, p], shape, dtype, kwargs)


def generalized_negative_binomial(mu=1, alpha=1, shape=None, dtype=None, **kwargs):
    """Samples from the negative binomial of mean mu and dispersion alpha."""
    return _random_helper("_random_generalized_negative_binomial", "_sample_generalized_negative_binomial",
                          [mu, alpha], shape, dtype, kwargs)


def randint(low, high, shape=None, dtype=None, **kwargs):
    """Samples integers uniformly from [low, high)."""
    return _random_helper("_random_randint", None, [low, high], shape, dtype, kwargs)


def multinomial(data, shape=None, get_prob=False, dtype="int32", **kwargs):
    """Samples category indices from the distributions in data's last axis (with get_prob, also
    their log-probabilities)."""
    return _sym()._sample_multinomial(data, get_prob=get_prob, **_attrs(shape, dtype, kwargs))


def shuffle(data, **kwargs):
    """Randomly permutes data along its first axis."""
    return _sym()._shuffle(data, **kwargs)
