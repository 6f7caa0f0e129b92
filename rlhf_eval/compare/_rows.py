"""Per-metric paired statistics: one comparison.json row per metric path (overall and per category).

Statistics by metric kind (see README.md in this folder for the reasoning):

- ``proportion``: exact McNemar p-value; Newcombe (1998, method 10) interval for the
  difference and Wilson intervals for each run, both on the effective sample size with
  ``t_{G-1}`` quantiles (``rlhf_eval.stats.effective_*``); Connor (1987) MDE at the observed
  discordance.
- ``mean``: studentized (bootstrap-t) intervals never narrower than the t interval,
  sign-flip permutation test, t-test MDE from the SD of the differences. A mean of 0/1
  values gets the rate intervals.
- ``ece``: paired bootstrap of ECE(after) - ECE(before) with a basic (reverse-percentile)
  interval, within-item swap permutation test, MDE from the bootstrap standard error. Its
  intervals are approximate at every n (``ci_approximate: true``).

When items share a cluster (``meta.cluster`` / ``meta.pair_id``), the intervals use the
design effect and resample whole clusters, and the test is the cluster permutation test,
since McNemar assumes independent pairs.
"""

from __future__ import annotations

import math
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np

from rlhf_eval.compare._load import MetricSpec, Run, item_value
from rlhf_eval.errors import UserError
from rlhf_eval.stats import (
    VALID_FROM_CLUSTERS,
    Interval,
    basic_interval,
    cluster_codes,
    effective_newcombe_interval,
    effective_wilson_interval,
    mcnemar_exact,
    mde_detectable,
    mde_from_se,
    mde_paired_mean,
    mde_paired_proportion,
    paired_ece_bootstrap,
    paired_ece_permutation_test,
    paired_permutation_test,
    studentized_mean_interval,
)

POWER = 0.8


@dataclass(frozen=True)
class Params:
    """Inference settings shared by every row."""

    n_resamples: int
    seed: int
    alpha: float


@dataclass
class Paired:
    """Paired per-item values of one metric: ``before``/``after`` are ``(n,)``, or ``(n, 2)`` for ECE."""

    ids: list[str]
    categories: list[str]
    clusters: list[str | None]
    before: np.ndarray
    after: np.ndarray

    def subset(self, idx: list[int]) -> Paired:
        """The items at positions ``idx``."""
        return Paired(
            [self.ids[i] for i in idx],
            [self.categories[i] for i in idx],
            [self.clusters[i] for i in idx],
            self.before[idx],
            self.after[idx],
        )

    def cluster_labels(self) -> list[str | None] | None:
        """Cluster labels when some cluster holds two or more items, else ``None`` (independent)."""
        counts = Counter(c for c in self.clusters if c is not None)
        return self.clusters if counts and max(counts.values()) > 1 else None


def row_seed(seed: int, key: str) -> int:
    """A per-row seed derived from the user's seed and the row path: rows don't depend on each other."""
    state = np.random.SeedSequence([seed, zlib.crc32(key.encode("utf-8"))]).generate_state(1)
    return int(state[0])


def collect(before: Run, after: Run, suite: str, ids: list[str], spec: MetricSpec) -> Paired:
    """Per-item values of ``spec`` for items non-null in both runs (ECE needs confidence and correct)."""
    keep_ids: list[str] = []
    cats: list[str] = []
    clusters: list[str | None] = []
    xb: list[list[float]] = []
    xa: list[list[float]] = []
    for item_id in ids:
        sb, sa = before.samples[suite][item_id], after.samples[suite][item_id]
        if spec.kind == "ece":
            row_b = _ece_values(before, sb, spec)
            row_a = _ece_values(after, sa, spec)
            if row_b is None or row_a is None:
                continue
        else:
            binary = spec.kind == "proportion"
            vb = item_value(before, sb, spec.item_metric, binary=binary)
            va = item_value(after, sa, spec.item_metric, binary=binary)
            if vb is None or va is None:
                continue
            row_b, row_a = [vb], [va]
        keep_ids.append(item_id)
        cats.append(sb.category)
        clusters.append(sb.cluster if sb.cluster is not None else sa.cluster)
        xb.append(row_b)
        xa.append(row_a)
    width = 2 if spec.kind == "ece" else 1
    b = np.asarray(xb, dtype=float).reshape(-1, width)
    a = np.asarray(xa, dtype=float).reshape(-1, width)
    if width == 1:
        b, a = b[:, 0], a[:, 0]
    return Paired(keep_ids, cats, clusters, b, a)


