"""Agreement coefficients against slow, obvious implementations; edge cases; the item bootstrap."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score

from rlhf_eval.audit import (
    ItemCounts,
    agreement,
    encode_ratings,
    fleiss_kappa,
    gwet_ac1,
    item_bootstrap,
    krippendorff_alpha,
    pairwise_cohen_kappa,
    percent_agreement,
)
from rlhf_eval.audit._agreement import count_coefficients


def random_long(
    seed: int, n_items: int = 60, n_raters: int = 8, n_cat: int = 5, p_missing: float = 0.5
) -> pd.DataFrame:
    """Random sparse ratings with some signal (a true value per item plus noise)."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(1, n_cat + 1, n_items)
    rows = []
    for u in range(n_items):
        for r in range(n_raters):
            if rng.random() < p_missing:
                continue
            value = truth[u] if rng.random() < 0.6 else rng.integers(1, n_cat + 1)
            rows.append((f"i{u}", f"a{r}", int(value)))
    return pd.DataFrame(rows, columns=["item_id", "annotator_id", "label"])


def slow_alpha(frame: pd.DataFrame, level: str) -> float:
    """Krippendorff's alpha by the textbook recipe: explicit coincidence matrix and metric."""
    values = sorted(frame["label"].unique())
    index = {v: i for i, v in enumerate(values)}
    c = len(values)
    o = np.zeros((c, c))
    for _, grp in frame.groupby("item_id"):
        labels = list(grp["label"])
        m = len(labels)
        if m < 2:
            continue
        for a, b in itertools.permutations(range(m), 2):
            o[index[labels[a]], index[labels[b]]] += 1.0 / (m - 1)
    n_c = o.sum(axis=1)
    n = n_c.sum()

    def delta(i: int, k: int) -> float:
        x, y = values[i], values[k]
        if level == "nominal":
            return float(x != y)
        if level == "interval":
            return float((x - y) ** 2)
        if level == "ratio":
            return 0.0 if x + y == 0 else float(((x - y) / (x + y)) ** 2)
        lo, hi = min(i, k), max(i, k)
        return float((n_c[lo : hi + 1].sum() - (n_c[i] + n_c[k]) / 2.0) ** 2)

    d = np.array([[delta(i, k) for k in range(c)] for i in range(c)])
    return float(1.0 - (n - 1) * (o * d).sum() / (np.outer(n_c, n_c) * d).sum())


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval", "ratio"])
def test_alpha_matches_textbook_recipe(seed: int, level: str) -> None:
    frame = random_long(seed)
    assert abs(krippendorff_alpha(frame, level) - slow_alpha(frame, level)) < 1e-9


@pytest.mark.parametrize("level", ["ordinal", "interval", "ratio"])
def test_alpha_with_many_categories(level: str) -> None:
    """Above 64 categories the ordinal bootstrap path changes; the estimate must not."""
    rng = np.random.default_rng(5)
    truth = rng.uniform(1, 100, 50)
    rows = [
        (f"i{u}", f"a{r}", round(float(truth[u] + rng.normal(0, 8)), 1) + 200)
        for u in range(50)
        for r in range(4)
    ]
    frame = pd.DataFrame(rows, columns=["item_id", "annotator_id", "label"])
    assert frame["label"].nunique() > 64
    assert abs(krippendorff_alpha(frame, level) - slow_alpha(frame, level)) < 1e-9
    coded = encode_ratings(frame, level=level)
    ic = ItemCounts.from_codes(coded.item, coded.label, n_items=coded.n_items, values=coded.values)
    coef = count_coefficients(ic, level, n_boot=50, seed=0)["krippendorff_alpha"]
    assert coef.estimate.ci_low <= coef.estimate.value <= coef.estimate.ci_high
    assert ("ci_note" in (coef.extra or {})) == (level == "ordinal")


