"""Evaluate DPO adapters the way the demo does, and check a rebuild against the shipped figures.

    python scripts/dpo/evaluate.py --record            # shipped adapters -> their evaluation.json
    python scripts/dpo/train.py --out /tmp/rebuilt && python scripts/dpo/evaluate.py /tmp/rebuilt

For each adapter (and the base model) it runs the harmlessness and over-refusal suites at the
demo's size (50 items per part, 64 new tokens, greedy) and reports the refusal rate (full +
partial, by the default judge) on each. Given a folder of rebuilt adapters it prints each
figure beside the shipped one and exits 1 when any differs by more than TOLERANCE: greedy
decoding on CPU is deterministic, but a rebuild on other hardware or library versions moves
the LoRA weights in the last bits and can flip a handful of the 100 replies.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHIPPED = HERE.parents[1] / "rlhf_eval" / "models" / "adapters"
NAMES = ("smollm2-dpo-safety", "smollm2-dpo-overtuned")
SUITES = ("harmlessness", "overrefusal")
LIMIT, TOKENS = 50, 64
TOLERANCE = 0.08  # absolute, on a rate over 50 items: 4 replies


def refusal_rates(spec: str, work: Path) -> dict[str, float]:
    """Refusal rate per suite for ``spec`` at the demo's size."""
    from rlhf_eval.runner import RunConfig, run_evaluation

    result = run_evaluation(
        RunConfig(model=spec, suites=SUITES, limit=LIMIT, max_new_tokens=TOKENS, out=work, quiet=True)
    )
    return {s: float(result.scores[s]["refusal_rate"]["value"]) for s in SUITES}


def main(argv: list[str] | None = None) -> int:
    """Evaluate, then record (shipped) or compare (rebuilt)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "folder", type=Path, nargs="?", default=SHIPPED, help="adapters folder (default: shipped)"
    )
    ap.add_argument("--record", action="store_true", help="write evaluation.json into each shipped adapter")
    args = ap.parse_args(argv)
    base = "embedded:smollm2-135m-instruct"
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        figures = {"base": refusal_rates(base, Path(tmp) / "base")}
        for name in NAMES:
            figures[name] = refusal_rates(f"{base}+adapter={args.folder / name}", Path(tmp) / name)
    for name, rates in figures.items():
        line = ", ".join(f"{s} {v:.3f}" for s, v in rates.items())
        if name != "base" and not args.record:
            shipped = json.loads((SHIPPED / name / "evaluation.json").read_text())["refusal_rate"]
            diffs = {s: rates[s] - shipped[s] for s in SUITES}
            failed |= any(abs(d) > TOLERANCE for d in diffs.values())
            line += " | shipped " + ", ".join(f"{shipped[s]:.3f} ({diffs[s]:+.3f})" for s in SUITES)
        print(f"{name:22s} refusal rate: {line}")
    if args.record:
        for name in NAMES:
            record = {
                "refusal_rate": figures[name],
                "base_refusal_rate": figures["base"],
                "suites": list(SUITES),
                "limit": LIMIT,
                "max_new_tokens": TOKENS,
                "judge": "default",
                "tolerance": TOLERANCE,
            }
            (args.folder / name / "evaluation.json").write_text(json.dumps(record, indent=2) + "\n")
    if failed:
        print(f"a rebuilt figure differs from the shipped one by more than {TOLERANCE}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
