"""Benchmark: build the HTML report for two runs of 2,000 samples each plus a 1,000,000-label audit.

Budget (issue: self-contained HTML report): under 10 s and under 10 MB. Inputs are written
first (not timed); the timed part is ``build_report`` from the files, validation included.
Prints the build time, the HTML size and both as a ratio of the budget (< 1 is within).

    python benchmarks/bench_report.py [--samples 2000] [--labels 1000000] [--annotators 2000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from rlhf_eval.report import build_report

# the synthetic inputs are test fixtures, kept beside the report tests (not in the package)
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "report"))
from synthetic_inputs import write_all

BUDGET_S = 10.0
BUDGET_BYTES = 10_000_000


def main() -> None:
    """Write the synthetic inputs, time the report build, print time/size against the budget."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=2000, help="samples per run (default 2000)")
    ap.add_argument(
        "--labels", type=int, default=1_000_000, help="labels behind the audit (default 1,000,000)"
    )
    ap.add_argument("--annotators", type=int, default=2000, help="annotators in the audit (default 2000)")
    ap.add_argument("--repeat", type=int, default=3, help="timed builds; the best is reported (default 3)")
    ap.add_argument("--keep", type=Path, default=None, help="also copy the report here")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        paths = write_all(
            Path(tmp), n_samples=args.samples, n_annotators=args.annotators, n_labels=args.labels
        )
        prep = time.perf_counter() - t0
        out = Path(tmp) / "reports" / "bench.html"
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            build_report(
                runs=[paths["before"], paths["after"]],
                comparison=paths["comparison"],
                audit=paths["audit"],
                gate=paths["gate"],
                out=out,
            )
            times.append(time.perf_counter() - t0)
        size = out.stat().st_size
        md_size = out.with_suffix(".md").stat().st_size
        if args.keep:
            args.keep.parent.mkdir(parents=True, exist_ok=True)
            args.keep.write_bytes(out.read_bytes())
    best, first = min(times), times[0]
    print(
        f"inputs: 2 runs x {args.samples:,} samples, audit of {args.labels:,} labels / {args.annotators:,} annotators "
        f"(written in {prep:.1f} s, not timed)"
    )
    print(
        f"build time: best {best:.2f} s, first (cold imports) {first:.2f} s; budget {BUDGET_S:.0f} s "
        f"-> ratio {first / BUDGET_S:.2f} (cold), {best / BUDGET_S:.2f} (best)"
    )
    print(
        f"html size: {size / 1e6:.2f} MB; budget {BUDGET_BYTES / 1e6:.0f} MB -> ratio {size / BUDGET_BYTES:.2f}"
    )
    print(f"markdown summary: {md_size / 1e3:.1f} kB")


if __name__ == "__main__":
    main()
