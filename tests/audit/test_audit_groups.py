"""Group statistics against brute force: within vs across, group differences, representation."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from rlhf_eval.audit import encode_ratings
from rlhf_eval.audit._differences import group_differences, within_vs_across
from rlhf_eval.audit._groups import Grouping, representation


def data(seed: int = 0) -> tuple[pd.DataFrame, dict[str, str]]:
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(60):
        for a in rng.choice(12, size=4, replace=False):
            rows.append((f"i{u}", f"a{a:02d}", int(rng.integers(1, 4))))
    group_of = {f"a{a:02d}": "xyz"[a % 3] for a in range(12)}
    return pd.DataFrame(rows, columns=["item_id", "annotator_id", "label"]), group_of


def grouping(coded_ids: pd.Index, group_of: dict[str, str]) -> Grouping:
    names = ["x", "y", "z"]
    codes = np.array([names.index(group_of[a]) for a in coded_ids], dtype=np.int64)
    return Grouping("g", ("g",), codes, names, np.bincount(codes, minlength=3), np.zeros(3, dtype=bool))


def test_within_vs_across_matches_pair_enumeration() -> None:
    frame, group_of = data()
    coded = encode_ratings(frame, level="interval")
    result = within_vs_across(
        coded, [grouping(coded.annotator_ids, group_of)], level="interval", n_permutations=20
    )
    values = frame["label"].to_numpy(dtype=float)
    pairable = frame.groupby("item_id")["label"].transform("size").to_numpy() >= 2
    v = values[pairable]
    de = np.mean([(a - b) ** 2 for a, b in itertools.permutations(v, 2)])
    same, cross = [], []
    per_group: dict[str, dict[str, list[float]]] = {g: {"w": [], "a": []} for g in "xyz"}
    for _, grp in frame.groupby("item_id"):
        for (_, r1), (_, r2) in itertools.combinations(grp.iterrows(), 2):
            d = (r1["label"] - r2["label"]) ** 2
            g1, g2 = group_of[r1["annotator_id"]], group_of[r2["annotator_id"]]
            (same if g1 == g2 else cross).append(d)
            if g1 == g2:
                per_group[g1]["w"].append(d)
            else:
                per_group[g1]["a"].append(d)
                per_group[g2]["a"].append(d)
    overall = result[result["group"].isna()].iloc[0]
    assert overall["within_alpha"] == pytest.approx(1 - np.mean(same) / de, abs=1e-12)
    assert overall["across_alpha"] == pytest.approx(1 - np.mean(cross) / de, abs=1e-12)
    assert overall["n_within_pairs"] == len(same) and overall["n_across_pairs"] == len(cross)
    for g in "xyz":
        row = result[result["group"] == g].iloc[0]
        assert row["within_alpha"] == pytest.approx(1 - np.mean(per_group[g]["w"]) / de, abs=1e-12)
        assert row["across_alpha"] == pytest.approx(1 - np.mean(per_group[g]["a"]) / de, abs=1e-12)
    assert result["p_value"].between(0, 1).all() and result["p_adjusted"].between(0, 1).all()


def test_mean_shift_effect_is_the_item_centred_difference() -> None:
    frame, group_of = data(1)
    coded = encode_ratings(frame, level="interval")
    gd = group_differences(coded, [grouping(coded.annotator_ids, group_of)], level="interval", n_boot=100)
    frame = frame.assign(
        resid=frame["label"] - frame.groupby("item_id")["label"].transform("mean"),
        group=frame["annotator_id"].map(group_of),
    )
    for g in "xyz":
        row = gd[(gd["group"] == g) & (gd["test"] == "shift")].iloc[0]
        expected = (
            frame.loc[frame["group"] == g, "resid"].mean() - frame.loc[frame["group"] != g, "resid"].mean()
        )
        assert row["effect"] == pytest.approx(expected, abs=1e-12)
        assert row["ci_low"] <= row["effect"] <= row["ci_high"]
        # the test is a Mann-Whitney on annotators' mean residuals
        per_ann = frame.groupby("annotator_id").agg(resid=("resid", "mean"), group=("group", "first"))
        p = stats.mannwhitneyu(
            per_ann.loc[per_ann["group"] == g, "resid"],
            per_ann.loc[per_ann["group"] != g, "resid"],
            method="asymptotic",
        ).pvalue
        assert row["p_value"] == pytest.approx(p, abs=1e-12)


def test_nominal_shift_detects_a_planted_preference() -> None:
    rng = np.random.default_rng(3)
    rows = []
    for u in range(200):
        for a in rng.choice(30, size=5, replace=False):
            p_b = 0.8 if a < 10 else 0.4  # annotators 0-9 prefer B
            rows.append((f"i{u}", f"a{a:02d}", "B" if rng.random() < p_b else "A"))
    frame = pd.DataFrame(rows, columns=["item_id", "annotator_id", "label"])
    coded = encode_ratings(frame)
    names = ["fans", "rest"]
    codes = np.array([0 if int(a[1:]) < 10 else 1 for a in coded.annotator_ids], dtype=np.int64)
    g = Grouping("taste", ("taste",), codes, names, np.bincount(codes), np.zeros(2, dtype=bool))
    gd = group_differences(coded, [g], level="nominal", n_boot=200)
    row = gd[(gd["group"] == "fans") & (gd["test"] == "shift")].iloc[0]
    assert row["significant"] and row["effect_name"] == "cramers_v" and row["effect"] > 0.2
    shift_b = row["category_shift"]["B"]
    assert shift_b["value"] == pytest.approx(0.4, abs=0.08) and shift_b["ci_low"] > 0.2
    assert row["category_shift"]["A"]["value"] == pytest.approx(-shift_b["value"], abs=1e-12)


def test_representation_goodness_of_fit_matches_scipy() -> None:
    frame, group_of = data()
    coded = encode_ratings(frame)
    g = grouping(coded.annotator_ids, group_of)
    reference = {"g": {"x": 0.5, "y": 0.3, "z": 0.2}}
    section, table, warnings = representation(coded, [g], reference, k=1)
    fit = section["g"]["reference"]
    observed = g.n_annotators.astype(float)
    expected = observed.sum() * np.array([0.5, 0.3, 0.2])
    assert fit["tvd_annotators"] == pytest.approx(
        0.5 * np.abs(observed / observed.sum() - [0.5, 0.3, 0.2]).sum()
    )
    assert fit["chi_square"]["statistic"] == pytest.approx(stats.chisquare(observed, expected).statistic)
    assert fit["chi_square"]["method"].startswith("monte_carlo")  # 12 annotators: small expected counts
    assert not warnings and len(table) == 3
