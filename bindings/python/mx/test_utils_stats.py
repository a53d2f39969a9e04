"""mx.test_utils' checks that a random sampler follows its distribution (MXNet's chi-square,
mean and variance tests, after Goucher & Riley, "Beautiful Testing", ch. 10)."""
import numpy as np


def gen_buckets_probs_with_ppf(ppf, nbuckets):
    """nbuckets equal-probability buckets [(ppf(i/n), ppf((i+1)/n)), ...] and their probabilities
    (1/n each), from a quantile function ppf."""
    if nbuckets <= 0:
        raise ValueError("gen_buckets_probs_with_ppf: nbuckets must be positive, got %r" % (nbuckets,))
    probs = [1.0 / nbuckets for _ in range(nbuckets)]
    buckets = [(ppf(i / float(nbuckets)), ppf((i + 1) / float(nbuckets))) for i in range(nbuckets)]
    return buckets, probs


def mean_check(generator, mu, sigma, nsamples=1000000):
    """True when the mean of generator(nsamples) lies in mu -+ 3 sigma / sqrt(nsamples)."""
    sample_mean = np.mean(np.asarray(generator(nsamples)))
    bound = 3 * sigma / np.sqrt(nsamples)
    return bool(mu - bound < sample_mean < mu + bound)


def var_check(generator, sigma, nsamples=1000000):
    """True when the unbiased sample variance lies in sigma^2 -+ 3 sqrt(2 sigma^4 / (n - 1))."""
    sample_var = np.asarray(generator(nsamples)).var(ddof=1)
    bound = 3 * np.sqrt(2 * sigma ** 4 / (nsamples - 1))
    return bool(sigma ** 2 - bound < sample_var < sigma ** 2 + bound)


def chi_square_check(generator, buckets, probs, nsamples=1000000):
    """Chi-square goodness of fit of generator(nsamples) to probs over buckets.

    buckets are (low, high) ranges, ascending and disjoint, for a continuous generator, or the
    possible values of a discrete one. Returns (p value, observed counts, expected counts)."""
    try:
        from scipy import stats
    except ImportError:
        raise ImportError("chi_square_check needs scipy, which is not installed")
    if not isinstance(buckets, list):
        raise TypeError("chi_square_check: buckets must be a list, got %s" % type(buckets).__name__)
    if len(probs) != len(buckets):
        raise ValueError("chi_square_check: %d probs for %d buckets" % (len(probs), len(buckets)))
    samples = np.asarray(generator(nsamples)).reshape(-1)
    continuous = isinstance(buckets[0], (list, tuple))
    if continuous:
        edges = np.asarray(buckets, dtype=np.float64).reshape(-1)
        if np.any(np.diff(edges) < 0):
            raise ValueError("chi_square_check: buckets must be ascending and disjoint: %s" % (buckets,))
        # A sample in bucket i falls between edges 2i and 2i+1: searchsorted gives 2i+1.
        ids = np.searchsorted(edges, samples, side="right")
        obs_freq = np.array([(ids == 2 * i + 1).sum() for i in range(len(buckets))], dtype=np.int64)
    else:
        obs_freq = np.array([(samples == b).sum() for b in buckets], dtype=np.int64)
    expected_freq = (nsamples * np.asarray(probs, dtype=np.float64)).astype(np.int64)
    # Pearson's statistic against the exact expectations; samples outside every bucket are simply
    # missing from obs_freq and so raise the statistic (scipy.stats.chisquare would refuse unequal totals).
    exact = nsamples * np.asarray(probs, dtype=np.float64)
    statistic = float(np.sum((obs_freq - exact) ** 2 / exact))
    p = float(stats.chi2.sf(statistic, len(buckets) - 1))
    return p, obs_freq, expected_freq


def verify_generator(generator, buckets, probs, nsamples=1000000, nrepeat=5, success_rate=0.2, alpha=0.05):
    """Runs chi_square_check nrepeat times; raises AssertionError unless at least
    nrepeat * success_rate runs have p > alpha. Returns the p values."""
    results = [chi_square_check(generator, buckets, probs, nsamples) for _ in range(nrepeat)]
    p_values = [r[0] for r in results]
    if (np.array(p_values) > alpha).sum() < nrepeat * success_rate:
        raise AssertionError("Generator test fails, Chi-square p=%s, obs_freq=%s, expected_freq=%s.\nbuckets=%s, "
                             "probs=%s" % (p_values, [r[1] for r in results], [r[2] for r in results], buckets, probs))
    return p_values
