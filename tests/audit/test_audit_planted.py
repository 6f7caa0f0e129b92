"""The planted effects of make-demo-preferences are found; a null dataset yields nothing beyond
the nominal false-positive rate; privacy holds in every output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from scipy import stats

from rlhf_eval.audit import AuditResult, audit, make_demo_preferences, pseudonymise

KEY = "test-key"
FAST = {"n_bootstrap": 200, "n_permutations": 200, "pseudonym_key": KEY}


def run_demo(folder: Path, **kwargs: Any) -> tuple[AuditResult, dict[str, Any]]:
    planted = make_demo_preferences(folder, **kwargs)
    result = audit(
        folder / "ratings.csv", folder / "annotators.csv", folder / "reference_population.csv", **FAST
    )
    return result, planted


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[AuditResult, dict[str, Any], Path]:
    folder = tmp_path_factory.mktemp("demo")
    result, planted = run_demo(folder, seed=0)
    return result, planted, folder


def pseudo(ids: list[str]) -> set[str]:
    return set(pseudonymise(ids, KEY.encode()))


def test_over_represented_group(demo: tuple[AuditResult, dict[str, Any], Path]) -> None:
    result, planted, _ = demo
    attr, group = planted["over_represented"]["attribute"], planted["over_represented"]["group"]
    entry = result.report["representation"][attr]
    assert entry["groups"][group]["annotator_share"] == pytest.approx(0.5)
    assert entry["groups"][group]["reference_share"] == pytest.approx(0.2)
    assert entry["reference"]["chi_square"]["p_value"] < 1e-3
    assert entry["reference"]["tvd_annotators"] == pytest.approx(0.3, abs=0.02)
    # the other attributes follow the reference exactly, so they fit
    for other in ("age_band", "religion", "political_leaning"):
        assert result.report["representation"][other]["reference"]["chi_square"]["p_value"] > 0.5


def test_style_group_detected(demo: tuple[AuditResult, dict[str, Any], Path]) -> None:
    result, planted, _ = demo
    attr, group = planted["style_group"]["attribute"], planted["style_group"]["group"]
    diffs = result.group_differences
    row = diffs[(diffs["grouping"] == attr) & (diffs["group"] == group) & (diffs["test"] == "dissent")].iloc[
        0
    ]
    assert row["significant"] and row["effect"] > 0.05 and row["ci_low"] > 0
    # a style preference is not a shift towards A, B or tie
    shift = diffs[(diffs["grouping"] == attr) & (diffs["group"] == group) & (diffs["test"] == "shift")].iloc[
        0
    ]
    assert not shift["significant"]
    # the attribute's co-raters agree more within than across groups; the style group's own
    # within-group pairs are few (9 annotators), so its difference is large but descriptive
    wva = result.report["within_vs_across"][attr]
    assert wva["difference"] > 0.1 and wva["p_adjusted"] < 0.05
    assert wva["groups"][group]["difference"] > 0.2
    whose = result.report["whose_preferences"]
    assert whose["by_group"][attr][group]["value"] < whose["overall"]["value"] - 0.2
    assert whose["by_group"][attr][group]["ci_high"] < whose["overall"]["value"]
    # among single attributes only the style group dissents significantly *more* than the rest
    # (a group free of dissenters can show significantly less: the mirror image)
    single = diffs[~diffs["grouping"].str.contains("&") & diffs["significant"] & (diffs["effect"] > 0)]
    assert set(zip(single["grouping"], single["group"], single["test"], strict=True)) == {
        (attr, group, "dissent")
    }


def test_unreliable_annotators_flagged(demo: tuple[AuditResult, dict[str, Any], Path]) -> None:
    result, planted, folder = demo
    flagged = set(result.annotators.loc[result.annotators["flagged"], "annotator_id"])
    assert pseudo(planted["unreliable_annotators"]) <= flagged
    # the other flags are members of the style group (a minority perspective, which by_group
    # reports) but for at most one false positive
    annotators = pd.read_csv(folder / "annotators.csv")
    style = annotators.loc[annotators["age_band"] == planted["style_group"]["group"], "annotator_id"].tolist()
    others = flagged - pseudo(planted["unreliable_annotators"])
    assert len(others - pseudo(style)) <= 1
    style_cell = result.report["by_group"]["age_band"][planted["style_group"]["group"]]
    assert style_cell["n_flagged_annotators"] == len(others & pseudo(style)) > 0
    rows = {r["id"]: r for r in result.report["annotators"]}
    for pid in pseudo(planted["unreliable_annotators"]):
        assert rows[pid]["ds_reliability"] < 0.6
        assert rows[pid]["flag_reasons"] == ["low_loo_agreement"]


def test_harm_concentration(demo: tuple[AuditResult, dict[str, Any], Path]) -> None:
    result, planted, _ = demo
    frame = result.annotators
    frontline = pseudo(planted["frontline_annotators"])
    assert set(frame.loc[frame["welfare_flagged"], "annotator_id"]) == frontline
    assert set(frame.loc[frame["harm_excess"], "annotator_id"]) == frontline
    welfare = result.report["welfare"]
    assert welfare["available"] and welfare["n_flagged"] == 5 and welfare["time_available"]
    assert welfare["harmful_reviews_top_decile_share"] > 0.5
    share = frame.set_index("annotator_id")["harm_share"]
    assert share[list(frontline)].min() > 3 * welfare["pool_harm_share"]


def test_audit_json_is_self_describing(
    demo: tuple[AuditResult, dict[str, Any], Path], tmp_path: Path
) -> None:
    result, _, _ = demo
    out = tmp_path / "audit.json"
    result.to_json(out)
    report = json.loads(out.read_text(), parse_constant=lambda c: pytest.fail(f"non-strict JSON {c}"))
    for name in ("krippendorff_alpha", "percent_agreement", "fleiss_kappa", "gwet_ac1", "cohen_kappa"):
        coef = report["agreement"][name]
        assert {"value", "ci_low", "ci_high", "n_items", "n_ratings"} <= set(coef)
        assert coef["ci_low"] <= coef["value"] <= coef["ci_high"]
    assert report["params"] == report["params"] | {"min_group_size": 5, "level": "nominal", "seed": 0}
    assert report["n_excluded_items"] == 0 and report["input"]["n_ratings"] == 1500
    alpha = report["by_group"]["age_band"]["18-29"]["krippendorff_alpha"]["value"]
    assert isinstance(alpha, float)
    row = report["annotators"][0]
    assert {"id", "n_ratings", "loo_agreement", "ds_reliability", "flagged", "ds_confusion"} <= set(row)
    assert report["dawid_skene"]["available"] and len(row["ds_confusion"]) == 3
    assert report["findings"][0].startswith("Krippendorff's alpha")
    gd = report["group_differences"][0]
    assert {"p_value", "p_adjusted", "effect", "ci_low", "ci_high", "effect_name"} <= set(gd)


def test_small_groups_suppressed_everywhere(demo: tuple[AuditResult, dict[str, Any], Path]) -> None:
    result, _, folder = demo
    report = result.report
    gender = report["representation"]["gender"]["groups"]
    assert gender["nonbinary"] == {"suppressed": True, "reason": "fewer than 5 annotators"}
    # one hidden cell could be recovered from the total, so a second one is hidden with it
    hidden = {g: cell for g, cell in gender.items() if cell.get("suppressed")}
    assert len(hidden) == 2
    assert sum(cell["reason"].startswith("complementary") for cell in hidden.values()) == 1
    for cells in (
        report["by_group"]["gender"],
        report["welfare"]["by_group"]["gender"],
        report["whose_preferences"]["by_group"]["gender"],
        report["within_vs_across"]["gender"]["groups"],
    ):
        assert {g: cells[g] for g in hidden} == hidden
    assert not any(r["grouping"] == "gender" and r["group"] in hidden for r in report["group_differences"])
    # every shown intersection cell has at least k annotators
    annotators = pd.read_csv(folder / "annotators.csv")
    for name, entry in report["representation"].items():
        for group, cell in entry["groups"].items():
            if not cell.get("suppressed") and cell["n_annotators"] > 0:
                assert cell["n_annotators"] >= 5, (name, group)
    assert report["suppressed"]["n_cells"] == sum(
        1 for e in report["representation"].values() for c in e["groups"].values() if c.get("suppressed")
    )
    del annotators


def test_no_raw_annotator_id_in_any_output(demo: tuple[AuditResult, dict[str, Any], Path]) -> None:
    result, _, folder = demo
    raw_ids = pd.read_csv(folder / "annotators.csv")["annotator_id"].tolist()
    text = json.dumps(result.report)
    assert not any(i in text for i in raw_ids)
    for frame in (result.annotators, result.welfare, result.group_differences, result.representation):
        assert not any(i in frame.to_csv() for i in raw_ids)
    assert set(result.annotators["annotator_id"]) == pseudo(raw_ids)
    assert result.report["params"]["pseudonym_keyed"] is True
    assert KEY not in text


def test_pseudonyms_random_without_a_key(tmp_path: Path) -> None:
    make_demo_preferences(tmp_path, n_items=40, n_annotators=12, seed=3)
    kwargs = {"n_bootstrap": 0, "n_permutations": 0}
    a = audit(tmp_path / "ratings.csv", **kwargs)
    b = audit(tmp_path / "ratings.csv", **kwargs)
    assert set(a.annotators["annotator_id"]).isdisjoint(b.annotators["annotator_id"])
    assert a.report["params"]["pseudonym_keyed"] is False


def test_null_dataset_finds_nothing(tmp_path: Path) -> None:
    """Three null datasets: raw rejection rates near 5 %, nothing survives BH."""
    raw_p, wva_p, wva_adj, flags, excess, n_ann, significant = [], [], [], 0, 0, 0, 0
    for seed in range(3):
        result, planted = run_demo(tmp_path / f"null{seed}", seed=seed, null=True)
        assert planted["null"]
        gd = result.group_differences
        raw_p += gd["p_value"].dropna().tolist()
        significant += int(gd["significant"].sum())
        wva = result.within_vs_across
        wva_p += wva["p_value"].dropna().tolist()
        wva_adj += wva["p_adjusted"].dropna().tolist()
        flags += int(result.annotators["flagged"].sum())
        excess += int(result.annotators["harm_excess"].sum())
        n_ann += len(result.annotators)
    assert significant == 0
    assert min(wva_adj) >= 0.05
    # raw p < 0.05 no more often than a 5 % rate allows (binomial 99.9 % bound)
    for pvals in (raw_p, wva_p):
        assert sum(p < 0.05 for p in pvals) <= stats.binom.ppf(0.999, len(pvals), 0.05)
    assert flags <= 0.05 * n_ann
    assert excess <= 0.05 * n_ann
