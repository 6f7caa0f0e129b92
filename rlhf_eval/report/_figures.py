"""Plotly figure specs (validated by plotly, serialised once, rendered by Plotly.newPlot in the page).

Every figure is built from aggregates, never from raw rows, so its JSON stays small. Text that
comes from data is HTML-escaped because plotly interprets a few tags (``<a>``, ``<b>``...) in
labels; plotly decodes the entities back, so the label shows as written.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from typing import Any

from rlhf_eval.report._analysis import MetricRow
from rlhf_eval.report._fmt import (
    AFTER,
    BEFORE,
    BETTER,
    NEUTRAL,
    SINGLE,
    WORSE,
    ci_of,
    fmt_ci,
    metric_label,
    num,
    significance_words,
)

FONT = {"family": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", "size": 13, "color": "#222"}
_CLASS_COLOUR = {"better": BETTER, "worse": WORSE, "neutral": NEUTRAL, "na": NEUTRAL}


def t(value: Any) -> str:
    """Data text made inert for plotly's pseudo-HTML labels."""
    return html.escape(str(value), quote=False)


def figure(data: list[dict[str, Any]], layout: dict[str, Any]) -> dict[str, Any]:
    """A plotly-validated ``{"data", "layout"}`` spec with our fonts and no bulky template."""
    import plotly.graph_objects as go

    base: dict[str, Any] = {
        "font": FONT,
        "margin": {"l": 60, "r": 20, "t": 40, "b": 50},
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "hoverlabel": {"font": {"family": FONT["family"]}},
        "legend": {"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0, "xanchor": "left"},
    }
    base.update(layout)
    fig = go.Figure(data=data, layout=base)
    spec: dict[str, Any] = json.loads(fig.to_json())
    spec.get("layout", {}).pop("template", None)
    return spec


def _axis(title: str, **extra: Any) -> dict[str, Any]:
    ax = {"title": {"text": title}, "gridcolor": "#e5e5e5", "zerolinecolor": "#999", "automargin": True}
    ax.update(extra)
    return ax


def _err(values: Sequence[float | None], cis: Sequence[tuple[float, float] | None]) -> dict[str, Any]:
    plus = [(c[1] - v) if (c is not None and v is not None) else 0 for v, c in zip(values, cis, strict=True)]
    minus = [(v - c[0]) if (c is not None and v is not None) else 0 for v, c in zip(values, cis, strict=True)]
    return {
        "type": "data",
        "array": [max(p, 0.0) for p in plus],
        "arrayminus": [max(m, 0.0) for m in minus],
        "visible": True,
        "thickness": 1.5,
    }


def headline_forest(rows: Sequence[MetricRow]) -> dict[str, Any] | None:
    """Every headline delta with its CI, oriented so that right is better (hollow: no direction)."""
    # rates and scores on a 0-1 scale share one axis; descriptive metrics (length) would swamp it
    items = [
        r
        for r in rows
        if r.delta is not None
        and r.higher_is_better is not None
        and all(v is None or abs(v) <= 1.0 for v in (r.before, r.after))
    ]
    if not items:
        return None
    ys, xs, cis, colours, hover = [], [], [], [], []
    for r in reversed(items):
        sign = -1.0 if r.higher_is_better is False else 1.0
        d = sign * (r.delta or 0.0)
        ci = (sign * r.delta_ci[0], sign * r.delta_ci[1]) if r.delta_ci else None
        if ci and ci[0] > ci[1]:
            ci = (ci[1], ci[0])
        words, cls = significance_words(r.significant, r.delta, r.higher_is_better)
        ys.append(t(f"{r.suite} · {metric_label(r.metric, r.suite)}"))
        xs.append(d)
        cis.append(ci)
        colours.append(_CLASS_COLOUR[cls])
        hover.append(t(f"Δ {fmt_ci(r.delta, r.delta_ci, signed=True)} — {words}"))
    data = [
        {
            "type": "scatter",
            "mode": "markers",
            "x": xs,
            "y": ys,
            "error_x": _err(xs, cis),
            "marker": {"color": colours, "size": 10, "symbol": "diamond"},
            "text": hover,
            "hovertemplate": "%{y}<br>%{text}<extra></extra>",
            "showlegend": False,
        }
    ]
    layout = {
        "title": {"text": "Change after vs before, oriented so that right is better"},
        "xaxis": _axis("Δ (sign flipped for lower-is-better metrics)", zeroline=True, zerolinewidth=2),
        "yaxis": _axis("", type="category"),
        "height": 140 + 28 * len(items),
        "margin": {"l": 60, "r": 20, "t": 50, "b": 50},
    }
    return figure(data, layout)


def pareto(hc: MetricRow | None, orr: MetricRow | None) -> dict[str, Any] | None:
    """Harmful-compliance rate (y) against over-refusal rate (x), before and after; lower-left is better."""
    if hc is None or orr is None:
        return None
    data = []
    pts = []
    for name, colour, hv, hci, ov, oci in (
        ("before", BEFORE, hc.before, hc.before_ci, orr.before, orr.before_ci),
        ("after", AFTER, hc.after, hc.after_ci, orr.after, orr.after_ci),
    ):
        if hv is None or ov is None:
            continue
        pts.append((ov, hv))
        data.append(
            {
                "type": "scatter",
                "mode": "markers+text",
                "name": name,
                "x": [ov],
                "y": [hv],
                "text": [name],
                "textposition": "top right",
                "error_x": _err([ov], [oci]),
                "error_y": _err([hv], [hci]),
                "marker": {"color": colour, "size": 14, "symbol": "circle" if name == "before" else "square"},
                "hovertemplate": f"{name}<br>over-refusal %{{x:.3f}}<br>harmful compliance %{{y:.3f}}<extra></extra>",
            }
        )
    if not data:
        return None
    annotations = []
    if len(pts) == 2:
        annotations.append(
            {
                "x": pts[1][0],
                "y": pts[1][1],
                "ax": pts[0][0],
                "ay": pts[0][1],
                "xref": "x",
                "yref": "y",
                "axref": "x",
                "ayref": "y",
                "showarrow": True,
                "arrowhead": 3,
                "arrowwidth": 1.5,
                "arrowcolor": "#555",
                "text": "",
            }
        )
    top = max([1e-9, *[p for _, p in pts], *[c[1] for c in (hc.before_ci, hc.after_ci) if c]])
    right = max([1e-9, *[p for p, _ in pts], *[c[1] for c in (orr.before_ci, orr.after_ci) if c]])
    layout = {
        "title": {"text": "Harmful compliance vs over-refusal (lower-left is better)"},
        "xaxis": _axis("Over-refusal rate", range=[0, min(1.0, right * 1.15 + 0.02)]),
        "yaxis": _axis("Harmful-compliance rate", range=[0, min(1.0, top * 1.15 + 0.02)]),
        "annotations": annotations,
        "height": 420,
    }
    return figure(data, layout)


def capability_forest(tax: dict[str, Any]) -> dict[str, Any] | None:
    """Capability deltas per task with CIs, and their mean, against a zero line."""
    tasks = tax.get("capability")
    items: list[tuple[str, float, tuple[float, float] | None]] = []
    if isinstance(tasks, list):
        for task in tasks:
            if isinstance(task, dict) and num(task.get("delta")) is not None:
                items.append((str(task.get("task", "?")), float(task["delta"]), ci_of(task.get("delta_ci"))))
    mean = tax.get("capability_mean")
    if isinstance(mean, dict) and num(mean.get("delta")) is not None:
        items.append(("mean of capability tasks", float(mean["delta"]), ci_of(mean.get("delta_ci"))))
    if not items:
        return None
    items.reverse()
    colours = []
    for _, _d, ci in items:
        if ci and ci[1] < 0:
            colours.append(WORSE)
        elif ci and ci[0] > 0:
            colours.append(BETTER)
        else:
            colours.append(NEUTRAL)
    xs = [d for _, d, _ in items]
    data = [
        {
            "type": "scatter",
            "mode": "markers",
            "x": xs,
            "y": [t(n) for n, _, _ in items],
            "error_x": _err(xs, [ci for _, _, ci in items]),
            "marker": {
                "color": colours,
                "size": [14 if n == "mean of capability tasks" else 10 for n, _, _ in items],
                "symbol": ["diamond" if n == "mean of capability tasks" else "circle" for n, _, _ in items],
            },
            "text": [t(fmt_ci(d, ci, signed=True)) for _, d, ci in items],
            "hovertemplate": "%{y}<br>Δ %{text}<extra></extra>",
            "showlegend": False,
        }
    ]
    layout = {
        "title": {"text": "Capability change (after − before) with 95 % CIs"},
        "xaxis": _axis("Δ capability", zeroline=True, zerolinewidth=2),
        "yaxis": _axis("", type="category"),
        "height": 140 + 30 * len(items),
    }
    return figure(data, layout)


def category_bars(
    head: MetricRow, cats: Sequence[MetricRow], paired: bool, title: str | None = None
) -> dict[str, Any] | None:
    """Per-category rate bars with CIs: before and after side by side, or one run alone."""
    if not cats:
        return None
    names = [t(c.category) for c in cats]
    data = []
    series = (
        [("before", BEFORE, "before", "before_ci"), ("after", AFTER, "after", "after_ci")]
        if paired
        else [("rate", SINGLE, "after", "after_ci")]
    )
    for label, colour, vkey, ckey in series:
        vals = [getattr(c, vkey) for c in cats]
        cis = [getattr(c, ckey) for c in cats]
        data.append(
            {
                "type": "bar",
                "orientation": "h",
                "name": label,
                "y": names,
                "x": [v if v is not None else 0 for v in vals],
                "error_x": _err(vals, cis),
                "marker": {"color": colour},
                "text": [t(fmt_ci(v, ci)) for v, ci in zip(vals, cis, strict=True)],
                "textposition": "none",
                "hovertemplate": f"%{{y}}<br>{label}: %{{text}}<extra></extra>",
            }
        )
    layout = {
        "title": {"text": t(title or f"{metric_label(head.metric, head.suite)} by category · {head.suite}")},
        "barmode": "group",
        "xaxis": _axis(metric_label(head.metric, head.suite), range=[0, 1.02]),
        "yaxis": _axis("", type="category", autorange="reversed"),
        "height": 140 + (34 if paired else 22) * len(cats),
        "showlegend": paired,
    }
    return figure(data, layout)


def reliability_chart(series: Sequence[tuple[str, list[dict[str, Any]], int]]) -> dict[str, Any] | None:
    """Reliability diagram: accuracy against mean confidence per bin, one line per run, and the diagonal."""
    data: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "lines",
            "x": [0, 1],
            "y": [0, 1],
            "name": "perfect calibration",
            "line": {"color": "#999", "dash": "dash"},
            "hoverinfo": "skip",
        }
    ]
    colours = {"before": BEFORE, "after": AFTER}
    symbols = {"before": "circle", "after": "square"}
    for label, bins, n in series:
        pts = [b for b in bins if b.get("count") and b.get("mean_confidence") is not None]
        if not pts:
            continue
        data.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": t(f"{label} (n={n:,})"),
                "x": [b["mean_confidence"] for b in pts],
                "y": [b["accuracy"] for b in pts],
                "marker": {
                    "color": colours.get(label, SINGLE),
                    "symbol": symbols.get(label, "circle"),
                    "size": [6 + 14 * (b["count"] / n) ** 0.5 for b in pts],
                },
                "line": {"color": colours.get(label, SINGLE)},
                "text": [f"({b['lo']:.1f}, {b['hi']:.1f}]: {b['count']:,} answers" for b in pts],
                "hovertemplate": "%{text}<br>confidence %{x:.2f}<br>accuracy %{y:.2f}<extra></extra>",
            }
        )
    if len(data) == 1:
        return None
    layout = {
        "title": {"text": "Reliability diagram (10 bins of the form (lo, hi])"},
        "xaxis": _axis("Mean confidence in bin", range=[0, 1]),
        "yaxis": _axis("Accuracy in bin", range=[0, 1]),
        "height": 440,
    }
    return figure(data, layout)


