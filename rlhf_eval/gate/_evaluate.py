"""Evaluate a gate policy against comparison.json rows (or one run's scores.json) and decide exit codes."""

from __future__ import annotations

import difflib
import math
import os
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from rlhf_eval.errors import EXIT_GATE_FAILED, EXIT_INCONCLUSIVE, EXIT_OK, UserError
from rlhf_eval.gate._policy import DELTA_BOUNDS, Policy, Rule, _num
from rlhf_eval.gate._power import assess
from rlhf_eval.stats import effective_wilson_interval

if TYPE_CHECKING:
    import pandas as pd

Status = Literal["pass", "fail", "inconclusive"]
GATE_SCHEMA = "rlhf-eval/gate/1"


@dataclass(frozen=True)
class _Row:
    """One gateable metric row, from comparison.json or from scores.json."""

    path: str
    suite: str
    category: str | None
    n: int | None
    after: float | None
    after_ci: tuple[float | None, float | None] | None
    before: float | None = None
    delta: float | None = None
    delta_ci: tuple[float | None, float | None] | None = None
    p_value: float | None = None
    from_run: bool = False  # a single run's scores.json: min/max bound its `value`
    kind: str | None = None  # proportion | mean | ece (None: unknown)
    ci_method: str | None = None
    ci_approximate: bool = False  # the interval's coverage is not verified at this n
    ci_valid_from: int | None = None  # clusters from which it is (None: at no n)
    n_clusters: int | None = None
    n_effective: float | None = None
    design_effect: float | None = None
    discordance: float | None = None
    sd_diff: float | None = None
    sd_after: float | None = None
    corrected: _Row | None = None  # the same row with judge-corrected values (judged refusal rates)


def _corrected_row(row: _Row, c: Any, where: str) -> _Row | None:
    """``row`` with its ``corrected`` block's values (comparison.json rows or scores.json entries)."""
    if not isinstance(c, dict):
        return None
    where = f"{where}: corrected"
    after_ci: tuple[float | None, float | None] | None
    if "ci_low" in c:  # scores.json entry
        after_ci = (_number(c.get("ci_low"), where, "ci_low"), _number(c.get("ci_high"), where, "ci_high"))
    else:
        after_ci = _interval(c.get("after_ci"), where, "after_ci")
    after = _number(c.get("after", c.get("value")), where, "after")
    return replace(
        row,
        after=after,
        after_ci=after_ci,
        before=_number(c.get("before"), where, "before"),
        delta=_number(c.get("delta"), where, "delta"),
        delta_ci=_interval(c.get("delta_ci"), where, "delta_ci"),
        p_value=None,
        ci_method="rogan_gladen",
        ci_approximate=False,
        ci_valid_from=None,
        discordance=None,
        sd_diff=None,
        sd_after=None,
        corrected=None,
    )


@dataclass(frozen=True)
class RuleResult:
    """The outcome of one rule on one matched metric row (one JUnit testcase)."""

    rule: int  # 0-based index into the policy's rules
    name: str | None
    metric: str  # the rule's pattern
    path: str  # the matched metric path
    suite: str
    category: str | None
    bound: str
    threshold: float
    bound_text: str  # e.g. "delta >= -0.02 (max_decrease 0.02)"
    decide: str
    quantity: str  # what the bound applies to: after | delta | value
    value: float | None
    ci: tuple[float | None, float | None] | None
    n: int | None
    min_n: int | None
    before: float | None
    after: float | None
    delta: float | None
    p_value: float | None
    p_holm: float | None  # Holm-adjusted over the gate's `significant` delta rules
    status: Status
    reason: str
    message: str
    ci_level: float = 0.95  # the level of ``ci`` (1 - alpha)
    power: float | None = None  # significant change rules: power to detect a change of the bound's size
    min_power: float | None = None
    n_needed: int | None = None  # inconclusive results: items needed to decide (see `rlhf-eval plan`)

    def to_dict(self) -> dict[str, Any]:
        """gate.json ``results`` entry."""
        d = asdict(self)
        d["ci"] = list(self.ci) if self.ci is not None else None
        return d


