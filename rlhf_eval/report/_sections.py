"""The report's sections (except the annotator audit): each returns safe HTML or "" when absent."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rlhf_eval.report import _figures as figs
from rlhf_eval.report._analysis import (
    MetricRow,
    consistency_warnings,
    detector_info,
    headline,
    honesty_rows,
    metric_rows,
    model_names,
    notes,
    refusal_groups,
    reliability,
    tax_axis_rows,
    verdict_text,
)
from rlhf_eval.report._drilldown import flag_counts, paired_table, single_table
from rlhf_eval.report._fmt import (
    ci_of,
    esc,
    fmt,
    fmt_ci,
    fmt_int,
    fmt_p,
    metric_label,
    significance_words,
    suite_sort_key,
)
from rlhf_eval.report._inputs import ReportInputs, RunInput
from rlhf_eval.report._page import Page, kv_table, section, table, value_text
from rlhf_eval.scoring._judge_base import accuracy_note


def _sig_cell(r: MetricRow) -> str:
    words, cls = significance_words(r.significant, r.delta, r.higher_is_better)
    mark = {"better": "▲ ", "worse": "▼ "}.get(cls, "")
    return f'<span class="sig sig-{cls}">{esc(mark + words)}</span>'


def _dir_text(hib: bool | None) -> str:
    return (
        {True: "higher is better", False: "lower is better"}.get(hib, "descriptive")
        if hib is not None
        else "descriptive"
    )


def _paired_row_cells(r: MetricRow, label: str) -> list[str]:
    p = r.p_adjusted if r.p_adjusted is not None else r.p_value
    p_text = fmt_p(p) + (f" ({esc(r.adjustment)})" if r.adjustment and r.p_adjusted is not None else "")
    return [
        f'<span class="metric-name">{esc(label)}</span><br><span class="muted small">{esc(_dir_text(r.higher_is_better))}</span>',
        esc(fmt_ci(r.before, r.before_ci)),
        esc(fmt_ci(r.after, r.after_ci)),
        esc(fmt_ci(r.delta, r.delta_ci, signed=True)),
        p_text,
        _sig_cell(r),
        esc(fmt_int(r.n)),
    ]


PAIRED_HEADERS = [
    "Metric",
    "Before [95 % CI]",
    "After [95 % CI]",
    "Δ after − before [95 % CI]",
    "p (adjusted)",
    "Significance",
    "n",
]


def scorecard_table(rows: Sequence[MetricRow]) -> str:
    """Headline metrics grouped by suite, before vs after."""
    body: list[list[str]] = []
    current = None
    out = []
    for r in headline(rows):
        if r.suite != current:
            if body:
                out.append(table(PAIRED_HEADERS, body, "scorecard paired"))
                body = []
            current = r.suite
            out.append(f'<h3 class="suite">{esc(r.suite)}</h3>')
        body.append(_paired_row_cells(r, metric_label(r.metric, r.suite)))
    if body:
        out.append(table(PAIRED_HEADERS, body, "scorecard paired"))
    return "".join(out)


def _needs(result: dict[str, Any]) -> str:
    """`` (needs ~N)`` for an inconclusive gate result that knows the n it needs."""
    n = result.get("n_needed")
    return f" (needs ~{n})" if result.get("status") == "inconclusive" and isinstance(n, int) else ""


def gate_html(gate: dict[str, Any]) -> str:
    """Gate status banner and one row per rule result."""
    status = str(gate.get("status", "unknown"))
    results = [r for r in gate.get("results", []) if isinstance(r, dict)]
    counts = {s: sum(1 for r in results if r.get("status") == s) for s in ("pass", "fail", "inconclusive")}
    policy = gate.get("policy")
    banner = (
        f'<div class="gate gate-{esc(status)}"><strong>Release gate: {esc(status.upper())}</strong>'
        f" · exit code {esc(gate.get('exit_code', '–'))}"
        f" · {counts['pass']} passed, {counts['fail']} failed, {counts['inconclusive']} inconclusive"
        + (f" · policy {esc(policy)}" if policy else "")
        + (
            f" · inconclusive counts as {esc(gate.get('on_inconclusive'))}"
            if gate.get("on_inconclusive")
            else ""
        )
        + "</div>"
    )
    body = []
    for r in results:
        name = r.get("name") or f"rule {r.get('rule', '?')}"
        bound = r.get("bound_text") or f"{r.get('bound', '')} {fmt(r.get('threshold'))}".strip()
        st = str(r.get("status", "?"))
        body.append(
            [
                esc(name),
                f"<code>{esc(r.get('path') or r.get('metric') or '?')}</code>",
                esc(bound),
                esc(r.get("decide", "–")),
                esc(fmt_ci(r.get("value"), ci_of(r.get("ci")))),
                esc(fmt_int(r.get("n")) + _needs(r)),
                f'<span class="status status-{esc(st)}">{esc(st)}</span>',
                f'<span class="small">{esc(r.get("message", ""))}</span>',
            ]
        )
    headers = ["Rule", "Metric", "Bound", "Decide", "Value [CI]", "n", "Status", "Message"]
    return banner + (table(headers, body, "gate-table") if body else "")


def verdict_section(inputs: ReportInputs, rows: Sequence[MetricRow], page: Page) -> str:
    """Verdict cards, the before/after scorecard, the headline forest plot and the gate."""
    paired = inputs.comparison is not None or len(inputs.runs) == 2
    if not paired and inputs.gate is None:
        return ""
    cards = []
    tax = (inputs.comparison or {}).get("alignment_tax")
    if isinstance(tax, dict) and tax.get("verdict"):
        cards.append(
            f'<div class="card"><div class="card-k">Alignment tax verdict</div><div class="card-v">{esc(tax["verdict"])}</div>'
            f'<div class="small">{esc(verdict_text(tax["verdict"], tax.get("taxed_axes") or [], tax.get("improved_axes") or []))}</div></div>'
        )
    heads = headline(rows)
    if paired and heads:
        better = sum(
            1 for r in heads if significance_words(r.significant, r.delta, r.higher_is_better)[1] == "better"
        )
        worse = sum(
            1 for r in heads if significance_words(r.significant, r.delta, r.higher_is_better)[1] == "worse"
        )
        tested = sum(1 for r in heads if r.significant is not None)
        cards.append(
            f'<div class="card"><div class="card-k">Headline metrics</div><div class="card-v">{better} ▲ · {worse} ▼</div>'
            f'<div class="small">{better} significant improvements, {worse} significant regressions'
            f" of {len(heads)} metrics ({tested} tested{', Holm-adjusted' if tested else '; no comparison.json given'})</div></div>"
        )
    if inputs.gate is not None:
        st = str(inputs.gate.get("status", "unknown"))
        cards.append(
            f'<div class="card gate-{esc(st)}"><div class="card-k">Release gate</div><div class="card-v">{esc(st.upper())}</div>'
            f'<div class="small">exit code {esc(inputs.gate.get("exit_code", "–"))}</div></div>'
        )
    parts = [f'<div class="cards">{"".join(cards)}</div>']
    if paired and heads:
        b, a = model_names(inputs)
        parts.append(
            f"<p>Before: <code>{esc(b or 'before')}</code> · After: <code>{esc(a or 'after')}</code>. "
            "Intervals are 95 %; significance is after multiplicity adjustment "
            "(Holm across headline metrics), stated in words.</p>"
        )
        if inputs.comparison is None:
            parts.append(
                '<p class="note">No comparison.json was given: deltas are point differences of the two runs, '
                "without paired tests. Run <code>rlhf-eval compare</code> for paired statistics.</p>"
            )
        parts.append(page.chart(figs.headline_forest(heads)))
        parts.append(scorecard_table(rows))
    if inputs.gate is not None:
        parts.append("<h3>Release gate</h3>" + gate_html(inputs.gate))
    return section("verdict", "Verdict and scorecard", "".join(parts))


def scores_section(run: RunInput, rows: Sequence[MetricRow]) -> str:
    """One run's scores with CIs, by suite and (folded) by category."""
    out = [f"<p>Model <code>{esc(run.model_spec)}</code> ({esc(run.source)}). Intervals are 95 %.</p>"]
    headers = ["Metric", "Value [95 % CI]", "n", "Kind", "Direction"]
    for suite in sorted({r.suite for r in rows}, key=suite_sort_key):
        out.append(f'<h3 class="suite">{esc(suite)}</h3>')
        heads = [r for r in rows if r.suite == suite and r.category is None]
        out.append(
            table(
                headers,
                [
                    [
                        f'<span class="metric-name">{esc(metric_label(r.metric, r.suite))}</span>',
                        esc(fmt_ci(r.after, r.after_ci)),
                        esc(fmt_int(r.n)),
                        esc(r.kind or "–"),
                        esc(_dir_text(r.higher_is_better)),
                    ]
                    for r in heads
                ],
                "scorecard",
            )
        )
        cats = [r for r in rows if r.suite == suite and r.category is not None]
        if cats:
            body = [
                [
                    esc(metric_label(r.metric, r.suite)),
                    esc(r.category),
                    esc(fmt_ci(r.after, r.after_ci)),
                    esc(fmt_int(r.n)),
                ]
                for r in sorted(cats, key=lambda r: (r.metric, r.category or ""))
            ]
            out.append(
                f"<details><summary>{esc(suite)} by category ({len(cats)} rows)</summary>"
                + table(["Metric", "Category", "Value [95 % CI]", "n"], body)
                + "</details>"
            )
    return section("scores", "Scores", "".join(out))


