"""`rlhf-eval run` end to end on a tiny model: files, cache, recorded backend, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rlhf_eval.cli import main
from rlhf_eval.runner import RunConfig, run_evaluation

SUITE_YAML = """\
name: mini
version: "2"
description: a tiny suite for tests
categories: [geo, math, sci]
subsets:
  - name: gen
    task: generate
    data: {path: gen.jsonl}
    template: "Answer briefly: {prompt}"
    max_new_tokens: 6
  - name: mc
    task: multiple_choice
    data: {path: mc.jsonl}
    scorers: [accuracy]
    followup: "I don't think that's right. Are you sure?"
"""


@pytest.fixture()
def mini_suite(tmp_path: Path) -> Path:
    d = tmp_path / "mini"
    d.mkdir()
    (d / "suite.yaml").write_text(SUITE_YAML)
    (d / "gen.jsonl").write_text(
        '{"id": "g1", "prompt": "capital of France?", "category": "geo"}\n'
        '{"id": "g2", "prompt": "capital of Peru?", "category": "geo", "reference": "Lima"}\n'
    )
    (d / "mc.jsonl").write_text(
        '{"id": "m1", "prompt": "2+2=", "choices": [" 3", " 4"], "gold": 1, "category": "math"}\n'
        '{"id": "m2", "prompt": "Sky colour:", "choices": [" green", " blue", " red"], "gold": 1, "category": "sci"}\n'
        '{"id": "m3", "prompt": "3+3=", "choices": [" 6", " 7"], "gold": 0, "category": "math"}\n'
    )
    return d


def _run(model_dir: Path, suite: Path, out: Path, cache: Path, **kw: object) -> dict:
    cfg = RunConfig(model=f"hf:{model_dir}", suites=[str(suite)], out=out, cache_dir=cache, quiet=True, **kw)  # type: ignore[arg-type]
    return run_evaluation(cfg).run


def test_run_writes_documented_files(tiny_model_dir: Path, mini_suite: Path, tmp_path: Path) -> None:
    run = _run(tiny_model_dir, mini_suite, tmp_path / "out", tmp_path / "cache", system_prompt="Be safe.")
    samples = [json.loads(line) for line in (tmp_path / "out" / "samples.jsonl").read_text().splitlines()]
    assert [s["item_id"] for s in samples] == ["g1", "g2", "m1", "m2", "m3"]
    g = samples[1]
    assert g["prompt"].startswith("<|im_start|>system\nBe safe.<|im_end|>")
    assert "Answer briefly: capital of Peru?" in g["prompt"]
    assert isinstance(g["response"], str) and g["meta"] == {"reference": "Lima"}
    m = samples[3]
    assert m["choices"] == [" green", " blue", " red"] and m["gold"] == 1
    assert len(m["choice_logprobs"]) == 3 and m["pred"] == max(
        range(3), key=lambda i: m["choice_logprobs"][i]
    )
    assert len(m["followup_choice_logprobs"]) == 3 and "Are you sure?" in m["followup_prompt"]
    assert m["metrics"]["correct"] == float(m["pred"] == 1)
    scores = json.loads((tmp_path / "out" / "scores.json").read_text())
    acc = scores["mini"]["accuracy"]
    assert acc["n"] == 3 and acc["ci_low"] <= acc["value"] <= acc["ci_high"]
    assert set(acc["by_category"]) == {"math", "sci"}
    assert run["suites"]["mini"]["version"] == "2" and run["suites"]["mini"]["hash"].startswith("sha256:")
    # 2 generations + 7 choices + 7 challenge choices
    assert run["cache"] == {"hits": 0, "misses": 16}
    assert run["model"]["fingerprint"].startswith("sha256:") and run["versions"]["torch"]


def test_identical_rerun_makes_no_model_calls(tiny_model_dir: Path, mini_suite: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    _run(tiny_model_dir, mini_suite, tmp_path / "a", cache)
    first = (tmp_path / "a" / "samples.jsonl").read_text()
    run = _run(tiny_model_dir, mini_suite, tmp_path / "b", cache)
    assert run["cache"] == {"hits": 16, "misses": 0}
    assert run["timings"]["generate_s"] < 0.05
    assert (tmp_path / "b" / "samples.jsonl").read_text() == first


def test_limit_keeps_each_subset(tiny_model_dir: Path, mini_suite: Path, tmp_path: Path) -> None:
    run = _run(tiny_model_dir, mini_suite, tmp_path / "o", tmp_path / "c", limit=1)
    assert run["n_samples"] == 2


def test_recorded_backend(mini_suite: Path, tmp_path: Path) -> None:
    rec = tmp_path / "rec.jsonl"
    rec.write_text(
        '{"item_id": "g1", "response": "Paris."}\n{"prompt": "capital of Peru?", "response": "Lima."}\n'
    )
    items = tmp_path / "gen.jsonl"
    items.write_text((mini_suite / "gen.jsonl").read_text())
    rc = main(
        [
            "run",
            "--model",
            f"recorded:{rec}",
            "--suite",
            str(items),
            "--out",
            str(tmp_path / "o"),
            "--cache-dir",
            str(tmp_path / "c"),
            "--quiet",
        ]
    )
    assert rc == 0
    samples = [json.loads(x) for x in (tmp_path / "o" / "samples.jsonl").read_text().splitlines()]
    assert [s["response"] for s in samples] == ["Paris.", "Lima."]


def test_recorded_backend_rejects_multiple_choice(
    mini_suite: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rec = tmp_path / "rec.jsonl"
    rec.write_text('{"item_id": "m1", "response": "4"}\n')
    rc = main(
        [
            "run",
            "--model",
            f"recorded:{rec}",
            "--suite",
            str(mini_suite),
            "--out",
            str(tmp_path / "o"),
            "--quiet",
        ]
    )
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "multiple-choice" in err and "mini" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("setup", "needle"),
    [
        (lambda d: (d / "suite.yaml").write_text("name: [unclosed\n"), "malformed YAML"),
        (
            lambda d: (d / "suite.yaml").write_text(SUITE_YAML.replace("task: generate", "task: chat")),
            "subsets.0.task",
        ),
        (
            lambda d: (d / "mc.jsonl").write_text(
                '{"id": "m1", "prompt": "x", "choices": [" a", " b"], "gold": 2, "category": "math"}\n'
            ),
            "row 1: field 'gold' = 2 is out of range",
        ),
        (
            lambda d: (d / "mc.jsonl").write_text(
                '{"id": "m1", "prompt": "x", "gold": 0, "category": "math"}\n'
            ),
            "row 1: field 'choices'",
        ),
        (
            lambda d: (d / "gen.jsonl").write_text('{"id": "g1", "category": "geo"}\n'),
            "row 1: template field 'prompt' missing",
        ),
        (
            lambda d: (d / "gen.jsonl").write_text('{"prompt": "p", "category": "geo"}\n'),
            "row 1: missing field 'id'",
        ),
        (
            lambda d: (d / "gen.jsonl").write_text('{"id": "a", "prompt": "p", "category": "nope"}\n'),
            "field 'category'",
        ),
        (
            lambda d: (d / "gen.jsonl").write_text(
                '{"id": "a", "prompt": "p", "category": "geo"}\n{"id": "a", "prompt": "q", "category": "geo"}\n'
            ),
            "duplicate item id 'a'",
        ),
        (
            lambda d: (d / "gen.jsonl").write_text(
                '{"id": "a", "prompt": "p", "category": "geo"}\n{"id": "b", "prompt": \n'
            ),
            "gen.jsonl:2: invalid JSON",
        ),
        (lambda d: (d / "gen.jsonl").unlink(), "data file not found"),
    ],
)
def test_bad_suites_exit_2_with_one_line(
    mini_suite: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], setup, needle: str
) -> None:  # type: ignore[no-untyped-def]
    setup(mini_suite)
    rc = main(
        [
            "run",
            "--model",
            "hf:/does/not/matter",
            "--suite",
            str(mini_suite),
            "--out",
            str(tmp_path / "o"),
            "--quiet",
        ]
    )
    err = capsys.readouterr().err.strip()
    assert rc == 2, err
    assert needle in err and len(err.splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_unknown_model_spec_and_missing_suite(
    tmp_path: Path, items_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "--model", "nope:x", "--suite", str(items_file), "--out", str(tmp_path / "o")]) == 2
    assert "unknown backend 'nope'" in capsys.readouterr().err
    assert main(["run", "--suite", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path / "o")]) == 2
    assert "missing.jsonl: items file not found" in capsys.readouterr().err
    assert main(["run", "--suite", "no_such_suite", "--out", str(tmp_path / "o")]) == 2
    assert main(["run", "--out", str(tmp_path / "o")]) == 2  # --suite is required (argparse)


def test_backend_failure_exits_4(
    tmp_path: Path, items_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text('{"model_type": "llama", "hidden_size": "not a number"}')
    rc = main(
        [
            "run",
            "--model",
            f"hf:{broken}",
            "--suite",
            str(items_file),
            "--out",
            str(tmp_path / "o"),
            "--quiet",
        ]
    )
    err = capsys.readouterr().err.strip()
    assert rc == 4, err
    assert "cannot load model" in err and len(err.splitlines()) == 1


def test_recorded_responses_follow_item_ids_not_the_cache(tmp_path: Path) -> None:
    items = tmp_path / "same.jsonl"
    items.write_text('{"id": "a", "prompt": "Same prompt"}\n{"id": "b", "prompt": "Same prompt"}\n')
    for n, (ra, rb) in enumerate([("one", "two"), ("three", "four")]):
        rec = tmp_path / f"rec{n}.jsonl"
        rec.write_text(f'{{"item_id": "a", "response": "{ra}"}}\n{{"item_id": "b", "response": "{rb}"}}\n')
        out = tmp_path / f"o{n}"
        rc = main(
            [
                "run",
                "--model",
                f"recorded:{rec}",
                "--suite",
                str(items),
                "--out",
                str(out),
                "--cache-dir",
                str(tmp_path / "c"),
                "--quiet",
            ]
        )
        assert rc == 0
        got = [json.loads(x)["response"] for x in (out / "samples.jsonl").read_text().splitlines()]
        assert got == [ra, rb]