def test_fleiss_and_ac1_match_statsmodels_on_complete_data() -> None:
    from statsmodels.stats.inter_rater import aggregate_raters
    from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss

    rng = np.random.default_rng(3)
    table = rng.integers(1, 4, size=(40, 5))
    counts, _ = aggregate_raters(table)
    ic = ItemCounts.from_matrix(table, layout="items_x_raters")
    assert abs(fleiss_kappa(ic) - sm_fleiss(counts, method="fleiss")) < 1e-12
    assert abs(fleiss_kappa(ItemCounts.from_counts(counts)) - fleiss_kappa(ic)) < 1e-12
    assert abs(percent_agreement(ic) - ((counts * (counts - 1)).sum(axis=1) / 20).mean()) < 1e-12


@pytest.mark.parametrize("n_cat", [4, 12])  # 12 > 8 categories: the compact per-pair features
def test_pairwise_cohen_matches_sklearn(n_cat: int) -> None:
    rng = np.random.default_rng(4)
    n_items, raters = 80, ["a", "b", "c"]
    truth = rng.integers(0, n_cat, n_items)
    labels = {r: np.where(rng.random(n_items) < 0.7, truth, rng.integers(0, n_cat, n_items)) for r in raters}
    present = {r: rng.random(n_items) < 0.8 for r in raters}
    frame = pd.DataFrame(
        [(f"i{u}", r, int(labels[r][u])) for r in raters for u in range(n_items) if present[r][u]],
        columns=["item_id", "annotator_id", "label"],
    )
    for weights in (None, "linear", "quadratic"):
        kappas, ns = [], []
        for r1, r2 in itertools.combinations(raters, 2):
            both = present[r1] & present[r2]
            kappas.append(
                cohen_kappa_score(
                    labels[r1][both], labels[r2][both], weights=weights, labels=list(range(n_cat))
                )
            )
            ns.append(both.sum())
        expected = float(np.average(kappas, weights=ns))
        got = pairwise_cohen_kappa(frame, weights=weights, min_shared_items=10)
        assert abs(got - expected) < 1e-9, weights
    # and the bootstrap path: the interval brackets the estimate
    coefs = agreement(frame, level="ordinal", n_boot=100, min_shared_items=10)
    for name in ("cohen_kappa", "weighted_cohen_kappa"):
        est = coefs[name].estimate
        assert est.ci_low <= est.value <= est.ci_high


def test_everyone_agrees() -> None:
    frame = pd.DataFrame(
        [(f"i{u}", f"a{r}", u % 3) for u in range(30) for r in range(4)],
        columns=["item_id", "annotator_id", "label"],
    )
    coefs = agreement(frame, n_boot=50, min_shared_items=5)
    for name in ("krippendorff_alpha", "percent_agreement", "fleiss_kappa", "gwet_ac1", "cohen_kappa"):
        assert coefs[name].estimate.value == pytest.approx(1.0, abs=1e-12), name
        assert coefs[name].note is None


def test_single_category() -> None:
    """No variation: alpha and Fleiss are 0/0 (null with a note); agreement is 1; AC1 with the
    pairwise vocabulary's q = 3 possible categories is 1."""
    frame = pd.DataFrame(
        [(f"i{u}", f"a{r}", "A") for u in range(20) for r in range(3)],
        columns=["item_id", "annotator_id", "label"],
    )
    coefs = agreement(frame, n_boot=20, min_shared_items=5)
    assert math.isnan(coefs["krippendorff_alpha"].estimate.value)
    assert "same value" in (coefs["krippendorff_alpha"].note or "")
    assert math.isnan(coefs["fleiss_kappa"].estimate.value)
    assert coefs["percent_agreement"].estimate.value == 1.0
    assert coefs["gwet_ac1"].estimate.value == 1.0
    assert math.isnan(coefs["krippendorff_alpha"].estimate.ci_low)


