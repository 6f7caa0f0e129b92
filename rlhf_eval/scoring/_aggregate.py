"""Turn per-item metrics into scores.json entries: value, 95 % interval, n, by category.

A judged proportion (a refusal rate) also gets ``corrected``: the rate corrected for the
judge's measured sensitivity and specificity, with an interval that carries their uncertainty.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from rlhf_eval.scoring._base import MetricDef, Sample
from rlhf_eval.stats import bootstrap_ci, weighted_ece, wilson_interval
from rlhf_eval.stats._misclassification import JudgeError, corrected_rate

N_BINS = 10


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, n_bins: int = N_BINS) -> float:
    """ECE with ``n_bins`` equal-width bins of the form (lo, hi]; weights are bin shares."""
    confidence = np.asarray(confidence, dtype=float)
    if confidence.size == 0:
        return float("nan")
    return float(weighted_ece(confidence, correct, np.ones(confidence.size), n_bins)[0])


def _summary(
    kind: str, values: np.ndarray, extra: np.ndarray | None, seed: int, judge_error: JudgeError | None = None
) -> dict[str, Any]:
    n = int(values.size)
    if n == 0:
        return {"value": None, "ci_low": None, "ci_high": None, "n": 0}
    corrected: dict[str, Any] = {}
    if kind == "proportion":
        value = float(values.mean())
        lo, hi = wilson_interval(float(values.sum()), n)
        if judge_error is not None:  # the judged rate corrected for the judge's error (Rogan-Gladen)
            c, c_lo, c_hi = corrected_rate(round(float(values.sum())), n, judge_error)
            corrected = {
                "corrected": {"value": c, "ci_low": c_lo, "ci_high": c_hi, "judge": judge_error.to_dict()}
            }
    elif kind == "ece":
        assert extra is not None
        value = expected_calibration_error(values, extra)
        conf, corr = values, extra

        def stat(idx: np.ndarray) -> np.ndarray:  # resampled index sets -> count weights, one matmul
            counts = np.zeros(idx.shape)
            np.add.at(counts, (np.arange(idx.shape[0])[:, None], idx), 1.0)
            return weighted_ece(conf, corr, counts)

        lo, hi = bootstrap_ci(values, stat, n_resamples=2000, seed=seed)
    else:
        value = float(values.mean())
        lo, hi = bootstrap_ci(values, n_resamples=2000, seed=seed)
    return {"value": value, "ci_low": lo, "ci_high": hi, "n": n} | corrected


def _values(samples: Sequence[Sample], m: MetricDef) -> tuple[np.ndarray, np.ndarray | None, list[str]]:
    vals: list[float] = []
    extra: list[float] = []
    cats: list[str] = []
    for s in samples:
        v = s.get("metrics", {}).get(m.item_metric)
        if v is None:
            continue
        if m.kind == "ece":
            c = s.get("metrics", {}).get("correct")
            if c is None:
                continue
            extra.append(float(c))
        vals.append(float(v))
        cats.append(str(s.get("category", "default")))
    return np.asarray(vals, dtype=float), (np.asarray(extra) if m.kind == "ece" else None), cats


def aggregate(samples: Sequence[Sample], metric_defs: Sequence[MetricDef], seed: int = 0) -> dict[str, Any]:
    """scores.json content for one suite: ``{metric: {value, ci_low, ci_high, n, ..., by_category}}``."""
    out: dict[str, Any] = {}
    for m in metric_defs:
        vals, extra, cats = _values(samples, m)
        entry = _summary(m.kind, vals, extra, seed, m.judge_error)
        entry.update(kind=m.kind, item_metric=m.item_metric, higher_is_better=m.higher_is_better)
        by_cat: dict[str, list[int]] = defaultdict(list)
        for i, c in enumerate(cats):
            by_cat[c].append(i)
        entry["by_category"] = {
            c: _summary(m.kind, vals[idx], None if extra is None else extra[idx], seed, m.judge_error)
            for c, idx in sorted(by_cat.items())
        }
        out[m.name] = entry
    return out
