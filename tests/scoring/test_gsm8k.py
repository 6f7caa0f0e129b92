"""GSM8K scorer: lm-eval's strict-match and flexible-extract filters and exact_match options."""

from __future__ import annotations

from typing import Any

import pytest

from rlhf_eval.errors import UserError
from rlhf_eval.scoring import aggregate, get_scorer
from rlhf_eval.scoring._gsm8k import exact_match, flexible_answer, normalise, strict_answer, truncate

ANSWERS = [
    "48/2 = <<48/2=24>>24 in May.\n48+24 = <<48+24=72>>72 in all.\n#### 72",
    "12/60 = $<<12/60=0.2>>0.2 per minute.\n0.2 x 50 = $<<0.2*50=10>>10.\n#### 10",
    "1,250 x 4 = <<1250*4=5000>>5,000 loaves, 5,000 x 3 = $<<5000*3=15000>>15,000.\n#### 15000",
    "5 - 12 = <<5-12=-7>>-7 degrees.\n#### -7",
    "3 x 7 = <<3*7=21>>21, 21 - 9 = <<21-9=12>>12.\n#### 12",
    "60 x 2.5 = <<60*2.5=150>>150 miles.\n#### 150",
]
RESPONSES = [
    "She sold 48 + 24 = 72 clips.\n#### 72",  # both filters find 72
    "Weng earned $10.",  # no '####': strict invalid; flexible '$10.' -> '10'
    "#### 15,000\nThat is over 4 days.",  # strict '15,000' -> '15000'; flexible's last number is '4'
    "The answer is 7.",  # sign lost: both wrong
    "He has 21 - 9 = 12 pencils left.",  # flexible's last number 12; strict invalid
    "60 x 2.5 = 150.0 miles\n#### 150.0",  # '\\.$' drops only a final '.', so '150.0' != '150'
]
# worked out by hand from lm-eval's regexes (see the comments above)
STRICT = [1.0, 0.0, 1.0, 0.0, 0.0, 0.0]
FLEXIBLE = [1.0, 1.0, 0.0, 0.0, 1.0, 0.0]


def _samples(responses: list[str], answers: list[str]) -> list[dict[str, Any]]:
    return [
        {"suite": "gsm8k", "item_id": f"gsm8k-{i}", "category": "gsm8k", "task": "generate", "response": r}
        | {"meta": {"answer": a}}
        for i, (r, a) in enumerate(zip(responses, answers, strict=True))
    ]


def test_extractions_follow_lm_eval_filters() -> None:
    assert [strict_answer(r) for r in RESPONSES] == [
        "72",
        "[invalid]",
        "15,000",
        "[invalid]",
        "[invalid]",
        "150.0",
    ]
    assert [flexible_answer(r) for r in RESPONSES] == ["72", "$10.", "4", "7.", "12", "150.0"]
    assert strict_answer("#### -3.5 and #### 9") == "-3.5"  # the first '#### N'
    assert flexible_answer("no digits here") == "[invalid]"
    assert flexible_answer("a 7 then b") == "7"  # the single-digit alternative


def test_normalise_and_exact_match() -> None:
    assert normalise("$1,234.") == "1234"
    assert normalise("Step one\n#### 72") == "72"  # '(?s).*#### ' strips the reasoning
    assert normalise("ABC") == "abc"  # ignore_case
    assert exact_match("$15,000.", ANSWERS[2]) == 1.0
    assert exact_match("[invalid]", ANSWERS[2]) == 0.0
    assert exact_match("72!", ANSWERS[0]) == 0.0  # ignore_punctuation is false


def test_truncate_at_lm_eval_stop_strings() -> None:
    assert truncate("#### 4\n\nQuestion: next one\n#### 9") == "#### 4\n\n"
    assert truncate("so 5<|im_end|>junk</s>") == "so 5"
    assert truncate("no stop") == "no stop"


def test_scorer_on_written_responses() -> None:
    scorer = get_scorer("gsm8k")
    metrics = scorer.score(_samples(RESPONSES, ANSWERS))
    assert [m["exact_match_strict"] for m in metrics] == STRICT
    assert [m["exact_match_flexible"] for m in metrics] == FLEXIBLE


def test_scorer_cuts_the_response_before_the_next_question() -> None:
    [m] = get_scorer("gsm8k").score(
        _samples(["#### 72\n\nQuestion: What is 1+1?\nAnswer: #### 2"], ANSWERS[:1])
    )
    assert m == {"exact_match_strict": 1.0, "exact_match_flexible": 1.0}  # '2' after the cut is ignored


def test_scores_json_rates() -> None:
    scorer = get_scorer("gsm8k")
    samples = _samples(RESPONSES, ANSWERS)
    for s, m in zip(samples, scorer.score(samples), strict=True):
        s["metrics"] = m
    scores = aggregate(samples, scorer.metrics(samples))
    strict, flexible = scores["exact_match_strict"], scores["exact_match_flexible"]
    assert strict["kind"] == "proportion" and strict["higher_is_better"] is True
    assert strict["n"] == 6 and strict["value"] == pytest.approx(2 / 6)
    assert flexible["value"] == pytest.approx(3 / 6)
    assert strict["ci_low"] < strict["value"] < strict["ci_high"]


def test_missing_reference_and_other_tasks() -> None:
    scorer = get_scorer("gsm8k")
    assert scorer.score([{"task": "multiple_choice", "pred": 0, "gold": 0}]) == [{}]
    with pytest.raises(
        UserError, match=r"^gsm8k item 'x': gsm8k needs the reference answer in field 'answer'"
    ):
        scorer.score([{"suite": "gsm8k", "item_id": "x", "task": "generate", "response": "1", "meta": {}}])


def test_agrees_with_lm_eval_functions() -> None:
    """lm-eval's own RegexFilter / take_first / exact_match, configured from its gsm8k.yaml, on the same responses."""
    pytest.importorskip("lm_eval")
    from pathlib import Path

    import lm_eval
    from lm_eval.api.metrics import exact_match_hf_evaluate
    from lm_eval.filters.extraction import RegexFilter
    from lm_eval.tasks._yaml_loader import load_yaml

    cfg = load_yaml(Path(lm_eval.__file__).parent / "tasks" / "gsm8k" / "gsm8k.yaml")
    options = {
        k: v
        for k, v in cfg["metric_list"][0].items()
        if k not in ("metric", "aggregation", "higher_is_better")
    }
    ours = {"strict-match": STRICT, "flexible-extract": FLEXIBLE}
    for flt in cfg["filter_list"]:
        regex = flt["filter"][0]
        extract = RegexFilter(regex["regex_pattern"], regex.get("group_select", 0))
        preds = [resp[0] for resp in extract.apply([[r] for r in RESPONSES], [{}] * len(RESPONSES))]
        theirs = [
            float(exact_match_hf_evaluate(predictions=[p], references=[a], **options)["exact_match"])
            for p, a in zip(preds, ANSWERS, strict=True)
        ]
        assert theirs == ours[flt["name"]], flt["name"]