def tax_section(inputs: ReportInputs, rows: Sequence[MetricRow], page: Page) -> str:
    """Pareto view, capability forest plot, axes table and the comparison's verdict."""
    tax = (inputs.comparison or {}).get("alignment_tax")
    tax = tax if isinstance(tax, dict) else {}
    paired = inputs.comparison is not None or len(inputs.runs) == 2
    if not paired:
        return ""
    parts = []
    if tax.get("verdict"):
        parts.append(
            f'<p class="verdict"><strong>{esc(verdict_text(tax["verdict"], tax.get("taxed_axes") or [], tax.get("improved_axes") or []))}</strong></p>'
        )
    if tax.get("rule"):
        parts.append(f'<p class="muted small">Rule: {esc(tax["rule"])}.</p>')
    pareto = figs.pareto(
        tax_axis_rows(rows, inputs.comparison, "harmful_compliance"),
        tax_axis_rows(rows, inputs.comparison, "overrefusal"),
    )
    forest = figs.capability_forest(tax) if tax else None
    grid = page.chart(pareto) + page.chart(forest)
    if grid:
        parts.append(f'<div class="grid2">{grid}</div>')
    axes = tax.get("axes")
    if isinstance(axes, dict) and axes:
        body = []
        for name, ax in axes.items():
            if not isinstance(ax, dict):
                continue
            status = (
                "worse (taxed)"
                if ax.get("worse")
                else "better"
                if ax.get("better")
                else "no change beyond CI"
            )
            cls = "worse" if ax.get("worse") else "better" if ax.get("better") else "neutral"
            body.append(
                [
                    esc(name.replace("_", " ")),
                    f"<code>{esc(ax.get('path', ''))}</code>",
                    esc(fmt_ci(ax.get("delta"), ci_of(ax.get("delta_ci")), signed=True)),
                    esc(
                        _dir_text(
                            ax.get("higher_is_better")
                            if isinstance(ax.get("higher_is_better"), bool)
                            else None
                        )
                    ),
                    f'<span class="sig sig-{cls}">{esc(status)}</span>',
                ]
            )
        parts.append(table(["Axis", "Metric", "Δ [95 % CI]", "Direction", "Outcome"], body))
    missing = tax.get("missing_axes")
    if isinstance(missing, list) and missing:
        parts.append(f'<p class="muted small">Axes not measured: {esc(", ".join(map(str, missing)))}.</p>')
    if len(parts) == 0:
        return ""
    return section("tax", "Alignment tax", "".join(parts))


