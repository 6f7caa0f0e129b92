"""Gate policy: parse and validate policy.yaml into typed rules, with one-line errors per rule."""

from __future__ import annotations

import difflib
import math
import os
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, Literal

import yaml

from rlhf_eval.errors import UserError

Decide = Literal["point", "ci", "significant"]
Bound = Literal["min", "max", "max_increase", "max_decrease"]

DECIDE_MODES: tuple[Decide, ...] = ("point", "ci", "significant")
BOUNDS: tuple[Bound, ...] = ("min", "max", "max_increase", "max_decrease")
DELTA_BOUNDS: frozenset[str] = frozenset({"max_increase", "max_decrease"})
# One tuple per schema level: a new rule option (e.g. a judge-corrected rate) is one more key
# here plus its check in _parse_rule and a field on Rule.
RULE_KEYS: tuple[str, ...] = ("name", "metric", *BOUNDS, "decide", "min_n", "min_power", "corrected")
POLICY_KEYS: tuple[str, ...] = ("on_inconclusive", "alpha", "min_power", "rules")
DEFAULT_ALPHA = 0.05
DEFAULT_MIN_POWER = 0.8


@dataclass(frozen=True)
class Rule:
    """One policy rule: a metric-path pattern, one bound, a decision mode and an optional min n."""

    index: int  # 0-based position in ``rules``
    metric: str  # pattern: suite.metric or suite.metric.category, parts may use * ? [..]
    bound: Bound
    threshold: float
    decide: Decide = "ci"
    min_n: int | None = None
    name: str | None = None
    min_power: float | None = None  # None: the policy's min_power
    corrected: bool = False  # decide on the judge-corrected rate (refusal rates) instead of the judged one

    @property
    def label(self) -> str:
        """How messages name the rule: ``rule 2 (overrefusal.refusal_rate)`` (1-based)."""
        return f"rule {self.index + 1} ({self.metric})"

    @property
    def parts(self) -> tuple[str, ...]:
        """The pattern split into suite, metric and (optionally) category parts."""
        return tuple(self.metric.split(".", 2))

    @property
    def is_wildcard(self) -> bool:
        """Whether the pattern can match more than one metric path."""
        return any(c in self.metric for c in "*?[")

    def matches(self, path: str) -> bool:
        """Whether a metric path (``suite.metric`` or ``suite.metric.category``) matches the pattern.

        Parts are matched one by one, so ``*`` never crosses a dot: a two-part pattern
        only matches headline rows and a three-part pattern only matches category rows.
        """
        parts = path.split(".", 2)
        pat = self.parts
        return len(parts) == len(pat) and all(fnmatchcase(p, q) for p, q in zip(parts, pat, strict=True))

    def bound_text(self, quantity: str = "value") -> str:
        """The bound as an inequality, e.g. ``delta >= -0.02 (max_decrease 0.02)``."""
        t = f"{self.threshold:g}"  # as the user wrote it, not rounded like measured values
        if self.bound == "min":
            return f"{quantity} >= {t} (min)"
        if self.bound == "max":
            return f"{quantity} <= {t} (max)"
        if self.bound == "max_increase":
            return f"delta <= +{t} (max_increase {t})"
        return f"delta >= -{t} (max_decrease {t})"


@dataclass(frozen=True)
class Policy:
    """A validated gate policy; ``source`` is the file it came from (used in messages)."""

    rules: tuple[Rule, ...]
    on_inconclusive: Literal["pass", "fail"] = "fail"
    alpha: float = DEFAULT_ALPHA
    source: str = "policy"
    min_power: float = DEFAULT_MIN_POWER
    alpha_set: bool = False  # whether the file gave alpha (else the comparison's alpha is used)

    def power_of(self, rule: Rule) -> float:
        """The rule's ``min_power``, or the policy's."""
        return rule.min_power if rule.min_power is not None else self.min_power


def load_policy(path: str | os.PathLike[str]) -> Policy:
    """Read and validate a policy YAML file; any problem is a one-line UserError naming file and rule."""
    from rlhf_eval._io import read_text  # local: keeps this edit inside the reader

    src = str(path)
    # the shared reader: BOM, CRLF, non-UTF-8 bytes, over-long lines; parse_policy words emptiness
    text = read_text(Path(path), allow_empty=True)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UserError(f"{src}{where}: invalid YAML ({problem})") from None
    return parse_policy(data, source=src)


