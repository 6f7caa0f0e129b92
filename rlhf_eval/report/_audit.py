"""The annotator-audit section, built from audit.json (already aggregated by ``rlhf-eval audit``).

Documented keys get tailored tables and charts: ``agreement``, ``by_group``, per-annotator
rows, ``representation``, ``group_differences``, ``within_vs_across`` and ``welfare``. Any
other key is rendered generically, so new audit fields show up without a report change.
Suppressed cells (``{"suppressed": true, "reason": ...}``) are always marked as such.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from rlhf_eval.report import _figures as figs
from rlhf_eval.report._fmt import ci_pair, esc, fmt, fmt_ci, fmt_p, num
from rlhf_eval.report._page import (
    Page,
    is_interval,
    is_suppressed,
    kv_table,
    section,
    suppressed_html,
    table,
    value_html,
    value_text,
)

ANNOTATOR_KEYS = ("annotators", "per_annotator", "annotator_reliability", "reliability")
_SKIP = {"schema", "command", "params", "versions", "inputs", "created", "provenance"}
_EFFECT_KEYS = ("effect_size", "effect", "cramers_v", "mean_difference", "difference", "delta", "statistic")
_MAX_HTML_ROWS = 30


def _interval(v: Any) -> tuple[float | None, tuple[float, float] | None]:
    if isinstance(v, Mapping):
        return num(v.get("value")), ci_pair(v.get("ci_low"), v.get("ci_high"))
    return num(v), None


def _is_leaf(v: Any) -> bool:
    if is_suppressed(v) or is_interval(v) or not isinstance(v, (Mapping, list)):
        return True
    return isinstance(v, list) and len(v) <= 4 and all(not isinstance(x, (Mapping, list)) for x in v)


def _records(obj: Any) -> list[dict[str, Any]] | None:
    """A list of flat-ish records: a list of dicts, or a dict of dicts keyed by id/name."""
    if isinstance(obj, list) and obj and all(isinstance(x, Mapping) for x in obj):
        return [dict(x) for x in obj]
    return None


def _columns(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    cols: list[str] = []
    for r in rows[:200]:
        for k, v in r.items():
            if k not in cols and _is_leaf(v):
                cols.append(k)
    return cols


def records_html(rows: Sequence[Mapping[str, Any]], page: Page, first: str | None = None) -> str:
    """Records as an HTML table, or as a paginated JS table when there are many."""
    cols = _columns(rows)
    if first and first in cols:
        cols.remove(first)
        cols.insert(0, first)
    if not cols:
        return ""
    if len(rows) <= _MAX_HTML_ROWS:
        return table(
            [c.replace("_", " ") for c in cols], [[value_html(r.get(c)) for c in cols] for r in rows]
        )
    flag_names = [c for c in cols if all(isinstance(r.get(c), bool) or r.get(c) is None for r in rows[:200])]
    spec = {
        "columns": [{"label": c.replace("_", " ")} for c in cols]
        + ([{"label": "Flags", "type": "flags"}] if flag_names else []),
        "rows": [
            [value_text(r.get(c)) for c in cols]
            + ([sum(1 << i for i, f in enumerate(flag_names) if r.get(f) is True)] if flag_names else [])
            for r in rows
        ],
        "filters": [],
        "flags": flag_names,
        "flag_col": len(cols) if flag_names else None,
        "search_cols": list(range(len(cols))),
        "page_size": 25,
        "note": "",
    }
    return page.table(spec)


def generic_html(obj: Any, page: Page, depth: int = 0) -> str:
    """Any JSON value as nested tables (records, key/value pairs), suppressed cells marked."""
    if is_suppressed(obj):
        return f"<p>{suppressed_html(obj)}</p>"
    recs = _records(obj)
    if recs is not None:
        return records_html(recs, page)
    if isinstance(obj, Mapping):
        if all(_is_leaf(v) for v in obj.values()):
            return kv_table(list(obj.items()))
        if all(isinstance(v, Mapping) and all(_is_leaf(x) for x in v.values()) for v in obj.values()):
            rows = [{"": k, **(v if not is_suppressed(v) else {"status": v})} for k, v in obj.items()]
            return records_html(rows, page, first="")
        if depth >= 3:
            return f'<p class="small">{esc(value_text(obj))}</p>'
        parts = []
        leaves = [(k, v) for k, v in obj.items() if _is_leaf(v)]
        if leaves:
            parts.append(kv_table(leaves))
        for k, v in obj.items():
            if not _is_leaf(v):
                parts.append(f"<h{min(6, 4 + depth)}>{esc(str(k).replace('_', ' '))}</h{min(6, 4 + depth)}>")
                parts.append(generic_html(v, page, depth + 1))
        return "".join(parts)
    return f"<p>{value_html(obj)}</p>"


def _agreement(agreement: Mapping[str, Any], page: Page) -> str:
    labels, values, cis, body = [], [], [], []
    for coef, entry in agreement.items():
        if is_suppressed(entry):
            body.append([esc(coef), suppressed_html(entry), "", ""])
            continue
        if not isinstance(entry, Mapping):
            body.append([esc(coef), value_html(entry), "", ""])
            continue
        v, ci = _interval(entry)
        labels.append(coef.replace("_", " "))
        values.append(v)
        cis.append(ci)
        extra = {k: x for k, x in entry.items() if k not in ("value", "ci_low", "ci_high") and _is_leaf(x)}
        body.append(
            [
                esc(coef.replace("_", " ")),
                esc(fmt_ci(v, ci)),
                esc(fmt(entry.get("n_items", entry.get("n")))),
                f'<span class="small">{esc(value_text(extra) if extra else "")}</span>',
            ]
        )
    chart = page.chart(
        figs.interval_dots(labels, values, cis, "Agreement coefficients with 95 % CIs", "coefficient")
    )
    return (
        "<h3>Agreement</h3>" + chart + table(["Coefficient", "Value [95 % CI]", "n items", "Details"], body)
    )


def _by_group(by_group: Mapping[str, Any], page: Page) -> str:
    labels, values, cis, body = [], [], [], []
    for attr, groups in by_group.items():
        if not isinstance(groups, Mapping):
            continue
        for group, cell in groups.items():
            if is_suppressed(cell):
                body.append([esc(attr), esc(group), suppressed_html(cell), "", ""])
                continue
            if not isinstance(cell, Mapping):
                continue
            alpha = cell.get("krippendorff_alpha")
            if is_suppressed(alpha):
                body.append([esc(attr), esc(group), suppressed_html(alpha), "", ""])
                continue
            v, ci = _interval(alpha)
            labels.append(f"{attr}: {group}")
            values.append(v)
            cis.append(ci)
            others = {
                k: x
                for k, x in cell.items()
                if k != "krippendorff_alpha" and _is_leaf(x) and not k.startswith("n_")
            }
            body.append(
                [
                    esc(attr),
                    esc(group),
                    esc(fmt_ci(v, ci)),
                    esc(
                        " · ".join(
                            f"{k[2:]} {fmt(x)}"
                            for k, x in cell.items()
                            if k.startswith("n_") and num(x) is not None
                        )
                    ),
                    f'<span class="small">{esc(value_text(others) if others else "")}</span>',
                ]
            )
    chart = page.chart(
        figs.interval_dots(labels, values, cis, "Krippendorff's alpha within each group", "alpha")
    )
    return (
        "<h3>Agreement by group</h3>"
        + chart
        + table(["Attribute", "Group", "Krippendorff's alpha [95 % CI]", "Counts", "Other"], body)
    )


def _flatten_diffs(diffs: Any) -> list[dict[str, Any]]:
    """group_differences as records with an attribute and a group, from any of the usual shapes."""
    if isinstance(diffs, Mapping):
        for key in ("rows", "tests", "results"):
            if isinstance(diffs.get(key), list):
                return _flatten_diffs(diffs[key])
    if isinstance(diffs, list):
        return [dict(d) for d in diffs if isinstance(d, Mapping)]
    out: list[dict[str, Any]] = []
    if isinstance(diffs, Mapping):
        for attr, groups in diffs.items():
            if isinstance(groups, list):
                out.extend({"attribute": attr, **g} for g in groups if isinstance(g, Mapping))
            elif isinstance(groups, Mapping):
                for group, cell in groups.items():
                    if isinstance(cell, Mapping):
                        out.append({"attribute": attr, "group": group, **cell})
    return out


def _effect(rec: Mapping[str, Any]) -> float | None:
    for k in _EFFECT_KEYS:
        if k in rec:
            v, _ = _interval(rec[k])
            if v is not None:
                return v
    return None


def _group_differences(diffs: Any, page: Page) -> str:
    recs = _flatten_diffs(diffs)
    if not recs:
        return "<h3>Do groups label differently?</h3>" + generic_html(diffs, page)
    rows: list[str] = []
    groups: list[str] = []
    cells: dict[tuple[str, str], tuple[float | None, str]] = {}
    for r in recs:
        attr = str(r.get("attribute", r.get("grouping", "?")))
        if r.get("test") is not None:
            attr = f"{attr} · {r['test']}"
        group = str(r.get("group", "?"))
        if attr not in rows:
            rows.append(attr)
        if group not in groups:
            groups.append(group)
        if is_suppressed(r) or r.get("suppressed") is True:
            cells[(attr, group)] = (None, "suppressed")
            continue
        p = num(r.get("p_adjusted"))
        eff = _effect(r)
        strength = None if p is None else min(10.0, -math.log10(max(p, 1e-300)))
        star = " *" if p is not None and p < 0.05 else ""
        cells[(attr, group)] = (strength, f"effect {fmt(eff)}\np_adj {fmt_p(p)}{star}")
    z = [[cells.get((a, g), (None, ""))[0] for g in groups] for a in rows]
    text = [[cells.get((a, g), (None, ""))[1] for g in groups] for a in rows]
    spec = figs.heatmap(
        z,
        groups,
        rows,
        text,
        "Group vs rest on the same items: colour = −log10(BH-adjusted p); text = effect size and p_adj (* < 0.05)",
        "−log10 p_adj",
    )
    return (
        "<h3>Do groups label differently?</h3>"
        + page.chart(spec, "Blank cells: no test for that group, or suppressed for privacy (listed below).")
        + records_html(recs, page)
    )


def _representation(rep: Any, page: Page) -> str:
    parts = ["<h3>Representation against the reference population</h3>"]
    charts = []
    if isinstance(rep, Mapping):
        for attr, groups in rep.items():
            if not isinstance(groups, Mapping):
                continue
            inner = groups.get("groups")
            gmap: Mapping[str, Any] = inner if isinstance(inner, Mapping) else groups
            names: list[str] = []
            series_vals: dict[str, dict[str, float]] = {}
            for g, cell in gmap.items():
                if not isinstance(cell, Mapping) or is_suppressed(cell):
                    continue
                names.append(str(g))
                for k, v in cell.items():
                    if "share" in k and num(v) is not None:
                        series_vals.setdefault(k, {})[str(g)] = float(v)
            if names and series_vals:
                series = [
                    (k.replace("_", " "), [vals.get(g) for g in names]) for k, vals in series_vals.items()
                ]
                charts.append(page.chart(figs.share_bars(names, series, f"{attr}: shares")))
    if charts:
        parts.append(f'<div class="grid2">{"".join(charts)}</div>')
    parts.append(generic_html(rep, page))
    return "".join(parts)


def audit_section(audit: Mapping[str, Any], page: Page) -> str:
    """The whole annotator-audit section."""
    parts = []
    counts = [
        (k, audit[k])
        for k in ("n_labels", "n_items", "n_annotators", "level", "min_group_size")
        if k in audit
    ]
    if counts:
        parts.append(
            "<p>"
            + " · ".join(
                f"{esc(k.replace('_', ' '))}: <strong>{esc(value_text(v))}</strong>" for k, v in counts
            )
            + "</p>"
        )
    parts.append(
        '<p class="muted small">Groups or intersections with fewer annotators than the privacy threshold are '
        '<span class="suppressed">suppressed</span> and never shown. Annotator ids are pseudonymised by the audit.</p>'
    )
    done = set(k for k, _ in counts) | _SKIP
    if isinstance(audit.get("agreement"), Mapping):
        parts.append(_agreement(audit["agreement"], page))
        done.add("agreement")
    for key in ANNOTATOR_KEYS:
        if key in audit and key not in done:
            val = audit[key]
            rows = _records(val) or (_records(val.get("rows")) if isinstance(val, Mapping) else None)
            parts.append("<h3>Per-annotator reliability</h3>")
            parts.append(records_html(rows, page) if rows else generic_html(val, page))
            if isinstance(val, Mapping) and not rows:
                pass
            elif isinstance(val, Mapping):
                rest = {k: v for k, v in val.items() if k != "rows"}
                if rest:
                    parts.append(generic_html(rest, page))
            done.add(key)
    if "representation" in audit:
        parts.append(_representation(audit["representation"], page))
        done.add("representation")
    if isinstance(audit.get("by_group"), Mapping):
        parts.append(_by_group(audit["by_group"], page))
        done.add("by_group")
    if "group_differences" in audit:
        parts.append(_group_differences(audit["group_differences"], page))
        done.add("group_differences")
    if "within_vs_across" in audit:
        parts.append(
            "<h3>Agreement within vs across groups</h3>" + generic_html(audit["within_vs_across"], page)
        )
        done.add("within_vs_across")
    if "welfare" in audit:
        parts.append("<h3>Annotator welfare and exposure</h3>" + generic_html(audit["welfare"], page))
        done.add("welfare")
    for key, val in audit.items():
        if key not in done:
            parts.append(f"<h3>{esc(key.replace('_', ' ').capitalize())}</h3>" + generic_html(val, page))
    return section("audit", "Annotator audit", "".join(parts))
