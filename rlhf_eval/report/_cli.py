"""``rlhf-eval report``: one offline HTML file (and a Markdown summary) from any stage's outputs."""

from __future__ import annotations

import argparse
import sys

_EXAMPLES = """\
examples:
  rlhf-eval report --run runs/before --run runs/after --comparison comparison.json \\
      --audit audit.json --gate gate.json --out reports/release.html
  rlhf-eval report --run runs/smollm2 --out reports/smollm2.html      # one run: scores and samples
  rlhf-eval report --audit audit.json --out reports/annotators.html   # the annotator audit alone

Writes NAME.html (opens offline in any browser: plotly.js embedded, no request to any host)
and NAME.md beside it (a summary for CI job pages). Each section appears when its input is
given. Exit 2 on a missing or malformed input; nothing is written then.
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``report`` subcommand."""
    p = sub.add_parser(
        "report",
        help="write a self-contained HTML report (+ Markdown summary)",
        description="Write a self-contained HTML report and a Markdown summary from runs, a comparison, "
        "an annotator audit and a gate result.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--run",
        action="append",
        default=[],
        metavar="DIR",
        help="a run directory; give two for before and after",
    )
    p.add_argument("--comparison", metavar="FILE", help="comparison.json from `rlhf-eval compare`")
    p.add_argument("--audit", metavar="FILE", help="audit.json from `rlhf-eval audit`")
    p.add_argument("--gate", metavar="FILE", help="gate.json from `rlhf-eval gate`")
    p.add_argument(
        "--judge-validation",
        metavar="FILE",
        help="judge.json from `rlhf-eval validate-judge --out`: the refusal judge against your labels",
    )
    p.add_argument("--title", help="the report's title (default: names the models)")
    p.add_argument(
        "--out",
        required=True,
        metavar="reports/NAME.html",
        help="where to write the HTML; NAME.md goes beside it",
    )
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from rlhf_eval.report import build_report

    out = build_report(
        runs=args.run,
        comparison=args.comparison,
        audit=args.audit,
        gate=args.gate,
        judge_validation=args.judge_validation,
        out=args.out,
        title=args.title,
    )
    print(f"wrote {out} and {out.with_suffix('.md')}", file=sys.stderr)
    return 0
