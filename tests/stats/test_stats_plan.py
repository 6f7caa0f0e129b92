"""plan_sample_size against independent statsmodels computations, and its edge cases."""

from __future__ import annotations

import math

import pytest
from statsmodels.stats.power import NormalIndPower, TTestPower
from statsmodels.stats.proportion import samplesize_proportions_2indep_onetail

from rlhf_eval.stats import n_paired_proportion, plan_sample_size, power_paired_proportion


@pytest.mark.parametrize(("before", "t", "alpha", "power"), [(0.8, 0.05, 0.05, 0.8), (0.5, 0.1, 0.01, 0.9)])
def test_two_proportions_match_statsmodels(before: float, t: float, alpha: float, power: float) -> None:
    """The two-proportion case: two independent samples, significant change of size t."""
    s = plan_sample_size(
        kind="rate",
        bound="max_decrease",
        threshold=t,
        decide="significant",
        before=before,
        alpha=alpha,
        power=power,
        paired=False,
    )
    ref = samplesize_proportions_2indep_onetail(-t, before, power, alpha=alpha, alternative="two-sided")
    assert s.n == math.ceil(ref)
    assert s.n_effective == pytest.approx(ref, rel=1e-9)


def test_paired_rate_ci_matches_statsmodels_normal_power() -> None:
    """ci mode, independent runs (discordance 2p(1-p) at no change): statsmodels' two-sample
    normal power for a one-sided test at alpha/2 of a shift of t, up to the t-vs-z correction."""
    p, t = 0.7, 0.03
    s = plan_sample_size(
        kind="rate", bound="max_decrease", threshold=t, before=p, discordance=2 * p * (1 - p)
    )
    # NormalIndPower's nobs1 with ratio=1 has variance 2 sigma^2 / n for sigma = sqrt(p (1-p))
    ref = NormalIndPower().solve_power(
        effect_size=t / math.sqrt(p * (1 - p)), alpha=0.025, power=0.8, alternative="larger"
    )
    assert s.n is not None and s.n == pytest.approx(ref, rel=0.002)


@pytest.mark.parametrize("decide", ["ci", "significant"])
def test_mean_plans_match_statsmodels_t_power(decide: str) -> None:
    sd, t = 0.3, 0.05
    s = plan_sample_size(kind="mean", bound="max_decrease", threshold=t, decide=decide, sd=sd)
    if decide == "significant":
        ref = TTestPower().solve_power(effect_size=t / sd, alpha=0.05, power=0.8, alternative="two-sided")
    else:
        ref = TTestPower().solve_power(effect_size=t / sd, alpha=0.025, power=0.8, alternative="larger")
    assert s.n_effective == pytest.approx(ref, rel=1e-4)
    assert s.n == math.ceil(ref)


def test_paired_significant_is_connor_and_design_effect_scales() -> None:
    s = plan_sample_size(
        kind="rate", bound="max_decrease", threshold=0.02, decide="significant", before=0.7, discordance=0.1
    )
    za, zb = 1.959964, 0.841621
    connor = (za * math.sqrt(0.1) + zb * math.sqrt(0.1 - 0.0004)) ** 2 / 0.0004
    assert s.n_effective == pytest.approx(connor, rel=1e-5) and s.n == math.ceil(connor)
    assert power_paired_proportion(s.n_effective, 0.1, 0.02) == pytest.approx(0.8, abs=1e-6)
    assert n_paired_proportion(0.1, 0.02) == pytest.approx(connor, rel=1e-5)
    clustered = plan_sample_size(
        kind="rate",
        bound="max_decrease",
        threshold=0.02,
        decide="significant",
        before=0.7,
        discordance=0.1,
        design_effect=1.6,
    )
    assert clustered.n == math.ceil(connor * 1.6)
    assert "Connor" in s.method and "discordance 0.1" in s.method


def test_absolute_bounds_and_unreachable_plans() -> None:
    s = plan_sample_size(kind="rate", bound="min", threshold=0.9, before=0.97)
    assert s.n is not None and 60 < s.n < 90
    # an expected value on the wrong side of the bound: no n passes
    bad = plan_sample_size(kind="rate", bound="min", threshold=0.9, before=0.85)
    assert bad.n is None and bad.note is not None and "not inside the bound" in bad.note
    assert (
        plan_sample_size(
            kind="rate", bound="max_decrease", threshold=0.02, before=0.5, expected_change=-0.03
        ).n
        is None
    )
    # a rate that never varies: the Wilson interval at p = 1 must clear the bound (z^2 b / (1 - b))
    one = plan_sample_size(kind="rate", bound="min", threshold=0.9, before=1.0)
    assert one.n == math.ceil(1.959964**2 * 0.9 / 0.1)
    assert plan_sample_size(kind="rate", bound="min", threshold=0.9, before=0.97, decide="point").n is None
    with pytest.raises(ValueError, match="standard deviation"):
        plan_sample_size(kind="mean", bound="max_decrease", threshold=0.1)
    with pytest.raises(ValueError, match="expected before value"):
        plan_sample_size(kind="rate", bound="max_decrease", threshold=0.1, before=1.5)
