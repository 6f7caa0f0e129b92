"""Rule decisions on hand-written comparison rows: every mode, bound, Holm, min_n and exit code."""

from __future__ import annotations

import math
from typing import Any

import pytest
from scipy import stats

from rlhf_eval.errors import UserError
from rlhf_eval.gate import evaluate_gate, holm, parse_policy
from rlhf_eval.stats import n_paired_proportion


def row(path: str, **kw: Any) -> dict[str, Any]:
    """A comparison.json metrics row with plausible defaults."""
    parts = path.split(".", 2)
    base: dict[str, Any] = {
        "path": path,
        "suite": parts[0],
        "metric": parts[1],
        "category": parts[2] if len(parts) == 3 else None,
        "before": 0.5,
        "after": 0.5,
        "before_ci": [0.4, 0.6],
        "after_ci": [0.4, 0.6],
        "delta": 0.0,
        "delta_ci": [-0.05, 0.05],
        "p_value": 1.0,
        "n": 100,
        "higher_is_better": True,
    }
    base.update(kw)
    return base


def comp(*rows: dict[str, Any]) -> dict[str, Any]:
    return {"schema": "rlhf-eval/comparison/1", "metrics": list(rows)}


def one(rule: dict[str, Any], r: dict[str, Any], **policy: Any) -> Any:
    res = evaluate_gate(parse_policy({"rules": [rule], **policy}, "p.yaml"), comparison=comp(r))
    assert len(res.results) == 1
    return res.results[0]


@pytest.mark.parametrize(
    ("bound", "thr", "after_ci", "status"),
    [
        ("min", 0.9, [0.91, 0.97], "pass"),
        ("min", 0.9, [0.90, 0.97], "pass"),  # touching the bound is inside
        ("min", 0.9, [0.85, 0.95], "inconclusive"),
        ("min", 0.9, [0.80, 0.89], "fail"),
        ("max", 0.1, [0.01, 0.09], "pass"),
        ("max", 0.1, [0.05, 0.15], "inconclusive"),
        ("max", 0.1, [0.11, 0.2], "fail"),
    ],
)
def test_ci_mode_absolute_bounds(bound: str, thr: float, after_ci: list[float], status: str) -> None:
    mid = sum(after_ci) / 2
    r = one({"metric": "s.m", bound: thr}, row("s.m", after=mid, after_ci=after_ci))
    assert r.status == status
    assert r.quantity == "after" and r.value == mid and r.ci == tuple(after_ci)


@pytest.mark.parametrize(
    ("bound", "delta_ci", "status"),
    [
        ("max_decrease", [-0.01, 0.04], "pass"),
        ("max_decrease", [-0.05, 0.01], "inconclusive"),
        ("max_decrease", [-0.09, -0.03], "fail"),
        ("max_increase", [-0.04, 0.01], "pass"),
        ("max_increase", [-0.01, 0.05], "inconclusive"),
        ("max_increase", [0.021, 0.08], "fail"),
    ],
)
def test_ci_mode_delta_bounds(bound: str, delta_ci: list[float], status: str) -> None:
    d = sum(delta_ci) / 2
    r = one({"metric": "s.m", bound: 0.02}, row("s.m", delta=d, delta_ci=delta_ci))
    assert r.status == status
    assert r.quantity == "delta" and r.value == pytest.approx(d)


def test_point_mode_ignores_the_interval() -> None:
    wide = [-0.5, 0.5]
    assert (
        one(
            {"metric": "s.m", "max_decrease": 0.02, "decide": "point"}, row("s.m", delta=-0.01, delta_ci=wide)
        ).status
        == "pass"
    )
    assert (
        one(
            {"metric": "s.m", "max_decrease": 0.02, "decide": "point"}, row("s.m", delta=-0.03, delta_ci=wide)
        ).status
        == "fail"
    )
    assert (
        one({"metric": "s.m", "min": 0.5, "decide": "point"}, row("s.m", after=0.5, after_ci=None)).status
        == "pass"
    )