def _ece_values(run: Run, sample: Any, spec: MetricSpec) -> list[float] | None:
    conf = item_value(run, sample, spec.item_metric, binary=False)
    corr = item_value(run, sample, "correct", binary=True)
    if conf is None or corr is None:
        return None
    if not 0.0 <= conf <= 1.0:
        raise UserError(
            f"{run.samples_path}:{sample.line}: metrics.{spec.item_metric} = {conf!r}, expected 0..1"
        )
    return [conf, corr]


def metric_rows(
    suite: str, spec: MetricSpec, data: Paired, params: Params
) -> list[tuple[dict[str, Any], Paired]]:
    """The overall row then one row per category (sorted), each with the data it was computed from."""
    out = [(_row(suite, spec, None, data, params), data)]
    by_cat: dict[str, list[int]] = defaultdict(list)
    for i, c in enumerate(data.categories):
        by_cat[c].append(i)
    for cat in sorted(by_cat):
        sub = data.subset(by_cat[cat])
        out.append((_row(suite, spec, cat, sub, params), sub))
    return out


def _row(suite: str, spec: MetricSpec, category: str | None, data: Paired, params: Params) -> dict[str, Any]:
    path = f"{suite}.{spec.name}" + (f".{category}" if category is not None else "")
    row: dict[str, Any] = {
        "path": path,
        "suite": suite,
        "metric": spec.name,
        "category": category,
        "kind": spec.kind,
        "item_metric": spec.item_metric,
        "higher_is_better": spec.higher_is_better,
        "headline": category is None,
    }
    n = len(data.ids)
    if n == 0:
        row.update(_empty_stats(spec))
        return row
    seed = row_seed(params.seed, path)
    if spec.kind == "proportion":
        row.update(_proportion(data, spec, params, seed))
    elif spec.kind == "mean":
        row.update(_mean(data, params, seed))
    else:
        row.update(_ece(data, params, seed))
    return row


def _empty_stats(spec: MetricSpec) -> dict[str, Any]:
    return {
        "before": None,
        "after": None,
        "before_ci": None,
        "after_ci": None,
        "delta": None,
        "delta_ci": None,
        "p_value": None,
        "p_adjusted": None,
        "adjustment": None,
        "significant": False,
        "test": None,
        "ci_method": None,
        "ci_level": None,
        "ci_approximate": None,
        "ci_valid_from": None,
        "n": 0,
        "n_clusters": 0,
        "n_effective": None,
        "design_effect": None,
        "discordance": None,
        "sd_diff": None,
        "sd_after": None,
        "mde": None,
        "mde_note": None,
        "flips": _flips([], np.zeros(0), np.zeros(0), spec.higher_is_better)
        if spec.kind == "proportion"
        else None,
    }


def _se(replicates: np.ndarray) -> float:
    """Bootstrap standard error (``nan`` with fewer than two replicates)."""
    return float(np.std(replicates, ddof=1)) if replicates.size > 1 else float("nan")


def _sd(values: np.ndarray) -> float | None:
    return float(np.std(values, ddof=1)) if values.size > 1 else None


@dataclass(frozen=True)
class _Intervals:
    """What every kind computes: three intervals, the test, and the design behind them."""

    before_ci: tuple[float, float]
    after_ci: tuple[float, float]
    delta_ci: tuple[float, float]
    p_value: float
    test: str
    ci_method: str
    delta_design: Interval  # effective n, design effect and clusters of the delta interval
    mde: float
    mde_ok: bool
    ci_valid_from: int | None  # clusters from which the method's coverage holds; None: never verified
    degenerate: bool = False  # the interval has zero width because no item varied


