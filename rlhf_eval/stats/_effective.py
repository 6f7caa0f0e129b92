"""Intervals that keep their coverage at small n and when items are clustered.

Chosen by simulation among candidates (``benchmarks/bench_interval_coverage.py`` prints the
coverage table that decided it):

- **Rates and paired differences of rates** (0/1 values): Wilson and Newcombe (method 10) on
  the *effective sample size* ``n / deff`` with the normal quantile replaced by Student's
  ``t`` with ``G - 1`` degrees of freedom (``G`` clusters; Korn & Graubard 1998). Without
  clusters ``deff = 1`` and ``G = n``, which only widens the interval at small n, where plain
  Wilson and Newcombe dip to 0.90 coverage. The design effect is the ratio of the
  cluster-robust (linearised ratio-estimator) variance to the simple-random-sampling one,
  clipped to ``[1, sum(m^2)/sum(m)]`` (the value for perfectly correlated clusters); when the
  data cannot estimate it (no item varied) the upper end is used. When no pair is discordant,
  Newcombe's interval collapses to zero width (its phi correction is 1), so the difference
  interval is then ``+-`` the Wilson upper bound of the discordance (0 of n): no change in
  ``n`` items bounds, but does not fix, the change at 0.
- **Means**: the studentized (bootstrap-t) cluster bootstrap, never narrower than the
  cluster-robust ``t`` interval (the union of the two). Percentile and BCa bootstraps
  under-cover at small n (0.78-0.88 for skewed data at n = 10); the studentized bootstrap
  alone fails with 3 clusters, the ``t`` interval alone with skewed data.

Every function returns an :class:`Interval` carrying the effective n and design effect, so
power and sample-size calculations can use the same design as the interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats as _st

from rlhf_eval.stats._intervals import wilson_interval
from rlhf_eval.stats._paired import newcombe_paired_interval
from rlhf_eval.stats._resample import ClusterLabels, bootstrap_weights, cluster_codes

# Smallest number of clusters (items, without clusters) from which each method's coverage was
# >= 0.93 for nominal 0.95 in every scenario of benchmarks/bench_interval_coverage.py (the
# rate intervals already at 5 clusters; the studentized bootstrap dips to 0.92 for skewed
# data at n = 10 and holds from 15). Rows below it are flagged approximate.
VALID_FROM_CLUSTERS = {"wilson_eff": 5, "newcombe_eff": 5, "studentized_bootstrap": 15}


@dataclass(frozen=True)
class Interval:
    """A two-sided interval with the design it was computed under."""

    low: float
    high: float
    n_effective: float  # n / design_effect
    design_effect: float  # 1.0 without clusters
    n_clusters: int


def _codes(n: int, clusters: ClusterLabels) -> tuple[np.ndarray, int]:
    return cluster_codes(clusters, n)


def _ratio_variance(values: np.ndarray, codes: np.ndarray, g: int) -> tuple[float, float]:
    """Item-level mean and its cluster-robust (CR1, linearised ratio-estimator) variance."""
    m = np.bincount(codes, minlength=g).astype(float)
    s = np.bincount(codes, weights=values, minlength=g)
    total = float(m.sum())
    est = float(s.sum()) / total
    if g < 2:
        return est, math.nan
    return est, g / (g - 1) * float(np.sum((s - est * m) ** 2)) / total**2


def _max_design_effect(codes: np.ndarray, g: int) -> float:
    """``sum(m^2)/sum(m)``: the design effect of perfectly correlated clusters of sizes ``m``."""
    m = np.bincount(codes, minlength=g).astype(float)
    return float((m**2).sum() / m.sum())


def design_effect(values: npt.ArrayLike, clusters: ClusterLabels = None) -> float:
    """Design effect of the mean of ``values`` under ``clusters`` (1.0 without clusters).

    Cluster-robust variance over the simple-random-sampling variance ``var(values)/n``,
    clipped to ``[1, sum(m^2)/sum(m)]``; the upper end when the variance cannot be
    estimated (fewer than two clusters, or no item varied).
    """
    y = np.asarray(values, dtype=float).ravel()
    if clusters is None or y.size == 0:
        return 1.0
    codes, g = _codes(y.size, clusters)
    cap = _max_design_effect(codes, g)
    _, v = _ratio_variance(y, codes, g)
    srs = float(np.var(y)) / y.size
    if not math.isfinite(v) or srs <= 0:
        return cap
    return min(max(v / srs, 1.0), cap)


def _t_scale(g: int, confidence: float) -> float:
    """``(z / t_{G-1})^2``: shrinks the effective n so a z-based interval uses t quantiles."""
    if g < 2:
        return 0.0
    z = float(_st.norm.ppf(0.5 + confidence / 2))
    t = float(_st.t.ppf(0.5 + confidence / 2, g - 1))
    return (z / t) ** 2


def effective_wilson_interval(
    values: npt.ArrayLike, clusters: ClusterLabels = None, confidence: float = 0.95
) -> Interval:
    """Wilson interval of a rate of 0/1 ``values`` on the effective n, with t_{G-1} quantiles."""
    y = np.asarray(values, dtype=float).ravel()
    n = y.size
    if n == 0:
        return Interval(math.nan, math.nan, 0.0, 1.0, 0)
    _, g = _codes(n, clusters)
    deff = design_effect(y, clusters)
    n_eff = n / deff
    scaled = n_eff * _t_scale(g, confidence)
    if scaled <= 0:
        return Interval(0.0, 1.0, n_eff, deff, g)
    lo, hi = wilson_interval(float(y.mean()) * scaled, scaled, confidence)
    return Interval(lo, hi, n_eff, deff, g)


def effective_newcombe_interval(
    before: npt.ArrayLike, after: npt.ArrayLike, clusters: ClusterLabels = None, confidence: float = 0.95
) -> Interval:
    """Interval for ``mean(after) - mean(before)`` of paired 0/1 values (Newcombe on the effective n).

    The design effect is that of the paired differences (``after - before``). With no
    discordant pair the interval is ``+-`` the Wilson upper bound of 0 discordant of n_eff.
    """
    x = np.asarray(before, dtype=float).ravel()
    y = np.asarray(after, dtype=float).ravel()
    if x.shape != y.shape:
        raise ValueError(f"before and after must have the same length, got {x.size} and {y.size}")
    n = x.size
    if n == 0:
        return Interval(math.nan, math.nan, 0.0, 1.0, 0)
    _, g = _codes(n, clusters)
    deff = design_effect(y - x, clusters)
    n_eff = n / deff
    scale = n_eff * _t_scale(g, confidence)
    if scale <= 0:
        return Interval(-1.0, 1.0, n_eff, deff, g)
    f = scale / n
    n11 = float(np.sum((x == 1) & (y == 1)))
    n10 = float(np.sum((x == 1) & (y == 0)))
    n01 = float(np.sum((x == 0) & (y == 1)))
    n00 = n - n11 - n10 - n01
    if n10 + n01 == 0:
        bound = wilson_interval(0.0, scale, confidence)[1]
        return Interval(-bound, bound, n_eff, deff, g)
    # first proportion = after: (n01 - n10)/n = after - before
    lo, hi = newcombe_paired_interval(n11 * f, n01 * f, n10 * f, n00 * f, confidence)
    return Interval(lo, hi, n_eff, deff, g)


def studentized_mean_interval(
    values: npt.ArrayLike,
    clusters: ClusterLabels = None,
    n_resamples: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
) -> Interval:
    """Interval for the item-level mean: studentized (cluster) bootstrap joined with the t interval.

    Each resample draws whole clusters (items without clusters) and is studentized by its
    own cluster-robust standard error; the interval is the union of the bootstrap-t
    interval and ``mean +- t_{G-1} * SE``, so it is never narrower than the t interval.
    A sample with no variation gives a zero-width interval (callers flag it).
    """
    y = np.asarray(values, dtype=float).ravel()
    n = y.size
    if n == 0:
        return Interval(math.nan, math.nan, 0.0, 1.0, 0)
    codes, g = _codes(n, clusters)
    deff = design_effect(y, clusters)
    est, v = _ratio_variance(y, codes, g)
    if g < 2 or not math.isfinite(v):
        return Interval(est, est, n / deff, deff, g)
    se = math.sqrt(v)
    tq = float(_st.t.ppf(0.5 + confidence / 2, g - 1))
    lo, hi = est - tq * se, est + tq * se
    if se > 0:
        m = np.bincount(codes, minlength=g).astype(float)
        s = np.bincount(codes, weights=y, minlength=g)
        # per resample: sum_g c_g (s_g - e m_g)^2 = c@s^2 - 2 e c@(s m) + e^2 c@m^2
        cols = np.column_stack([s, m, s * s, s * m, m * m])
        ts = []
        for c in bootstrap_weights(g, n_resamples, seed):
            tot = c @ cols
            e = tot[:, 0] / tot[:, 1]
            ss = tot[:, 2] - 2 * e * tot[:, 3] + e * e * tot[:, 4]
            vb = g / (g - 1) * np.maximum(ss, 0.0) / tot[:, 1] ** 2
            with np.errstate(divide="ignore", invalid="ignore"):
                ts.append((e - est) / np.sqrt(vb))
        t_all = np.concatenate(ts)
        t_all = t_all[np.isfinite(t_all)]
        if t_all.size >= 10:
            tail = (1 - confidence) / 2
            q_lo, q_hi = np.quantile(t_all, [tail, 1 - tail])
            lo, hi = min(lo, est - float(q_hi) * se), max(hi, est - float(q_lo) * se)
    return Interval(float(lo), float(hi), n / deff, deff, g)
