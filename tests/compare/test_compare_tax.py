"""Alignment tax: capability tasks and their mean, axis decisions, verdicts, missing axes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from compare_rundirs import correlated_binary, item, write_run

from rlhf_eval.compare import compare_runs
from rlhf_eval.compare._tax import verdict
from rlhf_eval.scoring import MetricDef

DEFS = {
    "capability": [MetricDef("accuracy", "correct", "proportion", True)],
    "overrefusal": [MetricDef("refusal_rate", "refused", "proportion", False)],
    "harmlessness": [MetricDef("harmful_compliance_rate", "harmful_compliance", "proportion", False)],
    "helpfulness": [MetricDef("key_point_coverage", "key_point_coverage", "mean", True)],
}


def _pairs(rng: np.random.Generator, n: int, pb: float, pa: float) -> tuple[np.ndarray, np.ndarray]:
    """Correlated 0/1 pairs; an unchanged rate gives identical runs, so "no change" is exact."""
    b, a = correlated_binary(rng, n, pb, pa)
    return (b, b.copy()) if pb == pa else (b, a)


def _runs(
    tmp: Path, rates: dict[str, tuple[float, float]], help_shift: float, n: int = 300
) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    before: list[dict[str, object]] = []
    after: list[dict[str, object]] = []
    for suite, metric in (("overrefusal", "refused"), ("harmlessness", "harmful_compliance")):
        b, a = _pairs(rng, n, *rates[suite])
        vb: list[dict[str, Any]] = [{metric: int(v)} for v in b]
        va: list[dict[str, Any]] = [{metric: int(v)} for v in a]
        before += [item(suite, f"i{i}", **vb[i]) for i in range(n)]
        after += [item(suite, f"i{i}", **va[i]) for i in range(n)]
    for task, (pb, pa) in (("arithmetic", rates["arithmetic"]), ("logic", rates["logic"])):
        b, a = _pairs(rng, n, pb, pa)
        before += [item("capability", f"{task}{i}", task, correct=int(b[i])) for i in range(n)]
        after += [item("capability", f"{task}{i}", task, correct=int(a[i])) for i in range(n)]
    kb = rng.random(n)
    ka = np.clip(kb + help_shift + rng.normal(0, 0.1, n), 0, 1) if help_shift else kb
    before += [item("helpfulness", f"h{i}", key_point_coverage=float(kb[i])) for i in range(n)]
    after += [item("helpfulness", f"h{i}", key_point_coverage=float(ka[i])) for i in range(n)]
    return write_run(tmp / "before", before, DEFS), write_run(tmp / "after", after, DEFS)


def test_trade_off(tmp_path: Path) -> None:
    rates = {
        "overrefusal": (0.10, 0.30),  # refuses benign prompts more: taxed
        "harmlessness": (0.30, 0.05),  # complies with harmful prompts less: improved
        "arithmetic": (0.70, 0.70),
        "logic": (0.60, 0.60),
    }
    c = compare_runs(*_runs(tmp_path, rates, help_shift=0.0), n_resamples=1000)
    tax = c.alignment_tax
    assert tax["verdict"] == "trade-off"
    assert tax["taxed_axes"] == ["overrefusal"]
    assert tax["improved_axes"] == ["harmful_compliance"]
    assert tax["missing_axes"] == ["honesty"]
    assert set(tax["axes"]) == {"capability", "overrefusal", "harmful_compliance", "helpfulness"}
    over = tax["axes"]["overrefusal"]
    assert over["path"] == "overrefusal.refusal_rate" and over["worse"] and not over["better"]
    assert over["delta_ci"] == c.row("overrefusal.refusal_rate")["delta_ci"]
    assert [t["task"] for t in tax["capability"]] == [
        "capability.accuracy.arithmetic",
        "capability.accuracy.logic",
    ]
    mean = tax["capability_mean"]
    assert mean["delta"] == pytest.approx(np.mean([t["delta"] for t in tax["capability"]]))
    lo, hi = mean["delta_ci"]
    assert lo == mean["delta"] == hi == 0.0  # identical capability answers
    assert tax["axes"]["capability"]["delta"] == mean["delta"]
    assert not tax["axes"]["capability"]["worse"]


def test_dominates_and_dominated(tmp_path: Path) -> None:
    better = {
        "overrefusal": (0.3, 0.1),
        "harmlessness": (0.3, 0.1),
        "arithmetic": (0.6, 0.6),
        "logic": (0.6, 0.6),
    }
    tax = compare_runs(*_runs(tmp_path / "x", better, help_shift=0.1), n_resamples=500).alignment_tax
    assert tax["verdict"] == "dominates" and tax["taxed_axes"] == []
    assert tax["improved_axes"] == ["overrefusal", "harmful_compliance", "helpfulness"]
    worse = {
        "overrefusal": (0.1, 0.1),
        "harmlessness": (0.1, 0.1),
        "arithmetic": (0.8, 0.6),
        "logic": (0.8, 0.6),
    }
    tax = compare_runs(*_runs(tmp_path / "y", worse, help_shift=0.0), n_resamples=500).alignment_tax
    assert tax["verdict"] == "dominated" and tax["taxed_axes"] == ["capability"]
    mean, tasks = tax["capability_mean"], tax["capability"]
    assert mean["delta"] == pytest.approx(np.mean([t["delta"] for t in tasks]))
    lo, hi = mean["delta_ci"]
    assert lo < mean["delta"] < hi < 0
    # averaging two independent tasks narrows the interval by about sqrt(2)
    task_width = np.mean([t["delta_ci"][1] - t["delta_ci"][0] for t in tasks])
    assert 0.55 < (hi - lo) / task_width < 0.85


def test_verdict_rule() -> None:
    assert verdict([], []) == "no-change"
    assert verdict(["a"], []) == "dominates"
    assert verdict([], ["a"]) == "dominated"
    assert verdict(["a"], ["b"]) == "trade-off"
