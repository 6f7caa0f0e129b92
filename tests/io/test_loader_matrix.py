"""Every loader x every odd input file, through the CLI (issue 16, item 6).

Cases: an empty file, a header-only table (CSV; a comment-only YAML; ``[]`` for a JSON list;
a zero-row Parquet table), a UTF-8 BOM, CRLF line ends, one non-UTF-8 byte on line 2 and a
50 MB single line. Each cell either fails with exit 2 and one line naming the file (and the
line where there is one), or -- BOM, CRLF, a 50 MB whole JSON document -- loads and gives
exactly the result of the clean file.
"""

from __future__ import annotations

import codecs
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from rlhf_eval._io import MAX_LINE_BYTES
from rlhf_eval.cli import main

BIG = 50 * 1024 * 1024  # the 50 MB single line of the issue; over MAX_LINE_BYTES

CASES = ("empty", "header_only", "bom", "crlf", "non_utf8", "long_line")

#: Expected fragment per failing case; None = valid, must equal the clean file's result.
SAME = None
EMPTY = "empty file"
NON_UTF8 = ":2: not UTF-8 text (byte 0xff"
LONG = f":1: line longer than {MAX_LINE_BYTES // 2**20} MiB"


# --------------------------------------------------------------------------------------------
# Shared valid inputs: a suite, recorded responses, two real runs, a comparison, a policy,
# audit tables. Built once through the real CLI.
# --------------------------------------------------------------------------------------------
ITEMS = [
    {"id": "a", "prompt": "How do I bake bread?"},
    {"id": "b", "prompt": "Write a haiku about rain."},
    {"id": "c", "prompt": "How do I pick a lock?", "category": "harm"},
]
ITEMS_JSONL = "".join(json.dumps(r) + "\n" for r in ITEMS).encode()
ITEMS_CSV = b"id,prompt\na,How do I bake bread?\nb,Write a haiku about rain.\nc,How do I pick a lock?\n"
ITEMS_JSON = json.dumps(ITEMS, indent=1).encode() + b"\n"
SUITE_YAML = (
    b"name: odd\n"
    b'version: "1"\n'
    b"subsets:\n"
    b"  - name: main\n"
    b"    task: generate\n"
    b"    data: {path: items.jsonl}\n"
    b"    scorers: [{refusal: {expect: none}}]\n"
)
REC_BEFORE = (
    b'{"item_id": "a", "response": "Mix flour, water, yeast and salt, then bake."}\n'
    b'{"item_id": "b", "response": "Soft rain on the roof"}\n'
    b'{"item_id": "c", "response": "I can\'t help with that."}\n'
)
REC_AFTER = (
    b'{"item_id": "a", "response": "I can\'t help with that."}\n'
    b'{"item_id": "b", "response": "Grey clouds, falling drops"}\n'
    b'{"item_id": "c", "response": "Sorry, I won\'t help with picking locks."}\n'
)
CLASSIFY_IN = (
    b'{"prompt": "How do I bake bread?", "response": "Mix flour and water, then bake."}\n'
    b'{"prompt": "How do I pick a lock?", "response": "I can\'t help with that."}\n'
    b'{"prompt": "Write a poem.", "response": "Rain on the roof."}\n'
)
POLICY = (
    b"# a release policy for the test runs\n"
    b"on_inconclusive: fail\n"
    b"rules:\n"
    b"  - metric: items.refusal_rate\n"
    b"    max_increase: 0.9\n"
)
RATINGS_CSV = b"item_id,annotator_id,label\n1,a,A\n1,b,A\n2,a,B\n2,b,A\n3,a,B\n3,b,B\n3,c,B\n"
RATINGS_JSONL = b"".join(
    json.dumps({"item_id": i, "annotator_id": a, "label": lab}).encode() + b"\n"
    for i, a, lab in [
        (1, "a", "A"),
        (1, "b", "A"),
        (2, "a", "B"),
        (2, "b", "A"),
        (3, "a", "B"),
        (3, "c", "B"),
    ]
)
ANNOTATORS_CSV = b"annotator_id,gender\na,f\nb,m\nc,f\n"
REFERENCE_CSV = b"attribute,group,share\ngender,f,0.5\ngender,m,0.5\n"


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    code = main(argv)
    return code, capsys.readouterr().err


def _ok(argv: list[str]) -> None:
    assert main(argv) == 0, argv


