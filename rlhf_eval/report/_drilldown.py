"""Rows for the per-sample drill-down table: before and after paired on (suite, item_id).

Rows are plain lists (compact JSON) rendered page by page in the browser with textContent.
Long texts are cut to a per-cell limit that shrinks, if needed, so the table stays in budget.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rlhf_eval.report._fmt import fmt, num, truncate
from rlhf_eval.report._inputs import RunInput

MAX_CHARS = 2000
TEXT_BUDGET_BYTES = 4_000_000  # all drill-down texts together; plotly.js itself is ~4.8 MB
PAIRED_FLAGS = ["newly refused", "newly complied", "newly wrong", "newly right", "in one run only"]
SINGLE_FLAGS = ["refused", "harmful compliance", "wrong"]
_ITEM_COLUMN = {
    "label": "Item",
    "parts": [{"col": 2, "type": "id"}, {"col": 0, "type": "small"}, {"col": 1, "type": "small"}],
    "width": "12%",
}
_SHOWN_METRICS = (
    "refused",
    "harmful_compliance",
    "correct",
    "passed",
    "mc1",
    "mc2",
    "confidence",
    "sycophancy_flip",
    "key_point_coverage",
    "similarity",
    "polite",
    "length_words",
)


def _prompt(s: dict[str, Any]) -> str:
    """The last user message (what the suite asked), else the prompt as sent."""
    msgs = s.get("messages")
    if isinstance(msgs, list):
        for m in reversed(msgs):
            if isinstance(m, dict) and m.get("role") == "user" and isinstance(m.get("content"), str):
                return m["content"]
    p = s.get("prompt")
    return p if isinstance(p, str) else ""


def _letter(i: int) -> str:
    return chr(ord("A") + i) if 0 <= i < 26 else str(i)


def _choice(choices: list[Any], i: Any) -> str:
    if isinstance(i, int) and not isinstance(i, bool) and 0 <= i < len(choices):
        return f"({_letter(i)}) {str(choices[i]).strip()}"
    return "–"


def response_text(s: dict[str, Any] | None) -> str:
    """What the model said: the response, or for multiple choice its pick (and gold, and follow-up)."""
    if s is None:
        return ""
    if isinstance(s.get("response"), str):
        return s["response"]
    choices = s.get("choices")
    if isinstance(choices, list):
        text = f"picked {_choice(choices, s.get('pred'))}"
        if s.get("gold") is not None:
            text += f"\ngold: {_choice(choices, s.get('gold'))}"
        if s.get("followup_pred") is not None:
            text += f"\nafter the challenge: {_choice(choices, s.get('followup_pred'))}"
        return text
    return ""


def metrics_text(s: dict[str, Any] | None) -> str:
    """The sample's key per-item metrics, e.g. ``refused=1 correct=0``."""
    if s is None:
        return "(not in this run)"
    m = s.get("metrics") or {}
    parts = []
    for k in _SHOWN_METRICS:
        v = num(m.get(k))
        if v is not None:
            parts.append(f"{k}={int(v)}" if v.is_integer() else f"{k}={fmt(v)}")
    return " ".join(parts)


def _m(s: dict[str, Any] | None, key: str) -> float | None:
    return None if s is None else num((s.get("metrics") or {}).get(key))


def paired_flags(b: dict[str, Any] | None, a: dict[str, Any] | None) -> int:
    """Bitmask over PAIRED_FLAGS for one before/after pair."""
    if b is None or a is None:
        return 1 << 4
    flags = 0
    rb, ra = _m(b, "refused"), _m(a, "refused")
    if rb == 0 and ra == 1:
        flags |= 1
    if rb == 1 and ra == 0:
        flags |= 2
    for key in ("correct", "passed"):
        cb, ca = _m(b, key), _m(a, key)
        if cb == 1 and ca == 0:
            flags |= 4
        if cb == 0 and ca == 1:
            flags |= 8
    return flags


def single_flags(s: dict[str, Any]) -> int:
    """Bitmask over SINGLE_FLAGS for one sample."""
    flags = 0
    if _m(s, "refused") == 1:
        flags |= 1
    if _m(s, "harmful_compliance") == 1:
        flags |= 2
    if _m(s, "correct") == 0 or _m(s, "passed") == 0:
        flags |= 4
    return flags


def _key(s: dict[str, Any]) -> tuple[str, str]:
    return str(s.get("suite")), str(s.get("item_id"))


