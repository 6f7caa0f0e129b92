"""Malformed logs: one line on stderr naming the file, the line or sample, and the field; exit 2; nothing written."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from interop_logs import DATA

from rlhf_eval.cli import main

SMALL = DATA / "lm_eval_small"


def _fail(args: list[str], capsys: pytest.CaptureFixture[str], out: Path) -> str:
    """Run ``rlhf-eval import ARGS --out OUT``: exit 2, one stderr line, no run directory."""
    assert main(["import", *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("rlhf-eval import: error: ") and "\n" not in err, err
    assert not out.exists()
    return err


@pytest.fixture()
def lm_copy(tmp_path: Path) -> Path:
    """A writable copy of the committed lm-eval output folder (model subfolder inside)."""
    dest = tmp_path / "lm-out"
    shutil.copytree(SMALL, dest)
    return dest


def _samples(folder: Path, task: str = "mmlu_small") -> Path:
    (path,) = (folder / "tiny-model").glob(f"samples_{task}_*.jsonl")
    return path


def _results(folder: Path) -> Path:
    (path,) = (folder / "tiny-model").glob("results_*.json")
    return path


def test_missing_doc_id(lm_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _samples(lm_copy)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    del rows[2]["doc_id"]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    err = _fail(["lm-eval", str(lm_copy)], capsys, tmp_path / "run")
    assert err.endswith(f"{path}:3: field 'doc_id' missing or not an integer")


def test_samples_file_not_jsonl(lm_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _samples(lm_copy, "gen_tiny")
    path.write_text("doc_id,acc\n0,1\n")
    err = _fail(["lm-eval", str(lm_copy)], capsys, tmp_path / "run")
    assert err.endswith(f"{path}:1: invalid JSON (Expecting value)")


def test_results_without_results(lm_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _results(lm_copy)
    doc = json.loads(path.read_text())
    del doc["results"]
    path.write_text(json.dumps(doc))
    err = _fail(["lm-eval", str(path)], capsys, tmp_path / "run")
    assert err.endswith(f"{path}: field 'results' missing or not an object (not an lm-eval results file?)")


def test_missing_samples_file(lm_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _samples(lm_copy, "gen_tiny").unlink()
    err = _fail(["auto", str(lm_copy)], capsys, tmp_path / "run")
    assert "task 'gen_tiny' has no samples file samples_gen_tiny_" in err and "--log_samples" in err


def test_doc_without_category_field(
    lm_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = _fail(["lm-eval", str(lm_copy), "--category-field", "topic"], capsys, tmp_path / "run")
    assert err.endswith(":1: doc has no field 'topic' (--category-field)")


def test_two_results_files_are_ambiguous(
    lm_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(_results(lm_copy), lm_copy / "tiny-model" / "results_2020-01-01T00-00-00.000001.json")
    err = _fail(["lm-eval", str(lm_copy)], capsys, tmp_path / "run")
    assert "2 lm-eval results files" in err and "pass the one to import" in err


def test_inspect_log_without_samples(
    inspect_logs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = inspect_logs["no_samples"]
    err = _fail(["inspect", str(log)], capsys, tmp_path / "run")
    assert f"{log}: field 'samples' is empty" in err


def test_inspect_sample_with_bad_score(
    inspect_logs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = json.loads(inspect_logs["before_json"].read_text())
    doc["samples"][1]["scores"]["match"]["value"] = "maybe"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    err = _fail(["auto", str(bad)], capsys, tmp_path / "run")
    assert err.endswith(
        f"{bad}: sample 'q1' (epoch 1): scores.match: value 'maybe' is not a grade or a number"
    )


@pytest.mark.parametrize(
    ("name", "content", "source", "expect"),
    [
        (
            "notes.txt",
            "hello",
            "auto",
            "not an lm-eval results file (results_<timestamp>.json) or an Inspect log",
        ),
        (
            "data.json",
            '{"a": 1}',
            "auto",
            "not an lm-eval results file (results_<timestamp>.json) or an Inspect log",
        ),
        ("data.json", '{"a": 1}', "inspect", "not a readable Inspect log"),
        ("run.eval", "not a zip", "inspect", "not a readable Inspect log"),
        ("notes.txt", "hello", "inspect", "not an Inspect log (expected a .eval or .json file)"),
        ("results.json", '{"a": 1}', "lm-eval", "field 'results' missing or not an object"),
    ],
)
def test_non_log_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, content: str, source: str, expect: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    err = _fail([source, str(path)], capsys, tmp_path / "run")
    assert f"{path}: {expect}" in err


def test_empty_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()
    err = _fail(["auto", str(tmp_path / "empty")], capsys, tmp_path / "run")
    assert "no lm-eval results_*.json and no Inspect .eval/.json logs in this folder" in err
