"""Capability adapters (ARC, HellaSwag, GSM8K): lm-eval's prompts, Hub and local sources, bad rows, acc_norm."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from rlhf_eval.cli import main
from rlhf_eval.errors import UserError
from rlhf_eval.scoring import get_scorer
from rlhf_eval.scoring._gsm8k import UNTIL
from rlhf_eval.suites import load_suite
from rlhf_eval.suites._adapters import get_adapter
from rlhf_eval.suites._bench_capability import GSM8K_MAX_NEW_TOKENS, GSM8K_UNTIL, hellaswag_preprocess

DATA = Path(__file__).resolve().parents[1] / "data" / "benchmarks"


def test_registered_with_default_scorers() -> None:
    for name in ("arc_easy", "arc_challenge", "hellaswag"):
        adapter = get_adapter(name)
        assert adapter.task == "multiple_choice"
        assert adapter.default_scorers == ["accuracy", "accuracy_norm", "calibration"]
    assert get_adapter("gsm8k").task == "generate"
    assert get_adapter("gsm8k").default_scorers == ["gsm8k"]


def test_arc_easy_file() -> None:
    suite = load_suite(f"arc_easy:{DATA / 'arc_easy.jsonl'}")
    assert suite.name == "arc_easy-arc_easy" and len(suite.items) == 8
    first = suite.items[0]
    assert first.id == "Mercury_7001" and first.task == "multiple_choice" and first.category == "arc_easy"
    assert first.prompt == "Question: Which of these is a source of light?\nAnswer:"
    assert first.choices == [" the Moon", " the Sun", " a mirror", " a window"]
    assert first.gold == 1
    assert first.meta == {"choice_labels": ["A", "B", "C", "D"], "answer_key": "B"}
    numeric = suite.items[2]  # labels 1-4, answerKey "2"
    assert numeric.meta["choice_labels"] == ["1", "2", "3", "4"] and numeric.gold == 1
    assert len(suite.items[5].choices or []) == 3  # ARC rows may have 3 choices


def test_arc_challenge_five_choices_and_parquet(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    rows = [json.loads(line) for line in (DATA / "arc_challenge.jsonl").read_text().splitlines()]
    path = tmp_path / "arc_challenge.parquet"
    datasets.Dataset.from_list(rows).to_parquet(str(path))  # choices as a Parquet struct column
    suite = load_suite(f"arc_challenge:{path}")
    assert [it.gold for it in suite.items] == [1, 1, 0, 2, 2, 0]
    assert suite.items[1].choices == [" hardness", " luster", " density", " mass", " melting point"]
    assert suite.items[2].meta["answer_key"] == "1"
    assert {it.category for it in suite.items} == {"arc_challenge"}


def test_hellaswag_preprocessing_as_lm_eval() -> None:
    suite = load_suite(f"hellaswag:{DATA / 'hellaswag.jsonl'}")
    first = suite.items[0]
    assert first.id == "hellaswag-0" and first.category == "hellaswag"
    assert first.prompt == "Roof shingle removal: A man is sitting on a roof. He"  # ctx_b capitalised
    assert first.choices is not None and first.choices[3] == " starts pulling up roofing on a roof."
    assert (
        first.gold == 3
        and first.meta["ind"] == "24"
        and first.meta["activity_label"] == "Roof shingle removal"
    )
    wikihow = suite.items[3]  # [header]/[title]/[step] artefacts, empty ctx_b
    assert wikihow.prompt == (
        "Personal Care and Style: How to dye your hair with kool aid. Wash your hair. Kool aid works best on clean hair."
    )
    assert wikihow.choices == [
        " Shampoo your hair and skip the conditioner  Let your hair dry completely.",
        "  Pour the kool aid into a pot. Add a cup of water.",
        " You can dye your hair in the shower.. Apply the kool aid.",
        " Rinse the dye out with cold water. Dry your hair.",
    ]
    # one pass of "  " -> " ": the three spaces left around "[x]" become two, as in lm-eval
    assert hellaswag_preprocess(" a [title] b  [x] c ") == "a. b  c"


def test_gsm8k_file() -> None:
    suite = load_suite(f"gsm8k:{DATA / 'gsm8k.jsonl'}")
    first = suite.items[0]
    assert first.id == "gsm8k-0" and first.task == "generate" and first.category == "gsm8k"
    assert first.prompt.startswith("Question: Natalia sold clips") and first.prompt.endswith("May?\nAnswer:")
    assert first.meta["answer"].endswith("#### 72") and first.meta["target"] == "72"
    assert [it.meta["target"] for it in suite.items] == ["72", "10", "15000", "-7", "12", "150"]
    sub = suite.spec.subsets[0]  # lm-eval's gsm8k generation_kwargs
    assert sub.stop == ["Question:", "</s>", "<|im_end|>"] and sub.max_new_tokens == 256
    assert tuple(sub.stop) == GSM8K_UNTIL == UNTIL  # the scorer cuts recorded responses at the same strings


def test_generation_settings_match_lm_eval_yaml() -> None:
    lm_eval = pytest.importorskip("lm_eval")
    from lm_eval.tasks._yaml_loader import load_yaml

    cfg = load_yaml(Path(lm_eval.__file__).parent / "tasks" / "gsm8k" / "gsm8k.yaml")
    assert cfg["doc_to_text"] == "Question: {{question}}\nAnswer:"
    assert tuple(cfg["generation_kwargs"]["until"]) == GSM8K_UNTIL
    assert cfg["generation_kwargs"].get("max_gen_toks", 256) == GSM8K_MAX_NEW_TOKENS
    for task in ("arc/arc_easy.yaml", "hellaswag/hellaswag.yaml"):
        arc = load_yaml(Path(lm_eval.__file__).parent / "tasks" / task, resolve_func=False)
        assert arc.get("target_delimiter", " ") == " " and arc["output_type"] == "multiple_choice"


@pytest.mark.parametrize(
    ("ref", "hub_args", "rows_file"),
    [
        (
            "arc_challenge:allenai/ai2_arc@test#ARC-Challenge",
            ("allenai/ai2_arc", "ARC-Challenge", "test"),
            "arc_challenge.jsonl",
        ),
        (
            "arc_easy:allenai/ai2_arc@validation#ARC-Easy",
            ("allenai/ai2_arc", "ARC-Easy", "validation"),
            "arc_easy.jsonl",
        ),
        ("hellaswag:Rowan/hellaswag@validation", ("Rowan/hellaswag", None, "validation"), "hellaswag.jsonl"),
        ("gsm8k:openai/gsm8k@test#main", ("openai/gsm8k", "main", "test"), "gsm8k.jsonl"),
    ],
)
def test_hub_ids_go_through_datasets(
    monkeypatch: pytest.MonkeyPatch, ref: str, hub_args: tuple[Any, ...], rows_file: str
) -> None:
    import datasets

    rows = [json.loads(line) for line in (DATA / rows_file).read_text().splitlines()]
    calls: list[tuple[Any, ...]] = []

    def fake_load_dataset(path: str, name: str | None = None, split: str | None = None, **kw: Any) -> Any:
        calls.append((path, name, split))
        return datasets.Dataset.from_list(rows)

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    suite = load_suite(ref)
    assert calls == [hub_args]
    assert suite.name == ref.split(":")[0] and len(suite.items) == len(rows)
    local = load_suite(f"{ref.split(':')[0]}:{DATA / rows_file}")
    assert [(it.id, it.prompt, it.choices, it.gold) for it in suite.items] == [
        (it.id, it.prompt, it.choices, it.gold) for it in local.items
    ]


def _one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    return err


@pytest.mark.parametrize(
    ("adapter", "fname", "message"),
    [
        (
            "arc_easy",
            "arc_bad_key.jsonl",
            "row 1: column 'answerKey' must be one of the choice labels ['A', 'B'], got 'E'",
        ),
        ("hellaswag", "hellaswag_bad_label.jsonl", "row 0: column 'label' must be 0-3, got '4'"),
        ("gsm8k", "gsm8k_no_final.jsonl", "row 1: column 'answer' has no final '#### N' line"),
    ],
)
def test_bad_rows_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], adapter: str, fname: str, message: str
) -> None:
    code = main(
        ["run", "--model", "hf:/nonexistent", "--suite", f"{adapter}:{DATA / fname}", "--out", str(tmp_path)]
    )
    assert code == 2
    err = _one_error_line(capsys)
    assert err == f"rlhf-eval run: error: {DATA / fname}: {message}"


def test_missing_column_and_bad_shapes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "hs.jsonl"
    path.write_text(json.dumps({"activity_label": "a", "ctx_a": "b", "ctx_b": "c", "label": "0"}) + "\n")
    assert (
        main(["run", "--model", "hf:/nonexistent", "--suite", f"hellaswag:{path}", "--out", str(tmp_path)])
        == 2
    )
    assert _one_error_line(capsys) == f"rlhf-eval run: error: {path}: row 0: missing column 'endings'"
    arc = get_adapter("arc_easy")
    with pytest.raises(UserError, match=r"^x: row 0: column 'choices': 2 texts but 1 labels$"):
        arc.to_items(
            [{"question": "q", "choices": {"text": ["a", "b"], "label": ["A"]}, "answerKey": "A"}], "x"
        )
    with pytest.raises(
        UserError, match=r"^x: row 0: column 'choices' must be an object with 'text' and 'label'$"
    ):
        arc.to_items([{"question": "q", "choices": ["a", "b"], "answerKey": "A"}], "x")
    # a CSV cell holding the struct as JSON is accepted
    [item] = arc.to_items(
        [{"question": "q", "choices": '{"text": ["a", "b"], "label": ["A", "B"]}', "answerKey": "B"}], "x"
    )
    assert item["gold"] == 1
    with pytest.raises(UserError, match=r"^x: row 0: column 'label' must be 0-1, got ''$"):
        get_adapter("hellaswag").to_items(
            [{"activity_label": "a", "ctx_a": "b", "ctx_b": "", "endings": ["x", "y"], "label": ""}], "x"
        )


def _mc(choices: list[str], logprobs: list[float], gold: int) -> dict[str, Any]:
    return {
        "task": "multiple_choice",
        "choices": choices,
        "choice_logprobs": logprobs,
        "gold": gold,
        "pred": 0,
    }


def test_acc_and_acc_norm_differ_on_a_constructed_case() -> None:
    # " a" (1 char) -2.0 vs " bbbbbbbbbb" (10 chars) -5.0: acc picks 0; per character -2.0 < -0.5 picks 1
    sample = _mc([" a", " bbbbbbbbbb"], [-2.0, -5.0], gold=1)
    sample["pred"] = 0
    assert get_scorer("accuracy").score([sample]) == [{"correct": 0.0}]
    assert get_scorer("accuracy_norm").score([sample]) == [{"correct_norm": 1.0}]
    # the leading space is lm-eval's target delimiter, not part of len(choice): 2 vs 3 characters
    tie = _mc([" ab", " abc"], [-4.0, -6.0], gold=1)
    assert get_scorer("accuracy_norm").score([tie]) == [{"correct_norm": 0.0}]  # -2.0 beats ties on the first
    assert get_scorer("accuracy_norm").score([{"task": "generate"}]) == [{}]
    [defn] = get_scorer("accuracy_norm").metrics([sample])
    assert (defn.name, defn.item_metric, defn.kind, defn.higher_is_better) == (
        "acc_norm",
        "correct_norm",
        "proportion",
        True,
    )


def test_run_arc_with_a_tiny_model(tiny_model_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    code = main(
        [
            "run",
            "--model",
            f"hf:{tiny_model_dir}",
            "--suite",
            f"arc_easy:{DATA / 'arc_easy.jsonl'}",
            "--no-chat-template",
            "--no-cache",
            "--quiet",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    samples = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    scores = json.loads((out / "scores.json").read_text())["arc_easy-arc_easy"]
    assert (
        samples[0]["prompt"] == "Question: Which of these is a source of light?\nAnswer:"
    )  # raw, as lm-eval
    for s in samples:  # acc_norm recomputed by hand from the logged log-likelihoods
        lengths = [len(c) - 1 for c in s["choices"]]
        normed = [lp / n for lp, n in zip(s["choice_logprobs"], lengths, strict=True)]
        assert s["metrics"]["correct_norm"] == float(
            max(range(len(normed)), key=normed.__getitem__) == s["gold"]
        )
        assert s["metrics"]["correct"] == float(s["pred"] == s["gold"])
    for name, item_metric in (("accuracy", "correct"), ("acc_norm", "correct_norm")):
        assert scores[name]["n"] == 8 and scores[name]["kind"] == "proportion"
        assert math.isclose(scores[name]["value"], sum(s["metrics"][item_metric] for s in samples) / 8)
    assert "ece" in scores