def test_significant_mode_needs_interval_beyond_bound_and_holm_p() -> None:
    rule = {"metric": "s.m", "max_decrease": 0.02, "decide": "significant"}
    # estimate beyond the bound, interval reaches it, and the data could have seen a violation
    # (SE 0.0064 from the interval: power 0.88 to detect a drop of 0.02): pass
    r = one(rule, row("s.m", delta=-0.0125, delta_ci=[-0.025, 0.0], p_value=0.05, n=10_000))
    assert r.status == "pass" and "reaches the bound" in r.reason
    assert r.power == pytest.approx(0.88, abs=0.01) and r.min_power == 0.8 and r.n_needed is None
    # the same interval shape with too little data to see a violation: inconclusive, never a pass
    r = one(rule, row("s.m", delta=-0.04, delta_ci=[-0.08, 0.0], p_value=0.05))
    assert r.status == "inconclusive" and r.power is not None and r.power < 0.2
    assert "can't rule out a drop of 0.08; needs about" in r.reason and r.n_needed is not None
    r = one(rule, row("s.m", delta=0.0, delta_ci=[-0.01, 0.01], p_value=1.0))
    assert (r.status, r.reason) == ("pass", "no violation: the whole interval is within the bound")
    # interval wholly beyond the bound and p small: fail
    r = one(rule, row("s.m", delta=-0.06, delta_ci=[-0.09, -0.03], p_value=0.001))
    assert r.status == "fail" and r.p_holm == pytest.approx(0.001)
    # interval beyond but p not below alpha (e.g. a conservative exact test): pass when powered ...
    powered = {"delta": -0.03, "delta_ci": [-0.035, -0.025], "p_value": 0.2, "n": 10_000}
    r = one(rule, row("s.m", **powered))
    assert r.status == "pass" and "not significant" in r.reason
    # ... and inconclusive when not
    r = one(rule, row("s.m", delta=-0.06, delta_ci=[-0.09, -0.03], p_value=0.2))
    assert r.status == "inconclusive" and "not significant" in r.reason
    # interval beyond but no p-value at all: cannot decide
    r = one(rule, row("s.m", delta=-0.06, delta_ci=[-0.09, -0.03], p_value=None))
    assert r.status == "inconclusive"
    # absolute bound: the whole interval on the wrong side fails, inside passes, and a straddling
    # interval is inconclusive (no change size to power against: it must clear the bound)
    sig_min = {"metric": "s.m", "min": 0.9, "decide": "significant"}
    assert one(sig_min, row("s.m", after_ci=[0.8, 0.89])).status == "fail"
    assert one(sig_min, row("s.m", after=0.97, after_ci=[0.95, 0.99])).status == "pass"
    r = one(sig_min, row("s.m", after=0.93, after_ci=[0.8, 0.95]))
    assert r.status == "inconclusive" and "can't rule out a value as low as 0.8" in r.reason


def test_power_uses_the_recorded_paired_design() -> None:
    """The issue's case: 1.00 -> 0.75 on 12 items (3 discordant), max_decrease 0.02, significant."""
    rule = {"metric": "s.m", "max_decrease": 0.02, "decide": "significant"}
    design = {"kind": "proportion", "discordance": 0.25, "n_effective": 12.0, "design_effect": 1.0}
    r = one(
        rule,
        row("s.m", before=1.0, after=0.75, delta=-0.25, delta_ci=[-0.53, 0.04], p_value=0.25, n=12, **design),
    )
    assert r.status == "inconclusive"
    # Connor: Phi((0.02 sqrt(12) - 1.96 sqrt(0.25)) / sqrt(0.25 - 0.0004))
    assert r.power == pytest.approx(
        stats.norm.cdf((0.02 * 12**0.5 - 1.959964 * 0.5) / (0.25 - 0.0004) ** 0.5)
    )
    n_eff = n_paired_proportion(0.25, 0.02)
    assert r.n_needed == math.ceil(n_eff) and 4800 < r.n_needed < 5000
    assert r.reason.endswith(f"can't rule out a drop of 0.53; needs about {r.n_needed} items")
    # clustered: the same design effect doubles the items needed
    r2 = one(
        rule,
        row(
            "s.m",
            delta=-0.25,
            delta_ci=[-0.53, 0.04],
            p_value=0.25,
            n=12,
            **{**design, "n_effective": 6.0, "design_effect": 2.0},
        ),
    )
    assert r2.n_needed == math.ceil(n_eff * 2 - 1e-9)
    # min_power per rule and per policy
    assert (
        one(
            {**rule, "min_power": 0.01}, row("s.m", delta=-0.25, delta_ci=[-0.53, 0.04], n=12, **design)
        ).status
        == "pass"
    )
    assert (
        one(rule, row("s.m", delta=-0.25, delta_ci=[-0.53, 0.04], n=12, **design), min_power=0.01).status
        == "pass"
    )


