"""GSM8K exact match on the final number (lm-evaluation-harness strict and flexible extractors).

Copied from lm-eval 0.4.x ``tasks/gsm8k/gsm8k.yaml`` so scores are comparable:

* the response is cut at the first of lm-eval's stop strings (``UNTIL``), as its
  ``generate_until`` does (our runner generates up to ``max_new_tokens`` and the cut is made
  here; for greedy decoding the kept text is the same);
* ``strict-match``: the first match of ``#### (\\-?[0-9\\.\\,]+)``, else ``[invalid]``;
* ``flexible-extract``: the last match of ``(-?[$0-9.,]{2,})|(-?[0-9]+)`` (its first
  non-empty group), else ``[invalid]``;
* ``exact_match`` of the extracted text against the item's full reference answer, after
  removing each of ``REGEXES_TO_IGNORE`` from both (in order) and lower-casing both
  (``ignore_case: true``, ``ignore_punctuation: false``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from rlhf_eval.errors import UserError
from rlhf_eval.scoring._base import ItemMetrics, MetricDef, Sample, register

UNTIL = ("Question:", "</s>", "<|im_end|>")
STRICT = re.compile(r"#### (\-?[0-9\.\,]+)")
FLEXIBLE = re.compile(r"(-?[$0-9.,]{2,})|(-?[0-9]+)")
REGEXES_TO_IGNORE = (",", "\\$", "(?s).*#### ", "\\.$")
INVALID = "[invalid]"


def truncate(response: str, until: Sequence[str] = UNTIL) -> str:
    """``response`` cut before the first stop string, as lm-eval's ``s.split(term)[0]`` for each term."""
    for term in until:
        if term:
            response = response.split(term)[0]
    return response


def _extract(regex: re.Pattern[str], text: str, group_select: int) -> str:
    """lm-eval's ``RegexFilter``: match ``group_select`` of ``findall``, its first non-empty group, stripped."""
    found = regex.findall(text)
    if not found:
        return INVALID
    match = found[group_select]
    if isinstance(match, tuple):
        groups = [m for m in match if m]
        if not groups:
            return INVALID
        match = groups[0]
    return str(match).strip()


def strict_answer(response: str) -> str:
    """The ``strict-match`` extraction: the number after the first ``#### ``."""
    return _extract(STRICT, response, 0)


def flexible_answer(response: str) -> str:
    """The ``flexible-extract`` extraction: the last number-like run in the response."""
    return _extract(FLEXIBLE, response, -1)


def normalise(text: str) -> str:
    """lm-eval's ``exact_match`` normalisation for GSM8K: drop ``REGEXES_TO_IGNORE``, lower-case."""
    for pattern in REGEXES_TO_IGNORE:
        text = re.sub(pattern, "", text)
    return text.lower()


def exact_match(prediction: str, reference: str) -> float:
    """1.0 when the normalised prediction equals the normalised reference answer."""
    return float(normalise(prediction) == normalise(reference))


class GSM8KScorer:
    """Per-item ``exact_match_strict`` and ``exact_match_flexible`` (0/1) against ``meta.answer``."""

    name = "gsm8k"

    def metrics(self, samples: Sequence[Sample]) -> list[MetricDef]:
        return [
            MetricDef("exact_match_strict", "exact_match_strict", "proportion", True),
            MetricDef("exact_match_flexible", "exact_match_flexible", "proportion", True),
        ]

    def score(self, samples: Sequence[Sample]) -> list[ItemMetrics]:
        out: list[ItemMetrics] = []
        for s in samples:
            if s.get("task") != "generate":
                out.append({})
                continue
            reference = (s.get("meta") or {}).get("answer")
            if not isinstance(reference, str):
                raise UserError(
                    f"{s.get('suite', '?')} item {s.get('item_id', '?')!r}: gsm8k needs the reference "
                    "answer in field 'answer' (text ending '#### N')"
                )
            response = truncate(str(s.get("response") or ""))
            out.append(
                {
                    "exact_match_strict": exact_match(strict_answer(response), reference),
                    "exact_match_flexible": exact_match(flexible_answer(response), reference),
                }
            )
        return out

    def info(self) -> dict[str, Any]:
        return {}


@register("gsm8k")
def _gsm8k() -> GSM8KScorer:
    return GSM8KScorer()
