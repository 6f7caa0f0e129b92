"""Markdown summary of a gate run, suitable for a CI job summary ($GITHUB_STEP_SUMMARY)."""

from __future__ import annotations

import os

from rlhf_eval._io import atomic_write_text
from rlhf_eval.gate._evaluate import GateResult, RuleResult
from rlhf_eval.gate._policy import _num

_STATUS_WORD = {"pass": "PASS", "fail": "FAIL", "inconclusive": "INCONCLUSIVE"}


def _cell(text: str) -> str:
    """Table-cell-safe text: no pipes, newlines or backticks that would break the row."""
    return (
        text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("\r", " ").replace("`", "'")
    )


def _status_cell(result: GateResult, r: RuleResult) -> str:
    word = _STATUS_WORD[r.status]
    if r.status == "inconclusive" and not result.blocking(r):
        word += " (allowed)"
    return f"**{word}**" if result.blocking(r) else word


def summary_markdown(result: GateResult) -> str:
    """The summary: a headline with the decision and exit code, then one table row per result."""
    c = result.counts
    lines = [
        f"## rlhf-eval gate: {_STATUS_WORD[result.status]}",
        "",
        f"Policy `{_cell(result.policy.source)}` on `{_cell(result.data_source)}`: "
        f"{len(result.policy.rules)} rule(s), {len(result.results)} result(s): "
        f"{c['pass']} pass, {c['fail']} fail, {c['inconclusive']} inconclusive "
        f"(inconclusive results {'block' if result.policy.on_inconclusive == 'fail' else 'are allowed'}). "
        f"Exit code {result.exit_code}.",
        "",
        f"| Status | Rule | Metric | Bound | Decide | Value | {100 * result.ci_level:.4g}% CI | n | Reason |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    order = {"fail": 0, "inconclusive": 1, "pass": 2}
    for r in sorted(result.results, key=lambda r: (order[r.status], r.rule)):
        rule = f"{r.rule + 1}" + (f" {_cell(r.name)}" if r.name else "")
        ci = f"[{_num(r.ci[0])}, {_num(r.ci[1])}]" if r.ci is not None else "n/a"
        value = f"{r.quantity} {_num(r.value)}"
        n = str(r.n) if r.n is not None else "n/a"
        if r.min_n is not None:
            n += f" (min {r.min_n})"
        if r.status == "inconclusive":  # what it would take to decide (see `rlhf-eval plan`)
            n += f" (needs ~{r.n_needed})" if r.n_needed is not None else " (needs: unknown)"
        lines.append(
            f"| {_status_cell(result, r)} | {rule} | `{_cell(r.path)}` | {_cell(r.bound_text)} |"
            f" {r.decide} | {value} | {ci} | {n} | {_cell(r.reason)} |"
        )
    lines.append("")
    return "\n".join(lines)


def write_summary(result: GateResult, path: str | os.PathLike[str]) -> None:
    """Write the Markdown summary atomically."""
    atomic_write_text(path, summary_markdown(result))
