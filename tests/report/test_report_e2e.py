"""End to end with the real producers: compare and gate write the files the report reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rlhf_eval.cli import main

pytestmark = pytest.mark.slow  # runs the real compare, gate and audit (a few seconds)


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


def test_report_from_real_audit(tmp_path: Path) -> None:
    audit_mod = pytest.importorskip("rlhf_eval.audit")
    del audit_mod
    prefs, audit = tmp_path / "prefs", tmp_path / "audit.json"
    assert (
        main(["make-demo-preferences", "--out", str(prefs), "--n-items", "150", "--n-annotators", "40"]) == 0
    )
    argv = ["audit", "--ratings", str(prefs / "ratings.csv"), "--annotators", str(prefs / "annotators.csv"),
            "--reference-population", str(prefs / "reference_population.csv"), "--out", str(audit),
            "--n-bootstrap", "50", "--n-permutations", "50", "--quiet"]  # fmt: skip
    assert main(argv) == 0
    out = tmp_path / "audit.html"
    assert main(["report", "--audit", str(audit), "--out", str(out)]) == 0
    html = out.read_text(encoding="utf-8")
    data = json.loads(audit.read_text(encoding="utf-8"))
    from rlhf_eval.report._fmt import fmt_ci

    alpha = data["agreement"]["krippendorff_alpha"]
    assert fmt_ci(alpha["value"], (alpha["ci_low"], alpha["ci_high"])) in html
    for title in ("Per-annotator reliability", "Representation against the reference population",
                  "Agreement by group", "Do groups label differently?", "within vs across", "welfare"):  # fmt: skip
        assert title in html
    if data.get("suppressed", {}).get("n_cells"):
        assert 'class="suppressed"' in html
    assert data["annotators"][0]["id"] in html  # pseudonymised ids, as the audit wrote them
    assert "## Annotator audit" in out.with_suffix(".md").read_text(encoding="utf-8")
