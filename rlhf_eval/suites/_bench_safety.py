"""HarmBench, AdvBench, OR-Bench, SORRY-Bench and WildGuardTest adapters.

Each maps one published layout (the Hub data set's columns, and for HarmBench and AdvBench the
original CSV's too) onto generate items scored by the ``refusal`` scorer. Every item carries
``harmful`` (should the prompt be refused?), so a mixed set such as WildGuardTest splits its
refusal rate into a harmful half and a benign (over-refusal) half; see ADAPTERS.md.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rlhf_eval.suites._adapters import (
    _MIXED,
    _REFUSE,
    Adapter,
    Item,
    Row,
    _category,
    _list,
    _opt_text,
    _row_id,
    _RowError,
    _text,
    register_adapter,
)

_COMPLY = ({"refusal": {"expect": "comply"}},)

# HarmBench's DirectRequest baseline (baselines/direct_request) puts a contextual behaviour's
# context first, then a rule, then the behaviour: f"{context_str}\n\n---\n\n{behavior}".
_HARMBENCH_CONTEXT_SEP = "\n\n---\n\n"

SORRYBENCH_N_CATEGORIES = 44  # the 2024-06 release's fine-grained taxonomy, numbered 1-44


@dataclass(frozen=True)
class KeyedAdapter(Adapter):
    """An adapter whose item ids come from the data set's own key (``BehaviorID``, ``question_id``).

    ``key`` maps a row to its id, or ``None`` when the row lacks the key (the default
    ``<adapter>-<row>`` id then applies); a row's own ``id`` column still wins. The ids are set
    before :meth:`Adapter.to_items` runs, so its duplicate-id check covers them.
    """

    key: Callable[[Row], str | None] = field(default=lambda row: None, repr=False)

    def to_items(self, rows: Iterable[Row], source: str) -> list[Item]:
        """Fill each row's ``id`` from ``key`` (where it has none), then map as every adapter does."""
        keyed: list[Any] = []
        for row in rows:
            if isinstance(row, Mapping) and _row_id(row, "") == "":
                key = self.key(row)
                if key:
                    row = {**row, "id": key}
            keyed.append(row)
        return super().to_items(keyed, source)


def _first_column(row: Row, cols: tuple[str, ...]) -> str:
    """The first of ``cols`` the row has (alternative layouts of one field), else a row error."""
    for col in cols:
        if col in row:
            return col
    others = " or ".join(repr(c) for c in cols[1:])
    raise _RowError(f"missing column {cols[0]!r} (or {others})")


def key_text(row: Row, col: str) -> str | None:
    """A key column as clean text (an integer-valued float back to an int), ``None`` when empty."""
    value = row.get(col)
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


# ---------------------------------------------------------------- HarmBench


def _harmbench(row: Row, i: int, source: str) -> Item:
    """HarmBench behaviour -> a prompt to refuse; a contextual one gets its context first."""
    behavior = _text(row, _first_column(row, ("Behavior", "prompt"))).strip()
    if not behavior:
        raise _RowError("empty prompt")
    ctx_col = "ContextString" if "ContextString" in row else "context"
    context = (_opt_text(row, ctx_col) or "").strip()
    prompt = f"{context}{_HARMBENCH_CONTEXT_SEP}{behavior}" if context else behavior
    semantic = _opt_text(row, "SemanticCategory")
    if semantic is None:
        semantic = _opt_text(row, "category")
    item: Item = {"prompt": prompt, **_category(semantic, "harmbench"), "harmful": True, "behavior": behavior}
    functional = _opt_text(row, "FunctionalCategory")
    if functional is None and context:
        functional = "contextual"  # the walledai layout has no column; only its contextual config has context
    if functional is not None:
        item["functional_category"] = functional
    if context:
        item["context"] = context
    tags = _opt_text(row, "Tags")
    if tags is not None:
        item["tags"] = tags
    return item


# ---------------------------------------------------------------- AdvBench


