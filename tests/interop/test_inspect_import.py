"""`rlhf-eval import inspect`: logs written by Inspect itself (mockllm) -> run directories that compare."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from scipy.stats import binomtest

from rlhf_eval.cli import main
from rlhf_eval.compare import compare_runs
from rlhf_eval.errors import UserError
from rlhf_eval.interop import detect_source, import_inspect

# before answers question n correctly when n % 3 == 0, after when n % 3 != 1 (n = 0..11)
BEFORE_GOOD = {f"q{n}" for n in range(12) if n % 3 == 0}
AFTER_GOOD = {f"q{n}" for n in range(12) if n % 3 != 1}


def test_eval_and_json_logs_import_alike(tmp_path: Path, inspect_logs: dict[str, Path]) -> None:
    assert (
        detect_source(inspect_logs["before_eval"]) == detect_source(inspect_logs["before_json"]) == "inspect"
    )
    a = import_inspect(inspect_logs["before_eval"], tmp_path / "a")
    b = import_inspect(inspect_logs["before_json"], tmp_path / "b")
    assert [(s["item_id"], s["metrics"], s["response"]) for s in a.samples] == [
        (s["item_id"], s["metrics"], s["response"]) for s in b.samples
    ]
    assert {s["item_id"] for s in a.samples if s["metrics"]["match"] == 1.0} == BEFORE_GOOD
    assert a.samples[0]["messages"] == [{"role": "user", "content": "What is 0 plus 1?"}]
    assert a.samples[0]["meta"]["target"] == "1"
    score = a.scores["adder"]["match"]
    assert (score["value"], score["n"], score["kind"]) == (4 / 12, 12, "proportion")
    assert score["reported"] == {"value": pytest.approx(4 / 12), "stderr": pytest.approx(score["reported"]["stderr"]),
                                 "source": "inspect_ai"}  # fmt: skip
    run = a.run
    assert run["model"]["spec"] == "inspect:mockllm/model" and run["imported"]["tool"] == "inspect_ai"
    assert run["versions"]["inspect_ai"] == run["imported"]["tool_version"]
    import inspect_ai

    assert run["imported"]["tool_version"] == inspect_ai.__version__
    assert run["imported"]["logs"][0]["task"] == "adder" and run["suites"]["adder"]["n_items"] == 12
    assert a.warnings == []


def test_compare_two_inspect_logs(tmp_path: Path, inspect_logs: dict[str, Path]) -> None:
    for side in ("before", "after"):
        fmt = "json" if side == "before" else "eval"
        assert main(["import", "inspect", str(inspect_logs[f"{side}_{fmt}"]), "--out", str(tmp_path / side),
                     "--category-field", "level", "--quiet"]) == 0  # fmt: skip
    assert (
        main(
            ["compare", str(tmp_path / "before"), str(tmp_path / "after"), "--out", str(tmp_path / "c.json")]
        )
        == 0
    )
    comp = json.loads((tmp_path / "c.json").read_text())
    rows = {r["path"]: r for r in comp["metrics"]}
    assert {"adder.match", "adder.includes", "adder.match.easy", "adder.match.hard"} <= set(rows)
    for name in ("match", "includes"):
        row = rows[f"adder.{name}"]
        assert (row["before"], row["after"], row["n"]) == (pytest.approx(4 / 12), pytest.approx(8 / 12), 12)
        assert row["test"] == "mcnemar_exact"
        assert sorted(row["flips"]["bad_to_good"]) == sorted(AFTER_GOOD - BEFORE_GOOD)
        assert row["flips"]["good_to_bad"] == []
        # exact McNemar: 4 discordant pairs, all one way
        assert row["p_value"] == pytest.approx(binomtest(4, 4, 0.5).pvalue)
    assert rows["adder.match.easy"]["n"] == rows["adder.match.hard"]["n"] == 6

    # gate and report take the imported runs like native ones
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "rules:\n  - metric: adder.match\n    max_decrease: 0.05\n  - metric: adder.includes\n    min: 0.9\n"
    )
    gate = [
        "gate",
        "--comparison",
        str(tmp_path / "c.json"),
        "--policy",
        str(policy),
        "--out",
        str(tmp_path / "g.json"),
    ]
    assert main(gate) == 1  # includes: 8/12 right, its interval stays below 0.9
    statuses = [r["status"] for r in json.loads((tmp_path / "g.json").read_text())["results"]]
    assert statuses == ["pass", "fail"]
    report = ["report", "--run", str(tmp_path / "before"), "--run", str(tmp_path / "after"),
              "--comparison", str(tmp_path / "c.json"), "--out", str(tmp_path / "r.html")]  # fmt: skip
    assert main(report) == 0
    assert "adder" in (tmp_path / "r.html").read_text()


def test_epochs_are_clustered_on_the_sample(tmp_path: Path, inspect_logs: dict[str, Path]) -> None:
    before = import_inspect(inspect_logs["before_epochs"], tmp_path / "before")
    import_inspect(inspect_logs["after_epochs"], tmp_path / "after")
    assert {s["item_id"] for s in before.samples} == {f"q{n}@{e}" for n in range(12) for e in (1, 2)}
    assert all(s["meta"]["cluster"] == s["meta"]["sample_id"] for s in before.samples)
    row = next(r for r in compare_runs(tmp_path / "before", tmp_path / "after", n_resamples=500).rows
               if r["path"] == "adder.match")  # fmt: skip
    assert (row["n"], row["n_clusters"]) == (24, 12)


def test_missing_inspect_ai_is_one_line(
    tmp_path: Path,
    inspect_logs: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setitem(sys.modules, "inspect_ai.log", None)  # as if inspect_ai were not installed
    with pytest.raises(UserError, match=r"^reading Inspect logs needs inspect_ai: pip install inspect_ai$"):
        import_inspect(inspect_logs["before_eval"], tmp_path / "x")
    assert main(["import", "auto", str(inspect_logs["before_eval"]), "--out", str(tmp_path / "y")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "rlhf-eval import: error: reading Inspect logs needs inspect_ai: pip install inspect_ai"
    assert not (tmp_path / "y").exists()


def test_package_imports_without_inspect_ai() -> None:
    """Importing rlhf_eval (and its import command) does not import inspect_ai or lm_eval."""
    import subprocess

    code = (
        "import sys, rlhf_eval.interop, rlhf_eval.cli; rlhf_eval.cli.build_parser(); "
        "print(sorted(m for m in ('inspect_ai', 'lm_eval') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