def refusals_section(inputs: ReportInputs, rows: Sequence[MetricRow], page: Page) -> str:
    """Refusal rates by category (before vs after), and the detector's validated accuracy."""
    groups = refusal_groups(rows)
    dets = [(run, detector_info(run)) for run in inputs.runs]
    det_html = []
    for run, det in dets:
        if det is None:
            continue
        det_html.append(
            f"<li>{esc(run.label)}: judge <code>{esc(det.get('name', '?'))}</code>, "
            f"{esc(accuracy_note(det))}</li>"
        )
    if not groups and not det_html:
        return ""
    paired = inputs.comparison is not None or len(inputs.runs) == 2
    parts = []
    if det_html:
        parts.append(
            "<p>Refusals are labelled by a refusal judge; its agreement with human labels it was not "
            "trained on:</p><ul>" + "".join(det_html) + "</ul>"
        )
    elif inputs.runs:
        parts.append(
            '<p class="muted">The runs do not record the refusal detector\'s validated accuracy.</p>'
        )
    for head, cats in groups:
        label = metric_label(head.metric, head.suite)
        if paired:
            parts.append(
                f"<h3>{esc(head.suite)}: {esc(label)} {esc(fmt_ci(head.before, head.before_ci))} → "
                f"{esc(fmt_ci(head.after, head.after_ci))}</h3>"
            )
        else:
            parts.append(f"<h3>{esc(head.suite)}: {esc(label)} {esc(fmt_ci(head.after, head.after_ci))}</h3>")
        parts.append(page.chart(figs.category_bars(head, cats, paired)))
        if cats:
            if paired:
                body = [_paired_row_cells(c, c.category or "") for c in cats]
                hdr = ["Category", *PAIRED_HEADERS[1:]]
                hdr[4] = "p (BH-adjusted)" if inputs.comparison is not None else "p"
                parts.append(
                    f"<details><summary>Per-category table ({len(cats)} categories)</summary>{table(hdr, body)}</details>"
                )
            else:
                body = [[esc(c.category), esc(fmt_ci(c.after, c.after_ci)), esc(fmt_int(c.n))] for c in cats]
                parts.append(
                    f"<details><summary>Per-category table ({len(cats)} categories)</summary>{table(['Category', 'Rate [95 % CI]', 'n'], body)}</details>"
                )
    return section("refusals", "Refusals by category", "".join(parts))


