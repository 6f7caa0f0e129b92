"""A tiny HTML page builder: escaped tables, chart and table placeholders, and their data blocks."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any, TypeGuard

from rlhf_eval.report._fmt import ci_pair, esc, fmt, fmt_ci, num, script_json


class Page:
    """Collects figures and JS-table specs; each placeholder's data goes in one JSON script block."""

    def __init__(self) -> None:
        self.blocks: list[tuple[str, Any]] = []
        self.n_charts = 0
        self.n_tables = 0

    def chart(self, spec: dict[str, Any] | None, caption: str = "") -> str:
        """A chart placeholder (rendered by Plotly.newPlot), or "" when there is nothing to plot."""
        if spec is None:
            return ""
        self.n_charts += 1
        key = f"fig-{self.n_charts}"
        # The title goes above the chart as HTML (it wraps, prints well and never hides under the
        # mode bar). Titles are entity-escaped for plotly; unescape, then escape for HTML.
        layout = spec.setdefault("layout", {})
        title = layout.pop("title", None)
        text = title.get("text") if isinstance(title, dict) else None
        head = (
            f'<div class="fig-title">{esc(html.unescape(text))}</div>'
            if isinstance(text, str) and text
            else ""
        )
        margin = layout.setdefault("margin", {})
        margin["t"] = 44 if layout.get("showlegend", True) and len(spec.get("data", [])) > 1 else 24
        self.blocks.append((key, spec))
        cap = f"<figcaption>{esc(caption)}</figcaption>" if caption else ""
        return f'<figure class="fig">{head}<div class="chart" data-spec="{key}"></div>{cap}</figure>'

    def table(self, spec: dict[str, Any], empty: str = "No rows.") -> str:
        """A paginated, searchable table rendered in the browser with textContent."""
        if not spec.get("rows"):
            return f'<p class="muted">{esc(empty)}</p>'
        self.n_tables += 1
        key = f"tbl-{self.n_tables}"
        self.blocks.append((key, spec))
        n = len(spec["rows"])
        return (
            f'<div class="data-table" data-spec="{key}">'
            f'<noscript><p class="muted">{n:,} rows: this table needs JavaScript.</p></noscript></div>'
        )

    def data_html(self) -> str:
        """Every data block, each a ``<script type="application/json">`` that cannot be closed by data."""
        return "\n".join(
            f'<script type="application/json" id="{key}">{script_json(obj)}</script>'
            for key, obj in self.blocks
        )


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], cls: str = "") -> str:
    """An HTML table; ``headers`` are plain text (escaped here), cells are already-safe HTML."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    klass = f' class="{esc(cls)}"' if cls else ""
    return f'<div class="table-wrap"><table{klass}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def kv_table(pairs: Sequence[tuple[str, Any]]) -> str:
    """A two-column key/value table of plain values (escaped)."""
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{value_html(v)}</td></tr>" for k, v in pairs)
    return f'<div class="table-wrap"><table class="kv"><tbody>{rows}</tbody></table></div>'


def is_suppressed(v: Any) -> TypeGuard[Mapping[str, Any]]:
    """A privacy-suppressed cell: ``{"suppressed": true, ...}``."""
    return isinstance(v, Mapping) and v.get("suppressed") is True


def is_interval(v: Any) -> bool:
    """``{"value": x, "ci_low": .., "ci_high": ..}`` (ci may be missing)."""
    return (
        isinstance(v, Mapping)
        and "value" in v
        and (num(v.get("value")) is not None or v.get("value") is None)
    )


def suppressed_html(v: Mapping[str, Any]) -> str:
    """A clearly marked suppressed cell with its reason."""
    reason = v.get("reason") or "suppressed for privacy"
    return f'<span class="suppressed" title="{esc(reason)}">suppressed · {esc(reason)}</span>'


def value_text(v: Any) -> str:
    """Plain text for any value (for JS tables and Markdown)."""
    if v is None:
        return "–"
    if is_suppressed(v):
        return f"suppressed ({v.get('reason') or 'privacy'})"
    if is_interval(v):
        return fmt_ci(v.get("value"), ci_pair(v.get("ci_low"), v.get("ci_high")))
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, (int, float)):
        return fmt(v)
    if isinstance(v, str):
        return v
    if isinstance(v, Sequence):
        if len(v) == 2 and all(num(x) is not None for x in v):
            return f"[{fmt(v[0])}, {fmt(v[1])}]"
        items = [value_text(x) for x in list(v)[:20]]
        more = f", … ({len(v):,} in all)" if len(v) > 20 else ""
        return ", ".join(items) + more
    if isinstance(v, Mapping):
        items = [f"{k}: {value_text(x)}" for k, x in list(v.items())[:12]]
        more = ", …" if len(v) > 12 else ""
        return "; ".join(items) + more
    return str(v)


def value_html(v: Any) -> str:
    """Safe HTML for any value; suppressed cells are marked, intervals formatted."""
    if is_suppressed(v):
        return suppressed_html(v)
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return f'<span class="num">{esc(fmt(v))}</span>'
    return esc(value_text(v))


def section(sid: str, title: str, body: str) -> str:
    """A report section with an anchor for the table of contents."""
    return f'<section id="{esc(sid)}"><h2>{esc(title)}</h2>{body}</section>'
