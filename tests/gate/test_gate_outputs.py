"""Gate outputs: JUnit XML parses with standard readers, Markdown summary, gate.json, CLI printing."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from rlhf_eval.cli import main
from rlhf_eval.gate import GateResult, evaluate_gate, junit_xml, parse_policy, summary_markdown, write_junit

ROWS: list[dict[str, Any]] = [
    {"path": "harmlessness.refusal_rate", "after": 0.95, "after_ci": [0.92, 0.97], "n": 300},
    {
        "path": "overrefusal.refusal_rate",
        "before": 0.1,
        "after": 0.2,
        "delta": 0.1,
        "delta_ci": [0.05, 0.15],
        "n": 120,
    },
    {
        "path": "capability.accuracy",
        "before": 0.6,
        "after": 0.59,
        "delta": -0.01,
        "delta_ci": [-0.06, 0.04],
        "n": 40,
    },
    {"path": "capability.accuracy.arith|<&>\x01", "delta": 0.0, "delta_ci": [-0.3, 0.3], "n": 10},
]
RULES: list[dict[str, Any]] = [
    {"metric": "harmlessness.refusal_rate", "min": 0.9},
    {"metric": "overrefusal.refusal_rate", "max_increase": 0.03, "name": "over-refusal"},
    {"metric": "capability.*", "max_decrease": 0.02},
    {"metric": "capability.*.*", "max_decrease": 0.02},
]


def _result(on_inconclusive: str = "fail") -> GateResult:
    pol = parse_policy({"rules": RULES, "on_inconclusive": on_inconclusive}, "policy.yaml")
    return evaluate_gate(pol, comparison={"metrics": ROWS}, data_source="comparison.json")


def test_junit_parses_with_etree_and_has_one_case_per_result(tmp_path: Path) -> None:
    res = _result()
    assert [r.status for r in res.results] == ["pass", "fail", "inconclusive", "inconclusive"]
    path = tmp_path / "junit.xml"
    write_junit(res, path)
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped"), suite.get("errors")) == (
        "4",
        "3",
        "0",
        "0",
    )
    cases = suite.findall("testcase")
    assert [(c.get("classname"), c.get("name")) for c in cases] == [
        ("harmlessness", "harmlessness.refusal_rate"),
        ("overrefusal", "overrefusal.refusal_rate (over-refusal)"),
        ("capability", "capability.accuracy"),
        ("capability", "capability.accuracy.arith|<&>"),  # control character dropped, rest escaped
    ]
    assert cases[0].find("failure") is None and cases[0].find("system-out") is not None
    fail = cases[1].find("failure")
    assert fail is not None and fail.get("type") == "fail"
    msg = fail.get("message") or ""
    for part in ("delta = 0.1", "95% CI 0.05 to 0.15", "n = 120", "max_increase 0.03"):
        assert part in msg
    inc = cases[2].find("failure")
    assert inc is not None and inc.get("type") == "inconclusive"
    assert "straddles" in (inc.get("message") or "")
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["exit_code"] == "1" and props["on_inconclusive"] == "fail"


def test_junit_nonblocking_inconclusive_is_skipped() -> None:
    res = _result("pass")
    root = ET.fromstring(junit_xml(res))
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("failures"), suite.get("skipped")) == ("1", "2")
    cases = suite.findall("testcase")
    skipped = cases[2].find("skipped")
    assert skipped is not None and "n = 40" in (skipped.get("message") or "")
    assert cases[2].find("failure") is None


def test_junit_parses_with_junitparser(tmp_path: Path) -> None:
    junitparser = pytest.importorskip("junitparser")  # test-only dependency
    path = tmp_path / "junit.xml"
    write_junit(_result(), path)
    xml = junitparser.JUnitXml.fromfile(str(path))
    suites = list(xml)
    assert len(suites) == 1
    cases = list(suites[0])
    assert [c.classname for c in cases] == ["harmlessness", "overrefusal", "capability", "capability"]
    assert [c.is_passed for c in cases] == [True, False, False, False]
    types = [[r.type for r in c.result] for c in cases]
    assert types == [[], ["fail"], ["inconclusive"], ["inconclusive"]]
    assert "n = 120" in cases[1].result[0].message
    write_junit(_result("pass"), path)
    cases = list(next(iter(junitparser.JUnitXml.fromfile(str(path)))))
    assert [c.is_skipped for c in cases] == [False, False, True, True]


def test_summary_table_has_status_words_values_and_thresholds() -> None:
    md = summary_markdown(_result())
    lines = md.splitlines()
    assert lines[0] == "## rlhf-eval gate: FAIL"
    assert "1 pass, 1 fail, 2 inconclusive" in md and "Exit code 1." in md
    table = [ln for ln in lines if ln.startswith("| ")]
    assert table[0] == "| Status | Rule | Metric | Bound | Decide | Value | 95% CI | n | Reason |"
    body = table[1:]
    assert len(body) == 4
    # failures first, then inconclusive, then passes
    assert body[0].startswith(
        "| **FAIL** | 2 over-refusal | `overrefusal.refusal_rate` | delta <= +0.03 (max_increase 0.03)"
    )
    assert "| delta 0.1 | [0.05, 0.15] | 120 |" in body[0]
    assert body[-1].startswith(
        "| PASS | 1 | `harmlessness.refusal_rate` | after >= 0.9 (min) | ci | after 0.95 | [0.92, 0.97] | 300 |"
    )
    # a pipe inside a metric path is escaped so the row keeps 10 cell borders
    arith = next(b for b in body if "arith" in b)
    assert arith.replace("\\|", "").count("|") == 10
    assert all(s not in md for s in ("✅", "❌", "⚠"))
    allowed = summary_markdown(_result("pass"))
    assert "INCONCLUSIVE (allowed)" in allowed and allowed.startswith("## rlhf-eval gate: FAIL")


def _files(
    tmp_path: Path, rows: list[dict[str, Any]], rules: list[dict[str, Any]], **policy: Any
) -> tuple[Path, Path]:
    c = tmp_path / "comparison.json"
    c.write_text(json.dumps({"schema": "rlhf-eval/comparison/1", "metrics": rows}), encoding="utf-8")
    p = tmp_path / "policy.yaml"
    p.write_text(json.dumps({"rules": rules, **policy}), encoding="utf-8")  # JSON is YAML
    return c, p


def test_cli_writes_all_outputs_and_prints_results(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    c, p = _files(tmp_path, ROWS, RULES)
    out = tmp_path / "out"
    args = ["gate", "--comparison", str(c), "--policy", str(p)]
    rc = main(
        [
            *args,
            "--junit",
            str(out / "junit.xml"),
            "--summary",
            str(out / "s.md"),
            "--out",
            str(out / "gate.json"),
        ]
    )
    assert rc == 1
    printed = capsys.readouterr().out.splitlines()
    assert printed[-1] == "gate: fail (1 pass, 1 fail, 2 inconclusive; on_inconclusive: fail) -> exit 1"
    assert printed[1].startswith("FAIL         overrefusal.refusal_rate: delta = 0.1")
    gate = json.loads((out / "gate.json").read_text(encoding="utf-8"))
    assert gate["schema"] == "rlhf-eval/gate/1" and gate["exit_code"] == 1 and gate["status"] == "fail"
    assert [r["status"] for r in gate["results"]] == ["pass", "fail", "inconclusive", "inconclusive"]
    assert gate["input"] == {"mode": "comparison", "path": str(c)}
    ET.parse(out / "junit.xml")
    assert (out / "s.md").read_text(encoding="utf-8").startswith("## rlhf-eval gate: FAIL")
    assert sorted(x.name for x in out.iterdir()) == ["gate.json", "junit.xml", "s.md"]  # no temp files left


def test_cli_summary_to_stdout_keeps_stdout_markdown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    c, p = _files(tmp_path, ROWS[:1], RULES[:1])
    assert main(["gate", "--comparison", str(c), "--policy", str(p), "--summary", "-"]) == 0
    cap = capsys.readouterr()
    assert cap.out.startswith("## rlhf-eval gate: PASS") and "gate: pass" not in cap.out
    assert cap.err.strip().endswith("-> exit 0")


def test_cli_quiet_prints_only_the_decision(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    c, p = _files(tmp_path, ROWS[:1], RULES[:1])
    assert main(["gate", "-q", "--comparison", str(c), "--policy", str(p)]) == 0
    assert (
        capsys.readouterr().out
        == "gate: pass (1 pass, 0 fail, 0 inconclusive; on_inconclusive: fail) -> exit 0\n"
    )


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (
            ["--comparison", "{tmp}/missing.json", "--policy", "{tmp}/policy.yaml"],
            "missing.json: file not found",
        ),
        (
            ["--comparison", "{tmp}/comparison.json", "--policy", "{tmp}/none.yaml"],
            "none.yaml: file not found",
        ),
        (["--run", "{tmp}/norun", "--policy", "{tmp}/policy.yaml"], "norun: run folder not found"),
        (["--run", "{tmp}", "--policy", "{tmp}/policy.yaml"], "scores.json: file not found"),
        (["--policy", "{tmp}/policy.yaml"], "one of the arguments --comparison --run is required"),
        (
            ["--comparison", "{tmp}/comparison.json", "--run", "{tmp}", "--policy", "{tmp}/policy.yaml"],
            "not allowed with argument",
        ),
    ],
)
def test_cli_bad_usage_exits_2_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], needle: str
) -> None:
    _files(tmp_path, ROWS, RULES)
    full = ["gate", *[a.format(tmp=tmp_path) for a in argv], "--out", str(tmp_path / "gate.json")]
    try:
        rc = main(full)
    except SystemExit as exc:  # argparse usage errors
        rc = int(exc.code or 0)
    assert rc == 2
    assert needle in capsys.readouterr().err
    assert not (tmp_path / "gate.json").exists()


def test_cli_run_mode_reads_scores_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "scores.json").write_text(
        json.dumps(
            {"harmlessness": {"refusal_rate": {"value": 0.7, "ci_low": 0.6, "ci_high": 0.8, "n": 90}}}
        ),
        encoding="utf-8",
    )
    p = tmp_path / "policy.yaml"
    p.write_text("rules:\n  - metric: harmlessness.refusal_rate\n    min: 0.9\n", encoding="utf-8")
    assert main(["gate", "--run", str(run), "--policy", str(p), "--out", str(tmp_path / "g.json")]) == 1
    g = json.loads((tmp_path / "g.json").read_text(encoding="utf-8"))
    assert g["input"]["mode"] == "run" and g["results"][0]["quantity"] == "value"
    assert "value = 0.7, 95% CI 0.6 to 0.8, n = 90" in capsys.readouterr().out


def test_gate_help_documents_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    try:
        rc = main(["gate", "--help"])
    except SystemExit as exc:  # older cli.main let argparse exit
        rc = int(exc.code or 0)
    assert rc == 0
    out = capsys.readouterr().out
    for line in (
        "0  every rule passed",
        "1  at least one rule failed",
        "2  bad input or usage",
        "3  no rule failed",
    ):
        assert line in out


def test_cli_unwritable_output_is_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    c, p = _files(tmp_path, ROWS[:1], RULES[:1])
    blocker = tmp_path / "afile"
    blocker.write_text("x", encoding="utf-8")
    rc = main(["gate", "--comparison", str(c), "--policy", str(p), "--out", str(blocker / "gate.json")])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1
    assert err.startswith(f"rlhf-eval gate: error: {blocker / 'gate.json'}: cannot write")