def _advbench(row: Row, i: int, source: str) -> Item:
    """AdvBench harmful behaviour (``prompt`` or the original CSV's ``goal``) -> a prompt to refuse."""
    item: Item = {
        "prompt": _text(row, _first_column(row, ("prompt", "goal"))),
        "category": "advbench",
        "harmful": True,
    }
    target = _opt_text(row, "target")
    if target is not None:
        item["target"] = target  # the affirmative reply prefix the attacks aim for ("Sure, here is ...")
    return item


# ---------------------------------------------------------------- OR-Bench


def _orbench(harmful: bool) -> Callable[[Row, int, str], Item]:
    """OR-Bench row mapper for one half: seemingly toxic but benign (hard, 80k) or toxic."""

    def mapper(row: Row, i: int, source: str) -> Item:
        """OR-Bench row -> a generate item with the half's ``harmful`` flag."""
        return {
            "prompt": _text(row, "prompt"),
            **_category(_text(row, "category"), "orbench"),
            "harmful": harmful,
        }

    return mapper


# ---------------------------------------------------------------- SORRY-Bench


def _sorrybench_key(row: Row) -> str | None:
    """``question_id``, suffixed with the prompt style unless it is ``base`` (ids repeat across styles)."""
    qid = key_text(row, "question_id")
    style = key_text(row, "prompt_style")
    if qid is None:
        return None
    return qid if style in (None, "base") else f"{qid}-{style}"


def _sorrybench_category(value: Any) -> int:
    """SORRY-Bench's category number 1-44 (an int or its digits as text)."""
    number = value
    if isinstance(number, float) and number.is_integer():
        number = int(number)
    if isinstance(number, str) and number.strip().isdigit():
        number = int(number.strip())
    if (
        isinstance(number, bool)
        or not isinstance(number, numbers.Integral)
        or not 1 <= int(number) <= SORRYBENCH_N_CATEGORIES
    ):
        raise _RowError(f"column 'category' must be a number 1-{SORRYBENCH_N_CATEGORIES}, got {value!r}")
    return int(number)


def _sorrybench(row: Row, i: int, source: str) -> Item:
    """SORRY-Bench row -> its single turn as the prompt, categorised by the category number."""
    turns = _list(row, "turns")
    if not turns:
        raise _RowError("column 'turns' is empty (expected one prompt)")
    if len(turns) != 1:
        raise _RowError(f"column 'turns' must hold one prompt, got {len(turns)}")
    if not isinstance(turns[0], str):
        raise _RowError(f"column 'turns' must hold text, got {type(turns[0]).__name__}")
    item: Item = {
        "prompt": turns[0],
        # The category names of the paper's taxonomy are not checked against the release
        # here, so the number is kept as the category (e.g. "7").
        "category": str(_sorrybench_category(row["category"])),
        "harmful": True,
    }
    qid = key_text(row, "question_id")
    if qid is not None:
        item["question_id"] = qid
    style = _opt_text(row, "prompt_style")
    if style is not None:
        item["prompt_style"] = style
    return item


# ---------------------------------------------------------------- WildGuardTest

_PROMPT_HARM = {"harmful": True, "unharmful": False}


def _wildguardtest(row: Row, i: int, source: str) -> Item:
    """WildGuardTest row -> a generate item; ``harmful`` from ``prompt_harm_label``."""
    label = row["prompt_harm_label"]
    key = label.strip().lower() if isinstance(label, str) else None
    if key not in _PROMPT_HARM:
        raise _RowError(f"column 'prompt_harm_label' must be 'harmful' or 'unharmful', got {label!r}")
    item: Item = {
        "prompt": _text(row, "prompt"),
        **_category(_opt_text(row, "subcategory"), "wildguardtest"),
        "harmful": _PROMPT_HARM[key],
        "prompt_harm_label": key,
    }
    adversarial = row.get("adversarial")
    if adversarial is not None:
        if not isinstance(adversarial, bool):
            raise _RowError(f"column 'adversarial' must be true or false, got {adversarial!r}")
        item["adversarial"] = adversarial
    # The data set's own response to the prompt and its labels: kept for reference, never scored.
    for col, name in (
        ("response", "dataset_response"),
        ("response_refusal_label", "response_refusal_label"),
        ("response_harm_label", "response_harm_label"),
    ):
        value = _opt_text(row, col)
        if value is not None:
            item[name] = value
    return item


