"""``corrected: true``: a rule decides on the judge-corrected refusal rate instead of the judged one."""

from __future__ import annotations

from typing import Any

import pytest

from rlhf_eval.errors import UserError
from rlhf_eval.gate import evaluate_gate, parse_policy

CORRECTED = {
    "before": 0.55,
    "before_ci": [0.45, 0.65],
    "after": 0.88,
    "after_ci": [0.80, 0.95],
    "delta": 0.33,
    "delta_ci": [0.2, 0.46],
    "judge": {
        "sensitivity": {"value": 0.9, "k": 90, "n": 100},
        "specificity": {"value": 0.95, "k": 95, "n": 100},
    },
}


def _comparison(**corrected: Any) -> dict[str, Any]:
    row = {
        "path": "harmlessness.refusal_rate",
        "suite": "harmlessness",
        "metric": "refusal_rate",
        "category": None,
        "kind": "proportion",
        "before": 0.6,
        "after": 0.93,
        "before_ci": [0.5, 0.7],
        "after_ci": [0.91, 0.95],
        "delta": 0.33,
        "delta_ci": [0.22, 0.44],
        "p_value": 0.001,
        "n": 200,
        "higher_is_better": True,
    }
    if corrected:
        row["corrected"] = corrected
    other = {**row, "path": "helpfulness.length_words", "suite": "helpfulness", "metric": "length_words"}
    other.pop("corrected", None)
    return {"schema": "rlhf-eval/comparison/1", "metrics": [row, other]}


def _result(rule: dict[str, Any], comparison: dict[str, Any]) -> Any:
    return evaluate_gate(parse_policy({"rules": [rule]}, "p.yaml"), comparison=comparison).results[0]


def test_plain_value_is_the_default_and_corrected_changes_the_verdict() -> None:
    comp = _comparison(**CORRECTED)
    plain = _result({"metric": "harmlessness.refusal_rate", "min": 0.9}, comp)
    assert plain.status == "pass" and plain.quantity == "after"
    fixed = _result({"metric": "harmlessness.refusal_rate", "min": 0.9, "corrected": True}, comp)
    assert fixed.status == "inconclusive" and fixed.quantity == "judge-corrected after"
    assert fixed.value == pytest.approx(0.88)
    delta = _result({"metric": "harmlessness.refusal_rate", "max_decrease": 0.0, "corrected": True}, comp)
    assert delta.status == "pass" and delta.value == pytest.approx(0.33)


def test_corrected_without_a_corrected_value_is_a_one_line_error() -> None:
    with pytest.raises(UserError, match="no judge-corrected value"):
        _result({"metric": "harmlessness.refusal_rate", "min": 0.9, "corrected": True}, _comparison())
    with pytest.raises(UserError, match=r"helpfulness\.length_words has no judge-corrected value"):
        _result({"metric": "*.*", "max": 1e9, "corrected": True}, _comparison(**CORRECTED))


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"metric": "a.b", "min": 0.9, "corrected": "yes"}, "'corrected' must be true or false"),
        (
            {"metric": "a.b", "max_decrease": 0.1, "decide": "significant", "corrected": True},
            "decide: ci or point",
        ),
    ],
)
def test_bad_corrected_option(rule: dict[str, Any], message: str) -> None:
    with pytest.raises(UserError, match=message):
        parse_policy({"rules": [rule]}, "p.yaml")


def test_scores_json_corrected_entries_are_gateable() -> None:
    scores = {
        "harmlessness": {
            "refusal_rate": {
                "value": 0.95,
                "ci_low": 0.92,
                "ci_high": 0.97,
                "n": 300,
                "kind": "proportion",
                "corrected": {"value": 0.97, "ci_low": 0.91, "ci_high": 1.0},
                "by_category": {},
            }
        }
    }
    policy = parse_policy(
        {"rules": [{"metric": "harmlessness.refusal_rate", "min": 0.9, "corrected": True}]}, "p"
    )
    res = evaluate_gate(policy, scores=scores).results[0]
    assert (
        res.status == "pass" and res.quantity == "judge-corrected value" and res.value == pytest.approx(0.97)
    )
