"""Pairing on (suite, item_id), non-applicable items, ECE rows, clusters, per-row seeds, DataFrames."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from compare_rundirs import REFUSAL, SCORE, item, write_run
from scipy import stats

from rlhf_eval.compare import compare_runs, write_comparison
from rlhf_eval.scoring import MetricDef, expected_calibration_error
from rlhf_eval.stats import mcnemar_exact, newcombe_paired_interval


def test_intersection_with_warning_and_nulls(tmp_path: Path) -> None:
    defs = {"harmlessness": [REFUSAL]}
    before = [item("harmlessness", f"i{i}", refused=int(i < 30)) for i in range(50)]
    after = [item("harmlessness", f"i{i}", refused=int(i < 20) if i != 5 else None) for i in range(5, 48)]
    after.append(item("harmlessness", "new", refused=1))
    c = compare_runs(
        write_run(tmp_path / "b", before, defs), write_run(tmp_path / "a", after, defs), n_resamples=100
    )
    assert "harmlessness: paired 43 items; 7 only in before, 1 only in after" in c.warnings
    row = c.row("harmlessness.refusal_rate")
    # items 6..47 applicable in both (item 5 is null after): 42 pairs; 6..19 stay 1, 20..29 flip 1 -> 0
    assert row["n"] == 42
    assert row["flips"] == {"good_to_bad": [f"i{i}" for i in range(20, 30)], "bad_to_good": []}
    assert row["p_value"] == pytest.approx(mcnemar_exact(10, 0))
    assert row["delta"] == pytest.approx(-10 / 42)
    # Newcombe with the after run as the first proportion: a=14 (1,1), b=0 (after only), c=10, d=18,
    # on the effective n: counts scaled by (z / t_{n-1})^2 (no clusters: design effect 1)
    f = (stats.norm.ppf(0.975) / stats.t.ppf(0.975, 41)) ** 2
    assert row["delta_ci"] == pytest.approx(list(newcombe_paired_interval(14 * f, 0, 10 * f, 18 * f)))
    assert (row["ci_method"], row["design_effect"], row["n_effective"]) == ("newcombe_eff", 1.0, 42.0)
    assert row["discordance"] == pytest.approx(10 / 42) and row["ci_approximate"] is False
    assert row["before_ci"][0] < row["before"] < row["before_ci"][1]


def test_higher_is_better_false_and_null_flip_names(tmp_path: Path) -> None:
    defs = {
        "s": [
            MetricDef("harm", "h", "proportion", False),
            MetricDef("desc", "h", "proportion", None),
        ]
    }
    before = [item("s", f"i{i}", h=0) for i in range(10)]
    after = [item("s", f"i{i}", h=int(i < 3)) for i in range(10)]
    c = compare_runs(
        write_run(tmp_path / "b", before, defs), write_run(tmp_path / "a", after, defs), n_resamples=100
    )
    assert c.row("s.harm")["flips"] == {"good_to_bad": ["i0", "i1", "i2"], "bad_to_good": []}
    assert c.row("s.desc")["flips"] == {"up": ["i0", "i1", "i2"], "down": []}
    assert set(c.flips.direction) == {"good_to_bad", "up"}


def test_ece_rows(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    n = 300
    cb = rng.random(n)
    kb = (rng.random(n) < cb).astype(int)
    ca = np.clip(cb + 0.2, 0, 1)
    defs = {"honesty": [MetricDef("ece", "confidence", "ece", False)]}
    before = [item("honesty", f"i{i}", confidence=float(cb[i]), correct=int(kb[i])) for i in range(n)]
    after = [item("honesty", f"i{i}", confidence=float(ca[i]), correct=int(kb[i])) for i in range(n)]
    after[0]["metrics"]["correct"] = None  # not applicable -> dropped from the pairs
    c = compare_runs(
        write_run(tmp_path / "b", before, defs), write_run(tmp_path / "a", after, defs), n_resamples=1000
    )
    row = c.row("honesty.ece")
    assert row["n"] == n - 1
    assert row["before"] == pytest.approx(expected_calibration_error(cb[1:], kb[1:]))
    assert row["after"] == pytest.approx(expected_calibration_error(ca[1:], kb[1:]))
    assert row["test"] == "paired_permutation" and row["ci_method"] == "basic_bootstrap"
    assert row["significant"] and row["delta_ci"][0] > 0
    assert row["flips"] is None


def test_clusters_switch_to_cluster_methods(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    n = 120
    defs = {"overrefusal": [REFUSAL, SCORE]}
    rows_b, rows_a = [], []
    for i in range(n):
        meta = {"pair_id": f"p{i // 2}"}
        rows_b.append(
            item(
                "overrefusal", f"i{i}", meta=meta, refused=int(rng.random() < 0.3), score=float(rng.random())
            )
        )
        rows_a.append(
            item(
                "overrefusal", f"i{i}", meta=meta, refused=int(rng.random() < 0.3), score=float(rng.random())
            )
        )
    c = compare_runs(
        write_run(tmp_path / "b", rows_b, defs), write_run(tmp_path / "a", rows_a, defs), n_resamples=400
    )
    methods = {
        "overrefusal.refusal_rate": "newcombe_eff",
        "overrefusal.score": "cluster_studentized_bootstrap",
    }
    for path, method in methods.items():
        row = c.row(path)
        assert row["test"] == "cluster_permutation" and row["ci_method"] == method
        assert row["n"] == n and row["n_clusters"] == n // 2
        assert 1.0 <= row["design_effect"] <= 2.0 and row["n_effective"] == pytest.approx(
            n / row["design_effect"]
        )
        assert row["delta_ci"][0] < row["delta"] < row["delta_ci"][1]
    assert "good_to_bad" in c.row("overrefusal.refusal_rate")["flips"]


def test_rows_do_not_depend_on_other_suites(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    base = [item("a", f"i{i}", score=float(rng.random())) for i in range(40)]
    base_after = [item("a", f"i{i}", score=float(rng.random())) for i in range(40)]
    extra = [item("b", f"j{i}", score=float(rng.random())) for i in range(10)]
    d1 = {"a": [SCORE]}
    d2 = {"a": [SCORE], "b": [SCORE]}
    c1 = compare_runs(
        write_run(tmp_path / "b1", base, d1), write_run(tmp_path / "a1", base_after, d1), n_resamples=300
    )
    c2 = compare_runs(
        write_run(tmp_path / "b2", base + extra, d2),
        write_run(tmp_path / "a2", base_after + [dict(e) for e in extra], d2),
        n_resamples=300,
    )
    r1, r2 = c1.row("a.score"), c2.row("a.score")
    assert r1["delta_ci"] == r2["delta_ci"] and r1["p_value"] == r2["p_value"]
    assert r1["p_adjusted"] <= r2["p_adjusted"]  # the Holm family grew


def test_metric_not_applicable_anywhere_and_frames(tmp_path: Path) -> None:
    defs = {"s": [REFUSAL, MetricDef("other", "missing", "mean", True)]}
    rows = [item("s", f"i{i}", refused=i % 2) for i in range(12)]
    c = compare_runs(
        write_run(tmp_path / "b", rows, defs), write_run(tmp_path / "a", [dict(r) for r in rows], defs)
    )
    row = c.row("s.other")
    assert row["n"] == 0 and row["p_value"] is None and row["significant"] is False
    assert any("s.other" in w for w in c.warnings)
    df = c.metrics
    assert len(df) == len(c.rows) and df["path"].is_unique
    assert c.row("s.refusal_rate")["p_value"] == 1.0
    out = tmp_path / "c.json"
    write_comparison(c, out)
    assert '"p_value": null' in out.read_text() and "NaN" not in out.read_text()


def test_warns_when_resamples_cannot_reach_significance(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    rows_b = [item("s", f"i{i}", score=float(rng.random())) for i in range(30)]
    rows_a = [item("s", f"i{i}", score=float(rng.random()) + 1) for i in range(30)]
    defs = {"s": [SCORE]}
    before, after = write_run(tmp_path / "b", rows_b, defs), write_run(tmp_path / "a", rows_a, defs)
    c = compare_runs(before, after, n_resamples=15)
    assert any("n_resamples=15 is too small" in w for w in c.warnings)
    assert not c.row("s.score")["significant"]  # p >= 1/16
    assert not any("too small" in w for w in compare_runs(before, after, n_resamples=100).warnings)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_tiny_inputs_give_nulls_not_numpy_warnings(tmp_path: Path, n: int) -> None:
    rows_b = [item("s", f"i{i}", refused=1, score=0.1 * i) for i in range(n)]
    rows_a = [item("s", f"i{i}", refused=0, score=0.2 * i + 0.5) for i in range(n)]
    defs = {"s": [REFUSAL, SCORE]}
    before, after = write_run(tmp_path / "b", rows_b, defs), write_run(tmp_path / "a", rows_a, defs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        c = compare_runs(before, after, n_resamples=50)
    score = c.row("s.score")
    # all 2**n sign patterns are enumerated; all-plus and all-minus are the most extreme
    assert score["n"] == n and score["p_value"] == pytest.approx(2 / 2**n)
    assert (score["mde"] is None or np.isnan(score["mde"])) if n == 1 else score["mde"] > 0
    assert c.row("s.refusal_rate")["p_value"] == pytest.approx(mcnemar_exact(n, 0))
