"""Per-metric paired statistics: one comparison.json row per metric path (overall and per category).

Statistics by metric kind (see README.md in this folder for the reasoning):

- ``proportion``: exact McNemar p-value, Newcombe (1998, method 10) interval for the
  difference, Wilson intervals for each run, Connor (1987) MDE at the observed discordance.
- ``mean``: paired percentile bootstrap of the mean difference, sign-flip permutation test,
  t-test MDE from the SD of the differences.
- ``ece``: paired bootstrap of ECE(after) - ECE(before) with a basic (reverse-percentile)
  interval, within-item swap permutation test, MDE from the bootstrap standard error.

When items share a cluster (``meta.cluster`` / ``meta.pair_id``), every kind switches to
the cluster bootstrap and cluster permutation test, since McNemar and Newcombe assume
independent pairs.
"""

from __future__ import annotations

import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np

from rlhf_eval.compare._load import MetricSpec, Run, item_value
from rlhf_eval.errors import UserError
from rlhf_eval.stats import (
    basic_interval,
    bootstrap_distribution,
    cluster_codes,
    mcnemar_exact,
    mde_from_se,
    mde_paired_mean,
    mde_paired_proportion,
    newcombe_paired_interval,
    paired_ece_bootstrap,
    paired_ece_permutation_test,
    paired_permutation_test,
    percentile_interval,
    wilson_interval,
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
        "n": 0,
        "n_clusters": 0,
        "mde": None,
        "flips": _flips([], np.zeros(0), np.zeros(0), spec.higher_is_better)
        if spec.kind == "proportion"
        else None,
    }


def _se(replicates: np.ndarray) -> float:
    """Bootstrap standard error (``nan`` with fewer than two replicates)."""
    return float(np.std(replicates, ddof=1)) if replicates.size > 1 else float("nan")


def _ci(dist: np.ndarray, alpha: float) -> list[float]:
    return list(percentile_interval(dist, 1 - alpha))


def _stats(
    before: float,
    after: float,
    before_ci: list[float] | tuple[float, float],
    after_ci: list[float] | tuple[float, float],
    delta_ci: list[float] | tuple[float, float],
    p: float,
    test: str,
    ci_method: str,
    data: Paired,
    mde: float,
) -> dict[str, Any]:
    clusters = data.cluster_labels()
    n_clusters = cluster_codes(clusters, len(data.ids))[1]
    return {
        "before": float(before),
        "after": float(after),
        "before_ci": [float(v) for v in before_ci],
        "after_ci": [float(v) for v in after_ci],
        "delta": float(after) - float(before),
        "delta_ci": [float(v) for v in delta_ci],
        "p_value": float(p),
        "p_adjusted": None,
        "adjustment": None,
        "significant": False,
        "test": test,
        "ci_method": ci_method,
        "n": len(data.ids),
        "n_clusters": n_clusters,
        "mde": float(mde),
    }


def _means_distribution(x: np.ndarray, y: np.ndarray, params: Params, seed: int, clusters: Any) -> np.ndarray:
    """Bootstrap replicates ``(B, 3)`` of ``[mean before, mean after, mean difference]``."""
    cols = np.column_stack([x, y, y - x])

    def stat(w: np.ndarray) -> np.ndarray:
        return (w @ cols) / w.sum(axis=1)[:, None]

    return bootstrap_distribution(stat, x.size, params.n_resamples, seed, clusters)


def _proportion(data: Paired, spec: MetricSpec, params: Params, seed: int) -> dict[str, Any]:
    x, y = data.before, data.after
    n = x.size
    n11 = int(np.sum((x == 1) & (y == 1)))
    n10 = int(np.sum((x == 1) & (y == 0)))  # before positive, after negative
    n01 = int(np.sum((x == 0) & (y == 1)))
    n00 = n - n11 - n10 - n01
    clusters = data.cluster_labels()
    conf = 1 - params.alpha
    if clusters is None:
        # Newcombe's first proportion is the after run: (b - c)/n = (n01 - n10)/n = after - before.
        delta_ci = newcombe_paired_interval(n11, n01, n10, n00, conf)
        out = _stats(
            x.mean(),
            y.mean(),
            wilson_interval(float(x.sum()), n, conf),
            wilson_interval(float(y.sum()), n, conf),
            delta_ci,
            mcnemar_exact(n10, n01),
            "mcnemar_exact",
            "newcombe",
            data,
            mde_paired_proportion(n, (n10 + n01) / n, params.alpha, POWER),
        )
    else:  # clustered items: resample and permute whole clusters, exactly as for means
        out = _mean(data, params, seed)
    out["flips"] = _flips(data.ids, x, y, spec.higher_is_better)
    return out


def _mean(data: Paired, params: Params, seed: int) -> dict[str, Any]:
    x, y = data.before, data.after
    clusters = data.cluster_labels()
    dist = _means_distribution(x, y, params, seed, clusters)
    if clusters is None:
        mde = mde_paired_mean(
            float(np.std(y - x, ddof=1)) if x.size > 1 else float("nan"), x.size, params.alpha, POWER
        )
    else:
        mde = mde_from_se(_se(dist[:, 2]), params.alpha, POWER)
    out = _stats(
        x.mean(),
        y.mean(),
        _ci(dist[:, 0], params.alpha),
        _ci(dist[:, 1], params.alpha),
        _ci(dist[:, 2], params.alpha),
        paired_permutation_test(x, y, params.n_resamples, seed, clusters),
        "cluster_permutation" if clusters is not None else "paired_permutation",
        "cluster_bootstrap" if clusters is not None else "paired_bootstrap",
        data,
        mde,
    )
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
    out = _stats(
        ece_b,
        ece_a,
        before_ci,
        after_ci,
        basic_interval(ece_a - ece_b, dist[:, 2], conf),
        paired_ece_permutation_test(cb, kb, ca, ka, params.n_resamples, seed, clusters),
        "cluster_permutation" if clusters is not None else "paired_permutation",
        "cluster_basic_bootstrap" if clusters is not None else "basic_bootstrap",
        data,
        mde_from_se(_se(dist[:, 2]), params.alpha, POWER),
    )
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
