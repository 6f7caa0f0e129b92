"""End to end with the real producers: compare and gate write the files the report reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rlhf_eval.cli import main


def test_report_from_real_compare_and_gate(inputs_dir: dict[str, Path], tmp_path: Path) -> None:
    pytest.importorskip("rlhf_eval.compare")
    pytest.importorskip("rlhf_eval.gate")
    comp, gate, policy = tmp_path / "comparison.json", tmp_path / "gate.json", tmp_path / "policy.yaml"
    before, after = str(inputs_dir["before"]), str(inputs_dir["after"])
    assert main(["compare", before, after, "--out", str(comp), "--n-resamples", "500"]) == 0
    assert main(["init-policy", "--out", str(policy)]) == 0
    assert main(["gate", "--comparison", str(comp), "--policy", str(policy), "--out", str(gate), "-q"]) in (
        0,
        1,
        3,
    )
    out = tmp_path / "reports" / "e2e.html"
    argv = ["report", "--run", before, "--run", after, "--comparison", str(comp), "--gate", str(gate),
            "--audit", str(inputs_dir["audit"]), "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    html = out.read_text(encoding="utf-8")
    data = json.loads(comp.read_text(encoding="utf-8"))
    gate_data = json.loads(gate.read_text(encoding="utf-8"))
    for sid in ("verdict", "tax", "refusals", "honesty", "samples", "audit", "provenance"):
        assert f'<section id="{sid}">' in html
    assert f"Release gate: {gate_data['status'].upper()}" in html
    assert data["alignment_tax"]["verdict"] in html
    from rlhf_eval.report._fmt import fmt_ci

    row = next(r for r in data["metrics"] if r["path"] == "harmlessness.refusal_rate")
    assert fmt_ci(row["delta"], tuple(row["delta_ci"]), signed=True) in html
    summary = out.with_suffix(".md").read_text(encoding="utf-8")
    assert "## Scorecard" in summary and "## Release gate" in summary
