"""Planted effects in simulated run directories: a real drop is flagged, no effect is flagged rarely."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from compare_rundirs import planted_runs

from rlhf_eval.compare import compare_runs


def test_ten_point_drop_is_significant(tmp_path: Path) -> None:
    before, after = planted_runs(tmp_path, seed=1, n=400, p_before=0.9, p_after=0.8)
    c = compare_runs(before, after, n_resamples=2000, seed=0)
    row = c.row("harmlessness.refusal_rate")
    assert row["test"] == "mcnemar_exact" and row["adjustment"] == "holm"
    assert row["n"] == 400
    assert row["delta"] == pytest.approx(row["after"] - row["before"])
    assert -0.15 < row["delta"] < -0.05
    lo, hi = row["delta_ci"]
    assert lo < row["delta"] < hi < 0
    assert row["p_value"] < 1e-3 and row["significant"]
    assert row["mde"] < 0.1  # a 10-point change is detectable at n=400
    # flips: every discordant item, named by direction (refusing is good here)
    flips = row["flips"]
    assert len(flips["good_to_bad"]) - len(flips["bad_to_good"]) == round(-row["delta"] * 400)
    df = c.flips
    assert set(df.columns) == {"suite", "metric", "category", "item_id", "direction"}
    assert sorted(df.loc[df.direction == "good_to_bad", "item_id"]) == sorted(flips["good_to_bad"])


def test_planted_mean_shift_is_significant(tmp_path: Path) -> None:
    before, after = planted_runs(tmp_path, seed=2, n=400, p_before=0.8, p_after=0.8, shift=0.06)
    row = compare_runs(before, after, n_resamples=2000).row("harmlessness.score")
    assert row["test"] == "paired_permutation" and row["ci_method"] == "studentized_bootstrap"
    assert row["significant"] and row["delta_ci"][0] > 0
    assert row["delta"] == pytest.approx(0.06, abs=0.03)


def test_null_false_positive_rate(tmp_path: Path) -> None:
    raw = {"harmlessness.refusal_rate": 0, "harmlessness.score": 0}
    flagged = dict(raw)
    categories = 0
    n_sims = 100
    for seed in range(n_sims):
        before, after = planted_runs(tmp_path, seed=100 + seed, n=200, p_before=0.7, p_after=0.7)
        c = compare_runs(before, after, n_resamples=500, seed=seed)
        for path in raw:
            row = c.row(path)
            raw[path] += row["p_value"] < 0.05
            flagged[path] += row["significant"]
        categories += any(r["significant"] for r in c.rows if not r["headline"])
    for path in raw:
        assert raw[path] / n_sims <= 0.08, path
        assert flagged[path] / n_sims <= 0.08, path
    assert categories / n_sims <= 0.08  # BH controls the FDR, which under the global null is the FWER


def test_deterministic_given_seed(tmp_path: Path) -> None:
    before, after = planted_runs(tmp_path, seed=3, n=120, shift=0.02)
    first = compare_runs(before, after, n_resamples=300, seed=5).to_dict()
    assert compare_runs(before, after, n_resamples=300, seed=5).to_dict() == first
    other = compare_runs(before, after, n_resamples=300, seed=6).to_dict()
    row = next(r for r in other["metrics"] if r["path"] == "harmlessness.score")
    assert row["delta"] == pytest.approx(
        next(r for r in first["metrics"] if r["path"] == "harmlessness.score")["delta"]
    )
    assert np.isfinite(row["p_value"])
