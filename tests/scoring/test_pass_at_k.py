"""pass@k: the unbiased estimator, the code scorer over n responses, and n samples per item from the runner."""

from __future__ import annotations

import json
from collections.abc import Sequence
from math import comb
from pathlib import Path
from typing import Any

import pytest

from rlhf_eval.errors import UserError
from rlhf_eval.models import GenerateRequest, LoglikelihoodRequest, LoglikelihoodResult, Message
from rlhf_eval.models._protocol import ModelInfo, ProgressFn
from rlhf_eval.runner import RunConfig, run_evaluation
from rlhf_eval.scoring import aggregate, get_scorer
from rlhf_eval.scoring._code import pass_at_k

DATA = Path(__file__).resolve().parents[1] / "data" / "benchmarks"


def test_hand_computed_values() -> None:
    # n=5, c=2: pass@1 = c/n = 0.4; pass@2 = 1 - C(3,2)/C(5,2) = 1 - 3/10 = 0.7
    assert pass_at_k(5, 2, 1) == pytest.approx(0.4)
    assert pass_at_k(5, 2, 2) == pytest.approx(0.7)
    assert pass_at_k(5, 0, 3) == 0.0
    assert pass_at_k(5, 3, 3) == 1.0  # n - c < k: every draw of 3 holds a pass
    assert pass_at_k(1, 1, 1) == 1.0


def test_equals_the_binomial_formula_and_stays_finite_for_large_n() -> None:
    for n in range(1, 12):
        for c in range(n + 1):
            for k in range(1, n + 1):
                expected = 1.0 - comb(n - c, k) / comb(n, k)
                assert pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-12)
    assert pass_at_k(2000, 10, 100) == pytest.approx(1 - comb(1990, 100) / comb(2000, 100), rel=1e-9)


def test_bad_arguments() -> None:
    for n, c, k in ((5, 6, 1), (5, 2, 0), (5, 2, 6), (3, -1, 1)):
        with pytest.raises(ValueError, match="pass@k needs"):
            pass_at_k(n, c, k)
    with pytest.raises(UserError, match="k must be a positive integer"):
        get_scorer("code_exec", k=[0])


def _item_meta() -> dict[str, Any]:
    row = json.loads((DATA / "humaneval_test.jsonl").read_text().splitlines()[0])
    return {
        "tests": row["test"],
        "entry_point": row["entry_point"],
        "code_prompt": row["prompt"],
        "stop": ["\ndef"],
    }


def test_scorer_reports_pass_at_k_for_n_responses() -> None:
    good, bad = "    return sum(n * n for n in numbers)\n", "    return 0\n"
    samples = [
        {
            "suite": "s",
            "item_id": "a",
            "task": "generate",
            "category": "c",
            "response": bad,
            "responses": [bad, good, bad, good, bad],  # n=5, c=2
            "meta": _item_meta(),
        },
        {
            "suite": "s",
            "item_id": "b",
            "task": "generate",
            "category": "c",
            "response": good,
            "responses": [good] * 5,  # n=5, c=5
            "meta": _item_meta(),
        },
    ]
    scorer = get_scorer("code_exec", timeout=10.0, k=[1, 2, 10])
    metrics = scorer.score(samples)
    assert metrics[0] == {
        "pass_at_1": pytest.approx(0.4),
        "pass_at_2": pytest.approx(0.7),
        "n_passed": 2.0,
        "n_samples": 5.0,
    }
    assert metrics[1]["pass_at_1"] == 1.0 and metrics[1]["pass_at_2"] == 1.0
    defs = scorer.metrics(samples)
    assert [(d.name, d.item_metric, d.kind) for d in defs] == [
        ("pass_at_1", "pass_at_1", "mean"),
        ("pass_at_2", "pass_at_2", "mean"),
    ]  # k=10 > n is left out, as human-eval does
    for s, m in zip(samples, metrics, strict=True):
        s["metrics"] = m
    scores = aggregate(samples, defs)
    assert scores["pass_at_1"]["value"] == pytest.approx(0.7)  # mean over problems of 0.4 and 1.0
    assert scores["pass_at_2"]["value"] == pytest.approx(0.85)


class _SeedModel:
    """A generate-only fake backend: the response depends on the request's seed (sample k)."""

    supports_loglikelihood = False

    def __init__(self) -> None:
        self.info = ModelInfo(spec="fake:seeds", backend="fake", fingerprint="sha256:fake-seeds")
        self.requests: list[GenerateRequest] = []

    def render(self, messages: Sequence[Message], *, chat: bool = True) -> str:
        return messages[-1]["content"]

    def generate(self, requests: Sequence[GenerateRequest], progress: ProgressFn | None = None) -> list[str]:
        self.requests += list(requests)
        # seeds 0 and 3 of 5 give a correct body: c = 2 of n = 5 for every item
        return [
            ("    return sum(n * n for n in numbers)\n" if r.seed in (0, 3) else "    return -1\n")
            + "\ndef trailing():\n    pass\n"
            for r in requests
        ]

    def loglikelihood(
        self, requests: Sequence[LoglikelihoodRequest], progress: ProgressFn | None = None
    ) -> list[LoglikelihoodResult]:
        raise AssertionError("not used")


def _one_item_file(tmp_path: Path) -> Path:
    path = tmp_path / "he.jsonl"
    path.write_text((DATA / "humaneval_test.jsonl").read_text().splitlines()[0] + "\n")
    return path


def test_runner_draws_n_samples_per_item_keyed_for_the_cache(tmp_path: Path) -> None:
    suite = f"humaneval:{_one_item_file(tmp_path)}"
    cfg = RunConfig(
        suites=[suite],
        out=tmp_path / "run",
        temperature=0.8,
        n_samples=5,
        quiet=True,
        cache_dir=tmp_path / "cache",
    )
    model = _SeedModel()
    result = run_evaluation(cfg, model=model)
    assert [r.seed for r in model.requests] == [0, 1, 2, 3, 4]
    assert {r.stop for r in model.requests} == {tuple(["\nclass", "\ndef", "\n#", "\nif", "\nprint"])}
    assert {r.max_new_tokens for r in model.requests} == {1024}
    (sample,) = result.samples  # one row per item: compare still pairs on item ids
    assert len(sample["responses"]) == 5 and sample["response"] == sample["responses"][0]
    assert sample["metrics"]["n_passed"] == 2.0
    scores = result.scores["humaneval-he"]
    assert scores["pass_at_1"]["value"] == pytest.approx(0.4)
    assert set(scores) == {"pass_at_1"}  # the default k = 1, 10, 100: 10 and 100 exceed n = 5
    assert result.run["params"]["n_samples"] == 5
    # a second run is answered from the cache: the five samples have five keys
    again = run_evaluation(cfg, model=_SeedModel())
    assert again.run["cache"] == {"hits": 5, "misses": 0}
    assert again.samples[0]["responses"] == sample["responses"]


def test_n_samples_needs_a_temperature(tmp_path: Path) -> None:
    cfg = RunConfig(
        suites=[f"humaneval:{_one_item_file(tmp_path)}"], out=tmp_path / "r", n_samples=3, quiet=True
    )
    with pytest.raises(UserError, match=r"3 samples per item need --temperature > 0"):
        run_evaluation(cfg, model=_SeedModel())
    with pytest.raises(UserError, match="--n-samples must be at least 1"):
        run_evaluation(RunConfig(suites=["x"], n_samples=0), model=_SeedModel())