def test_holm_is_applied_across_the_gated_rules() -> None:
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    assert holm([]) == []
    beyond = {"delta": -0.06, "delta_ci": [-0.09, -0.03]}
    rows = [row(f"cap.t{i}", p_value=p, **beyond) for i, p in enumerate([0.01, 0.02, 0.03])]
    pol = parse_policy({"rules": [{"metric": "cap.*", "max_decrease": 0.02, "decide": "significant"}]}, "p")
    res = evaluate_gate(pol, comparison=comp(*rows))
    # alone, each p < 0.05; Holm over the 3 gated results: 0.03, 0.04, 0.04 -> all fail
    assert [r.p_holm for r in res.results] == pytest.approx([0.03, 0.04, 0.04])
    assert [r.status for r in res.results] == ["fail", "fail", "fail"]
    rows.append(row("cap.t3", p_value=0.5, delta=0.0, delta_ci=[-0.01, 0.01]))
    res = evaluate_gate(pol, comparison=comp(*rows))
    # with a 4th gated result the family grows: 0.04, 0.06, 0.06, 0.5 -> one failure left; the two
    # no longer significant are beyond the bound with too little power to pass: inconclusive
    assert [r.p_holm for r in res.results] == pytest.approx([0.04, 0.06, 0.06, 0.5])
    assert [r.status for r in res.results] == ["fail", "inconclusive", "inconclusive", "pass"]
    assert "over 4 gated change(s)" in res.results[0].reason


def test_min_n_and_missing_data_are_inconclusive() -> None:
    r = one({"metric": "s.m", "min": 0.1, "min_n": 200}, row("s.m", n=150, after_ci=[0.8, 0.9]))
    assert r.status == "inconclusive" and r.reason == "n = 150 is below min_n = 200: needs about 200 items"
    assert r.n_needed == 200
    assert (
        one({"metric": "s.m", "min": 0.1, "min_n": 150}, row("s.m", n=150, after_ci=[0.8, 0.9])).status
        == "pass"
    )
    assert (
        one({"metric": "s.m", "min": 0.1}, row("s.m", after=None, after_ci=None, n=0)).status
        == "inconclusive"
    )
    assert one({"metric": "s.m", "min": 0.1}, row("s.m", after_ci=[None, None])).status == "inconclusive"
    assert one({"metric": "s.m", "min": 0.1, "min_n": 5}, row("s.m", n=None)).status == "inconclusive"


def test_message_states_value_interval_threshold_and_n() -> None:
    r = one(
        {"metric": "overrefusal.refusal_rate", "max_increase": 0.03},
        row("overrefusal.refusal_rate", before=0.1, after=0.2, delta=0.1, delta_ci=[0.05, 0.15], n=120),
    )
    assert r.status == "fail"
    assert r.message == (
        "delta = 0.1 (before 0.1, after 0.2), 95% CI 0.05 to 0.15, n = 120; "
        "bound delta <= +0.03 (max_increase 0.03); decide ci: the whole interval is beyond the bound"
    )


