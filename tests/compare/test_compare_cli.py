"""The ``compare`` subcommand: help, a full run, the file it writes, determinism."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from compare_rundirs import planted_runs

from rlhf_eval.cli import main


def test_help_has_examples(capsys: pytest.CaptureFixture[str]) -> None:
    try:
        rc = main(["compare", "--help"])
    except SystemExit as exc:  # argparse's own exit, if the entry point lets it through
        rc = int(exc.code or 0)
    assert rc == 0
    text = capsys.readouterr().out
    assert "examples:" in text and "rlhf-eval compare runs/before runs/after" in text
    assert "--allow-suite-mismatch" in text and "--n-resamples" in text


def test_compare_writes_comparison_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before, after = planted_runs(tmp_path, seed=4, n=200, p_before=0.9, p_after=0.75)
    out = tmp_path / "reports" / "comparison.json"
    rc = main(["compare", str(before), str(after), "--out", str(out), "--n-resamples", "500"])
    assert rc == 0
    stdout = capsys.readouterr().out
    assert "harmlessness.refusal_rate" in stdout and f"wrote {out}" in stdout
    doc = json.loads(out.read_text())
    assert doc["schema"] == "rlhf-eval/comparison/1"
    assert doc["before"]["dir"] == str(before) and doc["after"]["model"]["spec"] == "after"
    assert doc["params"] == {
        "n_resamples": 500,
        "seed": 0,
        "alpha": 0.05,
        "allow_suite_mismatch": False,
        "judge_validation": None,
    }
    paths = [r["path"] for r in doc["metrics"]]
    assert paths[:5] == [
        "harmlessness.refusal_rate",
        "harmlessness.refusal_rate.fraud",
        "harmlessness.refusal_rate.hate",
        "harmlessness.refusal_rate.malware",
        "harmlessness.refusal_rate.weapons",
    ]
    required = {
        "path", "suite", "metric", "category", "kind", "higher_is_better", "headline", "before", "after",
        "before_ci", "after_ci", "delta", "delta_ci", "p_value", "p_adjusted", "adjustment", "significant",
        "test", "n", "mde", "flips",
    }  # fmt: skip
    for r in doc["metrics"]:
        assert required <= set(r)
        assert r["adjustment"] == ("holm" if r["category"] is None else "bh")
        assert r["significant"] == (r["p_adjusted"] < 0.05)
        assert r["p_adjusted"] >= r["p_value"]
    assert set(doc["alignment_tax"]) >= {"axes", "verdict", "taxed_axes", "improved_axes", "missing_axes"}
    # same seed, same bytes
    out2 = tmp_path / "again.json"
    assert main(["compare", str(before), str(after), "--out", str(out2), "--n-resamples", "500"]) == 0
    assert out2.read_text() == out.read_text()
