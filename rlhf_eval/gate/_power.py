"""What a rule's data can detect: power at this n and the n a rule needs, from the row's design.

The gate reads the design that compare recorded for each row (effective n, design effect,
discordance of paired rates, SD of paired differences) and computes, with the same
functions as ``rlhf-eval plan`` (:func:`rlhf_eval.stats.plan_sample_size`):

- for ``significant`` change bounds, the power of the two-sided level-``alpha`` test of "no
  change" to detect a change of the bound's size (McNemar / Connor for rates, paired t for
  means); below ``min_power`` such a rule cannot pass on a straddling interval;
- for every rule, the n at which it would decide with ``min_power`` when nothing changed
  (the "needs about N items" of an inconclusive result).

Rows without a recorded design (older comparison.json files, scores.json) fall back to the
normal approximation with the standard error implied by the interval's width.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scipy import stats as _st

from rlhf_eval.gate._policy import DELTA_BOUNDS, Rule
from rlhf_eval.stats import (
    MetricKind,
    plan_sample_size,
    power_bound,
    power_paired_mean,
    power_paired_proportion,
)

if TYPE_CHECKING:
    from rlhf_eval.gate._evaluate import _Row


@dataclass(frozen=True)
class Assessment:
    """Power of a rule at the row's n and the n it needs (``None`` when it cannot be computed)."""

    power: float | None
    n_needed: int | None
    method: str
    note: str | None = None  # why n_needed is None


def _design(rule: Rule, row: _Row, alpha: float) -> tuple[str, float | None, float | None, float, float]:
    """``(kind, discordance, sd, n_effective, design_effect)`` for this rule's quantity.

    ``kind`` is ``rate`` (paired 0/1 values with a known discordance or value), ``mean``
    (a known SD), ``interval`` (SD derived from the interval width) or ``none``.
    """
    n = row.n or 0
    n_eff = row.n_effective if row.n_effective is not None else float(n)
    deff = row.design_effect if row.design_effect is not None else 1.0
    is_delta = rule.bound in DELTA_BOUNDS
    if row.kind == "proportion" and (row.discordance is not None or not is_delta):
        return "rate", row.discordance, None, n_eff, deff
    sd = row.sd_diff if is_delta else row.sd_after
    if row.kind == "mean" and sd is not None and math.isfinite(sd):
        return "mean", None, sd, n_eff, deff
    ci = row.delta_ci if is_delta else row.after_ci
    if ci is None or ci[0] is None or ci[1] is None or n_eff < 2:
        return "none", None, None, n_eff, deff
    z = float(_st.norm.ppf(1 - alpha / 2))
    se = (ci[1] - ci[0]) / (2 * z)
    return "interval", None, se * math.sqrt(n_eff), n_eff, deff


def assess(rule: Rule, row: _Row, alpha: float, min_power: float, *, plan: bool = True) -> Assessment:
    """Power and needed n of ``rule`` on ``row`` at level ``alpha`` and target power ``min_power``.

    ``plan=False`` skips the sample-size search (``n_needed`` is then None): the gate only
    needs it for inconclusive results.
    """
    kind, psi, sd, n_eff, deff = _design(rule, row, alpha)
    if kind == "none":
        return Assessment(None, None, "none", "no n, interval or design to compute power from")
    is_delta = rule.bound in DELTA_BOUNDS
    t = rule.threshold
    value = row.after
    if not is_delta and value is None:
        return Assessment(None, None, "none", "no value to plan around")
    plan_kind: MetricKind = "rate" if kind == "rate" else "mean"
    decide = rule.decide if is_delta else "ci"  # absolute bounds need a clear interval in every mode
    if decide == "point":
        decide = "ci"
    if not plan:
        return Assessment(_power(rule, row, alpha, kind, psi, sd, n_eff), None, "", None)
    try:
        planned = plan_sample_size(
            kind=plan_kind,
            bound=rule.bound,
            threshold=t,
            decide=decide,
            before=(row.before if row.before is not None else 0.5) if is_delta else value,
            alpha=alpha,
            power=min_power,
            discordance=psi if kind == "rate" and is_delta else None,
            sd=sd,
            design_effect=deff,
        )
    except ValueError as exc:  # defensive: rows are validated on reading
        return Assessment(None, None, "none", f"cannot plan: {exc}")
    method = "normal approximation from the interval width" if kind == "interval" else planned.method
    power = _power(rule, row, alpha, kind, psi, sd, n_eff)
    n_needed = planned.n
    if n_needed is not None and row.ci_valid_from is not None and row.n_clusters and row.n:
        # an approximate interval needs enough clusters before it can decide at all
        per_cluster = row.n / row.n_clusters
        n_needed = max(n_needed, math.ceil(row.ci_valid_from * per_cluster))
    if n_needed is not None and rule.min_n is not None:
        n_needed = max(n_needed, rule.min_n)
    return Assessment(power, n_needed, method, planned.note)


def _power(
    rule: Rule, row: _Row, alpha: float, kind: str, psi: float | None, sd: float | None, n_eff: float
) -> float | None:
    """Significant change rules: power to detect a change of the bound's size; others: the chance
    that the interval clears the bound if the metric sits where it is now (changes: no change)."""
    is_delta = rule.bound in DELTA_BOUNDS
    t = rule.threshold
    value = row.after
    power: float | None
    if is_delta and rule.decide == "significant":
        if kind == "rate":
            power = power_paired_proportion(n_eff, psi or 0.0, t, alpha)
        else:
            assert sd is not None
            power = power_paired_mean(n_eff, sd, t, alpha)
    elif is_delta:
        sigma = math.sqrt(psi) if kind == "rate" and psi is not None else sd
        power = power_bound(n_eff, sigma, t, alpha) if sigma is not None else None
    else:
        assert value is not None
        gap = value - t if rule.bound == "min" else t - value
        sigma = math.sqrt(max(value * (1 - value), 0.0)) if kind == "rate" else sd
        power = power_bound(n_eff, sigma, gap, alpha) if sigma is not None else None
    if power is not None and not math.isfinite(power):
        power = None
    return power
