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


def choice_length(choice: str) -> int:
    """Characters lm-eval divides by for acc_norm: the choice without the one leading delimiter space."""
    return len(choice[1:] if choice.startswith(" ") else choice)


def _argmax(values: Sequence[float]) -> int:
    """Index of the largest value, the first on ties (as ``numpy.argmax``)."""
    return max(range(len(values)), key=lambda i: (values[i], -i))


class NormAccuracyScorer:
    """lm-eval's ``acc_norm``: ``correct_norm`` = argmax(loglik / len(choice)) == gold, Wilson interval.

    ``len(choice)`` counts characters of the choice text as lm-eval's ``doc_to_choice`` gives
    it, i.e. without the target delimiter (the one leading space our continuations carry).
    """

    name = "accuracy_norm"

    def metrics(self, samples: Sequence[Sample]) -> list[MetricDef]:
        return [MetricDef("acc_norm", "correct_norm", "proportion", True)]

    def score(self, samples: Sequence[Sample]) -> list[ItemMetrics]:
        out: list[ItemMetrics] = []
        for s in samples:
            if s.get("task") != "multiple_choice":
                out.append({})
                continue
            lengths = [max(choice_length(c), 1) for c in s["choices"]]
            normed = [lp / n for lp, n in zip(s["choice_logprobs"], lengths, strict=True)]
            out.append({"correct_norm": float(_argmax(normed) == s["gold"])})
        return out

    def info(self) -> dict[str, Any]:
        return {}


@register("accuracy_norm")
def _accuracy_norm() -> NormAccuracyScorer:
    return NormAccuracyScorer()
