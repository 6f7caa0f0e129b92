"""HumanEval, MBPP and IFEval adapters: lm-eval's prompts and settings, the sandboxed tests, the Hub path, bad rows."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import datasets
import pytest
import yaml

from rlhf_eval.cli import main
from rlhf_eval.scoring import get_scorer
from rlhf_eval.suites import load_suite
from rlhf_eval.suites._adapters import get_adapter
from rlhf_eval.suites._bench_code import (
    HUMANEVAL_MAX_NEW_TOKENS,
    HUMANEVAL_STOP,
    IFEVAL_MAX_NEW_TOKENS,
    MBPP_FEWSHOT,
    MBPP_STOP,
    mbpp_prompt,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "benchmarks"


def _lm_eval_tasks() -> Path:
    """lm-eval's tasks folder (a dev dependency; only the settings cross-checks need it)."""
    return Path(str(pytest.importorskip("lm_eval").__file__)).parent / "tasks"


def _rows(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (DATA / name).read_text().splitlines() if line.strip()]


def _lm_eval_yaml(path: Path) -> dict[str, Any]:
    """An lm-eval task YAML, its ``!function`` tags read as plain strings."""

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: loader.construct_scalar(node))
    return dict(yaml.load(path.read_text(), Loader=Loader))


def _samples(suite_ref: str, responses: list[str]) -> list[dict[str, Any]]:
    """Samples as the runner writes them, one response per item of the suite."""
    suite = load_suite(suite_ref)
    return [
        {"suite": suite.name, "item_id": it.id, "task": it.task, "response": r, "meta": dict(it.meta)}
        for it, r in zip(suite.items, responses, strict=True)
    ]


def _passed(samples: list[dict[str, Any]]) -> list[float | None]:
    return [m.get("passed") for m in get_scorer("code_exec", timeout=10.0).score(samples)]


# ---------------------------------------------------------------- settings follow lm-eval


def test_generation_settings_match_lm_eval_yaml() -> None:
    tasks = _lm_eval_tasks()
    he = _lm_eval_yaml(tasks / "humaneval" / "humaneval.yaml")
    assert tuple(he["generation_kwargs"]["until"]) == HUMANEVAL_STOP
    assert he["generation_kwargs"]["max_gen_toks"] == HUMANEVAL_MAX_NEW_TOKENS
    mb = _lm_eval_yaml(tasks / "mbpp" / "mbpp.yaml")
    assert tuple(mb["generation_kwargs"]["until"]) == MBPP_STOP
    ife = _lm_eval_yaml(tasks / "ifeval" / "ifeval.yaml")
    assert ife["generation_kwargs"]["max_gen_toks"] == IFEVAL_MAX_NEW_TOKENS
    suite = load_suite(f"humaneval:{DATA / 'humaneval_test.jsonl'}")
    sub = suite.spec.subsets[0]
    assert (sub.max_new_tokens, sub.stop, sub.scorers) == (
        1024,
        list(HUMANEVAL_STOP),
        [{"code_exec": {"timeout": 3.0}}],
    )
    assert load_suite(f"ifeval:{DATA / 'ifeval_train.jsonl'}").spec.subsets[0].max_new_tokens == 1280


def test_mbpp_prompt_is_lm_evals_three_shot_render() -> None:
    tasks = _lm_eval_tasks()
    from lm_eval.utils import apply_template

    cfg = _lm_eval_yaml(tasks / "mbpp" / "mbpp.yaml")
    # lm-eval's few-shot docs, read from its utils.py without importing it (the import loads
    # HF evaluate's code_eval, which needs the network)
    tree = ast.parse((tasks / "mbpp" / "utils.py").read_text())
    fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "list_fewshot_samples")
    shots = ast.literal_eval(next(n for n in ast.walk(fn) if isinstance(n, ast.Return)).value)  # type: ignore[arg-type]
    assert [{k: s[k] for k in ("text", "code", "test_list")} for s in shots] == list(MBPP_FEWSHOT)
    row = _rows("mbpp_full_test.jsonl")[0]
    # fewshot_context: each shot is doc_to_text + target_delimiter "" + doc_to_target, then "\n\n"
    expected = "".join(
        apply_template(cfg["doc_to_text"], s) + apply_template(cfg["doc_to_target"], s) + "\n\n"
        for s in shots
    ) + apply_template(cfg["doc_to_text"], row)
    assert mbpp_prompt(row["text"], row["test_list"]) == expected
    suite = load_suite(f"mbpp:{DATA / 'mbpp_full_test.jsonl'}")
    assert suite.items[0].prompt == expected
    assert expected.endswith("[BEGIN]\n") and expected.count("[DONE]") == 3


# ---------------------------------------------------------------- items and pass/fail


