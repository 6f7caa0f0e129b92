"""The Markdown summary written beside the HTML report (fits a CI job summary)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rlhf_eval.report._analysis import (
    MetricRow,
    detector_info,
    headline,
    honesty_rows,
    model_names,
    notes,
    refusal_groups,
    verdict_text,
)
from rlhf_eval.report._fmt import (
    ci_of,
    ci_pair,
    fmt,
    fmt_ci,
    fmt_int,
    fmt_p,
    metric_label,
    significance_words,
)
from rlhf_eval.report._inputs import ReportInputs
from rlhf_eval.report._page import is_suppressed, value_text
from rlhf_eval.scoring._judge_base import accuracy_note


def _needs(result: dict[str, Any]) -> str:
    """`` (needs ~N)`` for an inconclusive gate result that knows the n it needs."""
    n = result.get("n_needed")
    return f" (needs ~{n})" if result.get("status") == "inconclusive" and isinstance(n, int) else ""


def md(text: Any) -> str:
    """Text made safe for a Markdown table cell: no HTML, pipes or newlines."""
    s = "" if text is None else str(text)
    s = s.replace("<", "&lt;")  # no tag can open; '>' and '&' alone cannot start markup in a cell
    return s.replace("|", "\\|").replace("\r", " ").replace("\n", " ").replace("`", "'")


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    out = ["| " + " | ".join(md(h) for h in headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(rows_cell for rows_cell in r) + " |" for r in rows]
    return [*out, ""]


def _paired(rows: Sequence[MetricRow], name: Any = None) -> list[list[str]]:
    out = []
    for r in rows:
        words, _ = significance_words(r.significant, r.delta, r.higher_is_better)
        p = r.p_adjusted if r.p_adjusted is not None else r.p_value
        out.append(
            [
                md(name(r) if name else f"{r.suite} · {metric_label(r.metric, r.suite)}"),
                md(fmt_ci(r.before, r.before_ci)),
                md(fmt_ci(r.after, r.after_ci)),
                md(fmt_ci(r.delta, r.delta_ci, signed=True)),
                md(fmt_p(p)),
                md(words),
                md(fmt_int(r.n)),
            ]
        )
    return out


PAIRED = ["Metric", "Before [95% CI]", "After [95% CI]", "Δ [95% CI]", "p (adj.)", "Significance", "n"]


def markdown(
    inputs: ReportInputs, rows: Sequence[MetricRow], title: str, html_name: str | None = None
) -> str:
    """The summary: verdict, gate, scorecard, alignment tax, refusals, honesty, audit headline."""
    out = [f"# {md(title)}", ""]
    if html_name:
        out += [f"Full interactive report: `{md(html_name)}` (opens offline).", ""]
    paired = inputs.comparison is not None or len(inputs.runs) == 2
    b, a = model_names(inputs)
    if paired:
        out += [f"Before: `{md(b or 'before')}` · After: `{md(a or 'after')}`", ""]
    elif inputs.runs:
        out += [f"Run: `{md(inputs.runs[0].model_spec)}`", ""]
    for who, text in notes(inputs):
        out.append(f"- **{md(who)}**: {md(text)}")
    if notes(inputs):
        out.append("")

    tax = (inputs.comparison or {}).get("alignment_tax")
    if isinstance(tax, dict) and tax.get("verdict"):
        out += [
            "## Verdict",
            "",
            md(verdict_text(tax["verdict"], tax.get("taxed_axes") or [], tax.get("improved_axes") or [])),
            "",
        ]
    gate = inputs.gate
    if gate is not None:
        out += [
            "## Release gate",
            "",
            f"**{md(str(gate.get('status', 'unknown')).upper())}** (exit code {md(gate.get('exit_code', '–'))})",
            "",
        ]
        body = [
            [
                md(r.get("name") or f"rule {r.get('rule', '?')}"),
                md(r.get("path") or r.get("metric")),
                md(r.get("bound_text") or f"{r.get('bound', '')} {fmt(r.get('threshold'))}"),
                md(fmt_ci(r.get("value"), ci_of(r.get("ci")))),
                md(fmt_int(r.get("n")) + _needs(r)),
                md(r.get("status")),
            ]
            for r in gate.get("results", [])
            if isinstance(r, dict)
        ]
        if body:
            out += _table(["Rule", "Metric", "Bound", "Value [CI]", "n", "Status"], body)

    heads = headline(rows)
    if paired and heads:
        out += ["## Scorecard", "", *_table(PAIRED, _paired(heads))]
        if inputs.comparison is None:
            out += ["_No comparison.json: deltas are point differences without paired tests._", ""]
    elif heads:
        out += ["## Scores", ""]
        body = [
            [
                md(f"{r.suite} · {metric_label(r.metric, r.suite)}"),
                md(fmt_ci(r.after, r.after_ci)),
                md(fmt_int(r.n)),
            ]
            for r in heads
        ]
        out += _table(["Metric", "Value [95% CI]", "n"], body)

    if isinstance(tax, dict) and isinstance(tax.get("axes"), dict) and tax["axes"]:
        out += ["## Alignment tax", ""]
        body = []
        for name, ax in tax["axes"].items():
            if isinstance(ax, dict):
                status = (
                    "worse (taxed)"
                    if ax.get("worse")
                    else "better"
                    if ax.get("better")
                    else "no change beyond CI"
                )
                body.append(
                    [
                        md(name),
                        md(ax.get("path")),
                        md(fmt_ci(ax.get("delta"), ci_of(ax.get("delta_ci")), signed=True)),
                        md(status),
                    ]
                )
        out += _table(["Axis", "Metric", "Δ [95% CI]", "Outcome"], body)

    groups = refusal_groups(rows)
    dets = [(run.label, detector_info(run)) for run in inputs.runs]
    if groups or any(d for _, d in dets):
        out += ["## Refusals", ""]
        for label, det in dets:
            if det:
                out.append(
                    f"- Refusal judge ({md(label)}): `{md(det.get('name', '?'))}`, {md(accuracy_note(det))}"
                )
        jv = inputs.judge_validation
        if jv:
            kappa = jv.get("kappa") or {}
            out.append(
                f"- Against your {md(fmt_int(jv.get('n')))} labelled responses: accuracy {md(fmt(jv.get('binary_accuracy')))} "
                f"(refused vs complied), Cohen's kappa {md(fmt(kappa.get('value')))}"
            )
        out.append("")
        for head, cats in groups:
            changed = [c for c in cats if c.significant]
            line = f"- {md(head.suite)} {md(metric_label(head.metric, head.suite))}: "
            line += (
                md(f"{fmt_ci(head.before, head.before_ci)} → {fmt_ci(head.after, head.after_ci)}")
                if paired
                else md(fmt_ci(head.after, head.after_ci))
            )
            if changed:
                line += "; significant change in " + md(", ".join(c.category or "" for c in changed))
            out.append(line)
        out.append("")

    hrows = honesty_rows(rows)
    if hrows:
        out += ["## Honesty", ""]
        if paired:
            out += _table(PAIRED, _paired(hrows))
        else:
            out += _table(
                ["Metric", "Value [95% CI]", "n"],
                [
                    [
                        md(f"{r.suite} · {metric_label(r.metric, r.suite)}"),
                        md(fmt_ci(r.after, r.after_ci)),
                        md(fmt_int(r.n)),
                    ]
                    for r in hrows
                ],
            )

    if inputs.audit is not None:
        out += _audit_md(inputs.audit)
    warnings = (inputs.comparison or {}).get("warnings")
    if isinstance(warnings, list) and warnings:
        out += ["## Warnings", ""] + [f"- {md(w)}" for w in warnings] + [""]
    return "\n".join(out).rstrip() + "\n"


def _audit_md(audit: Mapping[str, Any]) -> list[str]:
    out = ["## Annotator audit", ""]
    raw = audit.get("input")
    inp: Mapping[str, Any] = raw if isinstance(raw, Mapping) else audit
    counts = [(k, inp[k]) for k in ("n_ratings", "n_labels", "n_items", "n_annotators") if k in inp]
    if counts:
        out += [" · ".join(f"{md(k.replace('_', ' '))}: {md(value_text(v))}" for k, v in counts), ""]
    findings = audit.get("findings")
    if isinstance(findings, list) and findings:
        out += [f"- {md(f)}" for f in findings[:10]]
        if len(findings) > 10:
            out.append(f"- … and {len(findings) - 10} more findings in the HTML report")
        out.append("")
    agreement = audit.get("agreement")
    if isinstance(agreement, Mapping):
        body = []
        for coef, e in agreement.items():
            if isinstance(e, Mapping) and not is_suppressed(e):
                body.append(
                    [md(coef), md(fmt_ci(e.get("value"), ci_pair(e.get("ci_low"), e.get("ci_high"))))]
                )
            else:
                body.append([md(coef), md(value_text(e))])
        out += _table(["Coefficient", "Value [95% CI]"], body)
    sup = audit.get("suppressed")
    if isinstance(sup, Mapping) and sup.get("n_cells") is not None:
        out += [
            f"{md(fmt_int(sup.get('n_cells')))} group cells suppressed for privacy (fewer than k = {md(sup.get('k'))} annotators).",
            "",
        ]
    else:
        by_group = audit.get("by_group")
        if isinstance(by_group, Mapping):
            n_sup = sum(
                1
                for groups in by_group.values()
                if isinstance(groups, Mapping)
                for cell in groups.values()
                if is_suppressed(cell)
                or (isinstance(cell, Mapping) and is_suppressed(cell.get("krippendorff_alpha")))
            )
            n_all = sum(len(g) for g in by_group.values() if isinstance(g, Mapping))
            out += [f"Agreement by group: {n_all} group cells, {n_sup} suppressed for privacy.", ""]
    return out
