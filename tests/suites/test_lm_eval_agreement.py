"""ARC, HellaSwag and GSM8K agree item by item with lm-evaluation-harness on the fixture rows (slow)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))  # the comparison lives in the benchmark script


@pytest.mark.slow
def test_full_agreement_with_lm_eval(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, smollm_tokenizer: object
) -> None:
    pytest.importorskip("lm_eval")
    import bench_lm_eval_agreement as bench

    monkeypatch.setenv("RLHF_EVAL_CACHE", str(tmp_path / "cache"))
    model_dir = bench.build_tiny_model(tmp_path / "model", smollm_tokenizer)
    # 32 new tokens keep the test short; the benchmark script compares lm-eval's full 256
    results = {r.name: r for r in bench.agreement(model_dir, bench.DATA, tmp_path, max_new_tokens=32)}
    assert set(results) == {
        "arc_easy",
        "arc_challenge",
        "hellaswag",
        "gsm8k",
        "gsm8k (written responses)",
    }
    expected_n = {
        "arc_easy": 8,
        "arc_challenge": 6,
        "hellaswag": 6,
        "gsm8k": 6,
        "gsm8k (written responses)": 6,
    }
    for name, r in results.items():
        assert r.problems == [], r.line()
        assert (r.agree, r.n) == (expected_n[name], expected_n[name]), r.line()
        assert r.max_dloglik <= bench.LOGLIK_TOL
    # the written responses are where lm-eval's two filters disagree: 2 strict vs 3 flexible hits
    canned = results["gsm8k (written responses)"]
    assert canned.detail == "lm-eval exact_match strict 2/6, flexible 3/6"
