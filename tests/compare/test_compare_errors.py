"""Bad input: one-line UserError from the API, exit 2 from the CLI, and no comparison.json written."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from compare_rundirs import REFUSAL, item, planted_runs, write_run

from rlhf_eval.cli import main
from rlhf_eval.compare import compare_runs
from rlhf_eval.errors import UserError


def _run_cli(
    before: Path, after: Path, out: Path, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[int, str]:
    rc = main(["compare", str(before), str(after), "--out", str(out), "--n-resamples", "200", *extra])
    return rc, capsys.readouterr().err


def _assert_rejected(
    before: Path, after: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], match: str
) -> str:
    with pytest.raises(UserError, match=match):
        compare_runs(before, after, n_resamples=200)
    out = tmp_path / "out" / "comparison.json"
    rc, err = _run_cli(before, after, out, capsys)
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rlhf-eval compare: error: "), err
    assert "Traceback" not in err
    assert not out.exists()
    return lines[0]


def test_not_a_run_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before, _ = planted_runs(tmp_path, seed=0, n=20)
    empty = tmp_path / "empty"
    empty.mkdir()
    msg = _assert_rejected(before, empty, tmp_path, capsys, "not a run directory")
    assert str(empty) in msg and "run.json" in msg
    _assert_rejected(before, tmp_path / "missing", tmp_path, capsys, "no such directory")
    (empty / "run.json").write_text("{}")
    assert "samples.jsonl" in _assert_rejected(before, empty, tmp_path, capsys, "not a run directory")


def test_no_common_items(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    defs = {"harmlessness": [REFUSAL]}
    before = write_run(tmp_path / "b", [item("harmlessness", f"a{i}", refused=1) for i in range(5)], defs)
    after = write_run(tmp_path / "a", [item("harmlessness", f"z{i}", refused=1) for i in range(5)], defs)
    msg = _assert_rejected(before, after, tmp_path, capsys, "no common items")
    assert str(before) in msg and str(after) in msg


def test_no_common_suites(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = write_run(tmp_path / "b", [item("s1", "x", refused=1)], {"s1": [REFUSAL]})
    after = write_run(tmp_path / "a", [item("s2", "x", refused=1)], {"s2": [REFUSAL]})
    _assert_rejected(before, after, tmp_path, capsys, "no common items")


def _truncate_mid_json(path: Path) -> None:
    text = path.read_text()
    path.write_text(text[: len(text) - len(text.splitlines()[-1]) // 2 - 1])


def _drop_last_lines(path: Path) -> None:
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-3]))


@pytest.mark.parametrize(
    ("damage", "match"),
    [
        (_truncate_mid_json, r"samples\.jsonl:20: truncated"),
        (_drop_last_lines, r"samples\.jsonl:17: .*n_items=20"),
    ],
)
def test_truncated_samples(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: Callable[[Path], None], match: str
) -> None:
    before, after = planted_runs(tmp_path, seed=0, n=20)
    damage(after / "samples.jsonl")
    msg = _assert_rejected(before, after, tmp_path, capsys, match)
    assert str(after / "samples.jsonl") in msg


def test_invalid_json_mid_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before, after = planted_runs(tmp_path, seed=0, n=20)
    lines = (after / "samples.jsonl").read_text().splitlines(keepends=True)
    lines[4] = "{oops\n"
    (after / "samples.jsonl").write_text("".join(lines))
    _assert_rejected(before, after, tmp_path, capsys, r"samples\.jsonl:5: invalid JSON")


def test_suite_version_mismatch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    samples = [item("harmlessness", f"i{i}", refused=i % 2) for i in range(30)]
    defs = {"harmlessness": [REFUSAL]}
    before = write_run(tmp_path / "b", [dict(s) for s in samples], defs, versions={"harmlessness": "1.0"})
    after = write_run(tmp_path / "a", [dict(s) for s in samples], defs, versions={"harmlessness": "1.1"})
    msg = _assert_rejected(before, after, tmp_path, capsys, "version '1.0' in before vs '1.1' in after")
    assert "--allow-suite-mismatch" in msg
    # allowed: compared, with a warning recorded
    out = tmp_path / "ok.json"
    rc, _ = _run_cli(before, after, out, capsys, "--allow-suite-mismatch")
    assert rc == 0
    doc = json.loads(out.read_text())
    assert any("version" in w for w in doc["warnings"])
    assert doc["params"]["allow_suite_mismatch"] is True


def test_bad_metric_values_and_scores(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    defs = {"harmlessness": [REFUSAL]}
    good = [item("harmlessness", f"i{i}", refused=1) for i in range(4)]
    before = write_run(tmp_path / "b", good, defs)
    bad = [item("harmlessness", f"i{i}", refused=0.5 if i == 2 else 1) for i in range(4)]
    after = write_run(tmp_path / "a", bad, defs)
    _assert_rejected(
        before, after, tmp_path, capsys, r"samples\.jsonl:3: metrics\.refused = 0\.5, expected 0 or 1"
    )
    after = write_run(tmp_path / "a2", [dict(s) for s in good], defs)
    scores = json.loads((after / "scores.json").read_text())
    scores["harmlessness"]["refusal_rate"]["kind"] = "median"
    (after / "scores.json").write_text(json.dumps(scores))
    _assert_rejected(
        before, after, tmp_path, capsys, r"scores\.json: harmlessness\.refusal_rate: field 'kind'"
    )
    (after / "scores.json").unlink()
    _assert_rejected(before, after, tmp_path, capsys, r"scores\.json: file not found")


def test_duplicate_item_ids(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    defs = {"harmlessness": [REFUSAL]}
    before = write_run(
        tmp_path / "b", [item("harmlessness", "x", refused=1), item("harmlessness", "x", refused=0)], defs
    )
    after = write_run(tmp_path / "a", [item("harmlessness", "x", refused=1)], defs)
    _assert_rejected(before, after, tmp_path, capsys, r"samples\.jsonl:2: duplicate item_id 'x'.*line 1")


@pytest.mark.parametrize(("flag", "value"), [("--alpha", "1.5"), ("--n-resamples", "0"), ("--seed", "-1")])
def test_bad_parameters(tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: str, value: str) -> None:
    before, after = planted_runs(tmp_path, seed=0, n=10)
    out = tmp_path / "c.json"
    rc = main(["compare", str(before), str(after), "--out", str(out), flag, value])
    assert rc == 2 and not out.exists()
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
