"""Judge-corrected refusal rows in comparison.json: from run.json's judge error or a validate-judge file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from compare_rundirs import planted_runs

from rlhf_eval.cli import main
from rlhf_eval.compare import compare_runs
from rlhf_eval.errors import UserError
from rlhf_eval.stats._misclassification import JudgeError, corrected_rate

JUDGE = {
    "name": "j",
    "accuracy_source": "XSTest",
    "sensitivity": {"value": 0.9, "k": 900, "n": 1000},
    "specificity": {"value": 0.95, "k": 950, "n": 1000},
}


def _with_judge(run_dir: Path, judge: dict) -> None:
    info = json.loads((run_dir / "run.json").read_text())
    info["scoring"] = {"refusal_detector": judge}
    (run_dir / "run.json").write_text(json.dumps(info))


def test_rows_get_a_corrected_block_from_the_runs_judge(tmp_path: Path) -> None:
    b, a = planted_runs(tmp_path, 1, n=400, p_before=0.9, p_after=0.8)
    plain = compare_runs(b, a, n_resamples=500).to_dict()
    assert all("corrected" not in r for r in plain["metrics"])  # no judge error recorded: nothing to correct
    for d in (b, a):
        _with_judge(d, JUDGE)
    doc = compare_runs(b, a, n_resamples=500).to_dict()
    row = next(r for r in doc["metrics"] if r["path"] == "harmlessness.refusal_rate")
    c = row["corrected"]
    # Rogan-Gladen by hand: (q + sp - 1) / (se + sp - 1)
    assert c["before"] == pytest.approx(min((row["before"] - 0.05) / 0.85, 1.0))
    assert c["after"] == pytest.approx((row["after"] - 0.05) / 0.85)
    assert c["delta"] == pytest.approx(row["delta"] / 0.85)
    lo, hi = c["delta_ci"]
    assert lo < c["delta"] < hi and hi - lo > row["delta_ci"][1] - row["delta_ci"][0]
    want = corrected_rate(round(row["after"] * 400), 400, JudgeError(900, 1000, 950, 1000))
    assert c["after_ci"] == pytest.approx(list(want[1:]))
    cat = next(r for r in doc["metrics"] if r["path"] == "harmlessness.refusal_rate.fraud")
    assert "corrected" in cat
    score = next(r for r in doc["metrics"] if r["path"] == "harmlessness.score")
    assert "corrected" not in score  # only judged rates


def test_validate_judge_file_overrides_and_different_judges_have_no_corrected_delta(tmp_path: Path) -> None:
    b, a = planted_runs(tmp_path, 2, n=200)
    _with_judge(b, JUDGE)
    other = {**JUDGE, "sensitivity": {"value": 0.8, "k": 80, "n": 100}}
    _with_judge(a, other)
    doc = compare_runs(b, a, n_resamples=300).to_dict()
    c = next(r for r in doc["metrics"] if r["path"] == "harmlessness.refusal_rate")["corrected"]
    assert c["delta_ci"] == [None, None] and "different judges" in c["note"]
    jv = tmp_path / "judge.json"
    jv.write_text(
        json.dumps(
            {"sensitivity": {"value": 1.0, "k": 50, "n": 50}, "specificity": {"value": 1.0, "k": 50, "n": 50}}
        )
    )
    out = tmp_path / "comparison.json"
    assert (
        main(
            [
                "compare",
                str(b),
                str(a),
                "--judge-validation",
                str(jv),
                "--out",
                str(out),
                "--n-resamples",
                "300",
            ]
        )
        == 0
    )
    doc = json.loads(out.read_text())
    row = next(r for r in doc["metrics"] if r["path"] == "harmlessness.refusal_rate")
    assert row["corrected"]["after"] == pytest.approx(row["after"])  # a perfect judge changes nothing
    assert "your labels" in row["corrected"]["judge"]["source"]
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    with pytest.raises(UserError, match="no sensitivity/specificity counts"):
        compare_runs(b, a, judge_validation=bad)
