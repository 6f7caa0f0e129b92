"""The annotator-audit section, built from audit.json (already aggregated by ``rlhf-eval audit``).

Documented keys (rlhf_eval/audit) get tailored tables and charts: ``findings``, ``agreement``,
``annotators``, ``representation``, ``by_group``, ``group_differences``, ``within_vs_across``,
``whose_preferences``, ``welfare`` and ``suppressed``. Charts show single attributes;
intersections (``a&b``) are listed in folded, searchable tables. Any other key is rendered
generically, so new audit fields show up without a report change. Suppressed cells
(``{"suppressed": true, "reason": ...}``) are always marked as such, never shown as values.
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

ANNOTATOR_KEYS = ("annotators", "per_annotator", "annotator_reliability")
_PROVENANCE = {"schema", "generated", "versions", "params", "input", "command", "created", "provenance"}
_EFFECT_KEYS = ("effect_size", "effect", "cramers_v", "mean_difference", "difference", "delta")
_MAX_HTML_ROWS = 30
SEP = "&"
# per-annotator columns left out of the table (kept in audit.json): test internals and matrices
_NOISY_ANNOTATOR_COLUMNS = (
    "z",
    "p_value",
    "n_scored",
    "ds_confusion",
    "expected_agreement",
    "harm_time_share",
)


def _interval(v: Any) -> tuple[float | None, tuple[float, float] | None]:
    if isinstance(v, Mapping):
        return num(v.get("value")), ci_pair(v.get("ci_low"), v.get("ci_high"))
    return num(v), None


def _is_leaf(v: Any) -> bool:
    if is_suppressed(v) or is_interval(v) or not isinstance(v, (Mapping, list)):
        return True
    return isinstance(v, list) and len(v) <= 6 and all(not isinstance(x, (Mapping, list)) for x in v)


def _records(obj: Any) -> list[dict[str, Any]] | None:
    """A list of dicts as records, else None."""
    if isinstance(obj, list) and obj and all(isinstance(x, Mapping) for x in obj):
        return [dict(x) for x in obj]
    return None


def _columns(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    cols: list[str] = []
    for r in rows[:500]:
        for k, v in r.items():
            if k not in cols and _is_leaf(v):
                cols.append(k)
    return cols


def _label(col: str) -> str:
    return col.replace("_", " ")


def records_html(
    rows: Sequence[Mapping[str, Any]], page: Page, first: Sequence[str] = (), skip: Sequence[str] = ()
) -> str:
    """Records as an HTML table, or as a paginated, searchable JS table when there are many."""
    cols = [c for c in _columns(rows) if c not in skip and any(r.get(c) is not None for r in rows)]
    for name in reversed(first):
        if name in cols:
            cols.remove(name)
            cols.insert(0, name)
    if not cols:
        return ""
    if len(rows) <= _MAX_HTML_ROWS:
        return table([_label(c) for c in cols], [[value_html(r.get(c)) for c in cols] for r in rows])
    flag_names = [
        c
        for c in cols
        if any(r.get(c) is True for r in rows) and all(isinstance(r.get(c), (bool, type(None))) for r in rows)
    ]
    cols = [c for c in cols if c not in flag_names]  # booleans become filterable badges
    spec: dict[str, Any] = {
        "columns": [{"label": _label(c)} for c in cols],
        "rows": [[value_text(r.get(c)) for c in cols] for r in rows],
        "layout": "auto",
        "filters": [],
        "flags": [],
        "flag_col": None,
        "search_cols": list(range(len(cols))),
        "page_size": 25,
        "note": "",
    }
    if flag_names:  # shown right after the first (id) column, so flags are seen without scrolling
        spec["columns"] = [{"label": _label(c), "col": i} for i, c in enumerate(cols)]
        spec["columns"].insert(1, {"label": "Flags", "type": "flags", "col": len(cols)})
        for r, row in zip(rows, spec["rows"], strict=True):
            row.append(sum(1 << i for i, f in enumerate(flag_names) if r.get(f) is True))
        spec["flags"] = [_label(f) for f in flag_names]
        spec["flag_col"] = len(cols)
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
            return kv_table(list(obj.items())) if obj else ""
        if all(isinstance(v, Mapping) and all(_is_leaf(x) for x in v.values()) for v in obj.values()):
            rows = [
                {"key": k, **(dict(v) if not is_suppressed(v) else {"status": v})} for k, v in obj.items()
            ]
            return records_html(rows, page, first=["key"])
        if depth >= 3:
            return f'<p class="small">{esc(value_text(obj))}</p>'
        parts = []
        leaves = [(k, v) for k, v in obj.items() if _is_leaf(v)]
        if leaves:
            parts.append(kv_table(leaves))
        for k, v in obj.items():
            if not _is_leaf(v):
                h = min(6, 4 + depth)
                parts.append(f"<h{h}>{esc(_label(str(k)))}</h{h}>" + generic_html(v, page, depth + 1))
        return "".join(parts)
    return f"<p>{value_html(obj)}</p>"


def _groupings(obj: Any) -> tuple[list[tuple[str, Mapping[str, Any]]], list[tuple[str, Mapping[str, Any]]]]:
    """(single attributes, intersections) of a ``{grouping: {...}}`` mapping."""
    single: list[tuple[str, Mapping[str, Any]]] = []
    inter: list[tuple[str, Mapping[str, Any]]] = []
    if isinstance(obj, Mapping):
        for name, v in obj.items():
            if isinstance(v, Mapping):
                is_inter = v.get("intersection") is True or SEP in str(name)
                (inter if is_inter else single).append((str(name), v))
    return single, inter


def _group_rows(grouping: str, groups: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One record per group; a suppressed group is one marked row with no values."""
    rows = []
    for g, cell in groups.items():
        if is_suppressed(cell):
            rows.append({"grouping": grouping, "group": g, "status": cell})
        elif isinstance(cell, Mapping):
            rows.append(
                {"grouping": grouping, "group": g, **{k: v for k, v in cell.items() if k != "groups"}}
            )
        else:
            rows.append({"grouping": grouping, "group": g, "value": cell})
    return rows


