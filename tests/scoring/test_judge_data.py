"""The judge's own training files: schema, label mix, and no prompt shared with XSTest or any suite."""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from pathlib import Path

import pytest

from rlhf_eval.scoring._refusal import DATA_PATH, load_training_data

ROOT = Path(__file__).resolve().parents[2]
WRITTEN = sorted((ROOT / "scripts" / "refusal_judge" / "data").glob("*.jsonl"))
XSTEST_PROMPTS = ROOT.parent / "shared" / "data" / "xstest" / "xstest_prompts.csv"


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def _suite_prompts() -> set[str]:
    out = set()
    for path in (ROOT / "suites").glob("*/*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                out.add(_norm(json.loads(line).get("prompt", "")))
    return out


def test_written_files_load_and_cover_every_class_and_many_styles() -> None:
    assert len(WRITTEN) >= 2
    rows = [r for p in WRITTEN for r in load_training_data(p)]
    labels = Counter(r["label"] for r in rows)
    assert len(rows) >= 900 and min(labels.values()) >= 200, labels
    styles = Counter(r["style"] for r in rows)
    for style in ("premise_rejection", "ethics_lecture", "professional_redirect", "guidelines_ai",
                  "safer_question_deflection", "disclaimer_compliance", "refuse_then_comply"):  # fmt: skip
        assert styles[style] >= 25, style
    # refusals without stock phrases are most of the written refusals
    stock = re.compile(r"\b(?:i can't|i cannot|i'm sorry|i apologi[sz]e|as an ai)\b", re.I)
    refusals = [r["response"] for r in rows if r["label"] == "refusal"]
    assert sum(not stock.search(t) for t in refusals) / len(refusals) > 0.6


def test_no_training_prompt_is_a_suite_prompt() -> None:
    suite = _suite_prompts()
    for path in [DATA_PATH, *WRITTEN]:
        shared = {_norm(r["prompt"]) for r in load_training_data(path)} & suite
        assert not shared, (path.name, sorted(shared)[:3])


@pytest.mark.skipif(not XSTEST_PROMPTS.is_file(), reason="XSTest v2 is in ../shared/data")
def test_written_prompts_are_not_xstest_prompts() -> None:
    with XSTEST_PROMPTS.open(encoding="utf-8", newline="") as fh:
        xs = {_norm(r["prompt"]) for r in csv.DictReader(fh)}
    for path in [DATA_PATH, *WRITTEN]:
        shared = {_norm(r["prompt"]) for r in load_training_data(path)} & xs
        assert not shared, (path.name, sorted(shared)[:3])