def test_humaneval_items_keep_the_raw_prompt() -> None:
    rows = _rows("humaneval_test.jsonl")
    suite = load_suite(f"humaneval:{DATA / 'humaneval_test.jsonl'}")
    assert [it.id for it in suite.items] == ["humaneval-0", "humaneval-1", "humaneval-2"]
    it = suite.items[0]
    assert it.prompt == rows[0]["prompt"] and it.category == "humaneval" and it.task == "generate"
    assert it.meta["code_prompt"] == rows[0]["prompt"]
    assert it.meta["entry_point"] == "sum_of_squares" and it.meta["task_id"] == "HumanEval/0"
    assert it.meta["stop"] == list(HUMANEVAL_STOP)


def test_humaneval_correct_and_incorrect_completions_pass_1_and_0() -> None:
    ref = f"humaneval:{DATA / 'humaneval_test.jsonl'}"
    canonical = [r["canonical_solution"] for r in _rows("humaneval_test.jsonl")]
    assert _passed(_samples(ref, canonical)) == [1.0, 1.0, 1.0]
    wrong = [
        "    return sum(numbers)\n",  # 1+2+3 = 6, not 14
        "    return len(word)\n",
        "    return sorted(values)\n",
    ]
    assert _passed(_samples(ref, wrong)) == [0.0, 0.0, 0.0]


def test_humaneval_completion_is_cut_at_lm_evals_stop_sequences() -> None:
    ref = f"humaneval:{DATA / 'humaneval_test.jsonl'}"
    # a base model rambling on after the body: lm-eval stops at "\ndef" / "\nif" / "\nprint"
    rambling = [
        "    return sum(n * n for n in numbers)\n\n\ndef main():\n    raise SystemExit(3)\n",
        "    return sum(1 for ch in word if is_vowel(ch))\nif True:\n    raise SystemExit(3)\n",
        "    return sorted(values)\nprint('x')\n",
    ]
    assert _passed(_samples(ref, rambling)) == [1.0, 1.0, 0.0]


def test_humaneval_fenced_full_solution_keeps_prompt_helpers() -> None:
    ref = f"humaneval:{DATA / 'humaneval_test.jsonl'}"
    # count_vowels' prompt defines the helper is_vowel; a restated solution may call it
    chat = [
        "```python\ndef sum_of_squares(numbers):\n    return sum(n ** 2 for n in numbers)\n```",
        "Here it is:\n```python\ndef count_vowels(word):\n    return sum(is_vowel(c) for c in word)\n```\nDone.",
        "```python\ndef running_max(values):\n    return values\n```",
    ]
    assert _passed(_samples(ref, chat)) == [1.0, 1.0, 0.0]


def test_mbpp_full_and_sanitized_run_setup_code_and_test_imports() -> None:
    full = f"mbpp:{DATA / 'mbpp_full_test.jsonl'}"
    suite = load_suite(full)
    assert suite.items[1].meta["code_prompt"] == "LIMIT = 3\n"
    assert suite.items[1].meta["tests"].startswith("assert count_long")
    assert suite.items[1].meta["challenge_test_list"] == ["assert count_long(['abcd'] * 3) == 3"]
    codes = [r["code"] for r in _rows("mbpp_full_test.jsonl")]
    # as generated: the code, then lm-eval's stop "[DONE]" and whatever the model adds after it
    assert _passed(_samples(full, [c + "\n[DONE]\nraise SystemExit(1)" for c in codes])) == [1.0, 1.0]
    assert _passed(_samples(full, ["def second_smallest(nums):\n  return min(nums)", codes[1]])) == [0.0, 1.0]
    sanitized = f"mbpp:{DATA / 'mbpp_sanitized_test.jsonl'}"
    item = load_suite(sanitized).items[0]
    assert item.meta["code_prompt"] == "import math\n"
    assert item.meta["tests"].startswith("assert math.isclose")
    assert "compute the hypotenuse" in item.prompt and item.prompt.endswith("[BEGIN]\n")
    code = _rows("mbpp_sanitized_test.jsonl")[0]["code"].replace("import math\n", "")
    assert _passed(_samples(sanitized, [code])) == [1.0]  # math comes from test_imports


def test_ifeval_items_carry_instructions_and_clean_kwargs() -> None:
    suite = load_suite(f"ifeval:{DATA / 'ifeval_train.jsonl'}")
    assert len(suite.items) == 14 and {it.category for it in suite.items} == {"ifeval"}
    it = suite.items[1]
    assert it.meta["key"] == 1002
    assert it.meta["instruction_id_list"][2] == "keywords:letter_frequency"
    # datasets pads every kwargs dict to the union of keys with None; the item keeps the set ones
    assert it.meta["kwargs"][2] == {"letter": "z", "let_frequency": 2, "let_relation": "less than"}
    assert it.meta["kwargs"][1] == {"forbidden_words": ["quiet", "silent"]}


# ---------------------------------------------------------------- the Hub path (mocked)