def test_wildcards_expand_to_one_result_per_row() -> None:
    rows = [
        row("capability.accuracy"),
        row("capability.pass_rate"),
        row("capability.accuracy.arithmetic"),
        row("capability.accuracy.code"),
        row("harmlessness.refusal_rate"),
    ]
    pol = parse_policy(
        {
            "rules": [
                {"metric": "capability.*", "max_decrease": 0.1},
                {"metric": "capability.*.*", "max_decrease": 0.1},
            ]
        },
        "p",
    )
    res = evaluate_gate(pol, comparison=comp(*rows))
    assert [(r.rule, r.path) for r in res.results] == [
        (0, "capability.accuracy"),
        (0, "capability.pass_rate"),
        (1, "capability.accuracy.arithmetic"),
        (1, "capability.accuracy.code"),
    ]
    assert res.results[2].category == "arithmetic" and res.results[0].category is None


def test_exit_codes_and_on_inconclusive() -> None:
    passing = row("s.a", after_ci=[0.95, 0.99])
    straddling = row("s.b", after_ci=[0.85, 0.95])
    failing = row("s.c", after_ci=[0.5, 0.6])
    rules = [{"metric": "s.*", "min": 0.9}]
    block = parse_policy({"rules": rules}, "p")
    allow = parse_policy({"rules": rules, "on_inconclusive": "pass"}, "p")
    assert evaluate_gate(block, comparison=comp(passing)).exit_code == 0
    res = evaluate_gate(block, comparison=comp(passing, straddling))
    assert (res.exit_code, res.status, res.counts) == (
        3,
        "inconclusive",
        {"pass": 1, "fail": 0, "inconclusive": 1},
    )
    res = evaluate_gate(allow, comparison=comp(passing, straddling))
    assert (res.exit_code, res.status) == (0, "pass")
    assert evaluate_gate(allow, comparison=comp(passing, straddling, failing)).exit_code == 1
    assert evaluate_gate(block, comparison=comp(passing, straddling, failing)).exit_code == 1


def test_unknown_metric_names_rule_and_suggests() -> None:
    pol = parse_policy(
        {"rules": [{"metric": "s.a", "min": 0}, {"metric": "harmlessness.refusl_rate", "min": 0.9}]},
        "policy.yaml",
    )
    with pytest.raises(UserError) as info:
        evaluate_gate(
            pol, comparison=comp(row("s.a"), row("harmlessness.refusal_rate")), data_source="cmp.json"
        )
    assert str(info.value) == (
        "policy.yaml: rule 2 (harmlessness.refusl_rate): no metric in cmp.json matches "
        "'harmlessness.refusl_rate' (did you mean 'harmlessness.refusal_rate'?)"
    )
    pol = parse_policy({"rules": [{"metric": "nothing.*", "min": 0}]}, "policy.yaml")
    with pytest.raises(UserError, match=r"rule 1 \(nothing\.\*\): no metric in comparison\.json matches"):
        evaluate_gate(pol, comparison=comp(row("s.a")))


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ([], "expected a JSON object"),
        ({"schema": "rlhf-eval/gate/1", "metrics": []}, "is not a comparison"),
        ({"rows": []}, "missing 'metrics' list"),
        ({"metrics": [{"after": 1}]}, "metrics[0]: expected an object with a string 'path'"),
        (
            {"metrics": [row("s.m", delta="big")]},
            "metrics[0] (s.m): 'delta' must be a number or null, got 'big'",
        ),
        (
            {"metrics": [row("s.m", delta_ci=[0.1])]},
            "metrics[0] (s.m): 'delta_ci' must be [low, high] or null",
        ),
        ({"metrics": [row("s.m", n=-3)]}, "'n' must be a non-negative integer or null"),
        ({"metrics": [row("s.m", discordance=1.5)]}, "'discordance' must be in [0, 1] or null, got 1.5"),
        (
            {"metrics": [row("s.m", kind="proportion", after=1.2)]},
            "'after' must be in [0, 1] or null, got 1.2",
        ),
        ({"metrics": [row("s.m", design_effect=0.5)]}, "'design_effect' must be >= 1 or null, got 0.5"),
        ({"metrics": [row("s.m", ci_valid_from="x")]}, "'ci_valid_from' must be a non-negative integer"),
    ],
)
def test_malformed_comparison_is_one_line_error(data: Any, needle: str) -> None:
    pol = parse_policy({"rules": [{"metric": "s.m", "min": 0}]}, "p")
    with pytest.raises(UserError) as info:
        evaluate_gate(pol, comparison=data)
    assert needle in str(info.value)


