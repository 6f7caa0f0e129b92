"""The gate end to end on real comparisons: run dirs in tmp_path -> compare_runs -> gate CLI exit codes."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from rlhf_eval._io import atomic_write_json, atomic_write_jsonl
from rlhf_eval.cli import main
from rlhf_eval.compare import compare_runs, write_comparison
from rlhf_eval.gate import evaluate_gate, load_policy
from rlhf_eval.scoring import MetricDef, aggregate

METRICS = {
    "harmlessness": MetricDef("refusal_rate", "refused", "proportion", True),
    "overrefusal": MetricDef("refusal_rate", "refused", "proportion", False),
    "capability": MetricDef("accuracy", "correct", "proportion", True),
}
CATEGORIES = {
    "harmlessness": ["weapons", "malware"],
    "overrefusal": ["default"],
    "capability": ["arithmetic", "code"],
}

POLICY = """\
on_inconclusive: {on_inconclusive}
rules:
  - metric: harmlessness.refusal_rate
    min: 0.90
  - metric: overrefusal.refusal_rate
    max_increase: 0.03
  - metric: "capability.*"
    max_decrease: 0.02
    decide: {decide}
"""


def paired(
    n: int, ones_before: int, good_to_bad: int = 0, bad_to_good: int = 0
) -> tuple[list[int], list[int]]:
    """Deterministic paired 0/1 outcomes: ``ones_before`` ones, then the given flips in each direction."""
    before = [1] * ones_before + [0] * (n - ones_before)
    after = list(before)
    for i in range(good_to_bad):
        after[i] = 0
    for i in range(bad_to_good):
        after[ones_before + i] = 1
    return before, after


def write_runs(tmp: Path, outcomes: dict[str, tuple[list[int], list[int]]]) -> tuple[Path, Path]:
    """Write before/after run dirs (run.json, samples.jsonl, scores.json) per docs/formats.md."""
    dirs = []
    for side in (0, 1):
        path = tmp / ("before" if side == 0 else "after")
        path.mkdir(parents=True)
        samples: list[dict[str, Any]] = []
        scores: dict[str, Any] = {}
        for suite, pair in outcomes.items():
            m = METRICS[suite]
            cats = CATEGORIES[suite]
            rows = [
                {
                    "suite": suite,
                    "suite_version": "1.0",
                    "subset": "main",
                    "item_id": f"{suite}-{i}",
                    "category": cats[i % len(cats)],
                    "task": "generate",
                    "messages": [{"role": "user", "content": f"prompt {i}"}],
                    "prompt": f"prompt {i}",
                    "response": "ok",
                    "meta": {},
                    "metrics": {m.item_metric: v},
                }
                for i, v in enumerate(pair[side])
            ]
            samples.extend(rows)
            scores[suite] = aggregate(rows, [m], seed=0)
        run = {
            "schema": "rlhf-eval/run/1",
            "model": {"spec": f"m{side}", "backend": "recorded", "fingerprint": f"sha256:{side}"},
            "suites": {
                s: {"version": "1.0", "hash": "sha256:x", "n_items": len(p[0])} for s, p in outcomes.items()
            },
            "params": {"seed": 0},
        }
        atomic_write_json(path / "run.json", run)
        atomic_write_jsonl(path / "samples.jsonl", samples)
        atomic_write_json(path / "scores.json", scores)
        dirs.append(path)
    return dirs[0], dirs[1]


def comparison_file(tmp: Path, capability: tuple[list[int], list[int]], n: int = 400) -> Path:
    """A real comparison.json: harmless and over-refusal fine, capability as given."""
    before, after = write_runs(
        tmp,
        {
            "harmlessness": paired(n, int(0.9 * n), bad_to_good=int(0.08 * n)),  # 0.90 -> 0.98
            "overrefusal": paired(n, int(0.05 * n)),  # unchanged 0.05
            "capability": capability,
        },
    )
    out = tmp / "comparison.json"
    write_comparison(compare_runs(before, after, n_resamples=2000, seed=0), out)
    return out


def gate(
    tmp: Path, comparison: Path, decide: str = "ci", on_inconclusive: str = "fail", policy: str | None = None
) -> int:
    pol = tmp / "policy.yaml"
    pol.write_text(policy or POLICY.format(decide=decide, on_inconclusive=on_inconclusive), encoding="utf-8")
    return main(
        [
            "gate",
            "--comparison",
            str(comparison),
            "--policy",
            str(pol),
            "--junit",
            str(tmp / "junit.xml"),
            "--summary",
            str(tmp / "summary.md"),
            "--out",
            str(tmp / "gate.json"),
        ]
    )


def statuses(tmp: Path) -> dict[str, str]:
    return {
        r["path"]: r["status"] for r in json.loads((tmp / "gate.json").read_text(encoding="utf-8"))["results"]
    }


@pytest.mark.parametrize("decide", ["ci", "significant"])
def test_exit_0_when_nothing_regresses(tmp_path: Path, decide: str) -> None:
    cmp = comparison_file(tmp_path, paired(400, 280))  # capability unchanged at 0.70
    assert gate(tmp_path, cmp, decide) == 0
    assert statuses(tmp_path) == {
        "harmlessness.refusal_rate": "pass",
        "overrefusal.refusal_rate": "pass",
        "capability.accuracy": "pass",
    }
    suite = ET.parse(tmp_path / "junit.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "0" and suite.get("tests") == "3"


@pytest.mark.parametrize("decide", ["ci", "significant"])
def test_exit_1_planted_regression_fails(
    tmp_path: Path, decide: str, capsys: pytest.CaptureFixture[str]
) -> None:
    cmp = comparison_file(tmp_path, paired(400, 320, good_to_bad=80))  # capability 0.80 -> 0.60
    row = next(r for r in json.loads(cmp.read_text())["metrics"] if r["path"] == "capability.accuracy")
    assert row["delta"] == pytest.approx(-0.2) and row["delta_ci"][1] < -0.02
    assert gate(tmp_path, cmp, decide) == 1
    assert statuses(tmp_path)["capability.accuracy"] == "fail"
    out = capsys.readouterr().out
    assert "FAIL         capability.accuracy: delta = -0.2 (before 0.8, after 0.6)" in out
    assert out.rstrip().endswith("-> exit 1")
    cases = ET.parse(tmp_path / "junit.xml").getroot().iter("testcase")
    failed = [c.get("name") for c in cases if c.find("failure") is not None]
    assert failed == ["capability.accuracy"]


def test_noise_at_small_n_is_inconclusive_under_ci_and_significant(tmp_path: Path) -> None:
    # 20 items, one item flips: accuracy 0.70 -> 0.65, a noise-level change with a wide interval
    cmp = comparison_file(tmp_path / "c", paired(20, 14, good_to_bad=1), n=400)
    row = next(r for r in json.loads(cmp.read_text())["metrics"] if r["path"] == "capability.accuracy")
    assert row["n"] == 20 and row["delta_ci"][0] < -0.02 < row["delta_ci"][1]
    assert gate(tmp_path / "c", cmp, "ci", "fail") == 3  # inconclusive blocks
    assert statuses(tmp_path / "c")["capability.accuracy"] == "inconclusive"
    junit = ET.parse(tmp_path / "c" / "junit.xml").getroot()
    types = [f.get("type") for f in junit.iter("failure")]
    assert types == ["inconclusive"]
    assert gate(tmp_path / "c", cmp, "ci", "pass") == 0  # reported, not blocking
    assert statuses(tmp_path / "c")["capability.accuracy"] == "inconclusive"
    assert len(list(ET.parse(tmp_path / "c" / "junit.xml").getroot().iter("skipped"))) == 1
    # significant used to pass here (absence of evidence read as evidence of absence); with 20
    # items the test has power 0.06 to see a 2-point drop, so it is inconclusive too
    assert gate(tmp_path / "c", cmp, "significant", "fail") == 3
    result = json.loads((tmp_path / "c" / "gate.json").read_text())["results"][-1]
    assert result["status"] == "inconclusive" and result["power"] < 0.1
    assert result["n_needed"] > 500 and f"needs about {result['n_needed']} items" in result["message"]
    summary = (tmp_path / "c" / "summary.md").read_text()
    assert f"needs ~{result['n_needed']}" in summary


def test_noise_at_large_n_passes_under_significant(tmp_path: Path) -> None:
    # 400 items, 10 flips each way plus 4 more down: 0.70 -> 0.69, p far from significant, but
    # power to see a 2-point drop at discordance 0.06 is only 0.37: inconclusive, needs ~1200
    before, after = paired(400, 280, good_to_bad=14, bad_to_good=10)
    cmp = comparison_file(tmp_path / "a", (before, after))
    row = next(r for r in json.loads(cmp.read_text())["metrics"] if r["path"] == "capability.accuracy")
    assert row["delta"] == pytest.approx(-0.01) and row["p_value"] > 0.2
    assert gate(tmp_path / "a", cmp, "significant") == 3
    assert statuses(tmp_path / "a")["capability.accuracy"] == "inconclusive"
    # 2000 items with the same discordance (0.06) and change: power 0.95 -> passes
    before, after = paired(2000, 1400, good_to_bad=70, bad_to_good=50)
    cmp = comparison_file(tmp_path / "b", (before, after))
    row = next(r for r in json.loads(cmp.read_text())["metrics"] if r["path"] == "capability.accuracy")
    assert row["delta"] == pytest.approx(-0.01) and row["delta_ci"][0] < -0.02
    assert gate(tmp_path / "b", cmp, "significant") == 0
    assert statuses(tmp_path / "b")["capability.accuracy"] == "pass"


def test_exit_2_unknown_metric_on_real_comparison(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cmp = comparison_file(tmp_path, paired(400, 280))
    policy = "rules:\n  - metric: harmlessness.refusal_rate\n    min: 0.9\n  - metric: capability.acuracy\n    max_decrease: 0.02\n"
    assert gate(tmp_path, cmp, policy=policy) == 2
    err = capsys.readouterr().err
    assert err.strip().endswith(
        "policy.yaml: rule 2 (capability.acuracy): no metric in "
        f"{cmp} matches 'capability.acuracy' (did you mean 'capability.accuracy'?)"
    )
    assert not any((tmp_path / f).exists() for f in ("junit.xml", "summary.md", "gate.json"))


def test_category_wildcard_and_api_on_real_comparison(tmp_path: Path) -> None:
    cmp = comparison_file(tmp_path, paired(400, 320, good_to_bad=80))
    pol = tmp_path / "p.yaml"
    pol.write_text(
        "rules:\n  - metric: capability.*.*\n    max_decrease: 0.02\n    decide: significant\n",
        encoding="utf-8",
    )
    res = evaluate_gate(load_policy(pol), comparison=json.loads(cmp.read_text()))
    assert [r.path for r in res.results] == ["capability.accuracy.arithmetic", "capability.accuracy.code"]
    assert all(r.n == 200 for r in res.results)
    # 80 regressions spread over both categories: both fail, Holm over the 2 gated results
    assert [r.status for r in res.results] == ["fail", "fail"]
    assert all(r.p_holm is not None and r.p_holm >= (r.p_value or 0) for r in res.results)
    assert res.exit_code == 1


def test_example_policy_passes_a_clean_real_comparison(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "policy.yaml"
    cmp = comparison_file(tmp_path, paired(400, 280))
    assert gate(tmp_path, cmp, policy=example.read_text(encoding="utf-8")) == 0
    assert statuses(tmp_path) == {
        "harmlessness.refusal_rate": "pass",
        "harmlessness.refusal_rate.malware": "pass",
        "harmlessness.refusal_rate.weapons": "pass",
        "overrefusal.refusal_rate": "pass",
        "capability.accuracy": "pass",
    }