def _suppressed_caption(groups: Mapping[str, Any], prefix: str = "") -> str:
    """ "Suppressed for privacy: a, b" for the groups of a chart that are hidden, else ""."""
    hidden = [f"{prefix}{g}" for g, cell in groups.items() if is_suppressed(cell)]
    return f"Suppressed for privacy (too few annotators): {', '.join(hidden)}." if hidden else ""


def _folded(title: str, body: str) -> str:
    return f"<details><summary>{esc(title)}</summary>{body}</details>" if body else ""


def _agreement(agreement: Mapping[str, Any], page: Page) -> str:
    labels, values, cis, body = [], [], [], []
    for coef, entry in agreement.items():
        if is_suppressed(entry):
            body.append([esc(_label(coef)), suppressed_html(entry), "", ""])
            continue
        if not isinstance(entry, Mapping):
            body.append([esc(_label(coef)), value_html(entry), "", ""])
            continue
        v, ci = _interval(entry)
        labels.append(_label(coef))
        values.append(v)
        cis.append(ci)
        extra = {
            k: x
            for k, x in entry.items()
            if k not in ("value", "ci_low", "ci_high", "n_items") and _is_leaf(x)
        }
        body.append(
            [
                esc(_label(coef)),
                esc(fmt_ci(v, ci)),
                esc(fmt(entry.get("n_items", entry.get("n")))),
                f'<span class="small">{esc("; ".join(f"{_label(k)}: {value_text(x)}" for k, x in extra.items()))}</span>',
            ]
        )
    chart = page.chart(
        figs.interval_dots(labels, values, cis, "Agreement coefficients with 95 % CIs", "coefficient")
    )
    return "<h3>Agreement</h3>" + chart + table(["Coefficient", "Value [95 % CI]", "Items", "Details"], body)


