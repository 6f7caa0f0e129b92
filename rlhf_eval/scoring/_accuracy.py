"""Multiple-choice accuracy: the prediction is the choice with the highest summed log-prob."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rlhf_eval.scoring._base import ItemMetrics, MetricDef, Sample, register


class AccuracyScorer:
    """``correct`` per item (pred == gold); suite metric ``accuracy`` with a Wilson interval."""

    name = "accuracy"

    def metrics(self, samples: Sequence[Sample]) -> list[MetricDef]:
        return [MetricDef("accuracy", "correct", "proportion", True)]

    def score(self, samples: Sequence[Sample]) -> list[ItemMetrics]:
        return [
            {"correct": float(s["pred"] == s["gold"])} if s.get("task") == "multiple_choice" else {}
            for s in samples
        ]

    def info(self) -> dict[str, Any]:
        return {}


@register("accuracy")
def _accuracy() -> AccuracyScorer:
    return AccuracyScorer()
