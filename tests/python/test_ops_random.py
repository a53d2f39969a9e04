"""MXNet's random sampling (mx.nd.random, mx.sym.random, mx.random) over mx's Philox contract:
reproducibility (same seed, other thread counts, the naive engine), moments and chi-square
goodness of fit at a fixed seed against pmfs / cdfs computed here (math.lgamma, math.erf), the
densities random_pdf_* and their gradients against formulas and finite differences."""
import math
import os
import subprocess
import sys

import numpy as np
import pytest

import mx


def nd(x, dtype="float64"):
    return mx.nd.array(np.asarray(x), dtype=dtype)


# ---------------------------------------------------------------- statistics written out here
def chi2_bound(df):
    """A bound Pearson's statistic with df degrees of freedom exceeds with probability < 1e-6."""
    z = 4.75
    t = 1 - 2 / (9 * df) + z * math.sqrt(2 / (9 * df))
    return df * t ** 3


def chi2_discrete(x, pmf, lo, hi):
    """Pearson's statistic of integer samples against pmf on [lo, hi], cells pooled to >= 5 expected;
    the mass and samples beyond the range join the last cell. Returns (chi2, df)."""
    x = np.asarray(x).astype(np.int64)
    n = len(x)
    cells, pe, po, te, to = [], 0.0, 0.0, 0.0, 0.0
    for k in range(lo, hi + 1):
        e, o = n * pmf(k), float(np.sum(x == k))
        pe, po, te, to = pe + e, po + o, te + e, to + o
        if pe >= 5:
            cells.append([pe, po])
            pe = po = 0.0
    pe, po = pe + max(0.0, n - te), po + (n - to)
    if pe >= 5 or not cells:
        cells.append([pe, po])
    else:
        cells[-1][0] += pe
        cells[-1][1] += po
    chi2 = sum((o - e) ** 2 / e for e, o in cells)
    return chi2, len(cells) - 1


def chi2_continuous(x, cdf, bins=40):
    """Pearson's statistic against a cdf over bins of equal probability (edges from the cdf values)."""
    u = np.array([cdf(v) for v in np.asarray(x, dtype=np.float64)])
    counts = np.bincount(np.minimum((u * bins).astype(np.int64), bins - 1), minlength=bins)
    e = len(x) / bins
    return float(np.sum((counts - e) ** 2 / e)), bins - 1


def gamma_p(a, x):
    """Regularized lower incomplete gamma P(a, x) (series; continued fraction for large x)."""
    if x <= 0:
        return 0.0
    lg = math.lgamma(a)
    if x < a + 1:
        term = s = 1.0 / a
        n = 1
        while term > s * 1e-16:
            term *= x / (a + n)
            s += term
            n += 1
        return s * math.exp(-x + a * math.log(x) - lg)
    b, c, d = x + 1 - a, 1e300, 1.0 / (x + 1 - a)
    h = d
    for n in range(1, 1000):
        an = -n * (n - a)
        b += 2
        d = an * d + b
        d = d if abs(d) > 1e-300 else 1e-300
        c = b + an / c
        c = c if abs(c) > 1e-300 else 1e-300
        d = 1 / d
        h *= d * c
        if abs(d * c - 1) < 1e-16:
            break
    return 1 - math.exp(-x + a * math.log(x) - lg) * h


def lp_negbin(x, k, p):
    return math.lgamma(x + k) - math.lgamma(k) - math.lgamma(x + 1) + k * math.log(p) + x * math.log1p(-p)


N = 100000