def test_scores_mode_checks_absolute_bounds_on_one_run() -> None:
    scores = {
        "harmlessness": {
            "refusal_rate": {
                "value": 0.95,
                "ci_low": 0.92,
                "ci_high": 0.97,
                "n": 300,
                "by_category": {"weapons": {"value": 0.8, "ci_low": 0.6, "ci_high": 0.85, "n": 20}},
            }
        }
    }
    pol = parse_policy(
        {
            "rules": [
                {"metric": "harmlessness.refusal_rate", "min": 0.9},
                {"metric": "harmlessness.*.*", "min": 0.9},
            ]
        },
        "p",
    )
    res = evaluate_gate(pol, scores=scores, data_source="runs/a/scores.json")
    assert [(r.path, r.status, r.quantity, r.n) for r in res.results] == [
        ("harmlessness.refusal_rate", "pass", "value", 300),
        ("harmlessness.refusal_rate.weapons", "fail", "value", 20),
    ]
    assert res.exit_code == 1 and res.mode == "run"
    delta_pol = parse_policy(
        {"rules": [{"metric": "harmlessness.refusal_rate", "max_decrease": 0.1}]}, "p.yaml"
    )
    with pytest.raises(
        UserError, match=r"p\.yaml: rule 1 \(harmlessness\.refusal_rate\): 'max_decrease' .*--comparison"
    ):
        evaluate_gate(delta_pol, scores=scores)
    with pytest.raises(UserError, match=r"refusal_rate: 'value' must be in \[0, 1\] or null, got 1\.5"):
        evaluate_gate(
            pol, scores={"harmlessness": {"refusal_rate": {"value": 1.5, "n": 3, "kind": "proportion"}}}
        )
    with pytest.raises(UserError, match=r"harmlessness\.refusal_rate: 'value' must be a number"):
        evaluate_gate(pol, scores={"harmlessness": {"refusal_rate": {"value": "x"}}})


def test_exactly_one_input_is_required() -> None:
    pol = parse_policy({"rules": [{"metric": "s.m", "min": 0}]}, "p")
    with pytest.raises(ValueError, match="exactly one"):
        evaluate_gate(pol)
    with pytest.raises(ValueError, match="exactly one"):
        evaluate_gate(pol, comparison=comp(row("s.m")), scores={})


def test_to_dict_and_frame() -> None:
    pol = parse_policy({"rules": [{"metric": "s.m", "min": 0.9, "name": "floor"}]}, "policy.yaml")
    res = evaluate_gate(
        pol, comparison=comp(row("s.m", after=0.95, after_ci=[0.92, 0.97])), data_source="c.json"
    )
    d = res.to_dict()
    assert d["schema"] == "rlhf-eval/gate/1" and d["policy"] == "policy.yaml"
    assert (d["exit_code"], d["status"], d["on_inconclusive"]) == (0, "pass", "fail")
    r = d["results"][0]
    assert {
        k: r[k]
        for k in (
            "rule",
            "name",
            "metric",
            "path",
            "decide",
            "bound",
            "threshold",
            "value",
            "ci",
            "n",
            "status",
        )
    } == {
        "rule": 0,
        "name": "floor",
        "metric": "s.m",
        "path": "s.m",
        "decide": "ci",
        "bound": "min",
        "threshold": 0.9,
        "value": 0.95,
        "ci": [0.92, 0.97],
        "n": 100,
        "status": "pass",
    }
    frame = res.to_frame()
    assert list(frame["status"]) == ["pass"] and list(frame["path"]) == ["s.m"]