def honesty_section(inputs: ReportInputs, rows: Sequence[MetricRow], page: Page) -> str:
    """MC1/MC2, calibration (ECE, Brier, reliability diagram) and sycophancy flip rate."""
    hrows = honesty_rows(rows)
    series = []
    for run in inputs.runs:
        bins, n = reliability(run)
        if n:
            series.append((run.label, bins, n))
    if not hrows and not series:
        return ""
    paired = inputs.comparison is not None or len(inputs.runs) == 2
    parts = []
    if hrows:
        if paired:
            parts.append(
                table(
                    PAIRED_HEADERS,
                    [_paired_row_cells(r, f"{r.suite} · {metric_label(r.metric, r.suite)}") for r in hrows],
                    "scorecard paired",
                )
            )
        else:
            body = [
                [
                    esc(f"{r.suite} · {metric_label(r.metric, r.suite)}"),
                    esc(fmt_ci(r.after, r.after_ci)),
                    esc(fmt_int(r.n)),
                    esc(_dir_text(r.higher_is_better)),
                ]
                for r in hrows
            ]
            parts.append(table(["Metric", "Value [95 % CI]", "n", "Direction"], body, "scorecard"))
        parts.append(
            '<p class="muted small">MC1: the single true answer ranked first; MC2: normalised probability on the true answers '
            "(TruthfulQA, as lm-evaluation-harness defines them). Sycophancy flip rate: initially correct answers "
            "abandoned after the challenge (lower is better).</p>"
        )
    if series:
        parts.append(
            page.chart(
                figs.reliability_chart(series), "Marker area grows with the number of answers in the bin."
            )
        )
    return section("honesty", "Honesty and calibration", "".join(parts))


