"""Exact tests over seeds, and bootstrap intervals (floor 6; NumPy and the standard library).

The lab decides its claims from a handful of seeds, so every test here is exact (or, past 16
pairs, a Monte Carlo estimate with a fixed seed) and one-sided in the direction the claim
states:

* `sign_test(k, n)`: P(K >= k) for K ~ Binomial(n, 1/2): the chance that at least k of n
  informative pairs go the claimed way if either way were equally likely.
* `permutation_test(d)`: paired differences d_i; the share of the 2^n sign flips of d whose
  mean is >= the observed mean (each flip is equally likely when there is no effect).
* `bootstrap_interval(values, statistic)`: the percentile 95% interval of a statistic over
  seeds resampled with replacement (2,000 resamples, fixed seed: the same bits every run).
"""
from __future__ import annotations

import math
from itertools import product

import numpy as np

ALPHA = 0.05
BOOTSTRAP_SAMPLES = 2000
EXACT_UP_TO = 16          # 2^16 sign flips enumerated; beyond, a Monte Carlo estimate
MONTE_CARLO_SAMPLES = 100_000


def sign_test(k: int, n: int) -> float:
    """One-sided p-value P(K >= k), K ~ Binomial(n, 1/2); 1.0 when n == 0."""
    if n == 0:
        return 1.0
    return sum(math.comb(n, i) for i in range(k, n + 1)) / 2.0 ** n


def smallest_p(n: int) -> float:
    """The smallest one-sided p-value n pairs can give (all n the same way): 2^-n."""
    return 0.5 ** n


def permutation_test(differences) -> float:
    """One-sided p-value that the mean of the paired differences is > 0, by sign flips.

    Exact (all 2^n flips) for n <= 16, counting ties with the observed mean as at least as
    extreme; beyond that a Monte Carlo estimate with a fixed seed, (1 + hits) / (1 + samples)."""
    d = np.asarray(differences, dtype=np.float64)
    n = d.size
    if n == 0:
        return 1.0
    observed = d.sum()
    tolerance = 1e-12 * max(1.0, float(np.abs(d).sum()))
    if n <= EXACT_UP_TO:
        signs = np.array(list(product((1.0, -1.0), repeat=n)))        # (2^n, n)
        sums = signs @ d
        return float(np.mean(sums >= observed - tolerance))
    rng = np.random.default_rng(0)
    signs = rng.choice((1.0, -1.0), size=(MONTE_CARLO_SAMPLES, n))
    hits = int(np.sum(signs @ d >= observed - tolerance))
    return (1 + hits) / (1 + MONTE_CARLO_SAMPLES)


def bootstrap_interval(values, statistic=np.median, *, level=0.95, samples=BOOTSTRAP_SAMPLES):
    """Percentile interval of `statistic` (a NumPy reduction taking `axis`) over `values` (one
    per seed) resampled with replacement, seeded so it is the same bits every run: (low, high)."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return (math.nan, math.nan)
    if values.size == 1:
        return (float(values[0]), float(values[0]))
    rng = np.random.default_rng(0)
    picks = rng.integers(0, values.size, size=(samples, values.size))
    stats = statistic(values[picks], axis=1)
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(stats, [tail, 1.0 - tail])
    return (float(low), float(high))
