"""Scorers: per-item metrics added to samples, and their aggregation into scores.json."""

from rlhf_eval.scoring import (  # noqa: F401  (registers built-in scorers)
    _accuracy,
    _bbq,
    _code,
    _creative,
    _gsm8k,
    _helpfulness,
    _honesty,
    _ifeval,
    _refusal_scorer,
)
from rlhf_eval.scoring._aggregate import aggregate, expected_calibration_error
from rlhf_eval.scoring._base import ItemMetrics, MetricDef, Scorer, get_scorer, register, scorer_names
from rlhf_eval.scoring._honesty import reliability_bins
from rlhf_eval.scoring._judge_base import CLASSES, RefusalJudge
from rlhf_eval.scoring._prompt_judge import StackedRefusalJudge, default_judge
from rlhf_eval.scoring._refusal import RefusalDetector, default_detector
from rlhf_eval.scoring._refusal_judges import load_judge
from rlhf_eval.scoring._validate import load_labels, validate_judge

__all__ = [
    "CLASSES",
    "ItemMetrics",
    "MetricDef",
    "RefusalDetector",
    "RefusalJudge",
    "Scorer",
    "StackedRefusalJudge",
    "aggregate",
    "default_detector",
    "default_judge",
    "expected_calibration_error",
    "get_scorer",
    "load_judge",
    "load_labels",
    "register",
    "reliability_bins",
    "scorer_names",
    "validate_judge",
]
