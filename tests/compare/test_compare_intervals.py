"""compare's choice of interval per row: rate intervals for 0/1 means, flags for approximate intervals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from compare_rundirs import item, write_run

from rlhf_eval.compare import compare_runs
from rlhf_eval.scoring import MetricDef
from rlhf_eval.stats import VALID_FROM_CLUSTERS


def _mean_runs(tmp: Path, values_b: np.ndarray, values_a: np.ndarray) -> dict[str, Any]:
    defs = {"s": [MetricDef("score", "score", "mean", True)]}
    rows_b = [item("s", f"i{i}", score=float(v)) for i, v in enumerate(values_b)]
    rows_a = [item("s", f"i{i}", score=float(v)) for i, v in enumerate(values_a)]
    c = compare_runs(write_run(tmp / "b", rows_b, defs), write_run(tmp / "a", rows_a, defs), n_resamples=300)
    return c.row("s.score")


def test_mean_of_binary_values_gets_rate_intervals_and_ece_is_flagged(tmp_path: Path) -> None:
    # a `mean` metric whose values are all 0/1 is a rate: the studentized bootstrap would give
    # a zero-width interval when all are 1; the rate intervals do not
    row = _mean_runs(tmp_path / "bin", np.ones(12), np.ones(12))
    assert row["ci_method"] == "newcombe_eff" and row["ci_approximate"] is False
    assert row["after_ci"][0] < 0.8 and row["delta_ci"][0] < -0.2
    # a continuous metric with no variation at all: zero width, so flagged approximate
    row = _mean_runs(tmp_path / "flat", np.full(40, 0.5), np.full(40, 0.5))
    assert row["ci_method"] == "studentized_bootstrap" and row["ci_approximate"] is True
    rng = np.random.default_rng(0)
    # below the n where the studentized bootstrap keeps its coverage: flagged
    row = _mean_runs(tmp_path / "small", rng.random(10), rng.random(10))
    assert row["ci_approximate"] is True and row["n_clusters"] == 10
    row = _mean_runs(tmp_path / "ok", rng.random(40), rng.random(40))
    assert (
        row["ci_approximate"] is False
        and row["ci_valid_from"] == VALID_FROM_CLUSTERS["studentized_bootstrap"]
    )
    assert row["ci_level"] == 0.95 and row["design_effect"] == 1.0 and row["sd_diff"] > 0


def test_ece_rows_are_approximate_at_every_n(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    n = 300
    defs = {"honesty": [MetricDef("ece", "confidence", "ece", False)]}
    correct = (rng.random(n) < 0.7).astype(int)
    rows = [
        [
            item("honesty", f"i{i}", confidence=float(c), correct=int(k))
            for i, (c, k) in enumerate(zip(conf, correct, strict=True))
        ]
        for conf in (rng.random(n), rng.random(n))
    ]
    c = compare_runs(
        write_run(tmp_path / "b", rows[0], defs), write_run(tmp_path / "a", rows[1], defs), n_resamples=300
    )
    row = c.row("honesty.ece")
    assert row["ci_approximate"] is True and row["ci_valid_from"] is None
