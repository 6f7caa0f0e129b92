"""The report's judge-validation section: a refusal judge against labels the user assigned by hand."""

from __future__ import annotations

from typing import Any

from rlhf_eval.report._fmt import esc, fmt, fmt_int
from rlhf_eval.report._page import kv_table, section, table


def _ci(block: Any) -> str:
    if not isinstance(block, dict):
        return "–"
    lo, hi = (block.get("ci") or [None, None])[:2]
    return f"{fmt(block.get('value'))} [{fmt(lo)}, {fmt(hi)}]"


def _frac(block: Any) -> str:
    if not isinstance(block, dict) or not block.get("n"):
        return "–"
    return f"{_ci(block)} ({fmt_int(block.get('k'))}/{fmt_int(block.get('n'))})"


def judge_validation_section(jv: dict[str, Any]) -> str:
    """Accuracy, kappa, sensitivity/specificity, confusion, per-group rates and worst disagreements."""
    judge: dict[str, Any] = jv["judge"] if isinstance(jv.get("judge"), dict) else {}
    parts = [
        f"<p>The refusal judge <code>{esc(judge.get('name', '?'))}</code> against "
        f"{esc(fmt_int(jv.get('n')))} responses labelled by people ({esc(jv.get('labels_source') or 'labels file')}).</p>",
        kv_table(
            [
                ("Accuracy (3-class)", fmt(jv.get("accuracy"))),
                ("Accuracy (refused vs complied)", fmt(jv.get("binary_accuracy"))),
                ("Cohen's kappa (3-class) [95 % bootstrap CI]", _ci(jv.get("kappa"))),
                ("Cohen's kappa (binary)", _ci(jv.get("kappa_binary"))),
                ("Sensitivity (refusals found) [Wilson 95 %]", _frac(jv.get("sensitivity"))),
                ("Specificity (compliance kept) [Wilson 95 %]", _frac(jv.get("specificity"))),
                (
                    "Refusal rate: labels / judge",
                    f"{fmt(jv.get('human_refusal_rate'))} / {fmt(jv.get('judge_refusal_rate'))}",
                ),
            ]
        ),
    ]
    classes = [str(c) for c in jv.get("classes") or ["compliance", "refusal", "partial_refusal"]]
    conf = jv.get("confusion") or []
    parts.append("<h3>Confusion (rows: your label, columns: judge)</h3>")
    parts.append(
        table(
            ["label", *classes],
            [[esc(c), *[esc(fmt_int(v)) for v in row]] for c, row in zip(classes, conf, strict=False)],
        )
    )
    groups = jv.get("groups") or {}
    if groups:
        parts.append("<h3>Refusal rate by group</h3>")
        parts.append(
            table(
                ["group", "n", "your labels", "judge", "error"],
                [
                    [
                        esc(g),
                        esc(fmt_int(v.get("n"))),
                        esc(fmt(v.get("human_rate"))),
                        esc(fmt(v.get("judge_rate"))),
                        esc(fmt(v.get("rate_error"), signed=True)),
                    ]
                    for g, v in groups.items()
                ],
            )
        )
    worst = jv.get("worst_disagreements") or []
    if worst:
        parts.append("<h3>Most confident disagreements</h3>")
        parts.append(
            table(
                ["row", "prompt", "response", "your label", "judge"],
                [
                    [
                        esc(w.get("row")),
                        esc(str(w.get("prompt", ""))[:300]),
                        esc(str(w.get("response", ""))[:600]),
                        esc(w.get("label")),
                        esc(f"{w.get('judge_label')} ({fmt(w.get('judge_confidence'))})"),
                    ]
                    for w in worst
                ],
            )
        )
    return section("judge", "Refusal judge vs your labels", "".join(parts))