def _mock_hub(monkeypatch: pytest.MonkeyPatch, rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    calls: list[tuple[Any, ...]] = []

    def fake(path: str, name: str | None = None, split: str | None = None, **kw: Any) -> datasets.Dataset:
        calls.append((path, name, split))
        return datasets.Dataset.from_list(rows)

    monkeypatch.setattr(datasets, "load_dataset", fake)
    return calls


@pytest.mark.parametrize(
    ("ref", "fixture", "call", "name"),
    [
        (
            "humaneval:openai/openai_humaneval",
            "humaneval_test.jsonl",
            ("openai/openai_humaneval", None, "test"),
            "humaneval",
        ),
        (
            "mbpp:google-research-datasets/mbpp@test#full",
            "mbpp_full_test.jsonl",
            ("google-research-datasets/mbpp", "full", "test"),
            "mbpp",
        ),
        (
            "mbpp:google-research-datasets/mbpp@test#sanitized",
            "mbpp_sanitized_test.jsonl",
            ("google-research-datasets/mbpp", "sanitized", "test"),
            "mbpp",
        ),
        ("ifeval:google/IFEval@train", "ifeval_train.jsonl", ("google/IFEval", None, "train"), "ifeval"),
    ],
)
def test_hub_ids_load_through_datasets(
    monkeypatch: pytest.MonkeyPatch, ref: str, fixture: str, call: tuple[Any, ...], name: str
) -> None:
    calls = _mock_hub(monkeypatch, _rows(fixture))
    suite = load_suite(ref)
    assert calls == [call]
    assert suite.name == name and len(suite.items) == len(_rows(fixture))
    local = load_suite(f"{name}:{DATA / fixture}")
    assert [it.prompt for it in suite.items] == [it.prompt for it in local.items]
    assert [it.meta for it in suite.items] == [it.meta for it in local.items]


# ---------------------------------------------------------------- bad rows: one line, exit 2


def _run_error(tmp_path: Path, suite: str, capsys: pytest.CaptureFixture[str]) -> str:
    responses = tmp_path / "r.jsonl"
    responses.write_text('{"prompt": "x", "response": "y"}\n')
    code = main(
        ["run", "--model", f"recorded:{responses}", "--suite", suite, "--out", str(tmp_path / "o"), "--quiet"]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1
    return err


def _bad(tmp_path: Path, fixture: str, row: int, **change: Any) -> Path:
    """The fixture with ``change`` applied to one row; ``None`` drops the column from every row."""
    rows = _rows(fixture)
    for key, value in change.items():
        if value is None:
            for r in rows:
                del r[key]
        else:
            rows[row][key] = value
    path = tmp_path / fixture
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.mark.parametrize(
    ("adapter", "fixture", "row", "change", "message"),
    [
        (
            "humaneval",
            "humaneval_test.jsonl",
            0,
            {"entry_point": None},
            r"row 0: missing column 'entry_point'",
        ),
        ("humaneval", "humaneval_test.jsonl", 2, {"test": 7}, r"row 2: column 'test' must be text, got int"),
        (
            "mbpp",
            "mbpp_full_test.jsonl",
            0,
            {"test_list": 5},
            r"row 0: column 'test_list' must be a list, got int",
        ),
        (
            "mbpp",
            "mbpp_full_test.jsonl",
            1,
            {"test_list": ["assert True", 3]},
            r"row 1: column 'test_list'\[1\] must be text",
        ),
        ("mbpp", "mbpp_full_test.jsonl", 0, {"text": None}, r"row 0: missing column 'text' \(or 'prompt'"),
        (
            "ifeval",
            "ifeval_train.jsonl",
            3,
            {"kwargs": [{"num_paragraphs": 3}]},
            r"row 3: column 'kwargs' has 1 entries but 'instruction_id_list' has 2",
        ),
        (
            "ifeval",
            "ifeval_train.jsonl",
            6,
            {"instruction_id_list": ["detectable_format:made_up"]},
            r"row 6: column 'instruction_id_list'\[0\]: unknown instruction id 'detectable_format:made_up'",
        ),
        (
            "ifeval",
            "ifeval_train.jsonl",
            2,
            {"kwargs": [{"language": "de"}, {"relation": "at least"}]},
            r"row 2: column 'kwargs'\[1\]: instruction 'length_constraints:number_sentences': missing kwarg\(s\) num_sentences",
        ),
        (
            "ifeval",
            "ifeval_train.jsonl",
            2,
            {"kwargs": [{"language": "de"}, {"num_sentences": 3, "relation": "at most"}]},
            r"row 2: column 'kwargs'\[1\]: .*kwarg 'relation' must be 'less than' or 'at least', got 'at most'",
        ),
        ("ifeval", "ifeval_train.jsonl", 0, {"key": None}, r"row 0: missing column 'key'"),
    ],
)
def test_bad_rows_are_one_line_errors(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    adapter: str,
    fixture: str,
    row: int,
    change: dict[str, Any],
    message: str,
) -> None:
    path = _bad(tmp_path, fixture, row, **change)
    err = _run_error(tmp_path, f"{adapter}:{path}", capsys)
    assert str(path) in err
    assert re.search(message, err), err


def test_registered_with_scorers() -> None:
    assert get_adapter("humaneval").default_scorers == [{"code_exec": {"timeout": 3.0}}]
    assert get_adapter("mbpp").default_scorers == [{"code_exec": {"timeout": 3.0}}]
    assert get_adapter("ifeval").default_scorers == ["ifeval"]
