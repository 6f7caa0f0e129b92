"""Evaluate a gate policy against comparison.json rows (or one run's scores.json) and decide exit codes."""

from __future__ import annotations

import difflib
import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

from rlhf_eval.errors import EXIT_GATE_FAILED, EXIT_INCONCLUSIVE, EXIT_OK, UserError
from rlhf_eval.gate._policy import DELTA_BOUNDS, Policy, Rule, _num

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
            "alpha": self.policy.alpha,
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
) -> GateResult:
    """Apply every rule to the matching rows of a comparison (or of one run's scores.json).

    Exactly one of ``comparison`` (comparison.json content) and ``scores`` (scores.json
    content) is given. Bad data or a rule that matches no metric raises a one-line
    :class:`UserError`; the returned :class:`GateResult` carries the exit code.
    """
    if (comparison is None) == (scores is None):
        raise ValueError("evaluate_gate: pass exactly one of comparison= or scores=")
    if comparison is not None:
        src = data_source or "comparison.json"
        rows = _rows_from_comparison(comparison, src)
        mode: Literal["comparison", "run"] = "comparison"
    else:
        src = data_source or "scores.json"
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
        matched.extend((rule, row) for row in hits)

    p_holm = _holm_family(matched)
    results = tuple(
        _decide(rule, row, policy.alpha, p_holm.get(i), len(p_holm)) for i, (rule, row) in enumerate(matched)
    )
    return GateResult(policy=policy, results=results, data_source=src, mode=mode)


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


def _decide(rule: Rule, row: _Row, alpha: float, p_holm: float | None, family: int) -> RuleResult:
    """Apply one rule's bound and decision mode to one row."""
    is_delta = rule.bound in DELTA_BOUNDS
    value, ci = (row.delta, row.delta_ci) if is_delta else (row.after, row.after_ci)
    quantity = "delta" if is_delta else ("value" if row.from_run else "after")
    lower = rule.bound in ("min", "max_decrease")
    limit = -rule.threshold if rule.bound == "max_decrease" else rule.threshold

    def ok(x: float) -> bool:
        return x >= limit if lower else x <= limit

    status: Status
    lo, hi = ci if ci is not None else (None, None)
    has_ci = lo is not None and hi is not None
    lo, hi = (lo, hi) if lo is not None and hi is not None else (math.nan, math.nan)
    wholly_ok = has_ci and ok(lo) and ok(hi)
    wholly_beyond = has_ci and not ok(lo) and not ok(hi)
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
    elif rule.decide == "ci":
        if wholly_ok:
            status, reason = "pass", "the whole interval is within the bound"
        elif wholly_beyond:
            status, reason = "fail", "the whole interval is beyond the bound"
        else:
            status, reason = "inconclusive", "the interval straddles the bound"
    elif wholly_ok:
        status, reason = "pass", "no violation: the whole interval is within the bound"
    elif not wholly_beyond:
        status, reason = "pass", "no significant violation: the interval reaches the bound"
    elif not is_delta:
        status, reason = "fail", "significant violation: the whole interval is beyond the bound"
    elif p_holm is None:
        status, reason = "inconclusive", "the interval is beyond the bound but there is no p-value to test"
    elif p_holm < alpha:
        status = "fail"
        reason = (
            f"significant regression: the whole interval is beyond the bound and Holm-adjusted "
            f"p = {p_holm:.3g} < alpha = {alpha:g} over {family} gated change(s)"
        )
    else:
        status = "pass"
        reason = (
            f"not significant: the interval is beyond the bound but Holm-adjusted "
            f"p = {p_holm:.3g} >= alpha = {alpha:g} over {family} gated change(s)"
        )

    measured = f"{quantity} = {_num(value)}"
    if is_delta and row.before is not None and row.after is not None:
        measured += f" (before {_num(row.before)}, after {_num(row.after)})"
    interval = f"95% CI {_num(lo)} to {_num(hi)}" if has_ci else "no CI"
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
    )


# ---------------------------------------------------------------- input validation


def _number(v: Any, where: str, key: str) -> float | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise UserError(f"{where}: {key!r} must be a number or null, got {v!r}")
    return float(v) if math.isfinite(v) else None


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
            )
        )
    return rows


def _rows_from_scores(scores: Any, src: str) -> list[_Row]:
    """Validated rows of one run's scores.json: headline metrics and their categories."""
    if not isinstance(scores, dict):
        raise UserError(f"{src}: expected a JSON object (scores.json), got {type(scores).__name__}")
    rows: list[_Row] = []

    def row(path: str, suite: str, cat: str | None, e: Any) -> _Row:
        where = f"{src}: {path}"
        if not isinstance(e, dict):
            raise UserError(f"{where}: expected an object with 'value', 'ci_low', 'ci_high', 'n'")
        return _Row(
            path=path,
            suite=suite,
            category=cat,
            n=_count(e.get("n"), where, "n"),
            after=_number(e.get("value"), where, "value"),
            after_ci=(_number(e.get("ci_low"), where, "ci_low"), _number(e.get("ci_high"), where, "ci_high")),
            from_run=True,
        )

    for suite, metrics in scores.items():
        if not isinstance(metrics, dict):
            raise UserError(f"{src}: {suite}: expected an object of metrics, got {type(metrics).__name__}")
        for metric, entry in metrics.items():
            path = f"{suite}.{metric}"
            rows.append(row(path, suite, None, entry))
            by_cat = entry.get("by_category") or {}
            if not isinstance(by_cat, dict):
                raise UserError(f"{src}: {path}: 'by_category' must be an object")
            rows.extend(row(f"{path}.{cat}", suite, cat, e) for cat, e in by_cat.items())
    return rows