def _stats(data: Paired, before: float, after: float, iv: _Intervals, params: Params) -> dict[str, Any]:
    d = iv.delta_design
    approximate = iv.ci_valid_from is None or d.n_clusters < iv.ci_valid_from or iv.degenerate
    mde_ok = iv.mde_ok and np.isfinite(iv.mde)
    return {
        "before": float(before),
        "after": float(after),
        "before_ci": [float(v) for v in iv.before_ci],
        "after_ci": [float(v) for v in iv.after_ci],
        "delta": float(after) - float(before),
        "delta_ci": [float(v) for v in iv.delta_ci],
        "p_value": float(iv.p_value),
        "p_adjusted": None,
        "adjustment": None,
        "significant": False,
        "test": iv.test,
        "ci_method": iv.ci_method,
        "ci_level": 1 - params.alpha,
        "ci_approximate": bool(approximate),
        "ci_valid_from": iv.ci_valid_from,
        "n": len(data.ids),
        "n_clusters": int(d.n_clusters),
        "n_effective": float(d.n_effective),
        "design_effect": float(d.design_effect),
        "mde": float(iv.mde) if mde_ok else None,
        "mde_note": None if mde_ok else "not detectable at this n",
    }


def _is_binary(*arrays: np.ndarray) -> bool:
    return all(bool(np.all((a == 0) | (a == 1))) for a in arrays)


def _rate_intervals(
    x: np.ndarray, y: np.ndarray, clusters: Any, params: Params, seed: int, test: str | None = None
) -> tuple[_Intervals, float]:
    """Wilson / Newcombe on the effective n for paired 0/1 values; returns the intervals and discordance."""
    conf = 1 - params.alpha
    n = x.size
    n10 = int(np.sum((x == 1) & (y == 0)))  # before positive, after negative
    n01 = int(np.sum((x == 0) & (y == 1)))
    delta = effective_newcombe_interval(x, y, clusters, conf)
    psi = (n10 + n01) / n
    if test is None:
        test = "mcnemar_exact" if clusters is None else "cluster_permutation"
    p = (
        mcnemar_exact(n10, n01)
        if test == "mcnemar_exact"
        else paired_permutation_test(x, y, params.n_resamples, seed, clusters)
    )
    mde = mde_paired_proportion(delta.n_effective, psi, params.alpha, POWER)
    before_iv = effective_wilson_interval(x, clusters, conf)
    after_iv = effective_wilson_interval(y, clusters, conf)
    iv = _Intervals(
        (before_iv.low, before_iv.high),
        (after_iv.low, after_iv.high),
        (delta.low, delta.high),
        p,
        test,
        "newcombe_eff",
        delta,
        mde,
        mde_detectable(mde, psi),
        VALID_FROM_CLUSTERS["newcombe_eff"],
    )
    return iv, psi


def _proportion(data: Paired, spec: MetricSpec, params: Params, seed: int) -> dict[str, Any]:
    x, y = data.before, data.after
    iv, psi = _rate_intervals(x, y, data.cluster_labels(), params, seed)
    out = _stats(data, x.mean(), y.mean(), iv, params)
    out.update(discordance=psi, sd_diff=None, sd_after=None)
    out["flips"] = _flips(data.ids, x, y, spec.higher_is_better)
    return out


