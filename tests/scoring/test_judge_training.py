"""The training recipe rebuilds the shipped judge: same held-out figures, same predictions (slow: ~3-5 min)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from rlhf_eval.scoring._judge_base import shipped_card
from rlhf_eval.scoring._prompt_judge import StackedRefusalJudge, default_judge

ROOT = Path(__file__).resolve().parents[2]
XSTEST = ROOT.parent / "shared" / "data" / "xstest"
# Deterministic solvers and seeds; the only run-to-run noise is float32 rounding in MiniLM on
# another CPU, so figures must agree to within one response in 200 and labels almost everywhere.
RATE_TOLERANCE = 0.005
LABEL_AGREEMENT = 0.995


def _train_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(
        "refusal_judge_train", ROOT / "scripts/refusal_judge/train.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
@pytest.mark.skipif(not XSTEST.is_dir(), reason="XSTest v2 is in ../shared/data (developers and CI have it)")
def test_retraining_from_scratch_reproduces_the_shipped_judge(tmp_path: Path) -> None:
    train = _train_module()
    out = tmp_path / "judge"
    report = tmp_path / "eval.json"
    assert train.main(["--xstest", str(XSTEST), "--quick", "--out", str(out), "--json", str(report)]) == 0
    # the held-out model's figures equal the shipped leave-one-model-out table's
    got = json.loads(report.read_text())["leave_one_model_out"]["per_model"]
    shipped = {(c["model"], c["prompts"]): c for c in shipped_card()["validation"]["per_model"]}
    assert {c["model"] for c in got} == {"mistralinstruct"}
    for c in got:
        want = shipped[(c["model"], c["prompts"])]
        assert c["human_rate"] == want["human_rate"]
        assert abs(c["judge_rate"] - want["judge_rate"]) <= RATE_TOLERANCE, (c, want)
    # the judge fitted on everything labels the XSTest responses as the shipped weights do
    rows = train.load_xstest(XSTEST)[::3]
    prompts, responses = [r["prompt"] for r in rows], [r["response"] for r in rows]
    rebuilt = StackedRefusalJudge.load(out).predict_proba(prompts, responses)
    ours = default_judge().predict_proba(prompts, responses)
    assert np.mean(rebuilt.argmax(1) == ours.argmax(1)) >= LABEL_AGREEMENT
    assert np.abs(rebuilt - ours).max() < 0.05
