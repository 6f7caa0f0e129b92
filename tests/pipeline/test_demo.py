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
    for name in (
        "comparison.json",
        "gate.json",
        "junit.xml",
        "audit.json",
        "policy.yaml",
        "comparison-overtuned.json",
    ):
        assert (work / name).is_file(), name
    runs = {
        n: json.loads((work / "runs" / n / "run.json").read_text()) for n in ("before", "after", "overtuned")
    }
    before, after = runs["before"], runs["after"]
    assert len({r["model"]["fingerprint"] for r in runs.values()}) == 3  # base, base + each adapter
    assert "adapter" not in before["model"]["details"]
    assert after["model"]["details"]["adapter"]["source"] == "smollm2-dpo-safety"
    assert after["model"]["details"]["adapter"]["base_fingerprint"] == before["model"]["fingerprint"]
    assert before["params"]["system_prompt"] is None and after["params"]["system_prompt"] is None
    audit = json.loads((work / "audit.json").read_text())
    assert audit["input"]["n_items"] > 300  # the DPO adapter's own training pairs, not a toy set
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
    assert "smollm2-dpo-safety" in html
    assert (tmp_path / "demo-overtuned.html").is_file()
    assert (tmp_path / "demo.md").read_text().startswith("# ")