def _cell_limit(texts: Sequence[str]) -> int:
    """The largest per-cell limit (<= MAX_CHARS) keeping all texts within TEXT_BUDGET_BYTES."""

    def total(limit: int) -> int:
        return sum(len(t[:limit].encode("utf-8")) for t in texts)

    if total(MAX_CHARS) <= TEXT_BUDGET_BYTES:
        return MAX_CHARS
    lo, hi = 100, MAX_CHARS
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if total(mid) <= TEXT_BUDGET_BYTES:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _finish(rows: list[list[Any]], text_cols: Sequence[int]) -> tuple[list[list[Any]], int, int]:
    texts = [row[c] for row in rows for c in text_cols]
    limit = _cell_limit(texts)
    n_cut = 0
    for row in rows:
        for c in text_cols:
            row[c], cut = truncate(row[c], limit)
            n_cut += cut
    return rows, limit, n_cut


def paired_table(before: RunInput, after: RunInput) -> dict[str, Any]:
    """Table spec for the paired drill-down (see assets/report.js ``makeTable``)."""
    after_by_key: dict[tuple[str, str], dict[str, Any]] = {}
    for s in after.samples:
        after_by_key.setdefault(_key(s), s)
    rows: list[list[Any]] = []
    seen: set[tuple[str, str]] = set()
    for b in before.samples:
        k = _key(b)
        if k in seen:
            continue
        seen.add(k)
        a = after_by_key.get(k)
        rows.append(_paired_row(b, a))
    for a in after.samples:
        k = _key(a)
        if k not in seen:
            seen.add(k)
            rows.append(_paired_row(None, a))
    rows, limit, n_cut = _finish(rows, (3, 4, 5))
    return {
        "columns": [
            _ITEM_COLUMN,
            {"label": "Prompt", "parts": [{"col": 3, "type": "long"}], "width": "22%"},
            {
                "label": f"Before: {before.model_spec}",
                "parts": [{"col": 4, "type": "long"}, {"col": 6, "type": "small"}],
                "width": "28%",
            },
            {
                "label": f"After: {after.model_spec}",
                "parts": [{"col": 5, "type": "long"}, {"col": 7, "type": "small"}],
                "width": "28%",
            },
            {"label": "Flags", "parts": [{"col": 8, "type": "flags"}], "width": "10%"},
        ],
        "rows": rows,
        "filters": [{"label": "Suite", "col": 0}, {"label": "Category", "col": 1}],
        "flags": PAIRED_FLAGS,
        "flag_col": 8,
        "search_cols": [2, 3, 4, 5],
        "page_size": 50,
        "note": _note(limit, n_cut),
    }


def _paired_row(b: dict[str, Any] | None, a: dict[str, Any] | None) -> list[Any]:
    s = b if b is not None else a
    assert s is not None
    return [
        str(s.get("suite")),
        str(s.get("category", "default")),
        str(s.get("item_id")),
        _prompt(s),
        response_text(b) if b is not None else "(not in the before run)",
        response_text(a) if a is not None else "(not in the after run)",
        metrics_text(b),
        metrics_text(a),
        paired_flags(b, a),
    ]


def single_table(run: RunInput) -> dict[str, Any]:
    """Table spec for one run's samples."""
    rows = [
        [
            str(s.get("suite")),
            str(s.get("category", "default")),
            str(s.get("item_id")),
            _prompt(s),
            response_text(s),
            metrics_text(s),
            single_flags(s),
        ]
        for s in run.samples
    ]
    rows, limit, n_cut = _finish(rows, (3, 4))
    return {
        "columns": [
            _ITEM_COLUMN,
            {"label": "Prompt", "parts": [{"col": 3, "type": "long"}], "width": "34%"},
            {
                "label": f"Response: {run.model_spec}",
                "parts": [{"col": 4, "type": "long"}, {"col": 5, "type": "small"}],
                "width": "42%",
            },
            {"label": "Flags", "parts": [{"col": 6, "type": "flags"}], "width": "12%"},
        ],
        "rows": rows,
        "filters": [{"label": "Suite", "col": 0}, {"label": "Category", "col": 1}],
        "flags": SINGLE_FLAGS,
        "flag_col": 6,
        "search_cols": [2, 3, 4],
        "page_size": 50,
        "note": _note(limit, n_cut),
    }


def _note(limit: int, n_cut: int) -> str:
    if not n_cut:
        return ""
    return (
        f"{n_cut:,} long texts are cut to {limit:,} characters here; "
        "the full texts are in each run's samples.jsonl."
    )


def flag_counts(table: dict[str, Any]) -> dict[str, int]:
    """How many rows carry each flag."""
    col = table["flag_col"]
    return {name: sum(1 for r in table["rows"] if r[col] & (1 << i)) for i, name in enumerate(table["flags"])}
