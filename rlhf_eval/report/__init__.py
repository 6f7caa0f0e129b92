"""Self-contained HTML audit reports (plotly.js inlined once, no network) and Markdown summaries."""

from rlhf_eval.report._build import build_report, render_html, render_markdown
from rlhf_eval.report._inputs import ReportInputs, RunInput, load_inputs, load_run

__all__ = [
    "ReportInputs",
    "RunInput",
    "build_report",
    "load_inputs",
    "load_run",
    "render_html",
    "render_markdown",
]