# (name, call, mean, variance, goodness-of-fit)
SAMPLERS = [
    ("exponential", lambda **kw: mx.nd.random.exponential(scale=0.5, **kw), 0.5, 0.25,
     ("cdf", lambda v: 1 - math.exp(-2 * v) if v > 0 else 0.0)),
    ("gamma", lambda **kw: mx.nd.random.gamma(alpha=2.5, beta=1.5, **kw), 3.75, 5.625,
     ("cdf", lambda v: gamma_p(2.5, v / 1.5))),
    ("gamma_small_alpha", lambda **kw: mx.nd.random.gamma(alpha=0.3, beta=1.0, **kw), 0.3, 0.3,
     ("cdf", lambda v: gamma_p(0.3, v))),
    ("poisson", lambda **kw: mx.nd.random.poisson(lam=6.0, **kw), 6.0, 6.0,
     ("pmf", lambda k: math.exp(k * math.log(6.0) - 6.0 - math.lgamma(k + 1)))),
    ("poisson_large", lambda **kw: mx.nd.random.poisson(lam=120.0, **kw), 120.0, 120.0,
     ("pmf", lambda k: math.exp(k * math.log(120.0) - 120.0 - math.lgamma(k + 1)))),
    ("negative_binomial", lambda **kw: mx.nd.random.negative_binomial(k=4, p=0.3, **kw), 4 * 0.7 / 0.3,
     4 * 0.7 / 0.09, ("pmf", lambda x: math.exp(lp_negbin(x, 4, 0.3)))),
    ("generalized_negative_binomial", lambda **kw: mx.nd.random.generalized_negative_binomial(mu=3.0, alpha=0.5, **kw),
     3.0, 3.0 + 0.5 * 9, ("pmf", lambda x: math.exp(lp_negbin(x, 2.0, 1 / 2.5)))),
    ("randint", lambda **kw: mx.nd.random.randint(-4, 9, **kw), 2.0, (13 ** 2 - 1) / 12,
     ("pmf", lambda k: 1 / 13 if -4 <= k < 9 else 0.0)),
    ("uniform", lambda **kw: mx.nd.random.uniform(-1, 3, **kw), 1.0, 16 / 12,
     ("cdf", lambda v: min(max((v + 1) / 4, 0.0), 1.0))),
    ("normal", lambda **kw: mx.nd.random.normal(1, 2, **kw), 1.0, 4.0,
     ("cdf", lambda v: 0.5 * (1 + math.erf((v - 1) / (2 * math.sqrt(2)))))),
]


def draw(call, n=N, seed=2024, dtype="float64"):
    mx.random.seed(seed)
    kw = {"shape": (n,)}
    if dtype:
        kw["dtype"] = dtype
    return call(**kw).asnumpy().astype(np.float64)


@pytest.mark.parametrize("name,call,mean,var,fit", SAMPLERS, ids=[s[0] for s in SAMPLERS])
def test_moments_and_goodness_of_fit(name, call, mean, var, fit):
    x = draw(call, dtype=None if name == "randint" else "float64")
    assert abs(x.mean() - mean) < 5 * math.sqrt(var / N), (name, x.mean(), mean)
    m2 = np.mean((x - mean) ** 2)
    m4 = np.mean((x - mean) ** 4)
    assert abs(m2 - var) < 5 * math.sqrt((m4 - var * var) / N), (name, m2, var)
    kind, f = fit
    if kind == "cdf":
        chi2, df = chi2_continuous(x, f)
    else:
        chi2, df = chi2_discrete(x, f, int(x.min()), int(x.max()) + 1)
    assert chi2 < chi2_bound(df), (name, chi2, df)


@pytest.mark.parametrize("name,call", [(s[0], s[1]) for s in SAMPLERS], ids=[s[0] for s in SAMPLERS])
def test_same_seed_same_numbers_and_other_seed_others(name, call):
    dtype = None if name == "randint" else "float64"
    a, b = draw(call, 2000, 5, dtype), draw(call, 2000, 5, dtype)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, draw(call, 2000, 6, dtype))
    np.testing.assert_array_equal(draw(call, 13, 5, dtype), a[:13])  # element i depends on i only
    np.testing.assert_array_equal(draw(call, 1501, 5, dtype), a[:1501])


_CHILD = r"""
import sys, numpy as np
sys.path.insert(0, sys.argv[1])
import mx
mx.random.seed(77)
outs = [mx.nd.random.exponential(2.0, shape=(3001,), dtype="float64"),
        mx.nd.random.gamma(0.7, 2.0, shape=(3001,), dtype="float64"),
        mx.nd.random.poisson(30.0, shape=(3001,)),
        mx.nd.random.negative_binomial(3, 0.4, shape=(3001,)),
        mx.nd.random.generalized_negative_binomial(2.0, 0.3, shape=(3001,)),
        mx.nd.random.randint(0, 1000, shape=(3001,), dtype="int64"),
        mx.nd.random.gamma(mx.nd.array([0.5, 3.0]), mx.nd.array([1.0, 2.0]), shape=(1500,)),
        mx.nd.random.poisson(mx.nd.array([1.0, 50.0]), shape=(1500,)),
        mx.nd.random.multinomial(mx.nd.array([[0.2, 0.3, 0.5]]), shape=(999,)),
        mx.nd.random.shuffle(mx.nd.arange(500))]
sys.stdout.write("".join(o.asnumpy().tobytes().hex() for o in outs))
"""


