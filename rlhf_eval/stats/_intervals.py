"""Confidence intervals for proportions and means (Wilson, percentile bootstrap)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import stats as _st


def wilson_interval(successes: float, n: float, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion; ``(nan, nan)`` when ``n == 0``.

    ``n`` may be fractional (an effective sample size, see :func:`effective_wilson_interval`).
    """
    if n <= 0:
        return (float("nan"), float("nan"))
    z = float(_st.norm.ppf(0.5 + confidence / 2))
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, float(centre - half)), min(1.0, float(centre + half)))


def bootstrap_ci(
    values: np.ndarray,
    statistic: Callable[[np.ndarray], np.ndarray] | None = None,
    n_resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of ``statistic`` over rows of ``values`` (items resampled).

    ``statistic`` maps an array of resampled index sets, shape (B, n), to B statistics;
    default is the mean of a 1-D ``values``. Vectorised: one index matrix, no Python loop.
    """
    values = np.asarray(values)
    n = len(values)
    if n == 0:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(n_resamples, n))
    if statistic is None:
        stats = values[idx].mean(axis=1)
    else:
        stats = statistic(idx)
    alpha = (1 - confidence) / 2
    lo, hi = np.nanquantile(stats, [alpha, 1 - alpha])
    return (float(lo), float(hi))


def percentile_interval(replicates: np.ndarray, confidence: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval: the ``(1 -/+ confidence) / 2`` quantiles of the replicates."""
    tail = (1 - confidence) / 2
    lo, hi = np.quantile(np.asarray(replicates, dtype=float), [tail, 1 - tail])
    return (float(lo), float(hi))


def basic_interval(estimate: float, replicates: np.ndarray, confidence: float = 0.95) -> tuple[float, float]:
    """Basic (reverse-percentile) bootstrap interval ``(2*est - q_hi, 2*est - q_lo)``.

    Corrects, to first order, a statistic whose bootstrap replicates are shifted from the
    estimate (e.g. ECE, biased upwards in small samples), where percentiles would not.
    """
    lo, hi = percentile_interval(replicates, confidence)
    return (2 * float(estimate) - hi, 2 * float(estimate) - lo)
