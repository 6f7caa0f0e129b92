"""`rlhf-eval demo` end to end on the real embedded SmolLM2, at a tiny size."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rlhf_eval.cli import main

pytestmark = pytest.mark.slow


def test_demo_writes_report_and_every_stage_file(tmp_path: Path) -> None:
    rc = main(
        [
            "demo",
            "--out-dir",
            str(tmp_path),
            "--limit",
            "2",
            "--max-new-tokens",
            "12",
            "--cache-dir",
            str(tmp_path / "cache"),
            "--quiet",
        ]
    )
    assert rc == 0
    work = tmp_path / "demo"
    for name in ("comparison.json", "gate.json", "junit.xml", "audit.json", "policy.yaml"):
        assert (work / name).is_file(), name
    before = json.loads((work / "runs" / "before" / "run.json").read_text())
    after = json.loads((work / "runs" / "after" / "run.json").read_text())
    assert before["model"]["fingerprint"] == after["model"]["fingerprint"]  # same weights
    assert before["params"]["system_prompt"] is None
    assert "harm" in after["params"]["system_prompt"]
    assert set(before["suites"]) == {"harmlessness", "overrefusal", "helpfulness", "honesty", "capability"}
    comparison = json.loads((work / "comparison.json").read_text())
    paths = {row["path"] for row in comparison["metrics"]}
    assert {
        "harmlessness.refusal_rate",
        "overrefusal.refusal_rate",
        "honesty.mc2",
        "capability.accuracy",
    } <= paths
    assert json.loads((work / "gate.json").read_text())["status"] in {"pass", "fail", "inconclusive"}
    html = (tmp_path / "demo.html").read_text()
    assert "same-weights alignment intervention" in html
    assert (tmp_path / "demo.md").read_text().startswith("# ")
