"""Formatting and escaping helpers: numbers with intervals, significance in words, safe HTML/JSON."""

from __future__ import annotations

import html
import json
import math
from collections.abc import Sequence
from typing import Any

# Okabe-Ito: distinguishable under the common colour-vision deficiencies.
BEFORE = "#E69F00"
AFTER = "#0072B2"
BETTER = "#009E73"
WORSE = "#D55E00"
NEUTRAL = "#7F7F7F"
SINGLE = "#0072B2"

_METRIC_NAMES = {
    "mc1": "MC1",
    "mc2": "MC2",
    "ece": "ECE (calibration error)",
    "brier": "Brier score",
    "sycophancy_flip_rate": "Sycophancy flip rate",
    "refusal_rate": "Refusal rate",
    "harmful_compliance_rate": "Harmful-compliance rate",
}


def esc(value: Any) -> str:
    """HTML-escape any value (text and attribute safe: quotes escaped too)."""
    return html.escape("" if value is None else str(value), quote=True)


def script_json(obj: Any) -> str:
    """JSON for a ``<script type="application/json">`` block that can never close its tag.

    ``<``, ``>`` and ``&`` are written as ``\\u003c`` etc. (valid inside JSON strings, the only
    place they can occur) and U+2028/U+2029 are escaped for old JS parsers.
    """
    text = json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return escape_json_text(text)


def escape_json_text(text: str) -> str:
    """Escape an existing JSON text so it is inert inside a script element."""
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def num(x: Any) -> float | None:
    """``x`` as a finite float, or None for null, bools, strings and NaN/inf."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    f = float(x)
    return f if math.isfinite(f) else None


def ci_pair(lo: Any, hi: Any) -> tuple[float, float] | None:
    """A (low, high) interval when both ends are numbers, else None."""
    a, b = num(lo), num(hi)
    return (a, b) if a is not None and b is not None else None


def ci_of(seq: Any) -> tuple[float, float] | None:
    """An interval from a two-element list such as ``delta_ci``; None when absent or malformed."""
    if isinstance(seq, Sequence) and not isinstance(seq, str) and len(seq) == 2:
        return ci_pair(seq[0], seq[1])
    return None


def _decimals(a: float) -> int | None:
    """Decimals that show ``a`` (a magnitude) with two or three significant digits; None = scientific."""
    if a >= 100:
        return 0
    if a >= 10:
        return 1
    if a >= 0.095 or a == 0:
        return 2
    if a >= 0.001:
        return 3
    return None


def _with(v: float, decimals: int | None, signed: bool) -> str:
    sign = "+" if signed and v > 0 else ""
    if decimals is None:
        return f"{sign}{v:.1e}"
    return f"{sign}{v:,.{decimals}f}"


def fmt(x: Any, signed: bool = False) -> str:
    """A number with sensible precision ("0.93", "0.012", "1,234"); "–" when missing."""
    if isinstance(x, int) and not isinstance(x, bool):
        return f"{x:+,d}" if signed and x > 0 else f"{x:,d}"
    v = num(x)
    if v is None:
        return "–"
    if v == 0:
        return "0"
    if abs(v) >= 1000 or (v.is_integer() and abs(v) >= 10):
        return _with(v, 0, signed)
    return _with(v, _decimals(abs(v)), signed)


def fmt_ci(value: Any, ci: tuple[float, float] | None, signed: bool = False) -> str:
    """ "0.93 [0.88, 0.96]": the three numbers share one precision; the interval is left out when unknown."""
    v = num(value)
    if ci is None or v is None:
        return fmt(value, signed)
    scale = max(abs(v), abs(ci[0]), abs(ci[1]))
    d = _decimals(scale)
    if d is not None and scale < 0.095 and scale > 0:
        d = 3
    return f"{_with(v, d, signed)} [{_with(ci[0], d, signed)}, {_with(ci[1], d, signed)}]"


def fmt_p(p: Any) -> str:
    """A p-value: "<0.001", "0.034", or "–"."""
    v = num(p)
    if v is None:
        return "–"
    if v < 0.001:
        return "<0.001"
    return f"{v:.3f}"


def fmt_int(x: Any) -> str:
    """An integer count with thousands separators, or "–"."""
    v = num(x)
    return "–" if v is None else f"{round(v):,}"


def metric_label(metric: str, suite: str | None = None) -> str:
    """A readable metric name: ``refusal_rate`` on ``overrefusal`` is the over-refusal rate."""
    if suite == "overrefusal" and metric == "refusal_rate":
        return "Over-refusal rate"
    if metric in _METRIC_NAMES:
        return _METRIC_NAMES[metric]
    words = metric.replace("_", " ").strip()
    return words[:1].upper() + words[1:] if words else metric


def direction(delta: Any, higher_is_better: Any) -> str:
    """ "better", "worse" or "neutral" for a change, by the metric's direction."""
    d = num(delta)
    if d is None or d == 0 or higher_is_better is None:
        return "neutral"
    good = d > 0 if higher_is_better else d < 0
    return "better" if good else "worse"


def significance_words(significant: Any, delta: Any, higher_is_better: Any) -> tuple[str, str]:
    """(words, css class) saying whether a change is significant and in which direction."""
    if significant is None:
        return "not tested", "na"
    if not significant:
        return "no significant change", "neutral"
    way = direction(delta, higher_is_better)
    if way == "better":
        return "significant improvement", "better"
    if way == "worse":
        return "significant regression", "worse"
    return "significant change", "neutral"


def suite_sort_key(suite: str) -> tuple[int, str]:
    """Order suites as the scorecard reads: harmlessness, over-refusal, helpfulness, honesty, capability."""
    order = ["harmlessness", "overrefusal", "helpfulness", "honesty", "capability"]
    return (order.index(suite) if suite in order else len(order), suite)


def truncate(text: str, limit: int) -> tuple[str, bool]:
    """``text`` cut to ``limit`` characters with a marker, and whether it was cut."""
    if len(text) <= limit:
        return text, False
    return text[:limit] + f" … [truncated: {len(text):,} characters in all]", True