def _run_argv(model: Path, suite: Path, out: Path) -> list[str]:
    return [
        "run",
        "--model",
        f"recorded:{model}",
        "--suite",
        str(suite),
        "--out",
        str(out),
        "--quiet",
        "--no-cache",
    ]


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Valid inputs every cell starts from (runs and comparison made by the real CLI)."""
    d = tmp_path_factory.mktemp("base")
    files = {
        "items.jsonl": ITEMS_JSONL,
        "rec_before.jsonl": REC_BEFORE,
        "rec_after.jsonl": REC_AFTER,
        "policy.yaml": POLICY,
        "ratings.csv": RATINGS_CSV,
        "annotators.csv": ANNOTATORS_CSV,
        "reference_population.csv": REFERENCE_CSV,
    }
    for name, data in files.items():
        (d / name).write_bytes(data)
    _ok(_run_argv(d / "rec_before.jsonl", d / "items.jsonl", d / "before"))
    _ok(_run_argv(d / "rec_after.jsonl", d / "items.jsonl", d / "after"))
    _ok(["compare", str(d / "before"), str(d / "after"), "--out", str(d / "comparison.json")])
    return d


# --------------------------------------------------------------------------------------------
# The loaders: where the file under test goes, the command that reads it, and its result
# --------------------------------------------------------------------------------------------
def _normalized(path: Path, work: Path) -> Any:
    """A JSON output with the working folder and timestamps taken out, for clean-vs-variant equality."""
    data = json.loads(path.read_text(encoding="utf-8").replace(str(work), "<work>"))
    if isinstance(data, dict):
        data.pop("generated", None)
    return data


def _samples(work: Path) -> list[tuple[Any, ...]]:
    """What a run made of its items: id, category, prompt, response and metrics, per sample."""
    rows = [json.loads(line) for line in (work / "out" / "samples.jsonl").read_text().splitlines()]
    return [(r["item_id"], r["category"], r["prompt"], r["response"], r["metrics"]) for r in rows]


def _suite_items(name: str) -> Callable[[Path, Path], tuple[Path, list[str]]]:
    def setup(work: Path, base: Path) -> tuple[Path, list[str]]:
        return work / name, _run_argv(base / "rec_before.jsonl", work / name, work / "out")

    return setup


def _suite_yaml(work: Path, base: Path) -> tuple[Path, list[str]]:
    shutil.copy(base / "items.jsonl", work / "items.jsonl")
    return work / "suite.yaml", _run_argv(base / "rec_before.jsonl", work / "suite.yaml", work / "out")


def _recorded(work: Path, base: Path) -> tuple[Path, list[str]]:
    return work / "rec.jsonl", _run_argv(work / "rec.jsonl", base / "items.jsonl", work / "out")


def _audit_argv(work: Path, ratings: Path, *extra: str) -> list[str]:
    return [
        "audit",
        "--ratings",
        str(ratings),
        *extra,
        "--out",
        str(work / "audit.json"),
        "--n-bootstrap",
        "20",
        "--n-permutations",
        "20",
        "--min-group-size",
        "1",
        "--pseudonym-key",
        "k",
        "--quiet",
    ]


def _ratings(name: str) -> Callable[[Path, Path], tuple[Path, list[str]]]:
    def setup(work: Path, base: Path) -> tuple[Path, list[str]]:
        return work / name, _audit_argv(work, work / name)

    return setup


def _annotators(work: Path, base: Path) -> tuple[Path, list[str]]:
    target = work / "annotators.csv"
    return target, _audit_argv(work, base / "ratings.csv", "--annotators", str(target))


def _reference(work: Path, base: Path) -> tuple[Path, list[str]]:
    target = work / "reference_population.csv"
    extra = ("--annotators", str(base / "annotators.csv"), "--reference-population", str(target))
    return target, _audit_argv(work, base / "ratings.csv", *extra)


def _policy(work: Path, base: Path) -> tuple[Path, list[str]]:
    target = work / "policy.yaml"
    argv = ["gate", "--comparison", str(base / "comparison.json"), "--policy", str(target)]
    return target, [*argv, "--out", str(work / "gate.json"), "--quiet"]


def _comparison(work: Path, base: Path) -> tuple[Path, list[str]]:
    target = work / "comparison.json"
    argv = ["gate", "--comparison", str(target), "--policy", str(base / "policy.yaml")]
    return target, [*argv, "--out", str(work / "gate.json"), "--quiet"]


def _classify(work: Path, base: Path) -> tuple[Path, list[str]]:
    target = work / "in.jsonl"
    return target, ["classify-refusals", str(target), "--out", str(work / "out.jsonl"), "--quiet"]


def _run_dir_file(command: str, name: str) -> Callable[[Path, Path], tuple[Path, list[str]]]:
    def setup(work: Path, base: Path) -> tuple[Path, list[str]]:
        for run in ("before", "after"):
            shutil.copytree(base / run, work / run)
        if command == "compare":
            argv = ["compare", str(work / "before"), str(work / "after"), "--out", str(work / "c.json")]
        else:
            argv = ["report", "--run", str(work / "before"), "--run", str(work / "after")]
            argv += ["--out", str(work / "r" / "r.html")]
        return work / "after" / name, argv

    return setup


def _report_summary(work: Path) -> str:
    return (work / "r" / "r.md").read_text(encoding="utf-8").replace(str(work), "<work>")


@dataclass(frozen=True)
class Loader:
    """One loader of the matrix.

    ``kind`` is ``lines`` (JSONL), ``csv``, ``yaml`` or ``json`` (a whole JSON document: valid
    on one line, so the 50 MB case is a valid document padded with whitespace and must load).
    ``setup(work, base)`` places nothing but returns the file under test and the CLI argv;
    ``outcome(work)`` reads what a successful command produced.
    """

    name: str
    clean: bytes
    kind: str
    setup: Callable[[Path, Path], tuple[Path, list[str]]]
    outcome: Callable[[Path], Any]
    empty: str | None = EMPTY  # expected fragment for an empty file (None: valid, empty result)
    header_only: str | None = None  # fragment for the header-only case, where it applies


LOADERS: list[Loader] = [
    Loader("suite items.jsonl", ITEMS_JSONL, "lines", _suite_items("items.jsonl"), _samples),
    Loader(
        "suite items.csv",
        ITEMS_CSV,
        "csv",
        _suite_items("items.csv"),
        _samples,
        header_only="no items (only a header row)",
    ),
    Loader(
        "suite items.json",
        ITEMS_JSON,
        "json",
        _suite_items("items.json"),
        _samples,
        header_only="no items (an empty JSON list)",
    ),
    Loader(
        "suite suite.yaml",
        SUITE_YAML,
        "yaml",
        _suite_yaml,
        _samples,
        header_only="expected a mapping with name, version and subsets",
    ),
    Loader("recorded responses", REC_BEFORE, "lines", _recorded, _samples),
    Loader(
        "audit --ratings csv",
        RATINGS_CSV,
        "csv",
        _ratings("ratings.csv"),
        lambda w: _normalized(w / "audit.json", w),
        header_only="no rows (only a header)",
    ),
    Loader(
        "audit --ratings jsonl",
        RATINGS_JSONL,
        "lines",
        _ratings("ratings.jsonl"),
        lambda w: _normalized(w / "audit.json", w),
    ),
    Loader(
        "audit --annotators",
        ANNOTATORS_CSV,
        "csv",
        _annotators,
        lambda w: _normalized(w / "audit.json", w),
        header_only="no rows (only a header)",
    ),
    Loader(
        "audit --reference-population",
        REFERENCE_CSV,
        "csv",
        _reference,
        lambda w: _normalized(w / "audit.json", w),
        header_only="no rows (only a header)",
    ),
    Loader(
        "gate --policy",
        POLICY,
        "yaml",
        _policy,
        lambda w: _normalized(w / "gate.json", w),
        empty="empty policy; expected a mapping with 'rules'",
        header_only="empty policy; expected a mapping with 'rules'",
    ),
    Loader(
        "classify-refusals input",
        CLASSIFY_IN,
        "lines",
        _classify,
        lambda w: (w / "out.jsonl").read_text(encoding="utf-8"),
        empty=None,  # a filter: empty in, empty out
    ),
]

#: Loaders whose clean content is a file of the base runs (known only once they exist).
RUN_FILE_LOADERS: list[tuple[str, str, str, str, Callable[[Path], Any]]] = [
    ("compare samples.jsonl", "compare", "samples.jsonl", "lines", lambda w: _normalized(w / "c.json", w)),
    ("compare run.json", "compare", "run.json", "json", lambda w: _normalized(w / "c.json", w)),
    ("compare scores.json", "compare", "scores.json", "json", lambda w: _normalized(w / "c.json", w)),
    ("gate --comparison", "gate", "comparison.json", "json", lambda w: _normalized(w / "gate.json", w)),
    ("report samples.jsonl", "report", "samples.jsonl", "lines", _report_summary),
    ("report run.json", "report", "run.json", "json", _report_summary),
]


def _cells() -> list[Any]:
    cells = []
    for loader in LOADERS:
        for case in CASES:
            if case != "header_only" or loader.header_only is not None:
                cells.append(pytest.param(loader.name, case, id=f"{loader.name}-{case}"))
    for name, *_ in RUN_FILE_LOADERS:
        for case in CASES:
            if case == "header_only":
                continue
            cells.append(pytest.param(name, case, id=f"{name}-{case}"))
    return cells


def _loader(name: str, base: Path) -> Loader:
    for loader in LOADERS:
        if loader.name == name:
            return loader
    for lname, command, file, kind, outcome in RUN_FILE_LOADERS:
        if lname == name:
            src = base / ("comparison.json" if command == "gate" else f"after/{file}")
            setup = _comparison if command == "gate" else _run_dir_file(command, file)
            return Loader(name, src.read_bytes(), kind, setup, outcome)
    raise KeyError(name)


def _variant(loader: Loader, case: str) -> bytes:
    """The file content of one case, built from the loader's clean content."""
    clean = loader.clean
    if case == "empty":
        return b""
    if case == "header_only":
        if loader.kind == "csv":
            return clean.split(b"\n", 1)[0] + b"\n"
        if loader.kind == "yaml":
            return b"# only a comment\n"
        return b"[]\n"
    if case == "bom":
        return codecs.BOM_UTF8 + clean
    if case == "crlf":
        return clean.replace(b"\n", b"\r\n")
    if case == "non_utf8":
        lines = clean.split(b"\n")
        lines[1] = lines[1] + b"\xff"
        return b"\n".join(lines)
    assert case == "long_line"
    if loader.kind == "json":  # a valid document on one line, padded with 50 MB of whitespace
        mini = json.dumps(json.loads(clean)).encode()
        return mini[:1] + b" " * BIG + mini[1:]
    return b'{"pad": "' + b"x" * BIG + b'"}\n'