def interval_dots(
    labels: Sequence[str],
    values: Sequence[float | None],
    cis: Sequence[tuple[float, float] | None],
    title: str,
    xtitle: str,
) -> dict[str, Any] | None:
    """Point estimates with CIs, one row per label (agreement coefficients, group alphas)."""
    keep = [(lab, v, c) for lab, v, c in zip(labels, values, cis, strict=True) if v is not None]
    if not keep:
        return None
    keep.reverse()
    xs = [v for _, v, _ in keep]
    data = [
        {
            "type": "scatter",
            "mode": "markers",
            "x": xs,
            "y": [t(lab) for lab, _, _ in keep],
            "error_x": _err(xs, [c for _, _, c in keep]),
            "marker": {"color": AFTER, "size": 10},
            "text": [t(fmt_ci(v, c)) for _, v, c in keep],
            "hovertemplate": "%{y}: %{text}<extra></extra>",
            "showlegend": False,
        }
    ]
    layout = {
        "title": {"text": t(title)},
        "xaxis": _axis(xtitle),
        "yaxis": _axis("", type="category"),
        "height": 140 + 28 * len(keep),
    }
    return figure(data, layout)


def heatmap(
    z: list[list[float | None]],
    x: Sequence[str],
    y: Sequence[str],
    text: list[list[str]],
    title: str,
    ztitle: str,
) -> dict[str, Any] | None:
    """A sequential heatmap (colour-blind-safe Cividis) with per-cell text; newlines in text break lines."""
    if not z or not any(v is not None for row in z for v in row):
        return None
    data = [
        {
            "type": "heatmap",
            "z": z,
            "x": [t(v) for v in x],
            "y": [t(v) for v in y],
            "text": [[t(c).replace("\n", "<br>") for c in row] for row in text],
            "texttemplate": "%{text}",
            "hovertemplate": "%{y} · %{x}<br>%{text}<extra></extra>",
            "colorscale": "Cividis",
            "reversescale": True,
            "zmin": 0,
            "colorbar": {"title": {"text": t(ztitle)}},
            "xgap": 2,
            "ygap": 2,
        }
    ]
    layout = {
        "title": {"text": t(title)},
        "xaxis": _axis("", type="category", side="bottom"),
        "yaxis": _axis("", type="category", autorange="reversed"),
        "height": 160 + 44 * len(y),
        "plot_bgcolor": "#f0f0f0",
    }
    return figure(data, layout)


def share_bars(
    groups: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]], title: str
) -> dict[str, Any] | None:
    """Grouped horizontal bars of shares (e.g. annotators, labels, reference population)."""
    if not groups or not series:
        return None
    colours = [AFTER, BEFORE, "#56B4E9", "#CC79A7", "#009E73"]
    data = [
        {
            "type": "bar",
            "orientation": "h",
            "name": t(name),
            "y": [t(g) for g in groups],
            "x": [v if v is not None else 0 for v in vals],
            "marker": {"color": colours[i % len(colours)]},
            "hovertemplate": f"%{{y}}<br>{t(name)}: %{{x:.3f}}<extra></extra>",
        }
        for i, (name, vals) in enumerate(series)
    ]
    layout = {
        "title": {"text": t(title)},
        "barmode": "group",
        "xaxis": _axis("", range=[0, 1]),
        "yaxis": _axis("", type="category", autorange="reversed"),
        "height": 140 + 18 * len(groups) * len(series),
    }
    return figure(data, layout)
