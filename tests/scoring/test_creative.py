"""Creative-writing scorer: compliance via the refusal detector, length and lexical diversity."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import pytest

from rlhf_eval.scoring import aggregate, get_scorer
from rlhf_eval.scoring._creative import CreativeScorer, distinct_n, mattr


class FakeDetector:
    """Labels a response a refusal when it starts with "I can't"; records what it was asked."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], list[str]]] = []

    def predict(self, prompts: Sequence[str], responses: Sequence[str]) -> list[str]:
        self.calls.append((list(prompts), list(responses)))
        return [
            "refusal"
            if r.startswith("I can't")
            else "partial_refusal"
            if r.startswith("I'd rather")
            else "compliance"
            for r in responses
        ]


def gen(response: str, prompt: str = "Write a poem about the sea.") -> dict[str, Any]:
    return {
        "suite": "c",
        "item_id": "i",
        "task": "generate",
        "prompt": prompt,
        "response": response,
        "category": "poem",
    }


def test_distinct_n_hand_computed() -> None:
    tokens = ["the", "cat", "sat", "on", "the", "mat", "the", "cat"]
    assert distinct_n(tokens, 1) == pytest.approx(5 / 8)  # the, cat, sat, on, mat
    # bigrams: the-cat, cat-sat, sat-on, on-the, the-mat, mat-the, the-cat -> 6 unique of 7
    assert distinct_n(tokens, 2) == pytest.approx(6 / 7)
    assert distinct_n(["one"], 2) is None and distinct_n([], 1) is None


def test_mattr_hand_computed() -> None:
    assert mattr(["a", "b", "a"], window=3) == pytest.approx(2 / 3)  # short text: plain TTR
    # windows of 2 over a a b b: [a a]=1/2, [a b]=2/2, [b b]=1/2 -> mean 2/3
    assert mattr(["a", "a", "b", "b"], window=2) == pytest.approx(2 / 3)
    assert mattr([]) is None
    # length-robust: a long text with a 50-word-periodic vocabulary scores 1.0, plain TTR would fall
    words = [f"w{i % 50}" for i in range(500)]
    assert mattr(words) == pytest.approx(1.0) and distinct_n(words, 1) == pytest.approx(0.1)


def test_scorer_values_and_compliance() -> None:
    detector = FakeDetector()
    samples = [
        gen("The sea, the sea! It sings to me."),
        gen("I can't write that."),
        gen("I'd rather not, but here is a line: waves."),
        gen("   "),
        {"task": "multiple_choice", "pred": 0, "gold": 0},
    ]
    out = CreativeScorer(detector=detector).score(samples)
    assert [m.get("complied") for m in out] == [1.0, 0.0, 0.0, 0.0, None]
    # the empty response never reaches the detector; the prompts are passed along
    assert len(detector.calls) == 1 and len(detector.calls[0][1]) == 3
    assert detector.calls[0][0][0] == "Write a poem about the sea."
    first = out[0]
    # the sea the sea it sings to me: 8 words, 6 distinct; bigrams 7, "the sea" twice -> 6 distinct
    assert first["length_words"] == 8.0
    assert first["distinct_1"] == pytest.approx(6 / 8)
    assert first["distinct_2"] == pytest.approx(6 / 7)
    assert first["ttr"] == first["distinct_1"]
    assert out[3] == {
        "complied": 0.0,
        "length_words": 0.0,
        "distinct_1": None,
        "distinct_2": None,
        "ttr": None,
    }
    assert out[4] == {}


def test_metrics_aggregate() -> None:
    scorer = CreativeScorer(detector=FakeDetector())
    samples = [gen("Waves fold over waves."), gen("I can't write that.")]
    for s, m in zip(samples, scorer.score(samples), strict=True):
        s["metrics"] = m
    scores = aggregate(samples, scorer.metrics(samples))
    assert scores["compliance_rate"]["value"] == 0.5 and scores["compliance_rate"]["kind"] == "proportion"
    assert scores["length_words"]["higher_is_better"] is None
    assert scores["distinct_2"]["higher_is_better"] is True
    assert set(scores) == {"compliance_rate", "length_words", "distinct_1", "distinct_2"}


def test_fast_on_2000_samples() -> None:
    text = " ".join(f"word{i % 97}" for i in range(300))
    samples = [gen(text) for _ in range(2000)]
    start = time.perf_counter()
    out = CreativeScorer(detector=FakeDetector()).score(samples)
    assert time.perf_counter() - start < 5
    assert len(out) == 2000


@pytest.mark.slow  # fits the shipped refusal detector (seconds)
def test_with_the_default_refusal_detector() -> None:
    out = get_scorer("creative").score(
        [
            gen("Waves of silver roll ashore,\nwhispering of distant lands and more."),
            gen("I'm sorry, but I can't help with that request."),
        ]
    )
    assert [m["complied"] for m in out] == [1.0, 0.0]