@dataclass(frozen=True)
class GateResult:
    """Every rule result plus the overall decision; ``exit_code`` is what the CLI returns."""

    policy: Policy
    results: tuple[RuleResult, ...]
    data_source: str
    mode: Literal["comparison", "run"]
    alpha: float = 0.05  # the level used: the policy's, or the comparison's when the policy gives none

    @property
    def ci_level(self) -> float:
        """Level of every interval the results report (``1 - alpha``)."""
        return 1 - self.alpha

    @property
    def counts(self) -> dict[str, int]:
        """Number of results per status."""
        out = {"pass": 0, "fail": 0, "inconclusive": 0}
        for r in self.results:
            out[r.status] += 1
        return out

    @property
    def exit_code(self) -> int:
        """0 all passed (or inconclusive allowed), 1 a rule failed, 3 inconclusive results block."""
        c = self.counts
        if c["fail"]:
            return EXIT_GATE_FAILED
        if c["inconclusive"] and self.policy.on_inconclusive == "fail":
            return EXIT_INCONCLUSIVE
        return EXIT_OK

    @property
    def status(self) -> Status:
        """Overall: fail, inconclusive (only when it blocks) or pass."""
        code = self.exit_code
        if code == EXIT_GATE_FAILED:
            return "fail"
        return "inconclusive" if code == EXIT_INCONCLUSIVE else "pass"

    def blocking(self, r: RuleResult) -> bool:
        """Whether this result makes the gate not pass."""
        return r.status == "fail" or (r.status == "inconclusive" and self.policy.on_inconclusive == "fail")

    def to_dict(self) -> dict[str, Any]:
        """gate.json content (docs/formats.md)."""
        return {
            "schema": GATE_SCHEMA,
            "policy": self.policy.source,
            "on_inconclusive": self.policy.on_inconclusive,
            "alpha": self.alpha,
            "min_power": self.policy.min_power,
            "input": {"mode": self.mode, "path": self.data_source},
            "exit_code": self.exit_code,
            "status": self.status,
            "counts": self.counts,
            "results": [r.to_dict() for r in self.results],
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per result, for notebooks."""
        import pandas as pd

        return pd.DataFrame([r.to_dict() for r in self.results])


def evaluate_gate(
    policy: Policy,
    comparison: dict[str, Any] | None = None,
    scores: dict[str, Any] | None = None,
    *,
    data_source: str | None = None,
    run: str | os.PathLike[str] | None = None,
) -> GateResult:
    """Apply every rule to the matching rows of a comparison, of one run, or of its scores.json.

    Exactly one of ``comparison`` (comparison.json content), ``run`` (a run folder: its
    samples are re-analysed at the policy's alpha, clusters included) and ``scores``
    (scores.json content) is given. Bad data, a rule that matches no metric, or a policy
    ``alpha`` that differs from the level of the given intervals raises a one-line
    :class:`UserError`; the returned :class:`GateResult` carries the exit code.
    """
    if sum(x is not None for x in (comparison, scores, run)) != 1:
        raise ValueError("evaluate_gate: pass exactly one of comparison=, scores= or run=")
    mode: Literal["comparison", "run"]
    if comparison is not None:
        src = data_source or "comparison.json"
        alpha = _check_alpha(policy, _comparison_alpha(comparison, src), src)
        rows = _rows_from_comparison(comparison, src)
        mode = "comparison"
    elif run is not None:
        src = data_source or str(run)
        alpha = policy.alpha
        rows = _rows_from_run(run, alpha, src)
        mode = "run"
    else:
        src = data_source or "scores.json"
        alpha = _check_alpha(policy, SCORES_ALPHA, src)
        rows = _rows_from_scores(scores, src)
        mode = "run"

    matched: list[tuple[Rule, _Row]] = []
    for rule in policy.rules:
        where = f"{policy.source}: {rule.label}"
        if mode == "run" and rule.bound in DELTA_BOUNDS:
            raise UserError(
                f"{where}: {rule.bound!r} bounds a change, which needs --comparison; --run only checks min/max"
            )
        hits = [row for row in rows if rule.matches(row.path)]
        if not hits:
            raise UserError(f"{where}: no metric in {src} matches {rule.metric!r}{_near(rule, rows)}")
        if rule.corrected:
            missing = [row.path for row in hits if row.corrected is None]
            if missing:
                raise UserError(
                    f"{where}: 'corrected: true' but {missing[0]} has no judge-corrected value (only refusal "
                    "rates of runs whose judge error is known have one; see `rlhf-eval compare --judge-validation`)"
                )
            hits = [row.corrected for row in hits if row.corrected is not None]
        matched.extend((rule, row) for row in hits)

    p_holm = _holm_family(matched)
    results = tuple(
        _decide(rule, row, alpha, policy.power_of(rule), p_holm.get(i), len(p_holm))
        for i, (rule, row) in enumerate(matched)
    )
    return GateResult(policy=policy, results=results, data_source=src, mode=mode, alpha=alpha)


SCORES_ALPHA = 0.05  # scores.json intervals are 95 % (rlhf_eval.scoring.aggregate)


def _comparison_alpha(comparison: Any, src: str) -> float:
    """The alpha comparison.json's intervals were computed at (0.05 when the file predates ``params``)."""
    params = comparison.get("params") if isinstance(comparison, dict) else None
    alpha = params.get("alpha", SCORES_ALPHA) if isinstance(params, dict) else SCORES_ALPHA
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 < alpha < 1:
        raise UserError(f"{src}: params.alpha must be a number between 0 and 1, got {alpha!r}")
    return float(alpha)


def _check_alpha(policy: Policy, data_alpha: float, src: str) -> float:
    """The alpha to use: the data's; a policy that sets a different one is an error, never a silent mix."""
    if policy.alpha_set and not math.isclose(policy.alpha, data_alpha, rel_tol=1e-9, abs_tol=1e-12):
        raise UserError(
            f"{policy.source}: alpha {policy.alpha:g} differs from {src}, whose intervals are "
            f"{_pct(1 - data_alpha)} (alpha {data_alpha:g}); re-run `rlhf-eval compare --alpha "
            f"{policy.alpha:g}` (or gate --run on the run folder), or set alpha: {data_alpha:g}"
        )
    return data_alpha


def _pct(level: float) -> str:
    """``95 %``-style text of a confidence level."""
    return f"{100 * level:.4g} %"


def _near(rule: Rule, rows: list[_Row]) -> str:
    """A did-you-mean hint from the paths with as many parts as the pattern."""
    same = [r.path for r in rows if len(r.path.split(".", 2)) == len(rule.parts)]
    close = difflib.get_close_matches(rule.metric, same, n=3, cutoff=0.5)
    if close:
        return f" (did you mean {', '.join(repr(c) for c in close)}?)"
    if same:
        shown = ", ".join(same[:8]) + (", ..." if len(same) > 8 else "")
        return f" (available: {shown})"
    return ""


def _in_family(rule: Rule, row: _Row) -> bool:
    """Whether a result is one of the significance tests Holm adjusts over."""
    n_ok = rule.min_n is None or (row.n is not None and row.n >= rule.min_n)
    return rule.decide == "significant" and rule.bound in DELTA_BOUNDS and row.p_value is not None and n_ok


def _holm_family(matched: list[tuple[Rule, _Row]]) -> dict[int, float]:
    """Holm-adjusted p-values of the `significant` delta results, keyed by result position."""
    fam = [(i, row.p_value) for i, (rule, row) in enumerate(matched) if _in_family(rule, row)]
    pos = [i for i, p in fam if p is not None]
    return dict(zip(pos, holm([p for _, p in fam if p is not None]), strict=True))


def holm(p_values: list[float]) -> list[float]:
    """Holm step-down adjusted p-values (same order as given), capped at 1."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def _rule_out(rule: Rule, lo: float, hi: float) -> str:
    """What the interval cannot exclude beyond the bound, e.g. ``can't rule out a drop of 0.53``."""
    if rule.bound == "max_decrease":
        return f"can't rule out a drop of {_num(-lo)}"
    if rule.bound == "max_increase":
        return f"can't rule out a rise of {_num(hi)}"
    if rule.bound == "min":
        return f"can't rule out a value as low as {_num(lo)}"
    return f"can't rule out a value as high as {_num(hi)}"


def _approximate_why(row: _Row) -> str:
    method = row.ci_method or "this"
    if row.ci_valid_from is None:
        return f"{method} intervals are approximate at every n (their coverage is not verified)"
    if row.n_clusters is not None and row.n_clusters < row.ci_valid_from:
        unit = "items" if row.design_effect in (None, 1.0) else "clusters"
        return (
            f"the {method} interval keeps its coverage from {row.ci_valid_from} {unit}; "
            f"this row has {row.n_clusters}"
        )
    return f"the {method} interval has zero width because no item varied"


def _decide(
    rule: Rule, row: _Row, alpha: float, min_power: float, p_holm: float | None, family: int
) -> RuleResult:
    """Apply one rule's bound and decision mode to one row.

    Never passes on an interval that reaches beyond the bound unless the rule is
    ``significant`` on a change and its test had at least ``min_power`` to detect a change of
    the bound's size; an inconclusive result says what it cannot rule out and the n it needs.
    """
    is_delta = rule.bound in DELTA_BOUNDS
    value, ci = (row.delta, row.delta_ci) if is_delta else (row.after, row.after_ci)
    quantity = "delta" if is_delta else ("value" if row.from_run else "after")
    if row.ci_method == "rogan_gladen":
        quantity = f"judge-corrected {quantity}"
    lower = rule.bound in ("min", "max_decrease")
    limit = -rule.threshold if rule.bound == "max_decrease" else rule.threshold
    change = "drop" if rule.bound == "max_decrease" else "rise"

    def ok(x: float) -> bool:
        return x >= limit if lower else x <= limit

    status: Status
    lo, hi = ci if ci is not None else (None, None)
    has_ci = lo is not None and hi is not None
    lo, hi = (lo, hi) if lo is not None and hi is not None else (math.nan, math.nan)
    wholly_ok = has_ci and ok(lo) and ok(hi)
    wholly_beyond = has_ci and not ok(lo) and not ok(hi)
    powered_rule = rule.decide == "significant" and is_delta
    power = assess(rule, row, alpha, min_power, plan=False).power if powered_rule else None
    powered = power is not None and power >= min_power
    power_text = (
        f"power {power:.2f} to detect a {change} of {rule.threshold:g} (min_power {min_power:g})"
        if power is not None
        else "power unknown (no design or interval to compute it from)"
    )
    sig_fail = powered_rule and wholly_beyond and p_holm is not None and p_holm < alpha
    holm_text = f"Holm-adjusted p = {_num(p_holm)}" + (
        f" {'<' if sig_fail else '>='} alpha = {alpha:g} over {family} gated change(s)"
        if p_holm is not None
        else ""
    )
    if rule.min_n is not None and (row.n is None or row.n < rule.min_n):
        status, reason = (
            "inconclusive",
            f"n = {row.n if row.n is not None else 'unknown'} is below min_n = {rule.min_n}",
        )
    elif value is None:
        status, reason = "inconclusive", f"no {quantity} value (null in the input)"
    elif rule.decide == "point":
        if ok(value):
            status, reason = "pass", "the point estimate is within the bound"
        else:
            status, reason = "fail", "the point estimate is beyond the bound"
    elif not has_ci:
        status, reason = "inconclusive", "no confidence interval to decide on (null in the input)"
    elif sig_fail:
        status, reason = (
            "fail",
            f"significant regression: the whole interval is beyond the bound and {holm_text}",
        )
    elif row.ci_approximate:
        status, reason = "inconclusive", _approximate_why(row)
    elif wholly_ok:
        status = "pass"
        reason = "the whole interval is within the bound"
        if rule.decide == "significant":
            reason = "no violation: " + reason
    elif wholly_beyond and not powered_rule:
        status = "fail"
        reason = "the whole interval is beyond the bound"
        if rule.decide == "significant":
            reason = "significant violation: " + reason
    elif not powered_rule:
        status, reason = "inconclusive", "the interval straddles the bound"
    elif wholly_beyond and p_holm is None:
        status, reason = "inconclusive", "the interval is beyond the bound but there is no p-value to test"
    elif powered:
        status = "pass"
        reason = (
            f"not significant: the interval is beyond the bound but {holm_text}; {power_text}"
            if wholly_beyond
            else f"no significant violation: the interval reaches the bound; {power_text}"
        )
    else:
        status = "inconclusive"
        reason = (
            f"not significant ({holm_text}) but {power_text} is too low"
            if wholly_beyond
            else f"no significant violation, but {power_text} is too low to rule one out"
        )

    n_needed: int | None = None
    if status == "inconclusive":
        check = assess(rule, row, alpha, min_power)
        needs = check.note if check.n_needed is None else None
        if check.n_needed is not None:
            n_needed = check.n_needed
            needs = f"needs about {n_needed} items"
        parts = [_rule_out(rule, lo, hi)] if has_ci and not wholly_ok else []
        if needs:
            parts.append(needs)
        if parts:
            reason += ": " + "; ".join(parts)

    level = 1 - alpha
    measured = f"{quantity} = {_num(value)}"
    if is_delta and row.before is not None and row.after is not None:
        measured += f" (before {_num(row.before)}, after {_num(row.after)})"
    interval = f"{100 * level:.4g}% CI {_num(lo)} to {_num(hi)}" if has_ci else "no CI"
    n_text = f"n = {row.n}" if row.n is not None else "n unknown"
    message = (
        f"{measured}, {interval}, {n_text}; bound {rule.bound_text(quantity)}; decide {rule.decide}: {reason}"
    )
    return RuleResult(
        rule=rule.index,
        name=rule.name,
        metric=rule.metric,
        path=row.path,
        suite=row.suite,
        category=row.category,
        bound=rule.bound,
        threshold=rule.threshold,
        bound_text=rule.bound_text(quantity),
        decide=rule.decide,
        quantity=quantity,
        value=value,
        ci=(lo, hi) if has_ci else None,
        n=row.n,
        min_n=rule.min_n,
        before=row.before,
        after=row.after,
        delta=row.delta,
        p_value=row.p_value,
        p_holm=p_holm,
        status=status,
        reason=reason,
        message=message,
        ci_level=level,
        power=power,
        min_power=min_power if powered_rule else None,
        n_needed=n_needed,
    )


# ---------------------------------------------------------------- input validation


def _number(v: Any, where: str, key: str) -> float | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise UserError(f"{where}: {key!r} must be a number or null, got {v!r}")
    return float(v) if math.isfinite(v) else None


def _ranged(v: Any, where: str, key: str, lo: float, hi: float) -> float | None:
    """A number or null that must lie in ``[lo, hi]`` (design fields of comparison rows)."""
    x = _number(v, where, key)
    if x is not None and not lo <= x <= hi:
        bounds = f">= {lo:g}" if hi == math.inf else f"in [{lo:g}, {hi:g}]"
        raise UserError(f"{where}: {key!r} must be {bounds} or null, got {v!r}")
    return x


def _count(v: Any, where: str, key: str) -> int | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0 or float(v) != int(v):
        raise UserError(f"{where}: {key!r} must be a non-negative integer or null, got {v!r}")
    return int(v)


def _interval(v: Any, where: str, key: str) -> tuple[float | None, float | None] | None:
    if v is None:
        return None
    if not isinstance(v, (list, tuple)) or len(v) != 2:
        raise UserError(f"{where}: {key!r} must be [low, high] or null, got {v!r}")
    return (_number(v[0], where, key), _number(v[1], where, key))


# Interval methods of comparison.json files written before rows carried ``ci_approximate``:
# the clusters (items) from which their coverage holds, None for none (see compare/README.md).
_LEGACY_APPROXIMATE: dict[str, int | None] = {
    "cluster_bootstrap": None,  # percentile cluster bootstrap: zero width when no item varies
    "paired_bootstrap": 200,  # percentile bootstrap: 0.86-0.90 coverage below ~200 items
    "basic_bootstrap": None,
    "cluster_basic_bootstrap": None,
}


def _rows_from_run(run: str | os.PathLike[str], alpha: float, src: str) -> list[_Row]:
    """Rows of one run folder: its samples compared with themselves, so every interval is
    recomputed at ``alpha`` with the comparison's methods (clusters included)."""
    from rlhf_eval.compare import compare_runs

    comp = compare_runs(run, run, n_resamples=2000, seed=0, alpha=alpha).to_dict()

    def single(r: _Row) -> _Row:
        return replace(r, from_run=True, before=None, delta=None, delta_ci=None, p_value=None)

    return [
        replace(single(r), corrected=single(r.corrected) if r.corrected is not None else None)
        for r in _rows_from_comparison(comp, src)
    ]


def _rows_from_comparison(comparison: Any, src: str) -> list[_Row]:
    """Validated rows of comparison.json's ``metrics`` list."""
    if not isinstance(comparison, dict):
        raise UserError(f"{src}: expected a JSON object (comparison.json), got {type(comparison).__name__}")
    schema = comparison.get("schema")
    if schema is not None and not str(schema).startswith("rlhf-eval/comparison/"):
        raise UserError(f"{src}: schema {schema!r} is not a comparison (expected rlhf-eval/comparison/1)")
    metrics = comparison.get("metrics")
    if not isinstance(metrics, list):
        raise UserError(f"{src}: missing 'metrics' list (is this comparison.json from `rlhf-eval compare`?)")
    rows: list[_Row] = []
    for i, m in enumerate(metrics):
        if not isinstance(m, dict) or not isinstance(m.get("path"), str):
            raise UserError(f"{src}: metrics[{i}]: expected an object with a string 'path'")
        path = m["path"]
        parts = path.split(".", 2)
        if len(parts) < 2:
            raise UserError(f"{src}: metrics[{i}]: 'path' must be suite.metric[.category], got {path!r}")
        where = f"{src}: metrics[{i}] ({path})"
        method = m.get("ci_method")
        method = method if isinstance(method, str) else None
        approximate = m.get("ci_approximate")
        valid_from = _count(m.get("ci_valid_from"), where, "ci_valid_from")
        if approximate is None and method in _LEGACY_APPROXIMATE:  # files written before ci_approximate
            valid_from = _LEGACY_APPROXIMATE[method]
            n_units = m.get("n_clusters") if isinstance(m.get("n_clusters"), int) else m.get("n")
            approximate = valid_from is None or not isinstance(n_units, int) or n_units < valid_from
        kind = m.get("kind") if isinstance(m.get("kind"), str) else None
        if kind == "proportion":
            for key in ("before", "after"):
                _ranged(m.get(key), where, key, 0.0, 1.0)
        rows.append(
            _Row(
                path=path,
                suite=str(m.get("suite") or parts[0]),
                category=m.get("category")
                if m.get("category") is not None
                else (parts[2] if len(parts) == 3 else None),
                n=_count(m.get("n"), where, "n"),
                after=_number(m.get("after"), where, "after"),
                after_ci=_interval(m.get("after_ci"), where, "after_ci"),
                before=_number(m.get("before"), where, "before"),
                delta=_number(m.get("delta"), where, "delta"),
                delta_ci=_interval(m.get("delta_ci"), where, "delta_ci"),
                p_value=_number(m.get("p_value"), where, "p_value"),
                kind=kind,
                ci_method=method,
                ci_approximate=bool(approximate),
                ci_valid_from=valid_from,
                n_clusters=_count(m.get("n_clusters"), where, "n_clusters"),
                n_effective=_ranged(m.get("n_effective"), where, "n_effective", 0.0, math.inf),
                design_effect=_ranged(m.get("design_effect"), where, "design_effect", 1.0, math.inf),
                discordance=_ranged(m.get("discordance"), where, "discordance", 0.0, 1.0),
                sd_diff=_ranged(m.get("sd_diff"), where, "sd_diff", 0.0, math.inf),
                sd_after=_ranged(m.get("sd_after"), where, "sd_after", 0.0, math.inf),
            )
        )
        rows[-1] = replace(rows[-1], corrected=_corrected_row(rows[-1], m.get("corrected"), where))
    return rows


def _rows_from_scores(scores: Any, src: str) -> list[_Row]:
    """Validated rows of one run's scores.json: headline metrics and their categories."""
    if not isinstance(scores, dict):
        raise UserError(f"{src}: expected a JSON object (scores.json), got {type(scores).__name__}")
    rows: list[_Row] = []
    kind_of: dict[str, str] = {}

    def row(path: str, suite: str, cat: str | None, e: Any) -> _Row:
        where = f"{src}: {path}"
        if not isinstance(e, dict):
            raise UserError(f"{where}: expected an object with 'value', 'ci_low', 'ci_high', 'n'")
        kind = e.get("kind") if isinstance(e.get("kind"), str) else kind_of.get(path.rsplit(".", 1)[0])
        n = _count(e.get("n"), where, "n")
        # scores.json: Wilson for rates, percentile bootstrap for means (no clusters); the
        # percentile bootstrap keeps its coverage from about 200 items, ECE intervals at no n
        valid_from = {"mean": 200, "ece": None}.get(kind or "", 0)
        value = _number(e.get("value"), where, "value")
        after_ci = (_number(e.get("ci_low"), where, "ci_low"), _number(e.get("ci_high"), where, "ci_high"))
        if kind == "proportion":
            _ranged(value, where, "value", 0.0, 1.0)
        if kind == "proportion" and value is not None and n:  # re-derive with the small-n-safe Wilson
            k = round(value * n)
            iv = effective_wilson_interval(np.r_[np.ones(k), np.zeros(n - k)], None, 1 - SCORES_ALPHA)
            after_ci = (iv.low, iv.high)
        out = _Row(
            path=path,
            suite=suite,
            category=cat,
            n=n,
            after=value,
            after_ci=after_ci,
            from_run=True,
            kind=kind,
            ci_method={"mean": "percentile_bootstrap", "ece": "bootstrap"}.get(kind or ""),
            ci_approximate=valid_from is None or (valid_from > 0 and (n is None or n < valid_from)),
            ci_valid_from=valid_from or None,
            n_clusters=n,
        )
        return replace(out, corrected=_corrected_row(out, e.get("corrected"), where))

    for suite, metrics in scores.items():
        if not isinstance(metrics, dict):
            raise UserError(f"{src}: {suite}: expected an object of metrics, got {type(metrics).__name__}")
        for metric, entry in metrics.items():
            path = f"{suite}.{metric}"
            rows.append(row(path, suite, None, entry))
            if isinstance(entry, dict) and isinstance(entry.get("kind"), str):
                kind_of[path] = entry["kind"]
            by_cat = entry.get("by_category") or {}
            if not isinstance(by_cat, dict):
                raise UserError(f"{src}: {path}: 'by_category' must be an object")
            rows.extend(row(f"{path}.{cat}", suite, cat, e) for cat, e in by_cat.items())
    return rows
