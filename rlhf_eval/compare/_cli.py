"""``rlhf-eval compare``: before vs after run directories -> comparison.json."""

from __future__ import annotations

import argparse
from typing import Any

_DESCRIPTION = """\
Compare two runs of the same suites (e.g. before and after RLHF), item by item.

Items are paired on (suite, item_id). For every metric in scores.json, overall and per
category: the before/after values, the after-before delta with a 95 % interval, a paired
test (exact McNemar for 0/1 metrics, permutation test otherwise), multiplicity-adjusted
p-values (Holm for headline rows, Benjamini-Hochberg for per-category rows), the minimum
detectable effect, and the items that flipped. An alignment-tax block weighs capability,
over-refusal, harmful compliance, helpfulness and honesty against each other.
Statistical choices: rlhf_eval/compare/README.md.
"""

_EPILOG = """\
examples:
  rlhf-eval compare runs/before runs/after --out comparison.json
  rlhf-eval compare runs/before runs/after --n-resamples 2000 --seed 1
  rlhf-eval compare runs/v1 runs/v2 --allow-suite-mismatch   # suite versions differ

exit codes: 0 written; 2 bad input (not a run directory, no common items, truncated
samples.jsonl, suite version mismatch); nothing is written on error.
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``compare`` subcommand."""
    p = sub.add_parser(
        "compare",
        help="compare a before run with an after run (paired statistics) -> comparison.json",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "before",
        metavar="BEFORE_DIR",
        help="run directory of the model before (run.json, samples.jsonl, scores.json)",
    )
    p.add_argument("after", metavar="AFTER_DIR", help="run directory of the model after")
    p.add_argument(
        "--out", default="comparison.json", help="where to write comparison.json (default: %(default)s)"
    )
    p.add_argument(
        "--n-resamples",
        type=int,
        default=10000,
        help="bootstrap/permutation resamples (default: %(default)s)",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        help="random seed; results are deterministic given it (default: %(default)s)",
    )
    p.add_argument(
        "--alpha",
        type=float,
        default=0.05,
        help="significance level; intervals are 1-alpha (default: %(default)s)",
    )
    p.add_argument(
        "--judge-validation",
        metavar="JUDGE.json",
        help="correct refusal rates with the judge's error measured on your labels "
        "(`rlhf-eval validate-judge --out`) instead of the one recorded in run.json",
    )
    p.add_argument(
        "--allow-suite-mismatch",
        action="store_true",
        help="compare suites whose versions differ (a warning is recorded instead of an error)",
    )
    p.set_defaults(func=handler)


def handler(args: argparse.Namespace) -> int:
    """Run the comparison, write comparison.json, print a short summary; returns the exit code."""
    from rlhf_eval.compare import compare_runs, write_comparison

    comparison = compare_runs(
        args.before,
        args.after,
        n_resamples=args.n_resamples,
        seed=args.seed,
        allow_suite_mismatch=args.allow_suite_mismatch,
        alpha=args.alpha,
        judge_validation=args.judge_validation,
    )
    write_comparison(comparison, args.out)
    for line in summary_lines(comparison.to_dict()):
        print(line)
    print(f"wrote {args.out}")
    return 0


def summary_lines(doc: dict[str, Any]) -> list[str]:
    """A plain-text summary of headline rows, the verdict and warnings."""
    lines = []
    for r in doc["metrics"]:
        if not r["headline"]:
            continue
        if r["delta"] is None:
            lines.append(f"  {r['path']:<45} n=0 (not tested)")
            continue
        lo, hi = r["delta_ci"]
        flag = "*" if r["significant"] else " "
        lines.append(
            f"{flag} {r['path']:<45} {r['before']:.3f} -> {r['after']:.3f}  "
            f"delta {r['delta']:+.3f} [{lo:+.3f}, {hi:+.3f}]  p_adj={r['p_adjusted']:.2g}  n={r['n']}"
        )
        c = r.get("corrected")
        if c and c.get("delta") is not None and None not in (c.get("delta_ci") or [None]):
            lines.append(
                f"  {'':<45} judge-corrected {c['before']:.3f} -> {c['after']:.3f}  delta {c['delta']:+.3f} "
                f"[{c['delta_ci'][0]:+.3f}, {c['delta_ci'][1]:+.3f}]"
            )
    tax = doc["alignment_tax"]
    lines.append(
        f"alignment tax: {tax['verdict']}"
        + (f"; taxed: {', '.join(tax['taxed_axes'])}" if tax["taxed_axes"] else "")
        + (f"; improved: {', '.join(tax['improved_axes'])}" if tax["improved_axes"] else "")
    )
    lines.extend(f"warning: {w}" for w in doc["warnings"])
    return lines
