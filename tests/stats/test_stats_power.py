"""Minimum detectable effects: against statsmodels' t-test power and by simulating McNemar's power."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.power import TTestPower

from rlhf_eval.stats import mde_detectable, mde_from_se, mde_paired_mean, mde_paired_proportion


@pytest.mark.parametrize(
    ("n", "alpha", "power"),
    [(2, 0.05, 0.8), (3, 0.05, 0.8), (10, 0.05, 0.8), (100, 0.05, 0.8), (400, 0.01, 0.9)],
)
def test_mean_mde_matches_statsmodels(n: int, alpha: float, power: float) -> None:
    effect = TTestPower().solve_power(nobs=n, alpha=alpha, power=power, alternative="two-sided")
    assert mde_paired_mean(2.0, n, alpha, power) == pytest.approx(2.0 * effect, rel=1e-5)


def test_mean_mde_edges() -> None:
    assert math.isnan(mde_paired_mean(1.0, 1))
    assert mde_paired_mean(0.0, 50) == 0.0
    # large n: (z_.975 + z_.8) * sd / sqrt(n)
    assert mde_paired_mean(1.0, 10_000) == pytest.approx(2.8016 / 100, rel=1e-3)


def test_proportion_mde_solves_connor_formula() -> None:
    n, psi = 250, 0.2
    d = mde_paired_proportion(n, psi)
    za, zb = stats.norm.ppf(0.975), stats.norm.ppf(0.8)
    n_back = (za * math.sqrt(psi) + zb * math.sqrt(psi - d * d)) ** 2 / d**2
    assert n_back == pytest.approx(n, rel=1e-9)
    assert 0.07 < d < 0.08


def test_proportion_mde_has_about_the_stated_power() -> None:
    # simulate exact McNemar at the MDE: discordant cells p10 + p01 = psi, p01 - p10 = mde
    n, psi = 400, 0.2
    d = mde_paired_proportion(n, psi)
    probs = [0.5, (psi - d) / 2, (psi + d) / 2, 0.5 - psi]
    cells = np.random.default_rng(3).multinomial(n, probs, size=4000)
    b, c = cells[:, 1], cells[:, 2]
    p = np.minimum(1.0, 2 * stats.binom.cdf(np.minimum(b, c), b + c, 0.5))
    assert 0.72 <= np.mean(p < 0.05) <= 0.86  # the exact test is slightly conservative


def test_proportion_mde_edges() -> None:
    # no discordant pair observed: the discordance is the change itself (all changed items one way)
    d = mde_paired_proportion(300, 0.0)
    za, zb = stats.norm.ppf(0.975), stats.norm.ppf(0.8)
    assert 300 * d * d == pytest.approx((za * math.sqrt(d) + zb * math.sqrt(d - d * d)) ** 2, rel=1e-9)
    assert 0.025 < d < 0.027 and mde_detectable(d, 0.0)
    # the case: 12 items, 3 discordant -> MDE 0.37 > discordance 0.25: nothing detectable
    assert mde_paired_proportion(12, 0.25) == pytest.approx(0.3657, abs=1e-4)
    assert not mde_detectable(mde_paired_proportion(12, 0.25), 0.25)
    assert not mde_detectable(float("nan"), None) and mde_detectable(0.1, 0.2)
    assert math.isnan(mde_paired_proportion(3, 0.5))  # n <= z^2: nothing can be significant
    assert math.isnan(mde_paired_proportion(0, 0.5))
    assert mde_paired_proportion(1000, 0.1) < mde_paired_proportion(100, 0.1)


def test_mde_from_se() -> None:
    assert mde_from_se(0.01) == pytest.approx((stats.norm.ppf(0.975) + stats.norm.ppf(0.8)) * 0.01)
    assert math.isnan(mde_from_se(float("nan")))
