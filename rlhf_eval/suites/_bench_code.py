"""HumanEval, MBPP and IFEval adapters, prompted and scored as lm-evaluation-harness 0.4 does.

* ``humaneval`` (``openai/openai_humaneval``): the raw prompt is sent (a completion task, as
  lm-eval's ``humaneval``), generation stops at its ``until`` sequences, and the program is
  ``prompt + completion`` followed by ``test`` and ``check(entry_point)``.
* ``mbpp`` (``google-research-datasets/mbpp``, configs ``full`` and ``sanitized``): lm-eval's
  3-shot ``[BEGIN]``/``[DONE]`` prompt; the completion is the program, run with the row's
  asserts.
* ``ifeval`` (``google/IFEval``): the prompt as is; every instruction is checked at load time
  so a bad id or kwargs fails before a model is loaded.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from rlhf_eval.suites._adapters import (
    Adapter,
    Item,
    Row,
    _category,
    _list,
    _RowError,
    _text,
    register_adapter,
)

# lm-eval tasks/humaneval/humaneval.yaml: generation_kwargs.until and max_gen_toks
HUMANEVAL_STOP = ("\nclass", "\ndef", "\n#", "\nif", "\nprint")
HUMANEVAL_MAX_NEW_TOKENS = 1024
# lm-eval tasks/mbpp/mbpp.yaml: until [DONE]; no max_gen_toks, so lm-eval's default 256
MBPP_STOP = ("[DONE]",)
MBPP_MAX_NEW_TOKENS = 256
# lm-eval tasks/ifeval/ifeval.yaml: max_gen_toks
IFEVAL_MAX_NEW_TOKENS = 1280
# The timeout of human-eval's execution.check_correctness and of lm-eval's code_eval metric.
CODE_TIMEOUT_S = 3.0

# lm-eval tasks/mbpp/utils.py list_fewshot_samples(): MBPP's prompt-split tasks 2-4, the
# three shots every mbpp prompt starts with (``code`` keeps the data set's \r\n line ends).
MBPP_FEWSHOT: tuple[dict[str, Any], ...] = (
    {
        "text": "Write a function to find the similar elements from the given two tuple lists.",
        "code": "def similar_elements(test_tup1, test_tup2):\r\n  res = tuple(set(test_tup1) & set(test_tup2))\r\n  return (res) ",
        "test_list": [
            "assert similar_elements((3, 4, 5, 6),(5, 7, 4, 10)) == (4, 5)",
            "assert similar_elements((1, 2, 3, 4),(5, 4, 3, 7)) == (3, 4)",
            "assert similar_elements((11, 12, 14, 13),(17, 15, 14, 13)) == (13, 14)",
        ],
    },
    {
        "text": "Write a python function to identify non-prime numbers.",
        "code": "import math\r\ndef is_not_prime(n):\r\n    result = False\r\n    for i in range(2,int(math.sqrt(n)) + 1):\r\n        if n % i == 0:\r\n            result = True\r\n    return result",
        "test_list": [
            "assert is_not_prime(2) == False",
            "assert is_not_prime(10) == True",
            "assert is_not_prime(35) == True",
        ],
    },
    {
        "text": "Write a function to find the largest integers from a given list of numbers using heap queue algorithm.",
        "code": "import heapq as hq\r\ndef heap_queue_largest(nums,n):\r\n  largest_nums = hq.nlargest(n, nums)\r\n  return largest_nums",
        "test_list": [
            "assert heap_queue_largest( [25, 35, 22, 85, 14, 65, 75, 22, 58],3)==[85, 75, 65] ",
            "assert heap_queue_largest( [25, 35, 22, 85, 14, 65, 75, 22, 58],2)==[85, 75] ",
            "assert heap_queue_largest( [25, 35, 22, 85, 14, 65, 75, 22, 58],5)==[85, 75, 65, 58, 35]",
        ],
    },
)


def mbpp_question(text: str, tests: list[str]) -> str:
    """lm-eval's mbpp ``doc_to_text`` (with all of the row's tests; the published rows have 3)."""
    return f"You are an expert Python programmer, and here is your task: {text} Your code should pass these tests:\n\n{chr(10).join(tests)}\n[BEGIN]\n"


def mbpp_prompt(text: str, tests: list[str]) -> str:
    """The full 3-shot prompt: each shot's question + code + ``\\n[DONE]``, ``\\n\\n`` between."""
    shots = "".join(
        mbpp_question(s["text"], s["test_list"]) + s["code"] + "\n[DONE]" + "\n\n" for s in MBPP_FEWSHOT
    )
    return shots + mbpp_question(text, tests)


