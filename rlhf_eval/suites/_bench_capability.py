"""ARC-Easy/Challenge, HellaSwag and GSM8K adapters, scored as lm-evaluation-harness scores them.

Prompts and choices follow lm-eval 0.4.x's task configs (``tasks/arc/arc_easy.yaml``,
``tasks/hellaswag/{hellaswag.yaml,utils.py}``, ``tasks/gsm8k/gsm8k.yaml``) character for
character, so log-likelihoods and generations agree with lm-eval's when the model sees the
raw prompt (``--no-chat-template``, as lm-eval does by default). Continuations are the choice
text after lm-eval's target delimiter, always one space (lm-eval adds it unconditionally).
"""

from __future__ import annotations

import json
import numbers
import re
from collections.abc import Mapping
from typing import Any

from rlhf_eval.suites._adapters import (
    Adapter,
    Item,
    Row,
    _list,
    _opt_text,
    _RowError,
    _text,
    register_adapter,
)

_MC_SCORERS = ("accuracy", "accuracy_norm", "calibration")
# lm-eval gsm8k.yaml generation_kwargs: stop strings (``until``) and its default max_gen_toks;
# the gsm8k scorer cuts at the same strings (scoring/_gsm8k.py UNTIL) for responses made elsewhere.
GSM8K_UNTIL = ("Question:", "</s>", "<|im_end|>")
GSM8K_MAX_NEW_TOKENS = 256


def _object(row: Row, col: str) -> Mapping[str, Any]:
    """A struct column (``{text: [...], label: [...]}``); a JSON string, as a CSV cell holds it, is decoded."""
    value = row[col]
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise _RowError(f"column {col!r} must be an object with 'text' and 'label'") from None
    if not isinstance(value, Mapping) or "text" not in value or "label" not in value:
        raise _RowError(f"column {col!r} must be an object with 'text' and 'label'")
    return value


def _label_text(value: Any) -> str:
    """An ARC label or answer key as text (``"A"``, ``"1"``); integers from a widened reader read as digits."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _arc(row: Row, i: int, source: str) -> Item:
    """ARC row -> lm-eval's ``Question: ...\\nAnswer:`` with the choice texts as continuations."""
    question = _text(row, "question")
    if not question.strip():
        raise _RowError("empty prompt")
    choices = _object(row, "choices")
    texts = _list(row, "choices.text", choices["text"])
    labels = [_label_text(x) for x in _list(row, "choices.label", choices["label"])]
    if len(texts) < 2:
        raise _RowError(f"column 'choices.text' needs at least 2 choices, got {len(texts)}")
    if len(labels) != len(texts):
        raise _RowError(f"column 'choices': {len(texts)} texts but {len(labels)} labels")
    if any(not isinstance(t, str) or not t for t in texts):
        raise _RowError("column 'choices.text' must hold non-empty strings")
    if len(set(labels)) != len(labels):
        raise _RowError(f"column 'choices.label' has repeated labels: {labels}")
    key = row["answerKey"]
    if key is None or _label_text(key) not in labels:
        raise _RowError(f"column 'answerKey' must be one of the choice labels {labels}, got {key!r}")
    return {
        "prompt": f"Question: {question}\nAnswer:",
        "choices": [" " + t for t in texts],
        "gold": labels.index(_label_text(key)),
        "choice_labels": labels,
        "answer_key": _label_text(key),
    }


def _arc_easy(row: Row, i: int, source: str) -> Item:
    """ARC-Easy row (category ``arc_easy``)."""
    return {**_arc(row, i, source), "category": "arc_easy"}


def _arc_challenge(row: Row, i: int, source: str) -> Item:
    """ARC-Challenge row (category ``arc_challenge``)."""
    return {**_arc(row, i, source), "category": "arc_challenge"}


def hellaswag_preprocess(text: str) -> str:
    """lm-eval's ``tasks/hellaswag/utils.py:preprocess``: WikiHow ``[title]``/bracket artefacts, double spaces."""
    text = text.strip()
    text = text.replace(" [title]", ". ")
    text = re.sub("\\[.*?\\]", "", text)
    text = text.replace("  ", " ")
    return text


def _hellaswag_label(value: Any, n: int) -> int:
    """HellaSwag's ``label`` (text ``"0"``-``"3"`` on the Hub, or an integer) as an index into the endings."""
    index = value
    if isinstance(index, float) and index.is_integer():
        index = int(index)
    if isinstance(index, str) and index.strip().isdigit():
        index = int(index.strip())
    if isinstance(index, bool) or not isinstance(index, numbers.Integral) or not 0 <= int(index) < n:
        raise _RowError(f"column 'label' must be 0-{n - 1}, got {value!r}")
    return int(index)