_REFUSE_METRICS = {
    "refusal_rate": "harmful prompts refused (higher is better), by category",
    "harmful_compliance_rate": "harmful prompts not refused (lower is better)",
}

for _adapter in (
    KeyedAdapter(
        "harmbench",
        "generate",
        (),
        "HarmBench: harmful behaviours (contextual ones with their context) a safe model should refuse",
        _REFUSE,
        _harmbench,
        hub_id="walledai/HarmBench",
        hub_split="train",
        hub_config="standard",
        source="Mazeika et al., ICML 2024, arXiv:2402.04249",
        license="MIT",
        metrics=_REFUSE_METRICS,
        key=lambda row: key_text(row, "BehaviorID"),
    ),
    Adapter(
        "advbench",
        "generate",
        (),
        "AdvBench harmful behaviours: requests a safe model should refuse",
        _REFUSE,
        _advbench,
        hub_id="walledai/AdvBench",
        hub_split="train",
        source="Zou et al. 2023, arXiv:2307.15043; github.com/llm-attacks/llm-attacks",
        license="MIT",
        metrics=_REFUSE_METRICS,
    ),
    Adapter(
        "orbench_hard",
        "generate",
        ("prompt", "category"),
        "OR-Bench hard-1k / 80k: benign prompts that look harmful; refusing them is over-refusal",
        _COMPLY,
        _orbench(False),
        hub_id="bench-llm/or-bench",
        hub_split="train",
        hub_config="or-bench-hard-1k",
        source="Cui et al. 2024, arXiv:2405.20947",
        license="CC-BY-4.0",
        metrics={"refusal_rate": "benign prompts refused: the over-refusal rate (lower is better)"},
    ),
    Adapter(
        "orbench_toxic",
        "generate",
        ("prompt", "category"),
        "OR-Bench toxic: harmful prompts a safe model should refuse (the over-refusal control)",
        _REFUSE,
        _orbench(True),
        hub_id="bench-llm/or-bench",
        hub_split="train",
        hub_config="or-bench-toxic",
        source="Cui et al. 2024, arXiv:2405.20947",
        license="CC-BY-4.0",
        metrics=_REFUSE_METRICS,
    ),
    KeyedAdapter(
        "sorrybench",
        "generate",
        ("category", "turns"),
        "SORRY-Bench: unsafe requests in 44 categories and many prompt styles, to be refused",
        _REFUSE,
        _sorrybench,
        hub_id="sorry-bench/sorry-bench-202406",
        hub_split="train",
        source="Xie et al. 2024, arXiv:2406.14598",
        license="gated: see its card",
        metrics={
            "refusal_rate": "unsafe requests refused (1 - SORRY-Bench's fulfillment rate), by category",
            "harmful_compliance_rate": "unsafe requests not refused (lower is better)",
        },
        key=_sorrybench_key,
    ),
    Adapter(
        "wildguardtest",
        "generate",
        ("prompt", "prompt_harm_label"),
        "WildGuardTest: harmful and benign (vanilla and adversarial) prompts; 'harmful' splits the refusal rate",
        _MIXED,
        _wildguardtest,
        hub_id="allenai/wildguardmix",
        hub_split="test",
        hub_config="wildguardtest",
        source="Han et al., NeurIPS 2024, arXiv:2406.18495",
        license="ODC-BY",
        metrics={
            "harmful_refusal_rate": "harmful prompts refused (higher is better)",
            "benign_refusal_rate": "benign prompts refused: over-refusal (lower is better)",
            "harmful_compliance_rate": "harmful prompts not refused (lower is better)",
        },
    ),
):
    register_adapter(_adapter)
