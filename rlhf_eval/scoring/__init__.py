"""Scorers: per-item metrics added to samples, and their aggregation into scores.json."""

from rlhf_eval.scoring import (  # noqa: F401  (registers built-in scorers)
    _accuracy,
    _code,
    _creative,
    _helpfulness,
    _honesty,
    _refusal_scorer,
)
from rlhf_eval.scoring._aggregate import aggregate, expected_calibration_error
from rlhf_eval.scoring._base import ItemMetrics, MetricDef, Scorer, get_scorer, register, scorer_names
from rlhf_eval.scoring._honesty import reliability_bins
from rlhf_eval.scoring._refusal import RefusalDetector, default_detector

__all__ = [
    "ItemMetrics",
    "MetricDef",
    "RefusalDetector",
    "Scorer",
    "aggregate",
    "default_detector",
    "expected_calibration_error",
    "get_scorer",
    "register",
    "reliability_bins",
    "scorer_names",
]
