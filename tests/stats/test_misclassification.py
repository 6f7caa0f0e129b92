"""Judge-corrected rates (Rogan-Gladen): point values by hand, and interval coverage in a seeded simulation."""

from __future__ import annotations

import numpy as np
import pytest

from rlhf_eval.stats._misclassification import JudgeError, corrected_delta, corrected_rate, rogan_gladen


def test_rogan_gladen_by_hand() -> None:
    # se 0.9, sp 0.8: observed 0.41 = 0.9 p + 0.2 (1 - p) -> p = 0.3
    assert rogan_gladen(0.41, 0.9, 0.8) == pytest.approx(0.3)
    assert rogan_gladen(0.1, 0.9, 0.8) == 0.0  # below the false-positive floor: clipped
    assert rogan_gladen(0.95, 0.9, 0.8) == 1.0
    assert np.isnan(rogan_gladen(0.5, 0.5, 0.5))  # a coin-flip judge tells nothing


def test_judge_error_from_info_block() -> None:
    info = {
        "sensitivity": {"value": 0.95, "k": 95, "n": 100},
        "specificity": {"value": 0.9, "k": 90, "n": 100},
        "accuracy_source": "XSTest",
    }
    je = JudgeError.from_info(info)
    assert je == JudgeError(95, 100, 90, 100, "XSTest")
    assert je.to_dict()["sensitivity"] == {"value": 0.95, "k": 95, "n": 100}
    assert JudgeError.from_info({"sensitivity": None}) is None
    assert JudgeError.from_info({"sensitivity": {"k": 5, "n": 3}, "specificity": {"k": 1, "n": 1}}) is None


def test_interval_is_wider_than_ignoring_the_judges_own_uncertainty() -> None:
    small = JudgeError(45, 50, 45, 50)
    big = JudgeError(4500, 5000, 4500, 5000)
    e1, lo1, hi1 = corrected_rate(120, 400, small)
    e2, lo2, hi2 = corrected_rate(120, 400, big)
    assert e1 == pytest.approx(e2) == pytest.approx((0.3 + 0.9 - 1) / 0.8)
    assert hi1 - lo1 > hi2 - lo2 > 0
    assert lo1 < e1 < hi1


@pytest.mark.parametrize(
    ("se", "sp", "n_val", "p", "n"),
    [
        (0.95, 0.96, 1100, 0.3, 100),
        (0.95, 0.96, 1100, 0.9, 60),
        (0.9, 0.85, 80, 0.2, 200),
        (0.97, 0.95, 1000, 0.02, 150),
    ],
)
def test_corrected_interval_covers_the_true_rate_at_its_nominal_level(
    se: float, sp: float, n_val: int, p: float, n: int
) -> None:
    """Simulate validation sets and judged runs; the 95 % interval must cover the true rate >= 93 %."""
    rng = np.random.default_rng(7)
    sims, covered = 400, 0
    for s in range(sims):
        tp, tn = rng.binomial(n_val, se), rng.binomial(n_val, sp)
        truth = rng.random(n) < p
        judged = np.where(truth, rng.random(n) < se, rng.random(n) > sp)
        _, lo, hi = corrected_rate(
            int(judged.sum()), n, JudgeError(tp, n_val, tn, n_val), n_draws=4000, seed=s
        )
        covered += lo - 1e-12 <= p <= hi + 1e-12
    # 400 simulations: Monte Carlo sd ~0.011 at 0.95
    assert covered / sims >= 0.93


def test_corrected_delta_scales_by_youden_and_widens() -> None:
    je = JudgeError(90, 100, 80, 100)  # J = 0.7
    est, lo, hi = corrected_delta(0.07, 0.02, 0.12, je)
    assert est == pytest.approx(0.1)
    assert lo < 0.02 / 0.7 + 0.01 and hi > 0.12 / 0.7 - 0.01 and lo < est < hi
    assert all(np.isnan(corrected_delta(0.1, 0.0, 0.2, JudgeError(50, 100, 50, 100))))
