"""Before vs after: paired per-item comparison of two runs, flips, deltas with CIs, alignment tax."""

from rlhf_eval.compare._compare import compare_runs
from rlhf_eval.compare._result import Comparison, write_comparison

__all__ = ["Comparison", "compare_runs", "write_comparison"]
