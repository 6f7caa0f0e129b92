"""Every public-benchmark adapter carries its metadata; ADAPTERS.md and `rlhf-eval suites` show it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from rlhf_eval.cli import main
from rlhf_eval.suites import builtin_suite_names
from rlhf_eval.suites._adapters import ADAPTERS

DOC = Path(__file__).resolve().parents[2] / "rlhf_eval" / "suites" / "ADAPTERS.md"


def _intro_rows() -> dict[str, list[str]]:
    """The overview table at the top of ADAPTERS.md (before its first ``##`` section), by adapter."""
    intro = DOC.read_text(encoding="utf-8").split("\n## ", 1)[0]
    rows: dict[str, list[str]] = {}
    for line in intro.splitlines():
        m = re.match(r"\| `([a-z0-9_]+)` \|", line)
        if m:
            rows[m.group(1)] = [c.strip() for c in line.strip().strip("|").split("|")]
    return rows


@pytest.mark.parametrize("name", sorted(ADAPTERS))
def test_adapter_has_metadata(name: str) -> None:
    a = ADAPTERS[name]
    assert a.hub_id.strip() and a.license.strip() and a.source.strip()
    assert a.metrics and all(k.strip() and v.strip() for k, v in a.metrics.items())
    assert a.suite_arg.startswith(f"{name}:{a.hub_id}")
    assert a.command.startswith("rlhf-eval run --model SPEC ") and a.command.endswith(f" --out runs/{name}")
    assert ("--no-chat-template" in a.command) == a.no_chat_template


def test_adapters_md_intro_table_lists_every_adapter_as_in_code() -> None:
    rows = _intro_rows()
    assert set(rows) == set(ADAPTERS)
    text = DOC.read_text(encoding="utf-8")
    for name, a in ADAPTERS.items():
        _, task, suite, license_, metrics, raw = rows[name]
        assert (task, suite, license_) == (a.task, f"`{a.suite_arg}`", a.license), name
        assert metrics == ", ".join(f"`{m}`" for m in a.metrics), name
        assert raw == ("yes" if a.no_chat_template else ""), name
        assert text.count(f"`{name}`") >= 2, f"{name} has no section in ADAPTERS.md"


def test_canonical_values_from_the_docs() -> None:
    assert ADAPTERS["mmlu"].suite_arg == "mmlu:cais/mmlu@test#all"
    assert ADAPTERS["ifeval"].suite_arg == "ifeval:google/IFEval@train"
    assert ADAPTERS["hellaswag"].suite_arg == "hellaswag:Rowan/hellaswag@validation"
    assert ADAPTERS["gsm8k"].command == (
        "rlhf-eval run --model SPEC --no-chat-template --suite gsm8k:openai/gsm8k@test#main --out runs/gsm8k"
    )
    assert ADAPTERS["wildguardtest"].license == "ODC-BY"
    assert next(iter(ADAPTERS["ifeval"].metrics)) == "prompt_level_strict_acc"


def test_suites_json_lists_builtin_suites_and_adapters(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["suites", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"suites", "adapters"}
    assert [s["name"] for s in out["suites"]] == builtin_suite_names()
    for s in out["suites"]:
        assert set(s) == {"name", "version", "n_items", "by_task", "by_category", "description"}
        assert s["n_items"] == sum(s["by_task"].values()) > 0
    by_name = {a["name"]: a for a in out["adapters"]}
    assert list(by_name) == list(ADAPTERS)
    arc = by_name["arc_challenge"]
    assert arc["task"] == "multiple_choice"
    assert (arc["hub_id"], arc["split"], arc["config"]) == ("allenai/ai2_arc", "test", "ARC-Challenge")
    assert arc["license"] == "CC-BY-SA-4.0" and list(arc["metrics"]) == ["accuracy", "acc_norm", "ece"]
    assert arc["default_scorers"] == ["accuracy", "accuracy_norm", "calibration"]
    assert arc["command"] == (
        "rlhf-eval run --model SPEC --no-chat-template "
        "--suite arc_challenge:allenai/ai2_arc@test#ARC-Challenge --out runs/arc_challenge"
    )
    hb = by_name["harmbench"]
    assert hb["suite"] == "harmbench:walledai/HarmBench@train#standard" and hb["no_chat_template"] is False
    assert by_name["advbench"]["config"] is None


def test_suites_table_shows_adapters(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["suites"]) == 0
    out = capsys.readouterr().out
    builtin, sep, adapters = out.partition("\npublic benchmarks (adapters)")
    assert sep and all(f"{name} (v" in builtin for name in builtin_suite_names())
    lines = adapters.splitlines()
    assert lines[1].split() == ["name", "task", "hub", "id", "license", "main", "metrics"]
    for name, a in ADAPTERS.items():
        i = next(i for i, line in enumerate(lines) if line.startswith(f"{name} "))
        assert lines[i].split()[:4] == [name, a.task, a.suite_arg.partition(":")[2], a.license.split()[0]]
        assert lines[i].rstrip().endswith(", ".join(a.metrics))
        assert lines[i + 1].strip() == a.command
    ifeval = next(line for line in lines if line.startswith("ifeval "))
    assert "google/IFEval@train" in ifeval and "Apache-2.0" in ifeval and "inst_level_loose_acc" in ifeval