def _hellaswag(row: Row, i: int, source: str) -> Item:
    """HellaSwag row -> lm-eval's preprocessed ``activity: ctx_a Ctx_b`` with the preprocessed endings."""
    activity, ctx_a, ctx_b = _text(row, "activity_label"), _text(row, "ctx_a"), _text(row, "ctx_b")
    endings = _list(row, "endings")
    if len(endings) < 2:
        raise _RowError(f"column 'endings' needs at least 2 endings, got {len(endings)}")
    if any(not isinstance(e, str) for e in endings):
        raise _RowError("column 'endings' must hold strings")
    choices = [hellaswag_preprocess(e) for e in endings]
    if any(not c for c in choices):
        raise _RowError("column 'endings' has an empty ending")
    item: Item = {
        "prompt": hellaswag_preprocess(activity + ": " + ctx_a + " " + ctx_b.capitalize()),
        "category": "hellaswag",
        "choices": [" " + c for c in choices],
        "gold": _hellaswag_label(row["label"], len(endings)),
        "activity_label": activity,
    }
    for col in ("ind", "source_id", "split_type"):
        value = _opt_text(row, col)
        if value is not None:
            item[col] = value
    return item


_FINAL = re.compile(r"####\s*(\S.*?)\s*$", re.S)


def _gsm8k(row: Row, i: int, source: str) -> Item:
    """GSM8K row -> zero-shot ``Question: ...\\nAnswer:``; the full ``answer`` is the reference."""
    question = _text(row, "question")
    if not question.strip():
        raise _RowError("empty prompt")
    answer = _text(row, "answer")
    final = _FINAL.search(answer)
    if final is None:
        raise _RowError("column 'answer' has no final '#### N' line")
    return {
        "prompt": f"Question: {question}\nAnswer:",
        "category": "gsm8k",
        "answer": answer,
        "target": final.group(1),
    }


_MC_METRICS = {
    "accuracy": "the gold choice gets the highest log-likelihood (lm-eval acc)",
    "acc_norm": "the same with log-likelihoods divided by choice length in characters",
    "ece": "expected calibration error of the softmax over the choices",
}

for _adapter in (
    Adapter(
        "arc_easy",
        "multiple_choice",
        ("question", "choices", "answerKey"),
        "ARC-Easy: grade-school science questions; lm-eval's acc and acc_norm",
        _MC_SCORERS,
        _arc_easy,
        hub_id="allenai/ai2_arc",
        hub_split="test",
        hub_config="ARC-Easy",
        source="Clark et al. 2018, arXiv:1803.05457",
        license="CC-BY-SA-4.0",
        metrics=_MC_METRICS,
        no_chat_template=True,
    ),
    Adapter(
        "arc_challenge",
        "multiple_choice",
        ("question", "choices", "answerKey"),
        "ARC-Challenge: the harder ARC questions; lm-eval's acc and acc_norm",
        _MC_SCORERS,
        _arc_challenge,
        hub_id="allenai/ai2_arc",
        hub_split="test",
        hub_config="ARC-Challenge",
        source="Clark et al. 2018, arXiv:1803.05457",
        license="CC-BY-SA-4.0",
        metrics=_MC_METRICS,
        no_chat_template=True,
    ),
    Adapter(
        "hellaswag",
        "multiple_choice",
        ("activity_label", "ctx_a", "ctx_b", "endings", "label"),
        "HellaSwag: commonsense sentence completion; lm-eval's acc and acc_norm",
        _MC_SCORERS,
        _hellaswag,
        hub_id="Rowan/hellaswag",
        hub_split="validation",  # the test split has no labels
        source="Zellers et al., ACL 2019, arXiv:1905.07830",
        license="MIT",
        metrics=_MC_METRICS,
        no_chat_template=True,
    ),
    Adapter(
        "gsm8k",
        "generate",
        ("question", "answer"),
        "GSM8K: grade-school maths word problems; lm-eval's strict and flexible exact match",
        ("gsm8k",),
        _gsm8k,
        {"stop": list(GSM8K_UNTIL), "max_new_tokens": GSM8K_MAX_NEW_TOKENS},
        hub_id="openai/gsm8k",
        hub_split="test",
        hub_config="main",
        source="Cobbe et al. 2021, arXiv:2110.14168",
        license="MIT",
        metrics={
            "exact_match_strict": "the '#### N' answer equals the reference (lm-eval strict-match), zero-shot",
            "exact_match_flexible": "the last number in the reply equals the reference (flexible-extract)",
        },
        no_chat_template=True,
    ),
):
    register_adapter(_adapter)