def test_single_ratings_are_excluded_and_counted() -> None:
    frame = pd.DataFrame(
        [
            ("i0", "a", 1),
            ("i0", "b", 1),
            ("i0", "c", 2),
            ("i1", "a", 2),
            ("i1", "b", 2),
            ("i2", "c", 1),
            ("i3", "a", 3),
        ],
        columns=["item_id", "annotator_id", "label"],
    )
    coefs = agreement(frame, n_boot=0, min_shared_items=1)
    assert coefs["krippendorff_alpha"].n_items == 2
    assert coefs["krippendorff_alpha"].n_ratings == 5
    with_single = krippendorff_alpha(frame)
    without = krippendorff_alpha(frame[frame["item_id"].isin(["i0", "i1"])])
    assert with_single == pytest.approx(without, abs=1e-12)
    only_singles = pd.DataFrame(
        [("i0", "a", 1), ("i1", "a", 2)], columns=["item_id", "annotator_id", "label"]
    )
    empty = agreement(only_singles, n_boot=10)
    assert empty["krippendorff_alpha"].n_items == 0
    assert "no item has two or more ratings" in (empty["krippendorff_alpha"].note or "")
    assert math.isnan(empty["percent_agreement"].estimate.value)


def test_bootstrap_is_seeded_and_covers_the_estimate() -> None:
    frame = random_long(7, n_items=120)
    a = agreement(frame, level="interval", n_boot=300, seed=1)
    b = agreement(frame, level="interval", n_boot=300, seed=1)
    c = agreement(frame, level="interval", n_boot=300, seed=2)
    for name, coef in a.items():
        est = coef.estimate
        if math.isnan(est.value):
            continue
        assert est.ci_low <= est.value <= est.ci_high, name
        assert (est.ci_low, est.ci_high) == (b[name].estimate.ci_low, b[name].estimate.ci_high)
    assert a["krippendorff_alpha"].estimate.ci_low != c["krippendorff_alpha"].estimate.ci_low


def test_bootstrap_resamples_whole_items() -> None:
    """The matrix-product bootstrap has the spread of a brute-force bootstrap over items, and
    the pattern-compressed path agrees with the per-item path."""
    frame = random_long(11, n_items=150, n_raters=5, n_cat=3, p_missing=0.0)
    coded = encode_ratings(frame, level="nominal")
    ic = ItemCounts.from_codes(coded.item, coded.label, n_items=coded.n_items, values=coded.values)
    est = count_coefficients(ic, "nominal", n_boot=1000, seed=0)["krippendorff_alpha"].estimate
    # brute force: resample item ids with replacement, rebuild the table, recompute alpha
    rng = np.random.default_rng(99)
    dense = ic.dense()
    reps = []
    for _ in range(400):
        pick = rng.integers(0, ic.n_items, ic.n_items)
        reps.append(krippendorff_alpha(ItemCounts.from_counts(dense[pick])))
    lo, hi = np.quantile(reps, [0.025, 0.975])
    assert abs((est.ci_high - est.ci_low) - (hi - lo)) < 0.25 * (hi - lo)
    # the same features without pattern compression
    from rlhf_eval.audit._krippendorff import AlphaFeatures

    feats = AlphaFeatures(ic, "nominal")
    per_item = item_bootstrap(feats.columns, {"a": feats.statistic}, n_boot=1000, seed=0)["a"]
    assert per_item.value == pytest.approx(est.value, abs=1e-12)
    assert abs((per_item.ci_high - per_item.ci_low) - (est.ci_high - est.ci_low)) < 0.2 * (hi - lo)


def test_gwet_ac1_on_two_categories_by_hand() -> None:
    # 4 items x 2 raters: agree, agree, agree, disagree; pi = (5/8, 3/8)
    ic = ItemCounts.from_counts([[2, 0], [2, 0], [0, 2], [1, 1]])
    pa = 0.75
    pi = np.array([5 / 8, 3 / 8])
    pe = float((pi * (1 - pi)).sum())
    assert gwet_ac1(ic) == pytest.approx((pa - pe) / (1 - pe), abs=1e-12)
