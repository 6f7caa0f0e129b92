"""Paired before/after tests and intervals: exact McNemar, Newcombe, paired bootstrap, sign-flip test.

Conventions: values are paired by item; differences are ``after - before``; intervals
are two-sided at ``confidence``; empty input gives ``nan`` rather than an exception.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from scipy import stats as _st

from rlhf_eval.stats._intervals import wilson_interval
from rlhf_eval.stats._resample import ClusterLabels, bootstrap_distribution, permutation_test


def mcnemar_exact(b: int, c: int) -> float:
    """Exact two-sided McNemar p-value: ``2 * P(X <= min(b, c))``, ``X ~ Binom(b + c, 1/2)``.

    ``b`` and ``c`` are the two discordant-pair counts; ``p = 1`` when ``b + c == 0``.
    """
    if b < 0 or c < 0:
        raise ValueError(f"discordant counts must be >= 0, got b={b}, c={c}")
    m = int(b) + int(c)
    if m == 0:
        return 1.0
    return float(min(1.0, 2.0 * _st.binom.cdf(min(b, c), m, 0.5)))


def newcombe_paired_interval(
    a: float, b: float, c: float, d: float, confidence: float = 0.95
) -> tuple[float, float]:
    """Newcombe (1998) method 10 interval for a paired difference of proportions ``p1 - p2``.

    The 2x2 table of pairs: ``a`` both positive, ``b`` first positive / second negative,
    ``c`` first negative / second positive, ``d`` both negative, so ``p1 = (a+b)/n``,
    ``p2 = (a+c)/n`` and the difference is ``(b - c)/n``. Square-and-add of the two Wilson
    score intervals, corrected by the phi correlation of the table (no continuity
    correction; phi is 0 when a margin is empty). Returns ``(nan, nan)`` when ``n == 0``.
    Counts may be fractional (effective counts, see :func:`effective_newcombe_interval`).
    """
    if min(a, b, c, d) < 0:
        raise ValueError(f"cell counts must be >= 0, got {(a, b, c, d)}")
    n = a + b + c + d
    if n == 0:
        return (float("nan"), float("nan"))
    p1, p2 = (a + b) / n, (a + c) / n
    l1, u1 = wilson_interval(a + b, n, confidence)
    l2, u2 = wilson_interval(a + c, n, confidence)
    denom = float(a + b) * (c + d) * (a + c) * (b + d)
    phi = (a * d - b * c) / math.sqrt(denom) if denom > 0 else 0.0
    theta = p1 - p2
    dl = (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2
    du = (u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2
    lo = theta - math.sqrt(max(dl, 0.0))
    hi = theta + math.sqrt(max(du, 0.0))
    return (max(-1.0, lo), min(1.0, hi))


def _paired_arrays(before: npt.ArrayLike, after: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(before, dtype=float).ravel()
    y = np.asarray(after, dtype=float).ravel()
    if x.shape != y.shape:
        raise ValueError(f"before and after must have the same length, got {x.size} and {y.size}")
    return x, y


def paired_bootstrap(
    before: npt.ArrayLike,
    after: npt.ArrayLike,
    n_resamples: int = 10000,
    seed: int = 0,
    clusters: ClusterLabels = None,
    *,
    confidence: float = 0.95,
) -> tuple[float, float, float]:
    """Mean difference ``after - before`` and its percentile paired-bootstrap interval.

    Items (or, with ``clusters``, whole clusters) are resampled with replacement, keeping
    each item's before and after values together. Returns ``(delta, lo, hi)``.
    """
    x, y = _paired_arrays(before, after)
    if x.size == 0:
        nan = float("nan")
        return (nan, nan, nan)
    diff = y - x

    def stat(w: np.ndarray) -> np.ndarray:
        return (w @ diff) / w.sum(axis=1)

    dist = bootstrap_distribution(stat, diff.size, n_resamples, seed, clusters)
    tail = (1 - confidence) / 2
    lo, hi = np.quantile(dist, [tail, 1 - tail])
    return (float(diff.mean()), float(lo), float(hi))


def paired_permutation_test(
    before: npt.ArrayLike,
    after: npt.ArrayLike,
    n_resamples: int = 10000,
    seed: int = 0,
    clusters: ClusterLabels = None,
) -> float:
    """Two-sided sign-flip permutation p-value for the mean paired difference.

    Flips the sign of each item's (or cluster's) difference at random; exact enumeration
    when there are at most ``log2(n_resamples)`` clusters. ``p = 1`` when all differences are 0.
    """
    x, y = _paired_arrays(before, after)
    if x.size == 0:
        return float("nan")
    diff = y - x
    if not np.any(diff):
        return 1.0

    def stat(swap: np.ndarray) -> np.ndarray:
        return ((1.0 - 2.0 * swap) @ diff) / diff.size

    return permutation_test(stat, diff.size, n_resamples, seed, clusters)