def _mean(data: Paired, params: Params, seed: int) -> dict[str, Any]:
    x, y = data.before, data.after
    clusters = data.cluster_labels()
    test = "cluster_permutation" if clusters is not None else "paired_permutation"
    if _is_binary(x, y):  # a mean of 0/1 values is a rate: its intervals must be a rate's
        iv, psi = _rate_intervals(x, y, clusters, params, seed, test=test)
        out = _stats(data, x.mean(), y.mean(), iv, params)
        out.update(discordance=psi, sd_diff=_sd(y - x), sd_after=_sd(y))
        out["flips"] = None
        return out
    conf = 1 - params.alpha
    diff = y - x
    b = params.n_resamples

    def interval(v: np.ndarray) -> Interval:
        return studentized_mean_interval(v, clusters, b, seed, conf)

    delta, before_iv, after_iv = interval(diff), interval(x), interval(y)
    sd_diff = _sd(diff)
    mde = mde_paired_mean(
        sd_diff if sd_diff is not None else float("nan"), delta.n_effective, params.alpha, POWER
    )
    iv = _Intervals(
        (before_iv.low, before_iv.high),
        (after_iv.low, after_iv.high),
        (delta.low, delta.high),
        paired_permutation_test(x, y, params.n_resamples, seed, clusters),
        test,
        "cluster_studentized_bootstrap" if clusters is not None else "studentized_bootstrap",
        delta,
        mde,
        bool(np.isfinite(mde)),
        VALID_FROM_CLUSTERS["studentized_bootstrap"],
        degenerate=not delta.high > delta.low or not after_iv.high > after_iv.low,
    )
    out = _stats(data, x.mean(), y.mean(), iv, params)
    out.update(discordance=None, sd_diff=sd_diff, sd_after=_sd(y))
    out["flips"] = None
    return out


def _ece(data: Paired, params: Params, seed: int) -> dict[str, Any]:
    from rlhf_eval.scoring import expected_calibration_error

    cb, kb = data.before[:, 0], data.before[:, 1]
    ca, ka = data.after[:, 0], data.after[:, 1]
    clusters = data.cluster_labels()
    ece_b, ece_a = expected_calibration_error(cb, kb), expected_calibration_error(ca, ka)
    dist = paired_ece_bootstrap(cb, kb, ca, ka, params.n_resamples, seed, clusters)
    conf = 1 - params.alpha
    # basic intervals: plug-in ECE is biased upwards, and its replicates more so (see README)
    before_ci = [max(0.0, v) for v in basic_interval(ece_b, dist[:, 0], conf)]
    after_ci = [max(0.0, v) for v in basic_interval(ece_a, dist[:, 1], conf)]
    n = data.before.shape[0]
    n_clusters = cluster_codes(clusters, n)[1]
    se = _se(dist[:, 2])
    mde = mde_from_se(se, params.alpha, POWER)
    iv = _Intervals(
        (before_ci[0], before_ci[1]),
        (after_ci[0], after_ci[1]),
        basic_interval(ece_a - ece_b, dist[:, 2], conf),
        paired_ece_permutation_test(cb, kb, ca, ka, params.n_resamples, seed, clusters),
        "cluster_permutation" if clusters is not None else "paired_permutation",
        "cluster_basic_bootstrap" if clusters is not None else "basic_bootstrap",
        Interval(math.nan, math.nan, float(n), 1.0, n_clusters),
        mde,
        bool(np.isfinite(mde)),
        None,  # ECE intervals are approximate at every n (README): the gate decides on them only via p
    )
    out = _stats(data, ece_b, ece_a, iv, params)
    out.update(discordance=None, sd_diff=se * math.sqrt(n) if np.isfinite(se) else None, sd_after=None)
    out["flips"] = None
    return out


def flip_directions(higher_is_better: bool | None) -> tuple[str, str]:
    """Names for (0 -> 1, 1 -> 0) changes: good/bad follow ``higher_is_better``; ``up``/``down`` if null."""
    if higher_is_better is None:
        return ("up", "down")
    return ("bad_to_good", "good_to_bad") if higher_is_better else ("good_to_bad", "bad_to_good")


def _flips(
    ids: list[str], x: np.ndarray, y: np.ndarray, higher_is_better: bool | None
) -> dict[str, list[str]]:
    rise, fall = flip_directions(higher_is_better)
    up = [ids[i] for i in np.flatnonzero((x == 0) & (y == 1))]
    down = [ids[i] for i in np.flatnonzero((x == 1) & (y == 0))]
    if higher_is_better is None:
        return {"up": up, "down": down}
    named = {rise: up, fall: down}
    return {"good_to_bad": named["good_to_bad"], "bad_to_good": named["bad_to_good"]}