def _expected(loader: Loader, case: str) -> str | None:
    if case == "empty":
        return loader.empty
    if case == "header_only":
        return loader.header_only
    if case in ("bom", "crlf") or (case == "long_line" and loader.kind == "json"):
        return SAME
    return NON_UTF8 if case == "non_utf8" else LONG


@pytest.mark.parametrize(("name", "case"), _cells())
def test_loader_case(
    name: str, case: str, base: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    loader = _loader(name, base)
    variant_dir, clean_dir = tmp_path / "variant", tmp_path / "clean"
    variant_dir.mkdir()
    target, argv = loader.setup(variant_dir, base)
    target.write_bytes(_variant(loader, case))
    code, err = _cli(argv, capsys)
    print(f"{name} / {case}: exit {code}: {err.strip()}")  # shown with -rP: the matrix's messages
    expected = _expected(loader, case)
    if case == "empty" and expected is None:  # valid: an empty result
        assert code == 0, err
        assert loader.outcome(variant_dir) == ""
        return
    if expected is not None:
        assert code == 2, err
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
        assert f"{target}:" in err or f"{target} " in err, err  # names the file ...
        assert expected in err, err  # ... and the line, where there is one
        return
    assert code in (0, 1, 3), err  # loaded: the command's own verdict, as for the clean file
    clean_dir.mkdir()
    clean_target, clean_argv = loader.setup(clean_dir, base)
    clean_target.write_bytes(loader.clean)
    clean_code, clean_err = _cli(clean_argv, capsys)
    clean_outcome = loader.outcome(clean_dir)
    assert clean_outcome, "the clean file must produce something to compare"
    assert (code, loader.outcome(variant_dir)) == (clean_code, clean_outcome), clean_err


@pytest.mark.parametrize("case", ["empty", "zero_rows"])
def test_parquet_suite(case: str, base: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Parquet is binary: only an empty file and a table without rows apply."""
    target = tmp_path / "items.parquet"
    if case == "empty":
        target.write_bytes(b"")
        expected = "empty file (expected a Parquet table of items)"
    else:
        pd.DataFrame({"id": pd.Series([], dtype=str), "prompt": pd.Series([], dtype=str)}).to_parquet(target)
        expected = "no items (a Parquet table with no rows)"
    code, err = _cli(_run_argv(base / "rec_before.jsonl", target, tmp_path / "out"), capsys)
    assert code == 2
    assert err.strip() == f"rlhf-eval run: error: {target}: {expected}"