def _strings(row: Row, col: str, *, allow_empty: bool = False) -> list[str]:
    """A list-of-strings column (a JSON string is decoded first)."""
    values = _list(row, col) if row.get(col) is not None else []
    if not values and not allow_empty:
        raise _RowError(f"column {col!r} must be a non-empty list")
    for k, v in enumerate(values):
        if not isinstance(v, str):
            raise _RowError(f"column '{col}'[{k}] must be text, got {type(v).__name__}")
    return values


def _task_id(row: Row) -> str:
    value = row["task_id"]
    if value is None or isinstance(value, (bool, list, dict)) or str(value).strip() == "":
        raise _RowError(f"column 'task_id' must be a non-empty id, got {value!r}")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _humaneval(row: Row, i: int, source: str) -> Item:
    """HumanEval row -> the raw prompt to complete, with its tests and entry point as meta."""
    prompt = _text(row, "prompt")
    tests = _text(row, "test")
    if not tests.strip():
        raise _RowError("column 'test' is empty")
    entry = _text(row, "entry_point").strip()
    if not entry.isidentifier():
        raise _RowError(f"column 'entry_point' must be a function name, got {row['entry_point']!r}")
    return {
        "prompt": prompt,
        **_category(None, "humaneval"),
        "task_id": _task_id(row),
        "tests": tests,
        "entry_point": entry,
        "code_prompt": prompt,
        "stop": list(HUMANEVAL_STOP),
        "canonical_solution": _text(row, "canonical_solution"),
    }


def _mbpp(row: Row, i: int, source: str) -> Item:
    """MBPP row (``full``: text/test_setup_code; ``sanitized``: prompt/test_imports) -> 3-shot prompt."""
    if "text" in row:
        text = _text(row, "text")
    elif "prompt" in row:
        text = _text(row, "prompt")
    else:
        raise _RowError("missing column 'text' (or 'prompt', as in the sanitized config)")
    if not text.strip():
        raise _RowError("empty prompt")
    tests = _strings(row, "test_list")
    setup = _text(row, "test_setup_code") if row.get("test_setup_code") is not None else ""
    imports = _strings(row, "test_imports", allow_empty=True) if "test_imports" in row else []
    item: Item = {
        "prompt": mbpp_prompt(text, tests),
        **_category(None, "mbpp"),
        "task_id": _task_id(row),
        "text": text,
        "tests": "\n".join(tests),
        # one program, as MBPP's own evaluation builds it: the setup code (full config) or the
        # test imports (sanitized), then the completion, then the asserts
        "code_prompt": "".join(part + "\n" for part in (setup.strip(), *imports) if part.strip()),
        "stop": list(MBPP_STOP),
        "reference_code": _text(row, "code"),
    }
    if row.get("challenge_test_list") is not None:
        item["challenge_test_list"] = _strings(row, "challenge_test_list", allow_empty=True)
    return item


def _kwargs_list(row: Row) -> list[dict[str, Any]]:
    """IFEval's ``kwargs``: one mapping per instruction (``None`` entries dropped, as the Hub pads)."""
    out = []
    for k, value in enumerate(_list(row, "kwargs")):
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                raise _RowError(
                    f"column 'kwargs'[{k}] must be an object, got text that is not JSON"
                ) from None
        if value is None:
            value = {}
        if not isinstance(value, Mapping):
            raise _RowError(f"column 'kwargs'[{k}] must be an object, got {type(value).__name__}")
        out.append({str(key): v for key, v in value.items() if v is not None})
    return out


