"""Assemble the self-contained HTML report and its Markdown summary; write both atomically."""

from __future__ import annotations

import datetime as _dt
import os
import secrets
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from rlhf_eval import __version__
from rlhf_eval._io import atomic_write_text
from rlhf_eval.errors import UserError
from rlhf_eval.report import _sections as sec
from rlhf_eval.report._analysis import metric_rows, model_names
from rlhf_eval.report._audit import audit_section
from rlhf_eval.report._fmt import esc
from rlhf_eval.report._inputs import PathOrDict, ReportInputs, load_inputs
from rlhf_eval.report._judge import judge_validation_section
from rlhf_eval.report._markdown import markdown
from rlhf_eval.report._page import Page

_ASSETS = Path(__file__).parent / "assets"
_TOC_NAMES = {
    "verdict": "Verdict and scorecard",
    "scores": "Scores",
    "tax": "Alignment tax",
    "refusals": "Refusals by category",
    "judge": "Refusal judge vs your labels",
    "honesty": "Honesty",
    "samples": "Per-sample drill-down",
    "audit": "Annotator audit",
    "provenance": "Provenance",
}


@lru_cache(maxsize=1)
def plotly_js() -> str:
    """The plotly.js bundle shipped with the installed plotly package, made safe to inline."""
    from plotly.offline import get_plotlyjs

    js = get_plotlyjs()
    # A literal "</script" would end the element early; "<!--" would switch the HTML parser
    # into a comment-like state inside script data. Neither is in the bundle today.
    return js.replace("</script", "<\\/script").replace("<!--", "<\\!--")


def _asset(name: str) -> str:
    return (_ASSETS / name).read_text(encoding="utf-8")


def default_title(inputs: ReportInputs) -> str:
    """A title naming the models compared (or the audit)."""
    b, a = model_names(inputs)
    if b and a:
        return f"Alignment report: {b} → {a}"
    if inputs.runs:
        return f"Evaluation report: {inputs.runs[0].model_spec}"
    if inputs.audit is not None and inputs.comparison is None:
        return "Annotator audit report"
    return "rlhf-eval report"


def render_html(inputs: ReportInputs, title: str | None = None, generated: str | None = None) -> str:
    """The whole report as one HTML string (plotly.js inlined once; data in inert JSON blocks)."""
    title = title or default_title(inputs)
    generated = generated or _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    rows = metric_rows(inputs)
    page = Page()
    sections: list[tuple[str, str]] = []

    def add(sid: str, html: str) -> None:
        if html:
            sections.append((sid, html))

    add("verdict", sec.verdict_section(inputs, rows, page))
    if len(inputs.runs) == 1:
        add("scores", sec.scores_section(inputs.runs[0], rows))
    add("tax", sec.tax_section(inputs, rows, page))
    add("refusals", sec.refusals_section(inputs, rows, page))
    if inputs.judge_validation is not None:
        add("judge", judge_validation_section(inputs.judge_validation))
    add("honesty", sec.honesty_section(inputs, rows, page))
    add("samples", sec.samples_section(inputs, page))
    if inputs.audit is not None:
        add("audit", audit_section(inputs.audit, page))
    add("provenance", sec.provenance_section(inputs, generated, __version__))

    toc = "".join(f'<li><a href="#{sid}">{esc(_TOC_NAMES.get(sid, sid))}</a></li>' for sid, _ in sections)
    nonce = secrets.token_urlsafe(18)
    csp = (
        "default-src 'none'; "
        f"script-src 'nonce-{nonce}'; "
        "style-src 'unsafe-inline'; img-src data: blob:; font-src data:; connect-src 'none'; "
        "base-uri 'none'; form-action 'none'"
    )
    inputs_line = " · ".join(
        [f"{r.label}: {r.source}" for r in inputs.runs] + [f"{k}: {v}" for k, v in inputs.sources.items()]
    )
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{esc(csp)}">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f'<meta name="generator" content="rlhf-eval {esc(__version__)}">',
            f"<title>{esc(title)}</title>",
            f"<style>{_asset('report.css')}</style></head>",
            '<body><div class="layout">',
            f'<nav class="toc" aria-label="Contents"><div class="brand">rlhf-eval report</div><ol>{toc}</ol></nav>',
            "<main>",
            f'<header><h1>{esc(title)}</h1><p class="muted small">Generated {esc(generated)} · {esc(inputs_line)}</p>'
            f"{sec.notes_html(inputs)}</header>",
            *[html for _, html in sections],
            f"<footer>rlhf-eval {esc(__version__)} · self-contained: no network access needed or made.</footer>",
            "</main></div>",
            page.data_html(),
            f'<script nonce="{nonce}">{plotly_js()}</script>',
            f'<script nonce="{nonce}">{_asset("report.js")}</script>',
            "</body></html>",
            "",
        ]
    )


def render_markdown(
    runs: Sequence[PathOrDict] | None = None,
    comparison: PathOrDict | None = None,
    audit: PathOrDict | None = None,
    gate: PathOrDict | None = None,
    title: str | None = None,
    html_name: str | None = None,
) -> str:
    """The Markdown summary of the same inputs (paths or dicts), as a string."""
    inputs = load_inputs(runs, comparison, audit, gate)
    return markdown(inputs, metric_rows(inputs), title or default_title(inputs), html_name)


def build_report(
    runs: Sequence[PathOrDict] | None = None,
    comparison: PathOrDict | None = None,
    audit: PathOrDict | None = None,
    gate: PathOrDict | None = None,
    out: str | os.PathLike[str] = "reports/report.html",
    title: str | None = None,
    judge_validation: PathOrDict | None = None,
) -> Path:
    """Write ``out`` (HTML) and the Markdown summary beside it; returns the HTML path.

    Inputs are paths or already-loaded dicts (a run as ``{"run", "samples", "scores"}``).
    Everything is validated before anything is written; both files are written atomically.
    """
    out = Path(out)
    if out.suffix.lower() not in (".html", ".htm"):
        raise UserError(f"{out}: the report path must end in .html (the summary goes beside it as .md)")
    if out.exists() and out.is_dir():
        raise UserError(f"{out}: is a directory")
    inputs = load_inputs(runs, comparison, audit, gate, judge_validation)
    title = title or default_title(inputs)
    html = render_html(inputs, title)
    summary = markdown(inputs, metric_rows(inputs), title, out.name)
    atomic_write_text(out, html)
    atomic_write_text(out.with_suffix(".md"), summary)
    return out
