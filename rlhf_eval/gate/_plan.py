"""``rlhf-eval plan`` for a policy: the n each rule needs, from a comparison's design or from assumptions.

With a comparison, every rule is planned on each row it matches with the gate's own
computation (:func:`rlhf_eval.gate._power.assess`), so the numbers are the "needs about N
items" the gate prints for an inconclusive result. Without one, each rule is planned from
the expected values given (:func:`rlhf_eval.stats.plan_sample_size`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rlhf_eval.errors import UserError
from rlhf_eval.gate._evaluate import _check_alpha, _comparison_alpha, _rows_from_comparison
from rlhf_eval.gate._policy import Policy, Rule
from rlhf_eval.gate._power import assess
from rlhf_eval.stats import MetricKind, plan_sample_size


@dataclass(frozen=True)
class PlanRow:
    """The planned n of one rule (on one matched metric row when planned from a comparison)."""

    rule: int  # 0-based index into the policy's rules
    name: str | None
    metric: str  # the rule's pattern
    path: str | None  # the matched metric path (None without a comparison)
    bound_text: str
    decide: str
    n: int | None  # paired items in the comparison now
    n_needed: int | None
    power: float  # the target power
    alpha: float
    method: str
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class Assumptions:
    """Expected values for rules planned without a comparison."""

    kind: MetricKind = "rate"
    before: float | None = None
    discordance: float | None = None
    sd: float | None = None
    design_effect: float = 1.0
    expected_change: float = 0.0


def plan_policy(
    policy: Policy,
    comparison: dict[str, Any] | None = None,
    *,
    assumptions: Assumptions | None = None,
    power: float | None = None,
    data_source: str = "comparison.json",
) -> list[PlanRow]:
    """The n each rule of ``policy`` needs at the policy's alpha and ``power`` (default: its min_power).

    From ``comparison`` (comparison.json content) when given, else from ``assumptions``.
    Raises :class:`UserError` on bad input (as the gate would).
    """
    if comparison is not None:
        alpha = _check_alpha(policy, _comparison_alpha(comparison, data_source), data_source)
        rows = _rows_from_comparison(comparison, data_source)
        out: list[PlanRow] = []
        for rule in policy.rules:
            target = power if power is not None else policy.power_of(rule)
            hits = [r for r in rows if rule.matches(r.path)]
            if not hits:
                raise UserError(
                    f"{policy.source}: {rule.label}: no metric in {data_source} matches {rule.metric!r}"
                )
            for row in hits:
                check = assess(rule, row, alpha, target)
                out.append(
                    PlanRow(
                        rule.index,
                        rule.name,
                        rule.metric,
                        row.path,
                        rule.bound_text("delta" if rule.bound.startswith("max_") else "after"),
                        rule.decide,
                        row.n,
                        check.n_needed,
                        target,
                        alpha,
                        check.method,
                        check.note,
                    )
                )
        return out
    a = assumptions or Assumptions()
    return [_plan_rule(rule, policy, a, power) for rule in policy.rules]


def _plan_rule(rule: Rule, policy: Policy, a: Assumptions, power: float | None) -> PlanRow:
    target = power if power is not None else policy.power_of(rule)
    where = f"{policy.source}: {rule.label}"
    try:
        s = plan_sample_size(
            kind=a.kind,
            bound=rule.bound,
            threshold=rule.threshold,
            decide=rule.decide,
            before=a.before,
            alpha=policy.alpha,
            power=target,
            discordance=a.discordance,
            sd=a.sd,
            design_effect=a.design_effect,
            expected_change=a.expected_change,
        )
    except ValueError as exc:
        raise UserError(f"{where}: {exc} (give --before / --sd, or --comparison)") from None
    n_needed = max(s.n, rule.min_n) if s.n is not None and rule.min_n is not None else s.n
    return PlanRow(
        rule.index,
        rule.name,
        rule.metric,
        None,
        rule.bound_text("delta" if rule.bound.startswith("max_") else "value"),
        rule.decide,
        None,
        n_needed,
        target,
        policy.alpha,
        s.method,
        s.note,
    )