def _ifeval(row: Row, i: int, source: str) -> Item:
    """IFEval row -> the prompt as is; instructions and kwargs checked now, kept as meta."""
    # imported here: rlhf_eval.scoring pulls in every scorer, which loading a suite should not need
    from rlhf_eval.scoring._ifeval import InstructionError, build_check

    ids = _strings(row, "instruction_id_list")
    kwargs = _kwargs_list(row)
    if len(kwargs) != len(ids):
        raise _RowError(f"column 'kwargs' has {len(kwargs)} entries but 'instruction_id_list' has {len(ids)}")
    for k, (instruction, kw) in enumerate(zip(ids, kwargs, strict=True)):
        try:
            build_check(instruction, kw)
        except InstructionError as exc:
            col = "instruction_id_list" if str(exc).startswith("unknown instruction") else "kwargs"
            raise _RowError(f"column '{col}'[{k}]: {exc}") from None
    key = row["key"]
    if isinstance(key, float) and key.is_integer():
        key = int(key)
    return {
        "prompt": _text(row, "prompt"),
        **_category(None, "ifeval"),
        "key": key,
        "instruction_id_list": ids,
        "kwargs": kwargs,
    }


for _adapter in (
    Adapter(
        "humaneval",
        "generate",
        ("task_id", "prompt", "canonical_solution", "test", "entry_point"),
        "HumanEval: complete a Python function from its docstring; pass@1 (pass@k with --n-samples)",
        ({"code_exec": {"timeout": CODE_TIMEOUT_S}},),
        _humaneval,
        {"max_new_tokens": HUMANEVAL_MAX_NEW_TOKENS, "stop": list(HUMANEVAL_STOP)},
        hub_id="openai/openai_humaneval",
        hub_split="test",
        source="Chen et al. 2021, arXiv:2107.03374",
        license="MIT",
        metrics={
            "pass_at_1": "share of problems whose completion passes the hidden tests (sandboxed)",
            "pass_at_<k>": "unbiased pass@k estimate from --n-samples N responses per problem",
        },
        no_chat_template=True,
    ),
    Adapter(
        "mbpp",
        "generate",
        ("task_id", "code", "test_list"),
        "MBPP (full or sanitized): write a Python function from a description and 3 asserts; pass@1",
        ({"code_exec": {"timeout": CODE_TIMEOUT_S}},),
        _mbpp,
        {"max_new_tokens": MBPP_MAX_NEW_TOKENS, "stop": list(MBPP_STOP)},
        hub_id="google-research-datasets/mbpp",
        hub_split="test",
        hub_config="full",
        source="Austin et al. 2021, arXiv:2108.07732",
        license="CC-BY-4.0",
        metrics={"pass_at_1": "share of tasks whose 3-shot completion passes the task's asserts (sandboxed)"},
        no_chat_template=True,
    ),
    Adapter(
        "ifeval",
        "generate",
        ("key", "prompt", "instruction_id_list", "kwargs"),
        "IFEval: verifiable instructions; prompt- and instruction-level, strict and loose accuracy",
        ("ifeval",),
        _ifeval,
        {"max_new_tokens": IFEVAL_MAX_NEW_TOKENS},
        hub_id="google/IFEval",
        hub_split="train",  # its only split
        source="Zhou et al. 2023, arXiv:2311.07911",
        license="Apache-2.0",
        metrics={
            "prompt_level_strict_acc": "share of prompts with every instruction followed (strict check)",
            "prompt_level_loose_acc": "the same with the loose check (8 variants of the reply)",
            "inst_level_strict_acc": "followed instructions / all instructions (strict)",
            "inst_level_loose_acc": "followed instructions / all instructions (loose)",
        },
    ),
):
    register_adapter(_adapter)
