"""Sample-size planning for gate rules: how many paired items a rule needs to decide.

One function, :func:`plan_sample_size`, used by ``rlhf-eval plan`` and by the gate (the
"needs about N items" of an inconclusive rule), so both always agree. What "enough" means
depends on the rule's decision mode:

- ``ci`` (and absolute ``min``/``max`` bounds under ``significant``): the rule passes when
  the whole ``1 - alpha`` interval is inside the bound. The plan is the n at which that
  happens with probability ``power`` when the metric truly sits at its expected value (no
  change by default): a non-inferiority sample size, ``P(T' > t_{1-alpha/2, n-1})`` with
  ``T' ~ nct(n - 1, gap sqrt(n) / sd)`` and ``gap`` the distance from the expected value to
  the bound. For paired rates ``sd^2 = discordance - change^2`` (McNemar-style: only
  discordant items carry information), never below the n at which an interval with no
  discordant item clears the bound.
- ``significant`` change bounds: the rule only fails on a significant violation, so the
  plan is the n at which the two-sided level-``alpha`` test of "no change" detects a change
  of the bound's size with probability ``power``: McNemar in Connor's (1987) normal
  approximation for rates, the paired t-test (noncentral t) for means.

Items are ``ceil(n_effective * design_effect)``: clustered items count for less.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from scipy import optimize as _opt
from scipy import stats as _st

from rlhf_eval.stats._intervals import wilson_interval
from rlhf_eval.stats._power import n_bound, n_paired_mean, n_paired_proportion, n_two_proportions

MetricKind = Literal["rate", "mean"]
PLAN_BOUNDS = ("min", "max", "max_increase", "max_decrease")
PLAN_DECIDE = ("ci", "significant", "point")


@dataclass(frozen=True)
class SampleSize:
    """The planned n for one rule, and how it was computed."""

    n: int | None  # items needed; None when no n can reach the power (see ``note``)
    n_effective: float | None  # the same in effective (independent) items
    power: float
    alpha: float
    method: str  # the approximation used, in words
    note: str | None = None  # why ``n`` is None, or a caveat

    def text(self) -> str:
        """``about 1234 items`` or the reason there is no such n."""
        return f"about {self.n} items" if self.n is not None else (self.note or "no n suffices")


def independent_discordance(before: float, after: float) -> float:
    """Discordance of two independent runs with these rates: ``p1 (1 - p2) + p2 (1 - p1)``.

    Positively correlated runs (the usual case: the same items stay easy or hard) have less,
    so this is a cautious default when the discordant share is unknown.
    """
    return before * (1 - after) + after * (1 - before)


def _items(n_eff: float, design_effect: float) -> int | None:
    if not math.isfinite(n_eff):
        return None
    return max(1, math.ceil(n_eff * design_effect - 1e-9))


def _wilson_floor(rate: float, gap_side: float, limit: float, alpha: float, lower: bool) -> float:
    """Smallest n at which the Wilson interval at exactly ``rate`` clears ``limit`` (median outcome)."""

    def clears(n: float) -> float:
        lo, hi = wilson_interval(rate * n, n, 1 - alpha)
        return (lo - limit) if lower else (limit - hi)

    if gap_side <= 0:
        return math.inf
    hi = 2.0
    while clears(hi) < 0:
        hi *= 2
        if hi > 1e9:
            return math.inf
    if hi == 2.0:
        return 2.0
    return float(_opt.brentq(clears, hi / 2, hi, xtol=1e-6))


def plan_sample_size(
    *,
    kind: MetricKind,
    bound: str,
    threshold: float,
    decide: str = "ci",
    before: float | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
    discordance: float | None = None,
    sd: float | None = None,
    design_effect: float = 1.0,
    expected_change: float = 0.0,
    paired: bool = True,
) -> SampleSize:
    """Items a rule needs to decide with probability ``power`` (see the module docstring).

    ``before`` is the expected value before (rates: a fraction); ``expected_change`` the
    change you expect (0: none). Rates use ``discordance`` (the expected share of paired
    items whose 0/1 value changes; default: that of independent runs, which overstates it
    for correlated runs); means need ``sd`` (of the paired differences for change bounds,
    of the values for ``min``/``max``). ``paired=False`` plans two independent samples of
    ``n`` items each (rates only; the gate's comparisons are always paired): the z-test of
    ``statsmodels.stats.proportion.samplesize_proportions_2indep_onetail`` for
    ``significant``, an interval with variance ``p1(1-p1) + p2(1-p2)`` for ``ci``.
    Raises ``ValueError`` on inconsistent input.
    """
    if bound not in PLAN_BOUNDS:
        raise ValueError(f"bound must be one of {', '.join(PLAN_BOUNDS)}, got {bound!r}")
    if decide not in PLAN_DECIDE:
        raise ValueError(f"decide must be one of {', '.join(PLAN_DECIDE)}, got {decide!r}")
    if not 0 < alpha < 1 or not 0 < power < 1:
        raise ValueError("alpha and power must be between 0 and 1")
    if design_effect < 1 or not math.isfinite(design_effect):
        raise ValueError(f"design effect must be >= 1, got {design_effect!r}")
    if not paired and (kind != "rate" or bound in ("min", "max") or discordance is not None):
        raise ValueError(
            "unpaired planning is for a change in a rate (no discordance: the samples are independent)"
        )
    if kind == "rate":
        if before is None or not 0 <= before <= 1:
            raise ValueError(f"a rate needs an expected before value in [0, 1], got {before!r}")
        if discordance is not None and not 0 <= discordance <= 1:
            raise ValueError(f"discordance must be in [0, 1], got {discordance!r}")
    elif sd is None or not sd >= 0 or not math.isfinite(sd):
        raise ValueError(f"a mean metric needs its standard deviation (sd >= 0), got {sd!r}")
    if bound in ("min", "max") and before is None:
        raise ValueError(f"a {bound} bound needs the expected value of the metric (before)")
    if decide == "point":
        return SampleSize(
            None,
            None,
            power,
            alpha,
            "none",
            "decide: point compares the estimate only and has no error rate to plan for",
        )

    is_delta = bound in ("max_increase", "max_decrease")
    t = float(threshold)
    if is_delta and decide == "significant":
        effect = -t if bound == "max_decrease" else t  # the violation the test must detect
        if kind == "rate" and not paired:
            assert before is not None
            n_eff = n_two_proportions(before, min(1.0, max(0.0, before + effect)), alpha, power)
            method = f"two independent samples (n each), z-test with pooled null variance; change {t:g}"
        elif kind == "rate":
            assert before is not None
            psi = (
                discordance
                if discordance is not None
                else independent_discordance(before, min(1.0, max(0.0, before + effect)))
            )
            n_eff = n_paired_proportion(psi, t, alpha, power)
            method = (
                f"McNemar test, Connor (1987) normal approximation, discordance {max(psi, t):.3g}; "
                f"power to detect a change of {t:g}"
            )
        else:
            assert sd is not None
            n_eff = n_paired_mean(sd, t, alpha, power)
            method = (
                f"paired t-test (noncentral t), SD of differences {sd:.3g}; power to detect a change of {t:g}"
            )
        return SampleSize(_items(n_eff, design_effect), n_eff, power, alpha, method)

    # interval mode: the whole interval must clear the bound when the truth is the expected value
    if is_delta:
        gap = t + expected_change if bound == "max_decrease" else t - expected_change
        if gap <= 0:
            return SampleSize(
                None,
                None,
                power,
                alpha,
                "none",
                f"the expected change {expected_change:g} is not inside the bound; no n can pass it",
            )
        if kind == "rate":
            assert before is not None
            after = min(1.0, max(0.0, before + expected_change))
            psi = discordance if discordance is not None else independent_discordance(before, after)
            psi = max(psi, abs(expected_change))
            sigma = math.sqrt(max(psi - expected_change**2, 0.0))
            if not paired:
                sigma = math.sqrt(before * (1 - before) + after * (1 - after))
            z = float(_st.norm.ppf(1 - alpha / 2))
            floor = z * z * (1 - gap) / gap  # no discordant item: +-z^2/(n+z^2) must fit in the gap
            n_eff = max(n_bound(sigma, gap, alpha, power), floor)
            method = (
                f"interval clears the bound (paired, discordance {psi:.3g}; noncentral-t normal "
                f"approximation of the Newcombe interval) at change {expected_change:g}"
            )
        else:
            assert sd is not None
            n_eff = n_bound(sd, gap, alpha, power)
            method = f"interval clears the bound (paired t, SD of differences {sd:.3g}) at change {expected_change:g}"
        return SampleSize(_items(n_eff, design_effect), n_eff, power, alpha, method)

    lower = bound == "min"
    if kind == "rate":
        assert before is not None
        value = min(1.0, max(0.0, before + expected_change))
    else:
        assert before is not None
        value = before + expected_change
    gap = value - t if lower else t - value
    if gap <= 0:
        return SampleSize(
            None,
            None,
            power,
            alpha,
            "none",
            f"the expected value {value:.4g} is not inside the bound ({bound} {t:g}); no n can pass it",
        )
    if kind == "rate":
        sigma = math.sqrt(value * (1 - value))
        n_eff = max(n_bound(sigma, gap, alpha, power), _wilson_floor(value, gap, t, alpha, lower))
        method = f"Wilson interval clears the bound at rate {value:.4g} (noncentral-t normal approximation)"
    else:
        assert sd is not None
        n_eff = n_bound(sd, gap, alpha, power)
        method = f"t interval clears the bound at mean {value:.4g}, SD {sd:.3g}"
    return SampleSize(_items(n_eff, design_effect), n_eff, power, alpha, method)
