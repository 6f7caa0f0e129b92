"""`rlhf-eval audit` / `make-demo-preferences`: outputs, input formats, and one-line errors (exit 2)."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from rlhf_eval.audit._cli import register
from rlhf_eval.errors import RlhfEvalError

FAST = ["--n-bootstrap", "50", "--n-permutations", "50", "--pseudonym-key", "k", "--quiet"]


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run a subcommand the way ``rlhf_eval.cli.main`` does: errors -> one line, exit code."""
    parser = argparse.ArgumentParser(prog="rlhf-eval")
    sub = parser.add_subparsers(dest="command")
    register(sub)
    try:
        args = parser.parse_args(argv)
        try:
            code = int(args.func(args) or 0)
        except RlhfEvalError as exc:
            print(f"rlhf-eval {args.command}: error: {exc}", file=sys.stderr)
            code = exc.exit_code
    except SystemExit as exc:  # argparse usage errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from rlhf_eval.audit import make_demo_preferences

    folder = tmp_path_factory.mktemp("cli_demo")
    make_demo_preferences(folder, n_items=120, n_annotators=30, seed=1)
    return folder


def test_audit_writes_documented_keys(
    demo_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "audit.json"
    code, _, err = run(
        [
            "audit",
            "--ratings",
            str(demo_dir / "ratings.csv"),
            "--annotators",
            str(demo_dir / "annotators.csv"),
            "--reference-population",
            str(demo_dir / "reference_population.csv"),
            "--out",
            str(out),
            *FAST,
        ],
        capsys,
    )
    assert code == 0, err
    report = json.loads(out.read_text())
    alpha = report["agreement"]["krippendorff_alpha"]
    assert set(alpha) >= {"value", "ci_low", "ci_high", "n_items", "n_ratings"}
    assert alpha["ci_low"] <= alpha["value"] <= alpha["ci_high"]
    group = next(g for g, c in report["by_group"]["age_band"].items() if not c.get("suppressed"))
    assert isinstance(report["by_group"]["age_band"][group]["krippendorff_alpha"]["value"], float)
    assert report["params"]["n_bootstrap"] == 50 and report["params"]["min_group_size"] == 5
    assert report["schema"] == "rlhf-eval/audit/1"


def test_findings_printed(demo_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["audit", "--ratings", str(demo_dir / "ratings.csv"), "--out", str(tmp_path / "a.json")]
    code, out, _ = run([*args, "--n-bootstrap", "20", "--n-permutations", "20"], capsys)
    assert code == 0
    assert out.splitlines()[0].startswith("Krippendorff's alpha (nominal) = ")
    assert out.strip().endswith("a.json")


def test_levels_and_strength(demo_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    values = {}
    for level in ("nominal", "ordinal", "interval"):
        out = tmp_path / f"{level}.json"
        code, _, err = run(
            ["audit", "--ratings", str(demo_dir / "ratings.csv"), "--level", level, "--out", str(out), *FAST],
            capsys,
        )
        assert code == 0, err
        report = json.loads(out.read_text())
        values[level] = report["agreement"]["krippendorff_alpha"]["value"]
        assert report["agreement"]["krippendorff_alpha"]["level"] == level
        if level != "nominal":  # the strength column gives signed values: A:3 ... tie ... B:3
            assert report["input"]["categories"] == ["A:3", "A:2", "A:1", "tie", "B:1", "B:2", "B:3"]
            assert report["agreement"]["weighted_cohen_kappa"]["weights"] in ("linear", "quadratic")
    assert len(set(values.values())) == 3


def test_input_formats_agree(demo_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    frame = pd.read_csv(demo_dir / "ratings.csv", dtype={"item_id": str, "annotator_id": str})
    frame.to_json(tmp_path / "r.jsonl", orient="records", lines=True)
    frame.to_parquet(tmp_path / "r.parquet")
    frame.to_csv(tmp_path / "r.tsv", sep="\t", index=False)
    import datasets

    datasets.Dataset.from_pandas(frame).save_to_disk(str(tmp_path / "r_ds"))
    alphas = []
    for source in ("r.jsonl", "r.parquet", "r.tsv", "r_ds"):
        out = tmp_path / f"{source}.json"
        code, _, err = run(["audit", "--ratings", str(tmp_path / source), "--out", str(out), *FAST], capsys)
        assert code == 0, err
        alphas.append(json.loads(out.read_text())["agreement"]["krippendorff_alpha"]["value"])
    out = tmp_path / "csv.json"
    run(["audit", "--ratings", str(demo_dir / "ratings.csv"), "--out", str(out), *FAST], capsys)
    reference = json.loads(out.read_text())["agreement"]["krippendorff_alpha"]["value"]
    assert alphas == pytest.approx([reference] * 4, abs=1e-12)


def test_column_mapping(demo_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    frame = pd.read_csv(demo_dir / "ratings.csv").rename(
        columns={"item_id": "comparison", "annotator_id": "worker", "label": "choice", "harm": "unsafe"}
    )
    frame.to_csv(tmp_path / "r.csv", index=False)
    ann = pd.read_csv(demo_dir / "annotators.csv").rename(columns={"annotator_id": "worker"})
    ann.to_csv(tmp_path / "a.csv", index=False)
    out = tmp_path / "audit.json"
    code, _, err = run(
        [
            "audit",
            "--ratings",
            str(tmp_path / "r.csv"),
            "--annotators",
            str(tmp_path / "a.csv"),
            "--column",
            "item_id=comparison",
            "--column",
            "annotator_id=worker",
            "--column",
            "label=choice",
            "--column",
            "harm=unsafe",
            "--attributes",
            "age_band,gender",
            "--out",
            str(out),
            *FAST,
        ],
        capsys,
    )
    assert code == 0, err
    report = json.loads(out.read_text())
    assert set(report["representation"]) == {"age_band", "gender", "age_band&gender"}
    assert report["welfare"]["available"]


@pytest.mark.parametrize(
    ("rows", "extra", "needle"),
    [
        ("item_id,annotator_id,answer\n1,a,A\n", [], "ratings.csv: missing column 'label'"),
        (
            "item_id,annotator_id,label\n1,a,good\n1,b,bad\n",
            ["--level", "ordinal"],
            "row 1: column 'label': 'good' is not a number",
        ),
        (
            "item_id,annotator_id,label\n1,a,3\n1,b,-2\n",
            ["--level", "ratio"],
            "row 2: column 'label': -2 is negative",
        ),
        ("item_id,annotator_id,label\n1,a,A\n2,,B\n", [], "row 2: column 'annotator_id' is empty"),
        (
            "item_id,annotator_id,label\n1,a,A\n1,b,B\n",
            ["--level", "ratio"],
            "pairwise labels (A/B/tie) have no true zero",
        ),
        (
            "item_id,annotator_id,label,strength\n1,a,A,x\n1,b,B,1\n",
            ["--level", "interval"],
            "row 1: column 'strength'",
        ),
        ("item_id,annotator_id,label,harm\n1,a,A,maybe\n1,b,B,0\n", [], "row 1: column 'harm': 'maybe'"),
        (
            "item_id,annotator_id,label,seconds_spent\n1,a,A,-4\n1,b,B,3\n",
            [],
            "row 1: column 'seconds_spent'",
        ),
        (
            "item_id,annotator_id,label\n1,a,low\n1,b,mid\n",
            ["--label-order", "low,high"],
            "'mid' is not in --label-order",
        ),
        (
            "item_id,annotator_id,label\n1,a,A\n",
            ["--column", "label"],
            "--column 'label': expected CANONICAL=SOURCE",
        ),
        ("item_id,annotator_id,label\n1,a,A\n", ["--column", "label=pick"], "ratings.csv: no column 'pick'"),
        ("item_id,annotator_id,label\n1,a,A\n", ["--column", "colour=label"], "unknown column 'colour'"),
        ("item_id,annotator_id,label\n", [], "ratings.csv: no rows"),
    ],
)
def test_bad_ratings_give_one_line_and_exit_2(
    rows: str, extra: list[str], needle: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "ratings.csv").write_text(rows)
    code, _, err = run(
        ["audit", "--ratings", str(tmp_path / "ratings.csv"), "--out", str(tmp_path / "o.json"), *extra],
        capsys,
    )
    assert code == 2
    assert needle in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "o.json").exists()


@pytest.mark.parametrize(
    ("name", "text", "flag", "needle"),
    [
        (
            "annotators.csv",
            "annotator_id,age\na,1\na,1\na,2\n",
            "--annotators",
            "annotators.csv: row 3: annotator 'a' has a second, different value of 'age' ('2' vs '1')",
        ),
        (
            "annotators.csv",
            "worker,age\na,1\n",
            "--annotators",
            "annotators.csv: missing column 'annotator_id'",
        ),
        (
            "ref.csv",
            "attribute,group,share\nage,1,abc\n",
            "--reference-population",
            "ref.csv: row 1: column 'share'",
        ),
        ("ref.csv", "attribute,share\nage,1\n", "--reference-population", "ref.csv: missing column 'group'"),
        ("missing.csv", None, "--annotators", "missing.csv: file not found"),
        ("ratings.xlsx", "x", "--annotators", "unknown file type '.xlsx'"),
        ("bad.jsonl", "{not json\n", "--annotators", "bad.jsonl: cannot read as jsonl"),
    ],
)
def test_bad_side_tables(
    name: str, text: str | None, flag: str, needle: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "ratings.csv").write_text("item_id,annotator_id,label\n1,a,A\n1,b,B\n")
    if text is not None:
        (tmp_path / name).write_text(text)
    code, _, err = run(
        [
            "audit",
            "--ratings",
            str(tmp_path / "ratings.csv"),
            flag,
            str(tmp_path / name),
            "--out",
            str(tmp_path / "o.json"),
        ],
        capsys,
    )
    assert code == 2
    assert needle in err and len(err.strip().splitlines()) == 1


def test_unknown_attribute_and_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "r.csv").write_text("item_id,annotator_id,label\n1,a,A\n1,b,B\n")
    (tmp_path / "a.csv").write_text("annotator_id,age\na,1\nb,2\n")
    base = ["audit", "--ratings", str(tmp_path / "r.csv"), "--out", str(tmp_path / "o.json")]
    code, _, err = run([*base, "--annotators", str(tmp_path / "a.csv"), "--attributes", "age,caste"], capsys)
    assert code == 2 and "--attributes: a.csv has no column 'caste'" in err
    code, _, err = run([*base, "--level", "fancy"], capsys)
    assert code == 2 and "invalid choice" in err
    code, _, err = run([*base, "--min-group-size", "0"], capsys)
    assert code == 2 and "--min-group-size 0" in err


def test_make_demo_is_seeded(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("a", "b"):
        code, out, _ = run(
            ["make-demo-preferences", "--out", str(tmp_path / name), "--n-items", "50", "--seed", "4"], capsys
        )
        assert code == 0 and "ratings.csv" in out
    assert (tmp_path / "a" / "ratings.csv").read_text() == (tmp_path / "b" / "ratings.csv").read_text()
    ratings = pd.read_csv(tmp_path / "a" / "ratings.csv")
    assert len(ratings) == 250 and ratings["annotator_id"].nunique() <= 60
    assert {"prompt", "response_a", "response_b", "seconds_spent", "harm", "reward_a", "reward_b"} <= set(
        ratings
    )
    readme = (tmp_path / "a" / "README.md").read_text()
    assert "Planted effects" in readme and "60+" in readme
    code, _, err = run(
        ["make-demo-preferences", "--out", str(tmp_path / "c"), "--ratings-per-item", "1"], capsys
    )
    assert code == 2 and "--ratings-per-item" in err


def test_help_does_not_import_pandas() -> None:
    code = "import sys, rlhf_eval.audit._cli; print('pandas' in sys.modules or 'scipy' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_demographics_in_the_ratings_table(
    demo_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Long tables that repeat each rater's demographics on every row (DICES-style) work
    either as --annotators or through --attributes alone."""
    merged = pd.read_csv(demo_dir / "ratings.csv").merge(
        pd.read_csv(demo_dir / "annotators.csv"), on="annotator_id"
    )
    merged.to_csv(tmp_path / "long.csv", index=False)
    reports = []
    for extra in (["--annotators", str(tmp_path / "long.csv")], ["--attributes", "age_band,nationality"]):
        out = tmp_path / f"{len(reports)}.json"
        code, _, err = run(
            ["audit", "--ratings", str(tmp_path / "long.csv"), "--out", str(out), *FAST, *extra], capsys
        )
        assert code == 0, err
        reports.append(json.loads(out.read_text()))
    # rating columns (label, harm, ...) are not taken for demographics
    assert set(reports[0]["params"]["attributes"]) == {
        "nationality",
        "age_band",
        "gender",
        "religion",
        "political_leaning",
    }
    assert reports[0]["by_group"]["age_band"] == reports[1]["by_group"]["age_band"]
