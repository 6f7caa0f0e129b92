"""``rlhf-eval classify-refusals``: label each response in a JSONL file as compliance / refusal / partial."""

from __future__ import annotations

import argparse
import sys

_DESCRIPTION = """\
Label model responses as compliance, refusal or partial_refusal.

IN.jsonl has one JSON object per line with string fields "prompt" and "response". OUT.jsonl
repeats every object and adds "refusal_label" and "refusal_score" (probability that the
response is a refusal or a partial refusal). The default detector (rules + a classifier trained
on rlhf-eval's labelled responses) runs offline on CPU and reports its cross-validated accuracy.
"""

_EPILOG = """\
examples:
  rlhf-eval classify-refusals responses.jsonl --out labelled.jsonl
  rlhf-eval classify-refusals responses.jsonl --out labelled.jsonl --judge hf:./my-refusal-model
  rlhf-eval classify-refusals responses.jsonl --out labelled.jsonl \\
      --judge 'hf:protectai/distilroberta-base-rejection-v1#NORMAL=compliance,REJECTION=refusal'
  rlhf-eval classify-refusals responses.jsonl --out labelled.jsonl --judge chat:embedded:smollm2-135m-instruct

judges:
  (default)          built-in detector: rules + TF-IDF logistic regression, offline, ~1 s to train
  hf:PATH_OR_ID      any Hugging Face text-classification model; labels are mapped by name
                     (REJECTION/refusal -> refusal, NORMAL/compliance -> compliance) or by an
                     explicit mapping after '#': hf:PATH#LABEL_0=compliance,LABEL_1=refusal
  chat:MODEL_SPEC    a chat model (any rlhf-eval model spec) asked to answer with one word
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
    p.add_argument(
        "--judge", default=None, metavar="SPEC", help="hf:<path-or-id>[#LABEL=class,...] or chat:<model spec>"
    )
    p.add_argument("--quiet", action="store_true", help="do not print the summary line")
    p.set_defaults(func=_classify_refusals)


def _classify_refusals(args: argparse.Namespace) -> int:
    """Read, validate, label, and atomically write; prints a one-line summary to stderr."""
    from rlhf_eval._io import atomic_write_jsonl, iter_jsonl
    from rlhf_eval.errors import UserError
    from rlhf_eval.scoring._refusal import CLASSES, label_counts
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
    labels = [CLASSES[int(i)] for i in proba.argmax(axis=1)] if len(rows) else []
    out = [
        {**row, "refusal_label": lab, "refusal_score": round(float(p[1] + p[2]), 6)}
        for row, lab, p in zip(rows, labels, proba, strict=True)
    ]
    atomic_write_jsonl(args.out, out)
    if not args.quiet:
        counts = label_counts(labels)
        info = judge.info()
        cv = info.get("cv_accuracy")
        cv_text = f", cv accuracy {cv:.3f}" if isinstance(cv, float) else ""
        rate = (counts["refusal"] + counts["partial_refusal"]) / len(rows) if rows else 0.0
        unparsed = info.get("n_unparsed_fallback")
        if unparsed:
            cv_text += f", {unparsed} judge answers unparsed (default detector used)"
        print(
            f"classified {len(rows)} responses: {counts['compliance']} compliance, {counts['refusal']} refusal, "
            f"{counts['partial_refusal']} partial_refusal (refusal rate {rate:.3f}); "
            f"judge {info.get('name')}{cv_text} -> {args.out}",
            file=sys.stderr,
        )
    return 0