def test_same_numbers_for_any_thread_count_and_engine():
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bindings", "python")
    results = []
    for threads, workers, engine in [("1", "1", "threaded"), ("2", "2", "threaded"), ("2", "1", "naive")]:
        env = dict(os.environ, MX_OMP_NUM_THREADS=threads, MX_CPU_WORKER_NTHREADS=workers, MX_ENGINE_TYPE=engine)
        out = subprocess.run([sys.executable, "-c", _CHILD, here], env=env, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        results.append(out.stdout)
    assert results[0] == results[1] == results[2]


def test_scalar_parameters_call_random_ops_and_arrays_sample_ops():
    x = mx.nd.random.gamma(2.0, 3.0, shape=(2, 5))
    assert x.shape == (2, 5) and x.dtype == np.float32
    assert mx.nd.random.gamma().shape == (1,)
    alpha, beta = nd([1.0, 50.0]), nd([1.0, 2.0])
    y = mx.nd.random.gamma(alpha, beta, shape=4000)
    assert y.shape == (2, 4000) and y.dtype == np.float64  # the parameters' dtype
    means = y.asnumpy().mean(axis=1)
    assert abs(means[0] - 1.0) < 0.1 and abs(means[1] - 100.0) < 2.0
    assert mx.nd.random.normal(nd([0.0, 10.0]), nd([1.0, 1.0])).shape == (2,)
    e = mx.nd.random.exponential(nd([0.5, 4.0]), shape=(4000,)).asnumpy().mean(axis=1)  # scale, as MXNet
    assert abs(e[0] - 0.5) < 0.05 and abs(e[1] - 4.0) < 0.4
    with pytest.raises(TypeError):
        mx.nd.random.normal(nd([0.0]), 1.0)
    out = mx.nd.zeros((3, 4))
    mx.nd.random.uniform(5, 6, out=out)
    assert out.asnumpy().min() >= 5
    r = mx.nd.random.randint(0, 3, shape=(1000,), dtype="int64")
    assert r.dtype == np.int64 and set(np.unique(r.asnumpy())) == {0, 1, 2}
    assert mx.nd.random.randn(2, 3).shape == (2, 3)
    p = mx.nd.random.poisson(lam=3, shape=(5,), dtype="float16")
    assert p.dtype == np.float16


def test_names_in_every_namespace():
    for f in ["uniform", "normal", "randn", "exponential", "gamma", "poisson", "negative_binomial",
              "generalized_negative_binomial", "randint", "multinomial", "shuffle"]:
        assert callable(getattr(mx.nd.random, f)), f
        assert callable(getattr(mx.sym.random, f)), f
        assert callable(getattr(mx.random, f)), f
    for d in ["uniform", "normal", "gamma", "exponential", "poisson", "negative_binomial",
              "generalized_negative_binomial", "dirichlet"]:
        assert callable(getattr(mx.nd.random, "pdf_" + d)), d
        assert callable(getattr(mx.sym.random, "pdf_" + d)), d
    for flat in ["random_gamma", "sample_gamma", "random_exponential", "sample_multinomial", "shuffle",
                 "random_pdf_normal", "random_randint"]:
        assert callable(getattr(mx.nd, flat)), flat
        assert callable(getattr(mx.sym, flat)), flat


def test_symbolic_samplers():
    mu, sigma = mx.sym.Variable("mu"), mx.sym.Variable("sigma")
    s = mx.sym.random.normal(mu, sigma, shape=(3000,))
    assert "_sample_normal" in s.tojson()
    ex = s.simple_bind(mu=(2,), sigma=(2,))
    mx.random.seed(3)
    out = ex.forward(mu=mx.nd.array([0.0, 10.0]), sigma=mx.nd.array([1.0, 0.1]))[0].asnumpy()
    assert out.shape == (2, 3000)
    assert abs(out[0].mean()) < 0.1 and abs(out[1].mean() - 10) < 0.01
    g = mx.sym.random.gamma(2.0, 1.0, shape=(4,))
    assert "_random_gamma" in g.tojson()
    assert g.simple_bind().forward()[0].shape == (4,)


def test_multinomial_frequencies_log_probs_and_gradient():
    probs = np.array([[0.1, 0.6, 0.3], [0.5, 0.0, 0.5]])
    mx.random.seed(9)
    s, lp = mx.nd.random.multinomial(nd(probs), shape=20000, get_prob=True)
    assert s.dtype == np.int32 and s.shape == (2, 20000)
    s, lp = s.asnumpy(), lp.asnumpy()
    for r in range(2):
        chi2, df = chi2_discrete(s[r], lambda k: probs[r][k] if 0 <= k < 3 else 0.0, 0, 2)
        assert chi2 < chi2_bound(max(df, 1))
        np.testing.assert_allclose(lp[r], np.log(probs[r][s[r]]), rtol=1e-12)
    assert mx.nd.random.multinomial(nd([0.5, 0.5])).shape == (1,)
    assert mx.nd.random.multinomial(nd([0.5, 0.5]), shape=(2, 3)).shape == (2, 3)
    data = nd([[1.0, 3.0]])
    data.attach_grad()
    with mx.autograd.record():
        smp, logp = mx.nd.random.multinomial(data, shape=5, get_prob=True)
        loss = mx.nd.sum(logp)
    loss.backward()
    k = smp.asnumpy()[0]
    want = np.array([np.sum(k == 0) / 1.0, np.sum(k == 1) / 3.0]) - 5 / 4.0  # d sum log(p_k / sum p)
    np.testing.assert_allclose(data.grad.asnumpy()[0], want, rtol=1e-12)


def test_shuffle_permutes_rows():
    x = nd(np.arange(20).reshape(10, 2))
    mx.random.seed(1)
    y = mx.nd.random.shuffle(x).asnumpy()
    assert sorted(y[:, 0].tolist()) == list(range(0, 20, 2))
    np.testing.assert_array_equal(y[:, 1], y[:, 0] + 1)
    assert not np.array_equal(y, x.asnumpy())
    mx.random.seed(1)
    np.testing.assert_array_equal(mx.nd.shuffle(x).asnumpy(), y)


# ---------------------------------------------------------------- densities
def _lp(dist, x, a, b):
    if dist == "uniform":
        return -math.log(b - a) if a <= x <= b else -math.inf
    if dist == "normal":
        return -0.5 * ((x - a) / b) ** 2 - math.log(b * math.sqrt(2 * math.pi))
    if dist == "gamma":  # b is a rate in MXNet's pdf
        return a * math.log(b) + (a - 1) * math.log(x) - b * x - math.lgamma(a)
    if dist == "exponential":
        return math.log(a) - a * x
    if dist == "poisson":
        return x * math.log(a) - a - math.lgamma(x + 1)
    if dist == "negative_binomial":
        return lp_negbin(x, a, b)
    return lp_negbin(x, 1 / b, 1 / (1 + a * b))


PDFS = [("uniform", [0.2, 0.5, 0.9], (0.0, 1.5)), ("normal", [-1.0, 0.3, 2.0], (0.5, 1.5)),
        ("gamma", [0.5, 1.0, 3.0], (2.0, 1.5)), ("exponential", [0.1, 1.0, 2.5], (1.5, None)),
        ("poisson", [0.0, 2.0, 5.0], (3.0, None)), ("negative_binomial", [0.0, 1.0, 4.0], (2.5, 0.4)),
        ("generalized_negative_binomial", [0.0, 2.0, 6.0], (2.0, 0.7))]


@pytest.mark.parametrize("dist,xs,params", PDFS, ids=[p[0] for p in PDFS])
@pytest.mark.parametrize("is_log", [False, True])
def test_pdf_values_and_parameter_gradients(dist, xs, params, is_log):
    a, b = params
    fn = getattr(mx.nd.random, "pdf_" + dist)
    sample = nd([xs])
    pa = nd([a])
    args = [sample, pa] + ([nd([b])] if b is not None else [])
    want = np.array([[_lp(dist, x, a, b) for x in xs]])
    got = fn(*args, is_log=is_log).asnumpy()
    np.testing.assert_allclose(got, want if is_log else np.exp(want), rtol=1e-10, atol=1e-12)
    # gradient of the sum over samples with respect to the first parameter, against central differences
    pa.attach_grad()
    with mx.autograd.record():
        y = mx.nd.sum(fn(*args, is_log=is_log))
    y.backward()
    eps = 1e-6
    f = (lambda t: sum(_lp(dist, x, t, b) if is_log else math.exp(_lp(dist, x, t, b)) for x in xs))
    np.testing.assert_allclose(pa.grad.asnumpy()[0], (f(a + eps) - f(a - eps)) / (2 * eps), rtol=1e-5, atol=1e-8)


def test_pdf_dirichlet_matches_mxnet_example():
    got = mx.nd.random.pdf_dirichlet(nd([[1, 2], [2, 3], [3, 4]]), nd([2.5, 2.5])).asnumpy()
    np.testing.assert_allclose(got, [38.413498, 199.60245, 564.56085], rtol=1e-6)


def test_invalid_parameters_are_errors():
    with pytest.raises(mx.MXNetError, match="lam"):
        mx.nd.random.exponential(scale=-1.0)
    with pytest.raises(mx.MXNetError, match="low"):
        mx.nd.random.randint(5, 5)
    with pytest.raises(mx.MXNetError, match="alpha"):
        mx.nd.random.gamma(alpha=0.0)
