"""`rlhf-eval report`: validation at the boundary (exit 2, one line naming the file, nothing written)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rlhf_eval.cli import main


def _args(paths: dict[str, Path], out: Path) -> list[str]:
    return [
        "report",
        "--run",
        str(paths["before"]),
        "--run",
        str(paths["after"]),
        "--comparison",
        str(paths["comparison"]),
        "--audit",
        str(paths["audit"]),
        "--gate",
        str(paths["gate"]),
        "--out",
        str(out),
    ]


def test_cli_writes_html_and_markdown(
    inputs_dir: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "reports" / "release.html"
    assert main(_args(inputs_dir, out)) == 0
    assert out.is_file() and (tmp_path / "reports" / "release.md").is_file()
    assert "release.html" in capsys.readouterr().err
    assert sorted(p.name for p in out.parent.iterdir()) == [
        "release.html",
        "release.md",
    ]  # no temp files left


def _bad(tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    out = tmp_path / "out" / "r.html"
    rc = main([*argv, "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert not out.exists() and not out.with_suffix(".md").exists()
    return err


def test_missing_and_invalid_files_are_exit_2_naming_the_file(
    inputs_dir: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = _bad(tmp_path, capsys, ["report", "--comparison", str(tmp_path / "nope.json")])
    assert "nope.json: file not found" in err
    broken = tmp_path / "broken.json"
    broken.write_text('{"metrics": [', encoding="utf-8")
    err = _bad(tmp_path, capsys, ["report", "--audit", str(broken)])
    assert "broken.json" in err and "invalid JSON" in err
    err = _bad(tmp_path, capsys, ["report", "--gate", str(inputs_dir["comparison"])])
    assert "comparison.json" in err and "gate" in err
    err = _bad(tmp_path, capsys, ["report", "--run", str(tmp_path)])
    assert "run.json: file not found" in err
    err = _bad(tmp_path, capsys, ["report"])
    assert "nothing to report" in err


def test_bad_run_files_are_named(
    inputs_dir: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    shutil.copytree(inputs_dir["before"], run)
    with (run / "samples.jsonl").open("a", encoding="utf-8") as fh:
        fh.write('{"suite": "x"}\n')
    n = len((run / "samples.jsonl").read_text().splitlines())
    err = _bad(tmp_path, capsys, ["report", "--run", str(run)])
    assert f"samples.jsonl:{n}: field 'item_id'" in err
    (run / "samples.jsonl").write_text("", encoding="utf-8")
    (run / "scores.json").write_text('{"harmlessness": [1]}', encoding="utf-8")
    err = _bad(tmp_path, capsys, ["report", "--run", str(run)])
    assert "scores.json" in err and "harmlessness" in err


def test_a_valid_input_beside_a_bad_one_writes_nothing(
    inputs_dir: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = _bad(
        tmp_path, capsys, ["report", "--run", str(inputs_dir["before"]), "--gate", str(tmp_path / "g.json")]
    )
    assert "g.json" in err


def test_out_must_be_html_and_at_most_two_runs(
    inputs_dir: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(["report", "--gate", str(inputs_dir["gate"]), "--out", str(tmp_path / "r.md")])
    assert rc == 2 and ".html" in capsys.readouterr().err
    r = str(inputs_dir["before"])
    err = _bad(tmp_path, capsys, ["report", "--run", r, "--run", r, "--run", r])
    assert "at most two" in err


def test_help_has_examples(capsys: pytest.CaptureFixture[str]) -> None:
    try:
        rc = main(["report", "--help"])
    except SystemExit as exc:  # depending on whether the entry point maps argparse's exit
        rc = int(exc.code or 0)
    assert rc == 0
    assert "examples:" in capsys.readouterr().out