def _annotators(val: Any, page: Page) -> str:
    rows = _records(val) or (_records(val.get("rows")) if isinstance(val, Mapping) else None)
    if not rows:
        return "<h3>Per-annotator reliability</h3>" + generic_html(val, page)
    n_flag = sum(1 for r in rows if r.get("flagged") is True)
    n_welfare = sum(1 for r in rows if r.get("welfare_flagged") is True)
    lead = f"<p>{len(rows):,} annotators (pseudonymised ids); <strong>{n_flag}</strong> flagged as far below the pool"
    lead += (
        f", <strong>{n_welfare}</strong> flagged for harmful-content exposure.</p>"
        if any("welfare_flagged" in r for r in rows)
        else ".</p>"
    )
    # flagged first, then by ascending agreement, so the table opens on who needs a look
    key = next((k for k in ("loo_agreement", "agreement_loo", "ds_reliability") if k in rows[0]), None)
    ordered = sorted(
        rows,
        key=lambda r: (
            r.get("flagged") is not True,
            num(r.get(key)) if key and num(r.get(key)) is not None else 2.0,
        ),
    )
    return (
        "<h3>Per-annotator reliability</h3>"
        + lead
        + records_html(ordered, page, first=["id", "annotator_id"], skip=_NOISY_ANNOTATOR_COLUMNS)
    )


def _representation(rep: Any, page: Page) -> str:
    single, inter = _groupings(rep)
    if not single and not inter:
        return "<h3>Representation against the reference population</h3>" + generic_html(rep, page)
    charts, tests, rows = [], [], []
    for name, block in single + inter:
        groups = block.get("groups") if isinstance(block.get("groups"), Mapping) else block
        assert isinstance(groups, Mapping)
        rows.extend(_group_rows(name, groups))
        ref = block.get("reference")
        if isinstance(ref, Mapping):
            chi_raw = ref.get("chi_square")
            chi: Mapping[str, Any] = chi_raw if isinstance(chi_raw, Mapping) else {}
            tests.append(
                {
                    "grouping": name,
                    "tvd_annotators": ref.get("tvd_annotators"),
                    "tvd_labels": ref.get("tvd_labels"),
                    "chi_square": chi.get("statistic"),
                    "df": chi.get("df"),
                    "p_value": chi.get("p_value"),
                }
            )
        if (name, block) in single:
            names: list[str] = []
            series_vals: dict[str, dict[str, float]] = {}
            for g, cell in groups.items():
                if not isinstance(cell, Mapping) or is_suppressed(cell):
                    continue
                names.append(str(g))
                for k, v in cell.items():
                    if "share" in k and num(v) is not None:
                        series_vals.setdefault(k, {})[str(g)] = float(v)
            if names and series_vals:
                series = [(_label(k), [vals.get(g) for g in names]) for k, vals in series_vals.items()]
                charts.append(
                    page.chart(
                        figs.share_bars(names, series, f"{name}: shares of annotators, labels and reference")
                    )
                )
    out = ["<h3>Representation against the reference population</h3>"]
    if tests:
        out.append(records_html(tests, page, first=["grouping"]))
        out.append(
            '<p class="muted small">TVD: total variation distance from the reference shares; chi-square goodness of fit on annotator counts.</p>'
        )
    if charts:
        out.append(f'<div class="grid2">{"".join(charts)}</div>')
    single_rows = [r for r in rows if SEP not in str(r["grouping"])]
    inter_rows = [r for r in rows if SEP in str(r["grouping"])]
    out.append(
        _folded(
            f"Groups of single attributes ({len(single_rows)} rows)",
            records_html(single_rows, page, first=["grouping", "group"]),
        )
    )
    out.append(
        _folded(
            f"Intersections ({len(inter_rows)} rows)",
            records_html(inter_rows, page, first=["grouping", "group"]),
        )
    )
    return "".join(out)


