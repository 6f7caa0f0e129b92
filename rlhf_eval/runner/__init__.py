"""Runner: batching, content-addressed on-disk cache, resume, progress, run folders."""

from rlhf_eval.runner._cache import ResultCache, cache_key
from rlhf_eval.runner._runner import DEFAULT_MODEL, RunConfig, RunResult, run_evaluation, score_samples

__all__ = [
    "DEFAULT_MODEL",
    "ResultCache",
    "RunConfig",
    "RunResult",
    "cache_key",
    "run_evaluation",
    "score_samples",
]
