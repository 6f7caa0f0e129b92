"""Scorers: per-item metrics added to samples, and their aggregation into scores.json."""

from rlhf_eval.scoring import _accuracy  # noqa: F401  (registers built-in scorers)
from rlhf_eval.scoring._aggregate import aggregate, expected_calibration_error
from rlhf_eval.scoring._base import ItemMetrics, MetricDef, Scorer, get_scorer, register, scorer_names

__all__ = [
    "ItemMetrics",
    "MetricDef",
    "Scorer",
    "aggregate",
    "expected_calibration_error",
    "get_scorer",
    "register",
    "scorer_names",
]