def _by_group(by_group: Mapping[str, Any], page: Page) -> str:
    single, inter = _groupings(by_group)
    labels, values, cis = [], [], []
    for name, groups in single:
        for g, cell in groups.items():
            if (
                isinstance(cell, Mapping)
                and not is_suppressed(cell)
                and not is_suppressed(cell.get("krippendorff_alpha"))
            ):
                v, ci = _interval(cell.get("krippendorff_alpha"))
                if v is not None:
                    labels.append(f"{name}: {g}")
                    values.append(v)
                    cis.append(ci)
    hidden = [f"{name}: {g}" for name, groups in single for g, cell in groups.items() if is_suppressed(cell)]
    spec = figs.interval_dots(
        labels, values, cis, "Krippendorff's alpha within each group (single attributes)", "alpha"
    )
    caption = f"Suppressed for privacy (too few annotators): {', '.join(hidden)}." if hidden else ""
    chart = page.chart(spec, caption)
    single_rows = [r for name, groups in single for r in _group_rows(name, groups)]
    inter_rows = [r for name, groups in inter for r in _group_rows(name, groups)]
    return (
        "<h3>Agreement by group</h3>"
        + chart
        + records_html(single_rows, page, first=["grouping", "group", "status"])
        + _folded(
            f"Intersections ({len(inter_rows)} rows)",
            records_html(inter_rows, page, first=["grouping", "group", "status"]),
        )
    )


def _flatten_diffs(diffs: Any) -> list[dict[str, Any]]:
    """group_differences as records with a grouping and a group, from any of the usual shapes."""
    if isinstance(diffs, Mapping):
        for key in ("rows", "tests", "results"):
            if isinstance(diffs.get(key), list):
                return _flatten_diffs(diffs[key])
    if isinstance(diffs, list):
        out = []
        for d in diffs:
            if isinstance(d, Mapping):
                rec = dict(d)
                rec.setdefault("grouping", rec.pop("attribute", "?"))
                out.append(rec)
        return out
    out = []
    if isinstance(diffs, Mapping):
        for attr, groups in diffs.items():
            if isinstance(groups, list):
                out.extend({"grouping": attr, **g} for g in groups if isinstance(g, Mapping))
            elif isinstance(groups, Mapping):
                out.extend(
                    {"grouping": attr, "group": g, **c} for g, c in groups.items() if isinstance(c, Mapping)
                )
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
    ys: list[str] = []
    xs: list[str] = []
    cells: dict[tuple[str, str], tuple[float | None, str]] = {}
    for r in recs:
        if SEP in str(r.get("grouping")):
            continue  # intersections: in the table below
        y = f"{r.get('grouping')}: {r.get('group', '?')}"
        x = str(r.get("test") or r.get("effect_name") or "difference")
        if y not in ys:
            ys.append(y)
        if x not in xs:
            xs.append(x)
        if is_suppressed(r):
            cells[(y, x)] = (None, "suppressed")
            continue
        p = num(r.get("p_adjusted"))
        strength = None if p is None else min(10.0, -math.log10(max(p, 1e-300)))
        star = " *" if p is not None and p < 0.05 else ""
        name = str(r.get("effect_name") or "effect").replace("_", " ")
        cells[(y, x)] = (strength, f"{name} {fmt(_effect(r))}\np_adj {fmt_p(p)}{star}")
    spec = figs.heatmap(
        [[cells.get((y, x), (None, ""))[0] for x in xs] for y in ys],
        xs,
        ys,
        [[cells.get((y, x), (None, ""))[1] for x in xs] for y in ys],
        "Each group vs the rest on the same items: colour = −log10 of the BH-adjusted p; * p_adj < 0.05",
        "−log10 p_adj",
    )
    n_sig = sum(1 for r in recs if r.get("significant") is True)
    table_rows = [{k: v for k, v in r.items() if k != "category_shift"} for r in recs]
    return (
        "<h3>Do groups label differently?</h3>"
        + f"<p>{len(recs):,} tests, <strong>{n_sig}</strong> significant after Benjamini-Hochberg adjustment.</p>"
        + page.chart(spec, "Blank cells: no test, or the group is suppressed for privacy.")
        + _folded(
            f"All tests, intersections included ({len(recs)} rows)",
            records_html(table_rows, page, first=["grouping", "group", "test"]),
        )
    )


