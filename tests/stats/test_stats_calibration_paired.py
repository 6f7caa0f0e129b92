"""Vectorised ECE equals the scorer's ECE; paired ECE bootstrap and permutation behave."""

from __future__ import annotations

import numpy as np
import pytest

from rlhf_eval.scoring import expected_calibration_error
from rlhf_eval.stats import (
    basic_interval,
    paired_ece_bootstrap,
    paired_ece_permutation_test,
    percentile_interval,
    weighted_ece,
)

CONF = np.array([0.95, 0.90, 0.85, 0.80, 0.70, 0.65, 0.60, 0.55, 0.40, 0.35])
CORRECT = np.array([1, 1, 0, 1, 1, 0, 1, 0, 0, 1])


def test_reference_example() -> None:
    # shared/reference: ECE = 0.175 for the 10-item worked example
    assert weighted_ece(CONF, CORRECT, np.ones((1, 10)))[0] == pytest.approx(0.175, abs=1e-12)
    assert expected_calibration_error(CONF, CORRECT) == pytest.approx(0.175, abs=1e-12)


def test_weights_equal_repeating_items() -> None:
    rng = np.random.default_rng(0)
    conf = np.concatenate([[0.0, 1.0, 0.1, 0.2], rng.random(60)])  # bin edges included
    corr = (rng.random(64) < conf).astype(float)
    w = rng.integers(0, 4, size=(20, 64)).astype(float)
    w[:, 0] += 1
    got = weighted_ece(conf, corr, w)
    want = [
        expected_calibration_error(np.repeat(conf, r.astype(int)), np.repeat(corr, r.astype(int))) for r in w
    ]
    assert got == pytest.approx(want, abs=1e-12)


def test_paired_ece_bootstrap_columns() -> None:
    rng = np.random.default_rng(1)
    cb = rng.random(200)
    kb = (rng.random(200) < cb).astype(float)
    ca = np.clip(cb + 0.2, 0, 1)  # overconfident after
    ka = kb
    dist = paired_ece_bootstrap(cb, kb, ca, ka, 500, seed=0)
    assert dist.shape == (500, 3)
    assert dist[:, 2] == pytest.approx(dist[:, 1] - dist[:, 0])
    delta = expected_calibration_error(ca, ka) - expected_calibration_error(cb, kb)
    # percentiles sit left of the estimate: the better-calibrated run's ECE is inflated more by
    # resampling; the basic interval corrects that shift and excludes 0 for this large change
    lo, hi = percentile_interval(dist[:, 2])
    assert lo < 0 < delta and hi < delta + 0.05
    blo, bhi = basic_interval(delta, dist[:, 2])
    assert 0 < blo < delta < bhi
    assert (blo, bhi) == pytest.approx((2 * delta - hi, 2 * delta - lo))


def test_paired_ece_permutation() -> None:
    rng = np.random.default_rng(2)
    cb = rng.random(200)
    kb = (rng.random(200) < cb).astype(float)
    assert paired_ece_permutation_test(cb, kb, cb, kb, 500, seed=0) == 1.0
    ca = np.clip(cb + 0.25, 0, 1)
    assert paired_ece_permutation_test(cb, kb, ca, kb, 2000, seed=0) < 0.01
    # null: after is an independent draw from the same calibrated model
    hits = 0
    for i in range(100):
        c1, c2 = rng.random(150), rng.random(150)
        k1, k2 = (rng.random(150) < c1).astype(float), (rng.random(150) < c2).astype(float)
        hits += paired_ece_permutation_test(c1, k1, c2, k2, 300, seed=i) < 0.05
    assert hits <= 10
