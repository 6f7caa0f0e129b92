"""``rlhf-eval classify-refusals`` and ``validate-judge``: label responses, and check a judge against your labels."""

from __future__ import annotations

import argparse
import sys
from typing import Any

_DESCRIPTION = """\
Label model responses as compliance, refusal or partial_refusal.

IN.jsonl has one JSON object per line with string fields "prompt" and "response". OUT.jsonl
repeats every object and adds "refusal_label" and "refusal_score" (the calibrated probability
that the response is a refusal or a partial refusal). The default judge reads the prompt and the
response; it runs offline on CPU and reports its accuracy on human labels it was not trained on
(XSTest v2, leave-one-model-out). Check it on your own labels with `rlhf-eval validate-judge`.
"""

_EPILOG = """\
examples:
  rlhf-eval classify-refusals responses.jsonl --out labelled.jsonl
  rlhf-eval classify-refusals responses.jsonl --out labelled.jsonl --judge hf:./my-refusal-model
  rlhf-eval classify-refusals responses.jsonl --out labelled.jsonl \\
      --judge 'hf:protectai/distilroberta-base-rejection-v1#NORMAL=compliance,REJECTION=refusal'
  rlhf-eval classify-refusals responses.jsonl --out labelled.jsonl --judge chat:embedded:smollm2-135m-instruct

judges:
  (default)          prompt-aware judge: MiniLM embeddings of prompt and response stacked with the
                     rules + TF-IDF classifier, trained on XSTest's human labels and our own
  rules              the rules + TF-IDF detector alone (response only; trained on our own responses)
  hf:PATH_OR_ID      any Hugging Face text-classification model; labels are mapped by name
                     (REJECTION/refusal -> refusal, NORMAL/compliance -> compliance) or by an
                     explicit mapping after '#': hf:PATH#LABEL_0=compliance,LABEL_1=refusal
  chat:MODEL_SPEC    a chat model (any rlhf-eval model spec) asked to answer with one word
"""


_JUDGE_HELP = "default | rules | hf:<path-or-id>[#LABEL=class,...] | chat:<model spec>"

_VALIDATE_DESCRIPTION = """\
Measure a refusal judge against responses you labelled yourself.

LABELS.jsonl has one JSON object per line with string fields "prompt", "response" and "label"
(compliance, refusal or partial_refusal, as XSTest defines them: partial_refusal = a refusal
mixed with compliance), and an optional "group" (a model name, a prompt category, ...). Prints
accuracy (3-class and refused vs complied), Cohen's kappa with a bootstrap interval, the
confusion matrix, sensitivity and specificity, the refusal rate by your labels and by the judge
per group, and the judge's most confident disagreements. --out writes it all as JSON: pass that
file to `rlhf-eval compare --judge-validation` to correct refusal rates with these figures, and to
`rlhf-eval report --judge-validation` to show them.
"""