def _within_vs_across(wva: Any, page: Page) -> str:
    single, inter = _groupings(wva)
    if not single and not inter:
        return "<h3>Agreement within vs across groups</h3>" + generic_html(wva, page)
    head = [{"grouping": n, **{k: v for k, v in b.items() if k != "groups"}} for n, b in single + inter]
    groups = [
        r
        for n, b in single + inter
        if isinstance(b.get("groups"), Mapping)
        for r in _group_rows(n, b["groups"])
    ]
    names = [n for n, _ in single]
    within = [num(b.get("within_alpha")) for _, b in single]
    across = [num(b.get("across_alpha")) for _, b in single]
    chart = ""
    if any(v is not None for v in within):
        spec = figs.share_bars(
            names,
            [("within-group alpha", within), ("across-group alpha", across)],
            "Agreement within vs across groups",
        )
        if spec is not None:
            spec["layout"]["xaxis"]["title"] = {"text": "Krippendorff's alpha"}
            spec["layout"]["xaxis"].pop("range", None)
        chart = page.chart(spec)
    return (
        "<h3>Agreement within vs across groups</h3>"
        + chart
        + records_html(head, page, first=["grouping"])
        + _folded(
            f"Per group ({len(groups)} rows)",
            records_html(groups, page, first=["grouping", "group", "status"]),
        )
    )


def _whose(whose: Any, page: Page) -> str:
    if not isinstance(whose, Mapping):
        return ""
    out = ["<h3>Whose preferences does the reward model follow?</h3>"]
    if whose.get("available") is False:
        return (
            out[0]
            + f'<p class="muted">Not available: {esc(whose.get("reason", "no reward-model scores"))}.</p>'
        )
    if whose.get("definition"):
        out.append(f'<p class="muted small">{esc(whose["definition"])}.</p>')
    overall = whose.get("overall")
    if isinstance(overall, Mapping):
        v, ci = _interval(overall)
        out.append(f"<p>Overall: <strong>{esc(fmt_ci(v, ci))}</strong></p>")
    single, inter = _groupings(whose.get("by_group"))
    labels, values, cis = [], [], []
    for name, groups in single:
        for g, cell in groups.items():
            if isinstance(cell, Mapping) and not is_suppressed(cell):
                v, ci = _interval(cell)
                labels.append(f"{name}: {g}")
                values.append(v)
                cis.append(ci)
    out.append(
        page.chart(
            figs.interval_dots(
                labels, values, cis, "Reward model's agreement with each group's majority", "agreement"
            )
        )
    )
    rows = [r for n, g in single + inter for r in _group_rows(n, g)]
    out.append(
        _folded(
            f"All groups ({len(rows)} rows)", records_html(rows, page, first=["grouping", "group", "status"])
        )
    )
    return "".join(out)


def _welfare(welfare: Any, page: Page) -> str:
    out = ["<h3>Annotator welfare and exposure</h3>"]
    if not isinstance(welfare, Mapping):
        return out[0] + generic_html(welfare, page)
    if welfare.get("available") is False:
        return out[0] + f'<p class="muted">Not available: {esc(welfare.get("reason", "no harm column"))}.</p>'
    leaves = [(k, v) for k, v in welfare.items() if _is_leaf(v) and k != "available"]
    out.append(kv_table(leaves))
    single, inter = _groupings(welfare.get("by_group"))
    rows = [r for n, g in single for r in _group_rows(n, g)]
    irows = [r for n, g in inter for r in _group_rows(n, g)]
    out.append(records_html(rows, page, first=["grouping", "group", "status"]))
    out.append(
        _folded(
            f"Intersections ({len(irows)} rows)",
            records_html(irows, page, first=["grouping", "group", "status"]),
        )
    )
    rest = {k: v for k, v in welfare.items() if not _is_leaf(v) and k != "by_group"}
    if rest:
        out.append(generic_html(rest, page))
    out.append(
        '<p class="muted small">Per-annotator exposure is in the per-annotator table (flag: welfare flagged).</p>'
    )
    return "".join(out)


