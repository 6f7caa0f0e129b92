"""``rlhf-eval import``: lm-evaluation-harness and Inspect logs to run directories."""

from __future__ import annotations

import argparse
import shlex
import sys

_DESCRIPTION = """\
Turn logs another tool already wrote into a run directory (run.json, samples.jsonl,
scores.json) that compare, gate and report read like the output of `rlhf-eval run`:
paired before/after statistics without re-running either model.

SOURCE is lm-eval, inspect, or auto (tell them apart by their files).
  lm-eval   lm-evaluation-harness 0.4.x --log_samples output: the --output_path folder, its
            per-model subfolder, or one results_<timestamp>.json (the samples_<task>_<timestamp>.jsonl
            files beside it are read). Each task is a suite; each document an item whose id
            is the first 16 hex digits of lm-eval's doc_hash (pairs across models even if the
            documents were logged in another order; --item-id doc_id uses lm-eval's index).
            Per-document metrics (acc, acc_norm, exact_match, ...; a filter other than `none`
            is appended: exact_match_strict_match) become item metrics; multiple-choice tasks
            also get our accuracy, ece and brier from the logged log-likelihoods.
  inspect   Inspect eval logs (.eval or .json, or a folder of them: one suite per task),
            read with inspect_ai's own reader (pip install inspect_ai). Items are sample ids
            (ID@EPOCH with several epochs, clustered on the sample); each scorer is a metric:
            C/I/N grades 1/0/0 (a proportion), P 0.5 and numbers as they are (a mean).
Aggregates and intervals are computed by our own code, as for native runs; the tool's own
figure is kept beside each as `reported`. Format: docs/formats.md ("Imported runs").
"""

_EPILOG = """\
examples:
  lm_eval --model hf --model_args pretrained=./before --tasks mmlu --log_samples --output_path lm-out/before
  rlhf-eval import lm-eval lm-out/before --out runs/before --category-field subject
  rlhf-eval import inspect logs/after/ --out runs/after
  rlhf-eval import auto lm-out/after/my-model/results_2025-01-01T00-00-00.json --out runs/after
  rlhf-eval compare runs/before runs/after --out comparison.json

exit codes: 0 written; 2 bad input (not a log, a malformed line, a missing field: the message
names the file, line or sample, and field); nothing is written on error.
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``import`` subcommand."""
    p = sub.add_parser(
        "import",
        help="lm-eval / Inspect logs -> a run directory for compare/gate/report, "
        "e.g. `rlhf-eval import lm-eval lm-out/ --out runs/before`",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "source", choices=("lm-eval", "inspect", "auto"), metavar="SOURCE", help="lm-eval, inspect or auto"
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="log file or folder (Inspect: several allowed)")
    p.add_argument("--out", required=True, metavar="DIR", help="run directory to write")
    p.add_argument(
        "--category-field",
        metavar="FIELD",
        help="lm-eval: a doc field, Inspect: a sample metadata field, to use as the item category",
    )
    p.add_argument(
        "--item-id",
        choices=("doc_hash", "doc_id"),
        default="doc_hash",
        help="lm-eval item ids: content hash (default) or lm-eval's doc_id",
    )
    p.add_argument("--seed", type=int, default=0, help="seed for bootstrap intervals (default 0)")
    p.add_argument("--quiet", action="store_true", help="print nothing on success")
    p.set_defaults(func=_import)


def _import(args: argparse.Namespace) -> int:
    """Import the logs, print the scores table and warnings to stderr, return 0."""
    from rlhf_eval.interop._detect import import_logs

    result = import_logs(
        args.paths,
        args.out,
        source=args.source,
        item_id=args.item_id,
        category_field=args.category_field,
        seed=args.seed,
        command=shlex.join(["rlhf-eval", *sys.argv[1:]]),
    )
    if not args.quiet:
        from rlhf_eval.runner._cli import format_scores

        print(format_scores(result.scores), file=sys.stderr)
        for w in result.warnings:
            print(f"  warning: {w}", file=sys.stderr)
        imported = result.run["imported"]
        print(
            f"wrote {result.out}/run.json, samples.jsonl, scores.json ({result.run['n_samples']} items from "
            f"{imported['tool']} {imported['tool_version']}, model {result.run['model']['spec']})",
            file=sys.stderr,
        )
    return 0
