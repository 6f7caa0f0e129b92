"""Data-generating scenarios for interval coverage: binary, skewed and clustered, paired or not.

Shared by tests/stats/test_stats_coverage.py (asserts coverage of the shipped methods) and
benchmarks/bench_interval_coverage.py (prints every candidate's coverage). Each generator
returns the data and the true value the interval should cover. Clusters are pairs (as with
``meta.pair_id``); their items share a latent effect, so they are positively correlated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import stats

SIZES = (10, 30, 200)
CLUSTER_SIZE = 2


@dataclass(frozen=True)
class Sample:
    """One simulated data set: values (rates, means) or a paired before/after, clusters, truth."""

    before: np.ndarray | None  # None for one-sample scenarios
    values: np.ndarray  # after values (or the only sample)
    clusters: np.ndarray | None
    truth: float


def _pairs(n: int) -> np.ndarray:
    return np.repeat(np.arange(n // CLUSTER_SIZE), CLUSTER_SIZE)


def rate(p: float, clustered: bool, icc: float = 0.3) -> Callable[[np.random.Generator, int], Sample]:
    """0/1 values with rate ``p``; clustered: beta-binomial clusters with intra-cluster correlation ``icc``."""

    def draw(rng: np.random.Generator, n: int) -> Sample:
        if clustered:
            g = n // CLUSTER_SIZE
            a, b = p * (1 / icc - 1), (1 - p) * (1 / icc - 1)
            q = np.repeat(rng.beta(a, b, g), CLUSTER_SIZE)
            return Sample(None, (rng.random(n) < q).astype(float), _pairs(n), p)
        return Sample(None, (rng.random(n) < p).astype(float), None, p)

    return draw


def paired_rate(
    p_before: float, p_after: float, clustered: bool
) -> Callable[[np.random.Generator, int], Sample]:
    """Paired 0/1 before/after from a latent model: item (and cluster) effects shared by both runs.

    ``before = [u + e + eps_b > c_b]``, ``after = [u + v + e + eps_a > c_a]`` with cluster
    effects ``u`` (and a cluster-level change ``v``) only when clustered; the thresholds give
    the marginal rates, so the true change is ``p_after - p_before``.
    """

    def draw(rng: np.random.Generator, n: int) -> Sample:
        su, sv, se = (1.0, 0.7, 0.5) if clustered else (0.0, 0.0, 1.0)
        if clustered:
            codes = _pairs(n)
            g = n // CLUSTER_SIZE
            u = rng.normal(0, su, g)[codes]
            v = rng.normal(0, sv, g)[codes]
        else:
            codes, u, v = None, np.zeros(n), np.zeros(n)
        e = rng.normal(0, se, n)
        sb = np.sqrt(su**2 + se**2 + 1)
        sa = np.sqrt(su**2 + sv**2 + se**2 + 1)
        cb = -stats.norm.ppf(p_before) * sb
        ca = -stats.norm.ppf(p_after) * sa
        before = (u + e + rng.normal(size=n) > cb).astype(float)
        after = (u + v + e + rng.normal(size=n) > ca).astype(float)
        return Sample(before, after, codes, p_after - p_before)

    return draw


SIGMA = 0.75  # lognormal shape: skewness about 2.9


def skewed_mean(clustered: bool) -> Callable[[np.random.Generator, int], Sample]:
    """Skewed (lognormal) values, e.g. paired differences of a score; clustered: a shared lognormal shift."""
    mean = float(np.exp(SIGMA**2 / 2))

    def draw(rng: np.random.Generator, n: int) -> Sample:
        y = rng.lognormal(0, SIGMA, n)
        if clustered:
            codes = _pairs(n)
            y = y + rng.lognormal(0, SIGMA, n // CLUSTER_SIZE)[codes]
            return Sample(None, y, codes, 2 * mean)
        return Sample(None, y, None, mean)

    return draw


SCENARIOS: dict[str, dict[str, Callable[[np.random.Generator, int], Sample]]] = {
    # one rate (after_ci / before_ci)
    "rate": {
        "binary": rate(0.7, False),
        "skewed": rate(0.95, False),
        "clustered": rate(0.9, True),
    },
    # a paired change in a rate (delta_ci)
    "paired_rate": {
        "binary": paired_rate(0.7, 0.7, False),
        "skewed": paired_rate(0.95, 0.9, False),
        "clustered": paired_rate(0.9, 0.85, True),
    },
    # a mean (of values, or of paired differences)
    "mean": {
        "skewed": skewed_mean(False),
        "clustered": skewed_mean(True),
    },
}


def coverage(
    method: Callable[[Sample], tuple[float, float]],
    draw: Callable[[np.random.Generator, int], Sample],
    n: int,
    reps: int,
    seed: int,
) -> tuple[float, float, float]:
    """``(coverage, share with the whole interval above the truth, share with it below)``."""
    rng = np.random.default_rng(seed)
    hit = above = below = 0
    for _ in range(reps):
        s = draw(rng, n)
        lo, hi = method(s)
        if lo > s.truth:
            above += 1
        elif hi < s.truth:
            below += 1
        else:
            hit += 1
    return hit / reps, above / reps, below / reps