def _suppressed(sup: Any) -> str:
    if not isinstance(sup, Mapping):
        return ""
    raw = sup.get("cells")
    cells: list[Any] = raw if isinstance(raw, list) else []
    items = ", ".join(f"{c.get('grouping')}={c.get('group')}" for c in cells[:400] if isinstance(c, Mapping))
    more = f" … ({len(cells):,} in all)" if len(cells) > 400 else ""
    return (
        f'<p><span class="suppressed">suppressed</span> {esc(fmt(sup.get("n_cells", len(cells))))} group cells have fewer than '
        f"k = {esc(fmt(sup.get('k')))} annotators and are hidden everywhere (complementary suppression included).</p>"
        + _folded("Which cells", f'<p class="small">{esc(items + more)}</p>')
    )


def audit_section(audit: Mapping[str, Any], page: Page) -> str:
    """The whole annotator-audit section."""
    parts = []
    inp = audit.get("input") if isinstance(audit.get("input"), Mapping) else audit
    counts = [
        (k, inp.get(k))
        for k in ("n_ratings", "n_labels", "n_items", "n_annotators", "label_kind")
        if isinstance(inp, Mapping) and inp.get(k) is not None
    ]
    if counts:
        parts.append(
            "<p>"
            + " · ".join(f"{esc(_label(k))}: <strong>{esc(value_text(v))}</strong>" for k, v in counts)
            + "</p>"
        )
    findings = audit.get("findings")
    if isinstance(findings, list) and findings:
        items = [f"<li>{esc(f)}</li>" for f in findings]
        more = (
            _folded(f"{len(items) - 8} more findings", "<ul>" + "".join(items[8:]) + "</ul>")
            if len(items) > 8
            else ""
        )
        parts.append(
            f'<div class="callout"><strong>Findings</strong><ul>{"".join(items[:8])}</ul>{more}</div>'
        )
    warnings = audit.get("warnings")
    if isinstance(warnings, list) and warnings:
        parts.append('<div class="note">' + "<br>".join(esc(w) for w in warnings) + "</div>")
    parts.append(
        '<p class="muted small">Groups or intersections with fewer annotators than the privacy threshold are '
        '<span class="suppressed">suppressed</span>: never shown as values. Annotator ids are pseudonymised by the audit.</p>'
    )
    done = set(_PROVENANCE) | {
        "findings",
        "warnings",
        "n_labels",
        "n_items",
        "n_annotators",
        "min_group_size",
    }
    handlers = [
        ("suppressed", lambda v: _suppressed(v)),
        ("agreement", lambda v: _agreement(v, page) if isinstance(v, Mapping) else generic_html(v, page)),
        *[(k, lambda v: _annotators(v, page)) for k in ANNOTATOR_KEYS],
        ("representation", lambda v: _representation(v, page)),
        ("by_group", lambda v: _by_group(v, page) if isinstance(v, Mapping) else generic_html(v, page)),
        ("group_differences", lambda v: _group_differences(v, page)),
        ("within_vs_across", lambda v: _within_vs_across(v, page)),
        ("whose_preferences", lambda v: _whose(v, page)),
        ("welfare", lambda v: _welfare(v, page)),
    ]
    for key, handler in handlers:
        if key in audit and key not in done:
            parts.append(handler(audit[key]))
            done.add(key)
    for key, val in audit.items():
        if key not in done:
            parts.append(f"<h3>{esc(_label(key).capitalize())}</h3>" + generic_html(val, page))
    return section("audit", "Annotator audit", "".join(parts))