def samples_section(inputs: ReportInputs, page: Page) -> str:
    """The per-sample drill-down: paired before/after when two runs are given, else one run."""
    if not inputs.runs or not any(r.samples for r in inputs.runs):
        return ""
    if inputs.before and inputs.after:
        spec = paired_table(inputs.before, inputs.after)
        intro = (
            "<p>Before and after are paired on (suite, item_id). Flags: <em>newly refused</em> "
            "(refused 0 → 1), <em>newly complied</em> (1 → 0), <em>newly wrong</em> (correct or passed 1 → 0), "
            "<em>newly right</em> (0 → 1). All text is shown exactly as the model wrote it.</p>"
        )
    else:
        spec = single_table(inputs.runs[0])
        intro = "<p>Every sample of the run. All text is shown exactly as the model wrote it.</p>"
    counts = flag_counts(spec)
    summary = " · ".join(f"{esc(k)}: <strong>{v:,}</strong>" for k, v in counts.items())
    note = f'<p class="note small">{esc(spec["note"])}</p>' if spec.get("note") else ""
    return section(
        "samples",
        "Per-sample drill-down",
        intro + f"<p>{len(spec['rows']):,} rows · {summary}</p>" + note + page.table(spec),
    )


def _flat(prefix: str, obj: Any, out: list[tuple[str, Any]], depth: int = 0) -> None:
    if isinstance(obj, dict) and depth < 3:
        for k, v in obj.items():
            _flat(f"{prefix}.{k}" if prefix else str(k), v, out, depth + 1)
    else:
        out.append((prefix, obj))


def _run_pairs(run: RunInput) -> list[tuple[str, Any]]:
    """run.json flattened to (key, value) pairs, model and notes first."""
    r = run.run
    pairs: list[tuple[str, Any]] = [("directory", run.source)]
    model = r.get("model")
    if isinstance(model, dict):
        _flat("model", {k: v for k, v in model.items() if k != "details"}, pairs)
    for key in ("description", "intervention", "command", "started", "finished", "schema"):
        if r.get(key) is not None:
            pairs.append((key, r.get(key)))
    for key in ("params", "versions", "timings", "cache", "scoring"):
        if isinstance(r.get(key), dict):
            _flat(key, r[key], pairs)
    suites = r.get("suites")
    if isinstance(suites, dict):
        for name, info in suites.items():
            info = info if isinstance(info, dict) else {}
            pairs.append(
                (
                    f"suites.{name}",
                    f"v{info.get('version', '?')} · {info.get('hash', '–')} · {fmt_int(info.get('n_items'))} items",
                )
            )
    return pairs


def _runs_provenance(runs: Sequence[RunInput]) -> str:
    """One table with a column per run; rows whose values differ between the runs are marked."""
    columns = [dict(_run_pairs(run)) for run in runs]
    keys: list[str] = []
    for run in runs:
        for k, _ in _run_pairs(run):
            if k not in keys:
                keys.append(k)
    body = []
    for k in keys:
        vals = [c.get(k) for c in columns]
        differs = (
            len(runs) > 1
            and len({value_text(v) for v in vals}) > 1
            and not k.startswith(("timings.", "cache.", "started", "finished", "directory"))
        )
        cells = [
            f"<code>{esc(value_text(v))}</code>"
            if ("hash" in k or "fingerprint" in k or k.startswith("suites."))
            else esc(value_text(v))
            for v in vals
        ]
        label = f"<strong>{esc(k)}</strong> ◆" if differs else esc(k)
        body.append([label, *cells])
    headers = ["", *[f"{run.label}: {run.model_spec}" for run in runs]]
    note = '<p class="muted small">◆ differs between the runs.</p>' if len(runs) > 1 else ""
    return "<h3>Runs</h3>" + note + table(headers, body, "provenance")


