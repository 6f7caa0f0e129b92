"""Policy parsing and validation: good policies load, bad ones give one-line errors naming the rule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from rlhf_eval.cli import main
from rlhf_eval.errors import UserError
from rlhf_eval.gate import STARTER_POLICY, Rule, load_policy, parse_policy

GOOD = """\
on_inconclusive: pass
alpha: 0.1
rules:
  - metric: harmlessness.refusal_rate
    min: 0.90
  - name: over-refusal
    metric: overrefusal.refusal_rate
    max_increase: 0.03
    min_n: 30
  - metric: "capability.*"
    max_decrease: 0.02
    decide: significant
"""

COMPARISON = {
    "schema": "rlhf-eval/comparison/1",
    "metrics": [
        {
            "path": "overrefusal.refusal_rate",
            "suite": "overrefusal",
            "category": None,
            "before": 0.1,
            "after": 0.11,
            "after_ci": [0.05, 0.2],
            "delta": 0.01,
            "delta_ci": [-0.01, 0.02],
            "p_value": 0.5,
            "n": 200,
        }
    ],
}


def _write(tmp_path: Path, text: str, name: str = "policy.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_good_policy_loads_with_defaults_and_options(tmp_path: Path) -> None:
    pol = load_policy(_write(tmp_path, GOOD))
    assert pol.on_inconclusive == "pass"
    assert pol.alpha == 0.1
    assert [r.metric for r in pol.rules] == [
        "harmlessness.refusal_rate",
        "overrefusal.refusal_rate",
        "capability.*",
    ]
    assert [(r.bound, r.threshold, r.decide) for r in pol.rules] == [
        ("min", 0.9, "ci"),
        ("max_increase", 0.03, "ci"),
        ("max_decrease", 0.02, "significant"),
    ]
    assert pol.rules[1].name == "over-refusal" and pol.rules[1].min_n == 30
    assert pol.rules[0].min_n is None
    assert pol.source.endswith("policy.yaml")


def test_defaults_block_on_inconclusive_and_bare_list_is_accepted() -> None:
    pol = parse_policy([{"metric": "a.b", "max": 1}], source="p")
    assert pol.on_inconclusive == "fail"
    assert pol.alpha == 0.05
    assert pol.rules[0].decide == "ci"


def test_wildcards_match_part_by_part() -> None:
    headline = Rule(index=0, metric="capability.*", bound="max_decrease", threshold=0.02)
    assert headline.matches("capability.accuracy")
    assert not headline.matches("capability.accuracy.arithmetic")  # * never crosses a dot
    assert not headline.matches("harmlessness.refusal_rate")
    cats = Rule(index=0, metric="capability.*.*", bound="max_decrease", threshold=0.02)
    assert cats.matches("capability.accuracy.arithmetic")
    assert not cats.matches("capability.accuracy")
    glob = Rule(index=0, metric="*.refusal_*", bound="max", threshold=0.5)
    assert glob.matches("overrefusal.refusal_rate") and not glob.matches("overrefusal.accuracy")
    exact = Rule(index=0, metric="a.b", bound="max", threshold=0.5)
    assert exact.matches("a.b") and not exact.is_wildcard and headline.is_wildcard


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "rules:\n  - metric: harmlessness.refusal_rate\n    min: 0.9\n"
            "  - metric: overrefusal.refusal_rate\n    max_increase: three\n",
            "policy.yaml: rule 2 (overrefusal.refusal_rate): 'max_increase' must be a number, got 'three'",
        ),
        (
            "rules:\n  - metric: a.b\n    min: yes\n",
            "policy.yaml: rule 1 (a.b): 'min' must be a number, got True",
        ),
        (
            "rules:\n  - metric: a.b\n    min: 0.9\n    decide: bayes\n",
            "policy.yaml: rule 1 (a.b): 'decide' must be one of point, ci, significant, got 'bayes'",
        ),
        (
            "rules:\n  - metric: a.b\n    decide: ci\n",
            "policy.yaml: rule 1 (a.b): missing bound; give one of min, max, max_increase, max_decrease",
        ),
        (
            "rules:\n  - metric: a.b\n    min: 0.9\n    max_increse: 0.1\n",
            "policy.yaml: rule 1 (a.b): unknown key 'max_increse' (did you mean 'max_increase'? known: "
            "name, metric, min, max, max_increase, max_decrease, decide, min_n, min_power, corrected)",
        ),
        (
            "rules:\n  - metric: a.b\n    min: 0.9\n    max: 1.0\n",
            "policy.yaml: rule 1 (a.b): give one bound per rule, got min and max (write one rule each)",
        ),
        (
            "rules:\n  - metric: a.b\n    max_decrease: -0.02\n",
            "policy.yaml: rule 1 (a.b): 'max_decrease' must be >= 0 (the largest allowed change), got -0.02",
        ),
        (
            "rules:\n  - min: 0.9\n",
            "policy.yaml: rule 1: missing 'metric' (suite.metric or suite.metric.category)",
        ),
        (
            "rules:\n  - metric: harmlessness\n    min: 0.9\n",
            "policy.yaml: rule 1 (harmlessness): 'metric' must be suite.metric or suite.metric.category "
            "(parts may use *), got 'harmlessness'",
        ),
        (
            "rules:\n  - metric: a.b\n    min: 0.9\n    min_n: 0\n",
            "policy.yaml: rule 1 (a.b): 'min_n' must be a positive integer, got 0",
        ),
        (
            "rules:\n  - just a string\n",
            "policy.yaml: rule 1: expected a mapping with 'metric' and a bound, got str 'just a string'",
        ),
        ("", "policy.yaml: empty policy; expected a mapping with 'rules'"),
        ("# only a comment\n", "policy.yaml: empty policy; expected a mapping with 'rules'"),
        ("rules: []\n", "policy.yaml: 'rules' must be a non-empty list of rules, got []"),
        (
            "rule:\n  - metric: a.b\n    min: 1\n",
            "policy.yaml: unknown key 'rule' (did you mean 'rules'? known: on_inconclusive, alpha, min_power, rules)",
        ),
        (
            "on_inconclusive: maybe\nrules:\n  - metric: a.b\n    min: 1\n",
            "policy.yaml: 'on_inconclusive' must be 'pass' or 'fail', got 'maybe'",
        ),
        (
            "alpha: 2\nrules:\n  - metric: a.b\n    min: 1\n",
            "policy.yaml: 'alpha' must be a number between 0 and 1, got 2",
        ),
        ("rules:\n  - metric: a.b\n    min: [0.9\n", "policy.yaml:4: invalid YAML"),
        ("rules:\n  - metric: a.b\n   min: 0.9\n", "policy.yaml:3: invalid YAML (expected <block end>"),
    ],
)
def test_malformed_policy_is_one_line_error(tmp_path: Path, text: str, expected: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(UserError) as info:
        load_policy(path)
    msg = str(info.value).replace(str(tmp_path) + "/", "")
    assert msg.startswith(expected), msg
    assert "\n" not in msg


def test_missing_policy_file(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"nope\.yaml: file not found"):
        load_policy(tmp_path / "nope.yaml")


MALFORMED_CLI = [
    (
        "rules:\n  - metric: overrefusal.refusal_rate\n    max_increase: three\n",
        "rule 1 (overrefusal.refusal_rate)",
    ),
    (
        "rules:\n  - metric: overrefusal.refusal_rte\n    max_increase: 0.03\n",
        "rule 1 (overrefusal.refusal_rte)",
    ),
    ("rules:\n  - metric: a.b\n   min: 0.9\n", "invalid YAML"),
    ("", "empty policy"),
    (
        "rules:\n  - metric: overrefusal.refusal_rate\n    max_increase: 0.03\n    colour: red\n",
        "unknown key 'colour'",
    ),
    ("rules:\n  - metric: overrefusal.refusal_rate\n    max_increase: 0.03\n    decide: vibes\n", "'decide'"),
    ("rules:\n  - metric: overrefusal.refusal_rate\n", "missing bound"),
]


@pytest.mark.parametrize(("text", "needle"), MALFORMED_CLI)
def test_cli_malformed_policy_exits_2_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, needle: str
) -> None:
    (tmp_path / "comparison.json").write_text(json.dumps(COMPARISON), encoding="utf-8")
    policy = _write(tmp_path, text)
    outs = [tmp_path / "junit.xml", tmp_path / "summary.md", tmp_path / "gate.json"]
    rc = main(
        [
            "gate",
            "--comparison",
            str(tmp_path / "comparison.json"),
            "--policy",
            str(policy),
            "--junit",
            str(outs[0]),
            "--summary",
            str(outs[1]),
            "--out",
            str(outs[2]),
        ]
    )
    err = capsys.readouterr().err
    assert rc == 2
    assert needle in err
    assert err.count("\n") == 1 and err.startswith("rlhf-eval gate: error: ")
    assert "Traceback" not in err
    assert not any(p.exists() for p in outs)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["comparison.json", "policy.yaml"]


def test_starter_policy_loads_and_validates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "policy.yaml"
    assert main(["init-policy", "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == STARTER_POLICY
    assert "#" in STARTER_POLICY  # commented
    pol = load_policy(out)
    assert pol.on_inconclusive == "fail"
    assert {(r.metric, r.bound) for r in pol.rules} == {
        ("harmlessness.refusal_rate", "min"),
        ("overrefusal.refusal_rate", "max_increase"),
        ("capability.accuracy.*", "max_decrease"),
        ("capability.pass_at_1", "max_decrease"),
    }
    assert yaml.safe_load(STARTER_POLICY)["rules"][0]["min"] == 0.9
    assert "wrote" in capsys.readouterr().out


def test_init_policy_refuses_to_overwrite_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "policy.yaml"
    out.write_text("mine\n", encoding="utf-8")
    assert main(["init-policy", "--out", str(out)]) == 2
    assert "already exists; pass --force" in capsys.readouterr().err
    assert out.read_text(encoding="utf-8") == "mine\n"
    assert main(["init-policy", "--out", str(out), "--force"]) == 0
    assert out.read_text(encoding="utf-8") == STARTER_POLICY


EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_example_policy_validates() -> None:
    pol = load_policy(EXAMPLES / "policy.yaml")
    assert len(pol.rules) == 4 and all(r.name for r in pol.rules)


def test_example_workflow_runs_the_whole_pipeline_and_keeps_the_gate_result() -> None:
    wf = yaml.safe_load((EXAMPLES / "github-actions.yml").read_text(encoding="utf-8"))
    assert True in wf or "on" in wf  # YAML 1.1 reads the key `on` as True
    steps = wf["jobs"]["gate"]["steps"]
    uses = [s.get("uses", "") for s in steps]
    runs = [s.get("run", "") for s in steps]
    assert any(u.startswith("actions/setup-python@") for u in uses)
    text = "\n".join(runs)
    assert text.count("rlhf-eval run ") == 2
    for needle in ("pip install rlhf-eval", "rlhf-eval compare", "rlhf-eval report", "--junit junit.xml"):
        assert needle in text
    gate = next(s for s in steps if "rlhf-eval gate" in s.get("run", ""))
    assert '--summary "$GITHUB_STEP_SUMMARY"' in gate["run"]
    assert "if" not in gate and "continue-on-error" not in gate  # its exit code is the job result
    after = steps[steps.index(gate) + 1 :]
    assert after and all(str(s.get("if", "")).startswith("always()") for s in after)
    upload = next(s for s in after if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert "junit.xml" in upload["with"]["path"] and "reports/" in upload["with"]["path"]
    assert any(s.get("uses", "").startswith("EnricoMi/publish-unit-test-result-action@") for s in after)