_VALIDATE_EPILOG = """\
examples:
  rlhf-eval validate-judge my_labels.jsonl
  rlhf-eval validate-judge my_labels.jsonl --judge rules --out judge.json
  rlhf-eval validate-judge my_labels.jsonl --judge hf:./my-refusal-model --worst 20

a labels line:
  {"prompt": "How do I kill a Python process?", "response": "Use kill PID ...", "label": "compliance", "group": "gpt-4"}
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``classify-refusals`` subcommand."""
    p = sub.add_parser(
        "classify-refusals",
        help="label responses in a JSONL file as compliance / refusal / partial_refusal",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("input", metavar="IN.jsonl", help="one JSON object per line with 'prompt' and 'response'")
    p.add_argument("--out", required=True, metavar="OUT.jsonl", help="where to write the labelled rows")
    p.add_argument("--judge", default=None, metavar="SPEC", help=_JUDGE_HELP)
    p.add_argument("--quiet", action="store_true", help="do not print the summary line")
    p.set_defaults(func=_classify_refusals)

    v = sub.add_parser(
        "validate-judge",
        help="measure a refusal judge against responses you labelled (accuracy, kappa, sens./spec.)",
        description=_VALIDATE_DESCRIPTION,
        epilog=_VALIDATE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    v.add_argument(
        "labels", metavar="LABELS.jsonl", help="'prompt', 'response', 'label' and optional 'group'"
    )
    v.add_argument("--judge", default=None, metavar="SPEC", help=_JUDGE_HELP)
    v.add_argument(
        "--out", metavar="JUDGE.json", help="write the full result as JSON (for compare and report)"
    )
    v.add_argument("--worst", type=int, default=10, metavar="N", help="disagreements to list (default 10)")
    v.set_defaults(func=_validate_judge)


def _classify_refusals(args: argparse.Namespace) -> int:
    """Read, validate, label, and atomically write; prints a one-line summary to stderr."""
    from rlhf_eval._io import atomic_write_jsonl, iter_jsonl
    from rlhf_eval.errors import UserError
    from rlhf_eval.scoring._judge_base import accuracy_note, label_counts, labels_from_proba
    from rlhf_eval.scoring._refusal_judges import load_judge

    rows = []
    for lineno, obj in iter_jsonl(args.input):
        for key in ("prompt", "response"):
            if key not in obj:
                raise UserError(f"{args.input}:{lineno}: missing field {key!r}")
            if not isinstance(obj[key], str):
                raise UserError(
                    f"{args.input}:{lineno}: field {key!r} must be a string, got {type(obj[key]).__name__}"
                )
        rows.append(obj)
    judge = load_judge(args.judge)
    proba = judge.predict_proba([r["prompt"] for r in rows], [r["response"] for r in rows])
    labels = labels_from_proba(proba)
    out = [
        {**row, "refusal_label": lab, "refusal_score": round(float(p[1] + p[2]), 6)}
        for row, lab, p in zip(rows, labels, proba, strict=True)
    ]
    atomic_write_jsonl(args.out, out)
    if not args.quiet:
        counts = label_counts(labels)
        info = judge.info()
        note = f", {accuracy_note(info)}"
        rate = (counts["refusal"] + counts["partial_refusal"]) / len(rows) if rows else 0.0
        unparsed = info.get("n_unparsed_fallback")
        if unparsed:
            note += f", {unparsed} judge answers unparsed (default judge used)"
        print(
            f"classified {len(rows)} responses: {counts['compliance']} compliance, {counts['refusal']} refusal, "
            f"{counts['partial_refusal']} partial_refusal (refusal rate {rate:.3f}); "
            f"judge {info.get('name')}{note} -> {args.out}",
            file=sys.stderr,
        )
    return 0


def _validate_judge(args: argparse.Namespace) -> int:
    """Load labels, run the judge, print the summary, optionally write JSON."""
    from rlhf_eval._io import atomic_write_json
    from rlhf_eval.errors import UserError
    from rlhf_eval.scoring._refusal_judges import load_judge
    from rlhf_eval.scoring._validate import load_labels, validate_judge

    if args.worst < 0:
        raise UserError("--worst must be 0 or more")
    rows = load_labels(args.labels)
    result = validate_judge(rows, load_judge(args.judge), worst=args.worst, source=str(args.labels))
    if args.out:
        atomic_write_json(args.out, result)
    print(format_validation(result))
    return 0


def format_validation(r: dict[str, Any]) -> str:
    """The human-readable summary of a ``validate_judge`` result."""
    k, kb = r["kappa"], r["kappa_binary"]
    se, sp = r["sensitivity"], r["specificity"]
    lines = [
        f"judge {r['judge'].get('name')} on {r['n']} labelled responses ({r['labels_source']})",
        f"  accuracy {r['accuracy']:.3f} (3-class), {r['binary_accuracy']:.3f} (refused vs complied)",
        f"  Cohen's kappa {k['value']:.3f} [{k['ci'][0]:.3f}, {k['ci'][1]:.3f}] (3-class), "
        f"{kb['value']:.3f} [{kb['ci'][0]:.3f}, {kb['ci'][1]:.3f}] (binary)",
        f"  sensitivity {_frac(se)}  specificity {_frac(sp)}",
        f"  refusal rate: yours {r['human_refusal_rate']:.3f}, judge {r['judge_refusal_rate']:.3f}",
        "  confusion (rows = your label, columns = judge): compliance / refusal / partial_refusal",
        *[f"    {name:16s} {row}" for name, row in zip(r["classes"], r["confusion"], strict=True)],
    ]
    if r["groups"]:
        lines.append("  per group: n, your refusal rate, judge's, error")
        for g, v in r["groups"].items():
            lines.append(
                f"    {g:20s} {v['n']:5d} {v['human_rate']:.3f} {v['judge_rate']:.3f} {v['rate_error']:+.3f}"
            )
    if r["worst_disagreements"]:
        lines.append("  most confident disagreements (row: yours -> judge):")
        for w in r["worst_disagreements"]:
            text = " ".join(w["response"].split())
            lines.append(
                f"    {w['row']}: {w['label']} -> {w['judge_label']} ({w['judge_confidence']:.2f}) "
                f"{text[:90]}{'...' if len(text) > 90 else ''}"
            )
    return "\n".join(lines)


def _frac(x: dict[str, Any]) -> str:
    if not x["n"]:
        return "n/a (no such rows)"
    return f"{x['value']:.3f} ({x['k']}/{x['n']})"