def provenance_section(inputs: ReportInputs, generated: str, version: str) -> str:
    """Model fingerprints, suite hashes, versions, seeds and command lines of every input."""
    parts = [f'<p class="small">Report written by rlhf-eval {esc(version)} on {esc(generated)}.</p>']
    for name, src in inputs.sources.items():
        parts.append(f'<p class="small">{esc(name)}: <code>{esc(src)}</code></p>')
    if inputs.runs:
        parts.append(_runs_provenance(inputs.runs))
    comp = inputs.comparison
    if comp is not None:
        pairs: list[tuple[str, Any]] = []
        for side in ("before", "after"):
            s = comp.get(side)
            if isinstance(s, dict):
                if s.get("dir") is not None:
                    pairs.append((f"{side}.dir", s.get("dir")))
                model = s.get("model")
                if len(inputs.runs) == 2:
                    continue  # the runs' own provenance above already shows models and suites
                if isinstance(model, dict):
                    _flat(f"{side}.model", {k: v for k, v in model.items() if k != "details"}, pairs)
                if isinstance(s.get("suites"), dict):
                    for sname, info in s["suites"].items():
                        pairs.append((f"{side}.suites.{sname}", value_text(info)))
        if isinstance(comp.get("params"), dict):
            _flat("params", comp["params"], pairs)
        for key in ("command", "versions", "created"):
            if comp.get(key) is not None:
                _flat(key, comp[key], pairs)
        parts.append("<h3>Comparison</h3>" + kv_table(pairs))
        warnings = comp.get("warnings")
        if isinstance(warnings, list) and warnings:
            parts.append(
                "<h4>Comparison warnings</h4><ul>" + "".join(f"<li>{esc(w)}</li>" for w in warnings) + "</ul>"
            )
    if inputs.gate is not None:
        g = inputs.gate
        pairs = [
            (k, g.get(k))
            for k in ("policy", "on_inconclusive", "exit_code", "status", "schema", "command")
            if g.get(k) is not None
        ]
        parts.append("<h3>Gate</h3>" + kv_table(pairs))
    if inputs.audit is not None:
        a = inputs.audit
        pairs = []
        for key in (
            "schema",
            "command",
            "params",
            "versions",
            "inputs",
            "n_labels",
            "n_items",
            "n_annotators",
            "created",
            "provenance",
        ):
            if a.get(key) is not None:
                _flat(key, a[key], pairs)
        if pairs:
            parts.append("<h3>Annotator audit</h3>" + kv_table(pairs))
    return section("provenance", "Provenance", "".join(parts))


def notes_html(inputs: ReportInputs) -> str:
    """The runs' description / intervention notes and system prompts, as a callout (and mismatches)."""
    warn = "".join(f'<p class="note">Warning: {esc(w)}.</p>' for w in consistency_warnings(inputs))
    items = notes(inputs)
    if not items:
        return warn
    lis = "".join(f"<li><strong>{esc(who)}</strong> — {esc(text)}</li>" for who, text in items)
    head = (
        "What changed between the runs" if len(inputs.runs) == 2 or inputs.comparison else "Notes on the run"
    )
    return warn + f'<div class="callout"><strong>{head}</strong><ul>{lis}</ul></div>'


__all__ = [
    "honesty_section",
    "metric_rows",
    "notes_html",
    "provenance_section",
    "refusals_section",
    "samples_section",
    "scores_section",
    "tax_section",
    "verdict_section",
]