def parse_policy(data: Any, source: str = "policy") -> Policy:
    """Validate an already-parsed policy (a mapping with ``rules``, or a bare list of rules)."""
    if data is None:
        raise UserError(
            f"{source}: empty policy; expected a mapping with 'rules' (`rlhf-eval init-policy` writes a starter)"
        )
    if isinstance(data, list):
        data = {"rules": data}
    if not isinstance(data, dict):
        raise UserError(f"{source}: expected a mapping with 'rules', got {_type(data)}")
    for key in data:
        if key not in POLICY_KEYS:
            raise UserError(f"{source}: unknown key {key!r}{_suggest(key, POLICY_KEYS)}")
    on_inc = data.get("on_inconclusive", "fail")
    if on_inc not in ("pass", "fail"):
        raise UserError(f"{source}: 'on_inconclusive' must be 'pass' or 'fail', got {on_inc!r}")
    alpha = data.get("alpha", DEFAULT_ALPHA)
    if not _is_number(alpha) or not 0 < float(alpha) < 1:
        raise UserError(f"{source}: 'alpha' must be a number between 0 and 1, got {alpha!r}")
    min_power = data.get("min_power", DEFAULT_MIN_POWER)
    if not _is_number(min_power) or not 0 < float(min_power) < 1:
        raise UserError(f"{source}: 'min_power' must be a number between 0 and 1, got {min_power!r}")
    raw_rules = data.get("rules")
    if not isinstance(raw_rules, list) or not raw_rules:
        got = "nothing" if raw_rules is None else repr(raw_rules) if not isinstance(raw_rules, list) else "[]"
        raise UserError(f"{source}: 'rules' must be a non-empty list of rules, got {got}")
    rules = tuple(_parse_rule(i, r, source) for i, r in enumerate(raw_rules))
    return Policy(
        rules=rules,
        on_inconclusive=on_inc,
        alpha=float(alpha),
        source=source,
        min_power=float(min_power),
        alpha_set="alpha" in data,
    )


def _parse_rule(index: int, raw: Any, source: str) -> Rule:
    """Validate one rule mapping; errors read ``policy.yaml: rule 2 (metric): ...``."""
    label = f"rule {index + 1}"
    if not isinstance(raw, dict):
        raise UserError(f"{source}: {label}: expected a mapping with 'metric' and a bound, got {_type(raw)}")
    metric = raw.get("metric")
    if isinstance(metric, str):
        label = f"{label} ({metric})"
    where = f"{source}: {label}"
    for key in raw:
        if key not in RULE_KEYS:
            raise UserError(f"{where}: unknown key {key!r}{_suggest(str(key), RULE_KEYS)}")
    if metric is None:
        raise UserError(f"{where}: missing 'metric' (suite.metric or suite.metric.category)")
    if not isinstance(metric, str):
        raise UserError(f"{where}: 'metric' must be a string like suite.metric, got {metric!r}")
    parts = metric.split(".", 2)
    if len(parts) < 2 or any(not p.strip() for p in parts) or metric != metric.strip():
        raise UserError(
            f"{where}: 'metric' must be suite.metric or suite.metric.category (parts may use *), got {metric!r}"
        )
    bounds = [b for b in BOUNDS if b in raw]
    if not bounds:
        raise UserError(f"{where}: missing bound; give one of {', '.join(BOUNDS)}")
    if len(bounds) > 1:
        raise UserError(f"{where}: give one bound per rule, got {' and '.join(bounds)} (write one rule each)")
    bound = bounds[0]
    value = raw[bound]
    if not _is_number(value):
        raise UserError(f"{where}: {bound!r} must be a number, got {value!r}")
    threshold = float(value)
    if bound in DELTA_BOUNDS and threshold < 0:
        raise UserError(f"{where}: {bound!r} must be >= 0 (the largest allowed change), got {value!r}")
    decide = raw.get("decide", "ci")
    if decide not in DECIDE_MODES:
        raise UserError(f"{where}: 'decide' must be one of {', '.join(DECIDE_MODES)}, got {decide!r}")
    min_n = raw.get("min_n")
    if min_n is not None and (isinstance(min_n, bool) or not isinstance(min_n, int) or min_n < 1):
        raise UserError(f"{where}: 'min_n' must be a positive integer, got {min_n!r}")
    name = raw.get("name")
    if name is not None and not isinstance(name, str):
        raise UserError(f"{where}: 'name' must be a string, got {name!r}")
    min_power = raw.get("min_power")
    if min_power is not None and (not _is_number(min_power) or not 0 < float(min_power) < 1):
        raise UserError(f"{where}: 'min_power' must be a number between 0 and 1, got {min_power!r}")
    corrected = raw.get("corrected", False)
    if not isinstance(corrected, bool):
        raise UserError(f"{where}: 'corrected' must be true or false, got {corrected!r}")
    if corrected and decide == "significant":
        raise UserError(
            f"{where}: 'corrected: true' works with decide: ci or point (a corrected rate has an interval, "
            "not a paired test)"
        )
    return Rule(
        index=index,
        metric=metric,
        bound=bound,
        threshold=threshold,
        decide=decide,
        min_n=min_n,
        name=name,
        min_power=float(min_power) if min_power is not None else None,
        corrected=corrected,
    )


def _is_number(x: Any) -> bool:
    """A finite int or float, not a bool (YAML ``yes`` is not a threshold)."""
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _type(x: Any) -> str:
    return "a list" if isinstance(x, list) else f"{type(x).__name__} {x!r}"


def _suggest(key: str, known: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(key, known, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f" ({hint}known: {', '.join(known)})"


def _num(x: float | None) -> str:
    """Compact number formatting shared by messages, JUnit and Markdown."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    return f"{x:.4g}"
