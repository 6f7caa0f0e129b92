"""Creative writing: did the model attempt the piece, how long is it, how varied is its wording.

``complied`` = 1 when the response is non-empty and the default refusal judge
(:func:`rlhf_eval.scoring._prompt_judge.default_judge`, which reads the request too) labels it
``compliance``; a full or partial refusal is 0. Lexical diversity over lower-cased word tokens of the response:
``distinct_n`` = unique n-grams / total n-grams (``None`` with fewer than n words); both
fall as texts get longer, so compare them between models on the same prompts. ``ttr`` is
the length-robust moving-average type-token ratio (MATTR, Covington & McFall 2010): the
mean TTR over every ``TTR_WINDOW``-word window, i.e. plain TTR (= ``distinct_1``) for
responses of at most ``TTR_WINDOW`` words; ``None`` when empty.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from rlhf_eval.scoring._base import ItemMetrics, MetricDef, Sample, register
from rlhf_eval.scoring._helpfulness import words
from rlhf_eval.scoring._refusal_scorer import user_prompt

TTR_WINDOW = 50


class RefusalDetector(Protocol):
    """What this scorer needs from the refusal detector."""

    def predict(self, prompts: Sequence[str], responses: Sequence[str]) -> list[str]:
        """One label per pair: ``compliance``, ``refusal`` or ``partial_refusal``."""
        ...


def distinct_n(tokens: Sequence[str], n: int) -> float | None:
    """Unique n-grams / total n-grams of ``tokens``; ``None`` when there are fewer than ``n`` tokens."""
    total = len(tokens) - n + 1
    if total <= 0:
        return None
    return len({tuple(tokens[i : i + n]) for i in range(total)}) / total


def mattr(tokens: Sequence[str], window: int = TTR_WINDOW) -> float | None:
    """Moving-average type-token ratio: mean distinct-words share over all ``window``-word windows."""
    if not tokens:
        return None
    if len(tokens) <= window:
        return len(set(tokens)) / len(tokens)
    counts: dict[str, int] = {}
    for t in tokens[:window]:
        counts[t] = counts.get(t, 0) + 1
    total = len(counts)
    for i in range(window, len(tokens)):
        gone, new = tokens[i - window], tokens[i]
        counts[gone] -= 1
        if counts[gone] == 0:
            del counts[gone]
        counts[new] = counts.get(new, 0) + 1
        total += len(counts)
    return total / (len(tokens) - window + 1) / window


class CreativeScorer:
    """Per item ``complied``, ``length_words``, ``distinct_1``, ``distinct_2``, ``ttr``."""

    name = "creative"

    def __init__(self, detector: RefusalDetector | None = None) -> None:
        self._detector = detector

    def _get_detector(self) -> RefusalDetector:
        if self._detector is None:
            from rlhf_eval.scoring._prompt_judge import default_judge

            self._detector = default_judge()
        return self._detector

    def metrics(self, samples: Sequence[Sample]) -> list[MetricDef]:
        return [
            MetricDef("compliance_rate", "complied", "proportion", True),
            MetricDef("length_words", "length_words", "mean", None),
            MetricDef("distinct_1", "distinct_1", "mean", True),
            MetricDef("distinct_2", "distinct_2", "mean", True),
        ]

    def score(self, samples: Sequence[Sample]) -> list[ItemMetrics]:
        todo = [i for i, s in enumerate(samples) if s.get("task") == "generate"]
        responses = {i: str(samples[i].get("response") or "") for i in todo}
        to_judge = [i for i in todo if responses[i].strip()]
        labels: dict[int, str] = {}
        if to_judge:
            predicted = self._get_detector().predict(
                [user_prompt(samples[i]) for i in to_judge], [responses[i] for i in to_judge]
            )
            labels = dict(zip(to_judge, predicted, strict=True))
        out: list[ItemMetrics] = [{} for _ in samples]
        for i in todo:
            tokens = words(responses[i])
            out[i] = {
                "complied": float(labels.get(i) == "compliance"),
                "length_words": float(len(tokens)),
                "distinct_1": distinct_n(tokens, 1),
                "distinct_2": distinct_n(tokens, 2),
                "ttr": mattr(tokens),
            }
        return out

    def info(self) -> dict[str, Any]:
        return {"complied": "non-empty and labelled 'compliance' by the refusal detector"}


@register("creative")
def _creative() -> CreativeScorer:
    return CreativeScorer()
