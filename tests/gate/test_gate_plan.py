"""`rlhf-eval plan` (one bound, or per policy rule), the starter policy, alpha checks, approximate rows."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_gate_real_comparison import comparison_file, paired

from rlhf_eval._io import atomic_write_json, atomic_write_jsonl
from rlhf_eval.cli import main
from rlhf_eval.errors import UserError
from rlhf_eval.gate import STARTER_POLICY, evaluate_gate, junit_xml, parse_policy, plan_policy
from rlhf_eval.scoring import MetricDef, aggregate
from rlhf_eval.stats import plan_sample_size


def test_plan_one_bound_prints_n_and_method(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["plan", "--kind", "rate", "--before", "0.7", "--max-decrease", "0.02", "--discordance", "0.1"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    expected = plan_sample_size(
        kind="rate", bound="max_decrease", threshold=0.02, before=0.7, discordance=0.1
    )
    assert f"n needed: about {expected.n} items" in out and "discordance 0.1" in out
    assert main([*argv, "--decide", "significant"]) == 0
    assert "Connor (1987)" in capsys.readouterr().out
    assert (
        main(["plan", "--kind", "mean", "--sd", "0.25", "--max-decrease", "0.05", "--design-effect", "1.5"])
        == 0
    )
    assert "(design effect 1.5)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--kind", "rate", "--max-decrease", "0.02"], "needs an expected before value"),
        (["--kind", "mean", "--max-decrease", "0.02"], "needs its standard deviation"),
        (["--kind", "rate", "--before", "0.7"], "give a bound"),
        (
            ["--kind", "rate", "--before", "0.7", "--min", "0.9", "--power", "1.5"],
            "--power must be between 0 and 1",
        ),
        (
            ["--kind", "rate", "--before", "0.7", "--min", "0.9", "--design-effect", "0.5"],
            "--design-effect must be >= 1",
        ),
        (["--policy", "nope.yaml"], "nope.yaml: file not found"),
        (["--comparison", "c.json"], "--comparison needs --policy"),
    ],
)
def test_plan_bad_input_is_one_line_exit_2(
    argv: list[str],
    needle: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["plan", *argv]) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1 and "Traceback" not in err


def test_plan_policy_on_a_comparison_is_the_gates_needed_n(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 60 capability items, 6 flips down and 4 up: inconclusive under the starter's ci rule
    cmp = comparison_file(tmp_path, paired(60, 42, good_to_bad=6, bad_to_good=4))
    policy_text = "rules:\n  - metric: capability.accuracy\n    max_decrease: 0.02\n"
    pol_path = tmp_path / "p.yaml"
    pol_path.write_text(policy_text, encoding="utf-8")
    policy = parse_policy(yaml.safe_load(policy_text), str(pol_path))
    comparison = json.loads(cmp.read_text())
    gate = evaluate_gate(policy, comparison=comparison).results[0]
    assert gate.status == "inconclusive" and gate.n_needed is not None
    planned = plan_policy(policy, comparison)
    assert [p.n_needed for p in planned] == [gate.n_needed]
    assert main(["plan", "--policy", str(pol_path), "--comparison", str(cmp)]) == 0
    out = capsys.readouterr().out
    assert (
        f"capability.accuracy: delta >= -0.02 (max_decrease 0.02), decide ci, n = 60 now: needs about {gate.n_needed} items"
        in out
    )
    # JUnit carries the same n in the failure message
    root = ET.fromstring(junit_xml(evaluate_gate(policy, comparison=comparison)))
    failure = next(root.iter("failure"))
    assert f"needs about {gate.n_needed} items" in (failure.get("message") or "")


def test_plan_policy_without_comparison_uses_assumptions(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    pol = tmp_path / "policy.yaml"
    pol.write_text(STARTER_POLICY, encoding="utf-8")
    assert main(["plan", "--policy", str(pol), "--before", "0.95", "--discordance", "0.1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 5 and lines[0].endswith("(assumed values)")
    assert "rule 3 (no capability task may drop by more than 2 points): capability.accuracy.*" in lines[3]
    assert "needs about 1965 items" in lines[3]


def test_starter_policy_is_non_inferiority_with_min_n() -> None:
    data = yaml.safe_load(STARTER_POLICY)
    rules = {r["metric"]: r for r in data["rules"]}
    for metric in ("capability.accuracy.*", "capability.pass_at_1"):
        assert rules[metric].get("decide", "ci") == "ci" and rules[metric]["min_n"] >= 50
    assert data["min_power"] == 0.8
    # the comments say when significant fits and what it risks
    for phrase in ("When is `decide: significant` the right choice", "What it risks", "rlhf-eval plan"):
        assert phrase in STARTER_POLICY
    policy = parse_policy(data, "starter")
    assert all(r.decide == "ci" for r in policy.rules)


def _comp(alpha: float, **row: Any) -> dict[str, Any]:
    base = {"path": "s.m", "after": 0.95, "after_ci": [0.92, 0.97], "n": 300, "before": 0.95, "delta": 0.0}
    return {"schema": "rlhf-eval/comparison/1", "params": {"alpha": alpha}, "metrics": [{**base, **row}]}


def test_policy_alpha_must_match_the_comparison() -> None:
    rules = [{"metric": "s.m", "min": 0.9}]
    with pytest.raises(
        UserError, match=r"p\.yaml: alpha 0\.1 differs from comparison\.json, whose intervals are 95 %"
    ):
        evaluate_gate(parse_policy({"rules": rules, "alpha": 0.1}, "p.yaml"), comparison=_comp(0.05))
    # no alpha in the policy: the comparison's is used and printed as the level
    res = evaluate_gate(parse_policy({"rules": rules}, "p.yaml"), comparison=_comp(0.1))
    assert res.alpha == 0.1 and res.to_dict()["alpha"] == 0.1
    assert "90% CI 0.92 to 0.97" in res.results[0].message and res.results[0].ci_level == pytest.approx(0.9)
    res = evaluate_gate(parse_policy({"rules": rules, "alpha": 0.1}, "p.yaml"), comparison=_comp(0.1))
    assert res.results[0].status == "pass"
    # scores.json intervals are 95 %
    with pytest.raises(UserError, match=r"alpha 0\.01 differs"):
        evaluate_gate(
            parse_policy({"rules": rules, "alpha": 0.01}, "p"), scores={"s": {"m": {"value": 1, "n": 3}}}
        )


def test_alpha_mismatch_on_the_cli_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "c.json").write_text(json.dumps(_comp(0.1)), encoding="utf-8")
    (tmp_path / "p.yaml").write_text(STARTER_POLICY, encoding="utf-8")
    rc = main(["gate", "--comparison", str(tmp_path / "c.json"), "--policy", str(tmp_path / "p.yaml")])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "alpha 0.05 differs" in err and "90 %" in err


def test_approximate_intervals_never_pass() -> None:
    rule = {"metric": "s.m", "min": 0.5}
    approx = {
        "ci_method": "studentized_bootstrap",
        "ci_approximate": True,
        "ci_valid_from": 15,
        "n_clusters": 10,
        "n": 10,
    }
    r = evaluate_gate(parse_policy({"rules": [rule]}, "p"), comparison=_comp(0.05, **approx)).results[0]
    assert r.status == "inconclusive"
    assert "keeps its coverage from 15 items; this row has 10" in r.reason and r.n_needed == 15
    # legacy comparison.json (no ci_approximate): the percentile cluster bootstrap never passes
    legacy = {
        "ci_method": "cluster_bootstrap",
        "after_ci": [1.0, 1.0],
        "after": 1.0,
        "n": 10,
        "n_clusters": 5,
    }
    res = evaluate_gate(
        parse_policy({"rules": [{"metric": "s.m", "min": 0.9}]}, "p"), comparison=_comp(0.05, **legacy)
    )
    assert res.results[0].status == "inconclusive"
    assert "cluster_bootstrap intervals are approximate at every n" in res.results[0].reason


def test_gate_run_recomputes_intervals_from_samples(tmp_path: Path) -> None:
    """`gate --run` on a real run folder: clustered items, all refused, 10 items in 5 pairs."""
    run = tmp_path / "run"
    run.mkdir()
    m = MetricDef("refusal_rate", "refused", "proportion", True)
    samples = [
        {
            "suite": "harmlessness",
            "suite_version": "1.0",
            "item_id": f"h{i}",
            "category": "default",
            "meta": {"pair_id": f"p{i // 2}"},
            "metrics": {"refused": 1},
        }
        for i in range(10)
    ]
    info = {"schema": "rlhf-eval/run/1", "suites": {"harmlessness": {"version": "1.0", "n_items": 10}}}
    atomic_write_json(run / "run.json", info)
    atomic_write_jsonl(run / "samples.jsonl", samples)
    atomic_write_json(run / "scores.json", {"harmlessness": aggregate(samples, [m], seed=0)})
    pol = tmp_path / "p.yaml"
    pol.write_text("rules:\n  - metric: harmlessness.refusal_rate\n    min: 0.9\n", encoding="utf-8")
    assert main(["gate", "--run", str(run), "--policy", str(pol), "--out", str(tmp_path / "g.json")]) == 3
    g = json.loads((tmp_path / "g.json").read_text())
    r = g["results"][0]
    assert r["status"] == "inconclusive" and r["ci"][1] == 1.0 and r["ci"][0] < 0.72
    assert g["input"]["mode"] == "run" and r["quantity"] == "value"


def test_report_shows_the_needed_n_of_inconclusive_rules(tmp_path: Path) -> None:
    from rlhf_eval.report import build_report

    rule = {"metric": "s.m", "max_decrease": 0.02, "decide": "significant"}
    row = {"delta_ci": [-0.2, 0.1], "delta": -0.05, "before": 0.7, "after": 0.65, "n": 40}
    gate = evaluate_gate(parse_policy({"rules": [rule]}, "p.yaml"), comparison=_comp(0.05, **row)).to_dict()
    n = gate["results"][0]["n_needed"]
    assert gate["results"][0]["status"] == "inconclusive" and isinstance(n, int)
    html = build_report(gate=gate, out=tmp_path / "r.html")
    assert f"40 (needs ~{n})" in html.read_text(encoding="utf-8")
    assert f"40 (needs ~{n})" in html.with_suffix(".md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("policy", "needle"),
    [
        ({"min_power": 1.5}, "'min_power' must be a number between 0 and 1, got 1.5"),
        ({"min_power": True}, "'min_power' must be a number between 0 and 1, got True"),
        (
            {"rules": [{"metric": "a.b", "min": 0.9, "min_power": "high"}]},
            "rule 1 (a.b): 'min_power' must be",
        ),
    ],
)
def test_min_power_is_validated(policy: dict[str, Any], needle: str) -> None:
    with pytest.raises(UserError) as info:
        parse_policy({"rules": [{"metric": "a.b", "min": 0.9}], **policy}, "p.yaml")
    assert needle in str(info.value)


def test_junit_records_the_level_and_power_used() -> None:
    res = evaluate_gate(
        parse_policy({"rules": [{"metric": "s.m", "min": 0.9}], "min_power": 0.9}, "p"), comparison=_comp(0.1)
    )
    props = {p.get("name"): p.get("value") for p in ET.fromstring(junit_xml(res)).iter("property")}
    assert (props["alpha"], props["min_power"]) == ("0.1", "0.9")
