"""CLI: ``rlhf-eval gate`` (apply a policy, exit 0/1/2/3) and ``rlhf-eval init-policy``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

_EXIT_CODES = """\
exit codes:
  0  every rule passed (inconclusive results too, when the policy says on_inconclusive: pass)
  1  at least one rule failed
  2  bad input or usage: malformed policy, unknown metric path, missing or malformed file
  3  no rule failed but at least one is inconclusive and the policy says on_inconclusive: fail
"""

_GATE_EPILOG = f"""\
examples:
  rlhf-eval gate --comparison comparison.json --policy policy.yaml
  rlhf-eval gate --comparison comparison.json --policy policy.yaml \\
      --junit junit.xml --summary "$GITHUB_STEP_SUMMARY" --out gate.json
  rlhf-eval gate --run runs/after --policy absolute.yaml      # min/max bounds on one run

Outputs are written atomically and only after the policy and the input validated.
Policy syntax: rlhf_eval/gate/README.md (`rlhf-eval init-policy` writes a commented starter).

{_EXIT_CODES}"""

_INIT_EPILOG = """\
examples:
  rlhf-eval init-policy --out policy.yaml
  rlhf-eval init-policy --out policy.yaml --force     # overwrite an existing file
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``gate`` and ``init-policy`` subcommands."""
    p = sub.add_parser(
        "gate",
        help="apply a release policy to a comparison (exit 0 pass, 1 fail, 2 bad input, 3 inconclusive)",
        description="Check a comparison (or one run) against a policy of metric thresholds; "
        "the exit code is the release decision.",
        epilog=_GATE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--comparison", metavar="FILE", help="comparison.json from `rlhf-eval compare`")
    src.add_argument(
        "--run",
        metavar="DIR",
        help="a run folder: absolute min/max bounds on its metrics (recomputed from samples.jsonl "
        "when present, else DIR/scores.json)",
    )
    p.add_argument(
        "--policy", required=True, metavar="FILE", help="policy YAML (see `rlhf-eval init-policy`)"
    )
    p.add_argument("--junit", metavar="FILE", help="write JUnit XML, one testcase per rule result")
    p.add_argument("--summary", metavar="FILE", help="write a Markdown summary ('-' prints it to stdout)")
    p.add_argument("--out", metavar="FILE", help="write gate.json (read by `rlhf-eval report`)")
    p.add_argument("-q", "--quiet", action="store_true", help="print only the final decision line")
    p.set_defaults(func=_gate)

    q = sub.add_parser(
        "init-policy",
        help="write a commented starter gate policy",
        description="Write a commented starter policy for `rlhf-eval gate`.",
        epilog=_INIT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    q.add_argument(
        "--out", default="policy.yaml", metavar="FILE", help="where to write (default: policy.yaml)"
    )
    q.add_argument("--force", action="store_true", help="overwrite an existing file")
    q.set_defaults(func=_init_policy)


def _gate(args: argparse.Namespace) -> int:
    from rlhf_eval._io import atomic_write_text, dumps, read_json
    from rlhf_eval.errors import UserError
    from rlhf_eval.gate import evaluate_gate, junit_xml, load_policy, summary_markdown

    policy = load_policy(args.policy)
    if args.comparison is not None:
        result = evaluate_gate(policy, comparison=read_json(args.comparison), data_source=args.comparison)
    else:
        run_dir = Path(args.run)
        if not run_dir.is_dir():
            raise UserError(f"{args.run}: run folder not found")
        scores_path = run_dir / "scores.json"
        if (
            (run_dir / "samples.jsonl").is_file()
            and (run_dir / "run.json").is_file()
            and scores_path.is_file()
        ):
            # recompute every interval from the samples: at the policy's alpha, clusters included
            result = evaluate_gate(policy, run=run_dir, data_source=str(run_dir))
        else:
            result = evaluate_gate(policy, scores=read_json(scores_path), data_source=str(scores_path))

    # Everything validated: render every output first, then write them (each atomically).
    summary = summary_markdown(result)
    texts = {args.out: dumps(result.to_dict()) + "\n", args.junit: junit_xml(result)}
    if args.summary != "-":
        texts[args.summary] = summary
    for path, text in texts.items():
        if not path:
            continue
        try:
            atomic_write_text(path, text)
        except OSError as exc:
            raise UserError(f"{path}: cannot write ({exc.strerror or exc})") from None
    if args.summary == "-":
        sys.stdout.write(summary)

    log = sys.stderr if args.summary == "-" else sys.stdout  # keep stdout pure Markdown then
    if not args.quiet:
        for r in result.results:
            extra = "" if result.blocking(r) or r.status == "pass" else " (allowed)"
            print(f"{r.status.upper():<12} {r.path}: {r.message}{extra}", file=log)
    c = result.counts
    print(
        f"gate: {result.status} ({c['pass']} pass, {c['fail']} fail, {c['inconclusive']} inconclusive; "
        f"on_inconclusive: {policy.on_inconclusive}) -> exit {result.exit_code}",
        file=log,
    )
    return result.exit_code


def _init_policy(args: argparse.Namespace) -> int:
    from rlhf_eval.gate import write_starter_policy

    write_starter_policy(args.out, force=args.force)
    print(
        f"wrote {args.out}; edit the rules, then: rlhf-eval gate --comparison comparison.json --policy {args.out}"
    )
    return 0
