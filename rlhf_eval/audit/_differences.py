"""Do groups label differently? Each group against the rest on the same items, and
agreement within groups versus across groups.

**Group vs rest.** Every rating (of an annotator whose attribute is known, on an item with
two or more such ratings) is centred on its item's mean -- item fixed effects, so a group
that happened to rate harder items is not mistaken for one that labels differently. The
residuals are summed per annotator, and the group's mean residual is compared with the
rest's:

* ``shift`` -- a consistent difference in the labels. Nominal: residuals of the category
  indicators; the test statistic is the Pearson X^2 of the item-adjusted group x category
  table, the effect size Cramér's V = sqrt(X^2 / n), and ``category_shift`` gives each
  category's share difference (e.g. the group says ``tie`` 8 points more often than others
  on the same items). Ordered levels: the mean difference of label values.
* ``dissent`` -- disagreement with co-raters, in whatever direction: the residual of each
  rating's mean disagreement with the other ratings of the item (share of co-raters who
  disagree at nominal level; squared distance over the expected disagreement otherwise).
  This catches a group that prefers a *style*, which favours A on some items and B on
  others and cancels out in ``shift``.

Ratings of one annotator are not independent (people differ), so inference treats the
annotator as the unit. Each annotator's score is their mean residual; the p-value is a
Mann-Whitney test of the group's scores against the rest's (for nominal shift, the
smallest of the per-category tests times the number of categories), which is exact under
the null that group labels are exchangeable among annotators and is not driven by one
erratic annotator the way a mean is. The effect size is the rating-weighted difference, with
a percentile CI from resampling annotators with replacement within the group and within the
rest. All p-values are Benjamini-Hochberg-adjusted together.

**Within vs across.** For every attribute: agreement (alpha form, 1 - mean pair
disagreement / expected disagreement) among pairs of co-raters from the same group versus
pairs from different groups, with a permutation test that shuffles group labels among
annotators (each keeps all their ratings). The reported ``p_value`` is two-sided, from a
normal approximation to the permutation distribution (its mean and SD), so that values below
1 / n_permutations survive the Benjamini-Hochberg step (``p_adjusted``, across all
within-vs-across rows); the Monte Carlo value is ``p_value_permutation``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp
from scipy import stats

from rlhf_eval.audit._bootstrap import resample_counts
from rlhf_eval.audit._counts import ItemCounts
from rlhf_eval.audit._groups import Grouping, rating_groups
from rlhf_eval.audit._krippendorff import category_coordinates, expected_disagreement, pair_delta
from rlhf_eval.audit._load import CodedRatings
from rlhf_eval.audit._pairs import pairs_within
from rlhf_eval.audit._stats import benjamini_hochberg

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_PERMUTATION_BUDGET = 200_000_000  # pair aggregates x permutations per grouping (within vs across)
MAX_SHIFT_CATEGORIES = 64  # beyond this a nominal shift is not tested (categories too sparse)


def _pairable_marginals(coded: CodedRatings) -> FloatArray:
    m = np.bincount(coded.item, minlength=coded.n_items)
    pairable = m[coded.item] >= 2
    return np.bincount(coded.label[pairable], minlength=coded.n_categories).astype(np.float64)


def _mean_pair_disagreement(coded: CodedRatings, level: str) -> float:
    """Expected disagreement of two random pairable values: ``D_e / (n (n - 1))``."""
    nc = _pairable_marginals(coded)
    n = nc.sum()
    if n < 2:
        return math.nan
    return float(expected_disagreement(nc[None, :], coded.values, level)[0] / (n * (n - 1)))


@dataclass(frozen=True)
class RatingPairs:
    """Every pair of ratings of the same item, with the level's disagreement ``d`` and the
    expected disagreement ``de`` of two random pairable values (the scale of ``1 - alpha``)."""

    i: IntArray
    j: IntArray
    item: IntArray
    d: FloatArray
    de: float

    @classmethod
    def build(cls, coded: CodedRatings, level: str) -> RatingPairs:
        order = np.argsort(coded.item, kind="stable")
        i, j = pairs_within(coded.item[order])
        i, j = order[i], order[j]
        coords = category_coordinates(level, coded.values, _pairable_marginals(coded))
        d = pair_delta(level, coords[coded.label[i]], coords[coded.label[j]])
        de = _mean_pair_disagreement(coded, level)
        return cls(i.astype(np.int64), j.astype(np.int64), coded.item[i], np.asarray(d, dtype=np.float64), de)


def dissent_scores(coded: CodedRatings, level: str) -> FloatArray:
    """Each rating's mean disagreement with the other ratings of its item (NaN if alone).

    Nominal: the share of co-raters who chose another label. Other levels: mean squared
    distance of the level's metric over the expected disagreement of two random values.
    """
    c = coded.n_categories
    ic = ItemCounts.from_codes(coded.item, coded.label, n_items=coded.n_items, values=coded.values)
    coords = category_coordinates(level, coded.values, _pairable_marginals(coded))
    i, j = pairs_within(ic.item)
    d = pair_delta(level, coords[ic.cat[i]], coords[ic.cat[j]])
    entry_sum = np.bincount(i, weights=d * ic.count[j], minlength=len(ic.item)) + np.bincount(
        j, weights=d * ic.count[i], minlength=len(ic.item)
    )
    m = ic.per_item()
    entry = np.searchsorted(ic.item * c + ic.cat, coded.item * c + coded.label)
    others = m[coded.item] - 1.0
    with np.errstate(invalid="ignore", divide="ignore"):
        y = np.where(others > 0, entry_sum[entry] / others, np.nan)
    if level != "nominal":
        y = y / _mean_pair_disagreement(coded, level)
    return np.asarray(y, dtype=np.float64)


def _centre(item: IntArray, values: FloatArray, n_items: int) -> tuple[FloatArray, FloatArray]:
    """Residuals of ``values`` (ratings x k) from their item means, and those means per rating."""
    m = np.bincount(item, minlength=n_items).astype(np.float64)
    means = (
        np.column_stack([np.bincount(item, weights=v, minlength=n_items) for v in values.T])
        / np.maximum(m, 1.0)[:, None]
    )
    return values - means[item], means[item]


class _Outcome:
    """One test's per-annotator sums of item-centred residuals and its group statistic.

    ``kind`` is ``"nominal"`` (residual per category: the Pearson X^2 of the item-adjusted
    group x category table, Cramér's V, and per-category share differences) or ``"mean"``
    (one residual: the group-minus-rest mean difference).
    """

    def __init__(
        self, kind: str, resid_sum: FloatArray, expected_sum: FloatArray | None, n: FloatArray
    ) -> None:
        self.kind = kind
        self.s = resid_sum  # (A, k)
        self.e = expected_sum  # (A, k) nominal only: sum of item shares
        self.n = n  # (A,)

    def stats(
        self,
        s_g: FloatArray,
        e_g: FloatArray | None,
        n_g: FloatArray,
        s_r: FloatArray,
        e_r: FloatArray | None,
        n_r: FloatArray,
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """(test statistic, effect, per-column differences) from group and rest sums.

        Sums have shape ``(..., k)`` and counts ``(...)``; results drop the last axis
        (differences keep it).
        """
        with np.errstate(invalid="ignore", divide="ignore"):
            diff = s_g / n_g[..., None] - s_r / n_r[..., None]
            if self.kind == "mean":
                return diff[..., 0], diff[..., 0], diff
            assert e_g is not None and e_r is not None
            x2 = (np.where(e_g > 0, s_g**2 / e_g, 0.0) + np.where(e_r > 0, s_r**2 / e_r, 0.0)).sum(axis=-1)
            return x2, np.sqrt(x2 / (n_g + n_r)), diff


def _outcomes(coded: CodedRatings, gcode: IntArray, level: str, dissent: FloatArray) -> dict[str, _Outcome]:
    """Item-centred residuals on items with two or more ratings of known attribute, summed per annotator."""
    known = gcode >= 0
    m_known = np.bincount(coded.item[known], minlength=coded.n_items)
    use = known & (m_known[coded.item] >= 2)
    item, ann = coded.item[use], coded.annotator[use]
    n_ann = coded.n_annotators
    n = np.bincount(ann, minlength=n_ann).astype(np.float64)
    out: dict[str, _Outcome] = {}
    if level == "nominal":
        if coded.n_categories <= MAX_SHIFT_CATEGORIES:
            # per annotator: label counts minus the item shares of the items they rated
            # (annotator x item incidence @ item x category shares; no ratings x categories array)
            c = coded.n_categories
            ic = ItemCounts.from_codes(item, coded.label[use], n_items=coded.n_items, values=np.zeros(c))
            m = ic.per_item()
            shares = ic.category_matrix(ic.count / m[ic.item])
            incidence = sp.csr_matrix((np.ones(len(item)), (ann, item)), shape=(n_ann, coded.n_items))
            expected = np.asarray((incidence @ shares).todense(), dtype=np.float64)
            counts = np.bincount(ann * c + coded.label[use], minlength=n_ann * c).reshape(n_ann, c)
            out["shift"] = _Outcome("nominal", counts - expected, expected, n)
    else:
        resid, _ = _centre(item, coded.values[coded.label[use]][:, None], coded.n_items)
        out["shift"] = _Outcome("mean", _sums_by(ann, resid, n_ann), None, n)
    resid, _ = _centre(item, dissent[use][:, None], coded.n_items)
    out["dissent"] = _Outcome("mean", _sums_by(ann, resid, n_ann), None, n)
    return out


def group_differences(
    coded: CodedRatings,
    groupings: list[Grouping],
    *,
    level: str,
    n_boot: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    fdr: float = 0.05,
    min_ratings: int = 3,
) -> pd.DataFrame:
    """One row per (grouping, visible group, test): effect, CI, p_value, p_adjusted.

    ``min_ratings``: annotators with fewer residual-bearing ratings are left out of the
    rank test (their scores are mostly noise) but still count in the effect size.
    """
    dissent = dissent_scores(coded, level)
    rng = np.random.default_rng(seed)
    tail = (1.0 - confidence) / 2.0
    rows: list[dict[str, Any]] = []
    for grouping in groupings:
        gcode = rating_groups(grouping, coded)
        n_groups = len(grouping.groups)
        visible = grouping.visible()
        mixed_items = _mixed_item_counts(coded, gcode, n_groups)
        for test, outcome in _outcomes(coded, gcode, level, dissent).items():
            codes = np.where((grouping.codes >= 0) & (outcome.n > 0), grouping.codes, -1)
            s_g = _sums_by(codes, outcome.s, n_groups)
            n_g = _sums_by(codes, outcome.n[:, None], n_groups)[:, 0]
            e_g = e_r = None
            if outcome.e is not None:
                e_g = _sums_by(codes, outcome.e, n_groups)
                e_r = e_g.sum(axis=0) - e_g
            stat, effect, diff = outcome.stats(s_g, e_g, n_g, s_g.sum(axis=0) - s_g, e_r, n_g.sum() - n_g)
            with np.errstate(invalid="ignore", divide="ignore"):
                scores = outcome.s / outcome.n[:, None]
            scored = (codes >= 0) & (outcome.n >= min_ratings)
            for g in visible:
                p_value, u_stat = _rank_test(scores, scored & (codes == g), scored & (codes != g))
                ci = _annotator_bootstrap(outcome, codes, g, n_boot, rng, tail)
                row: dict[str, Any] = {
                    "grouping": grouping.name,
                    "group": grouping.groups[g],
                    "test": test,
                    "n_annotators": int(grouping.n_annotators[g]),
                    "n_annotators_tested": int((scored & (codes == g)).sum()),
                    "n_items_mixed": int(mixed_items[g]),
                    "n_ratings_group": int(n_g[g]),
                    "n_ratings_rest": int(n_g.sum() - n_g[g]),
                    "statistic": float(stat[g]),
                    "effect_name": "cramers_v"
                    if outcome.kind == "nominal"
                    else ("dissent_difference" if test == "dissent" else "mean_difference"),
                    "effect": float(effect[g]),
                    "ci_low": ci["effect"][0],
                    "ci_high": ci["effect"][1],
                    "rank_biserial": u_stat,
                    "p_value": p_value,
                }
                if outcome.kind == "nominal":
                    row["category_shift"] = {
                        coded.categories[c]: {
                            "value": float(diff[g, c]),
                            "ci_low": ci["diff"][0][c],
                            "ci_high": ci["diff"][1][c],
                        }
                        for c in range(coded.n_categories)
                    }
                rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    frame["p_adjusted"] = benjamini_hochberg(frame["p_value"].to_numpy(dtype=np.float64))
    frame["significant"] = frame["p_adjusted"] < fdr
    return frame


def _sums_by(codes: IntArray, values: FloatArray, n_groups: int) -> FloatArray:
    """Sums of ``values`` (A x k) per group code (codes < 0 ignored): (G, k)."""
    keep = codes >= 0
    return np.column_stack([np.bincount(codes[keep], weights=v[keep], minlength=n_groups) for v in values.T])


def _rank_test(
    scores: FloatArray, in_g: npt.NDArray[np.bool_], rest: npt.NDArray[np.bool_]
) -> tuple[float, float]:
    """Mann-Whitney test of annotator scores, group vs rest: (p, rank-biserial correlation).

    With several score columns (nominal categories), the smallest p-value times the number
    of columns that vary (Bonferroni), and the rank-biserial of that column.
    """
    best_p, best_r = math.nan, math.nan
    tested = 0
    if in_g.sum() < 2 or rest.sum() < 2:
        return best_p, best_r
    pvals: list[tuple[float, float]] = []
    for col in scores.T:
        x, y = col[in_g], col[rest]
        if np.ptp(np.r_[x, y]) <= 1e-12:
            continue
        res = stats.mannwhitneyu(x, y, alternative="two-sided", method="asymptotic")
        pvals.append((float(res.pvalue), float(2.0 * res.statistic / (len(x) * len(y)) - 1.0)))
        tested += 1
    if not pvals:
        return best_p, best_r
    best_p, best_r = min(pvals)
    return min(1.0, best_p * tested), best_r


def _mixed_item_counts(coded: CodedRatings, gcode: IntArray, n_groups: int) -> FloatArray:
    """Per group: items rated both by the group and by others of known attribute."""
    known = gcode >= 0
    m = np.bincount(coded.item[known], minlength=coded.n_items)
    out = np.zeros(n_groups)
    for g in range(n_groups):
        mg = np.bincount(coded.item[gcode == g], minlength=coded.n_items)
        out[g] = ((mg >= 1) & (m - mg >= 1)).sum()
    return out


def _annotator_bootstrap(
    outcome: _Outcome, codes: IntArray, g: int, n_boot: int, rng: np.random.Generator, tail: float
) -> dict[str, Any]:
    """Percentile CIs resampling annotators with replacement, separately in the group and the rest."""
    nan = (math.nan, math.nan)
    k = outcome.s.shape[1]
    in_g, in_r = np.flatnonzero(codes == g), np.flatnonzero((codes >= 0) & (codes != g))
    if n_boot == 0 or len(in_g) == 0 or len(in_r) == 0:
        return {"effect": nan, "diff": ([math.nan] * k, [math.nan] * k)}
    w_g = resample_counts(rng, len(in_g), n_boot)
    w_r = resample_counts(rng, len(in_r), n_boot)
    e_g = None if outcome.e is None else w_g @ outcome.e[in_g]
    e_r = None if outcome.e is None else w_r @ outcome.e[in_r]
    _, effect, diff = outcome.stats(
        w_g @ outcome.s[in_g], e_g, w_g @ outcome.n[in_g], w_r @ outcome.s[in_r], e_r, w_r @ outcome.n[in_r]
    )

    def interval(values: FloatArray) -> tuple[float, float]:
        finite = values[np.isfinite(values)]
        if len(finite) < max(1, n_boot // 2):
            return nan
        lo, hi = np.quantile(finite, [tail, 1.0 - tail])
        return float(lo), float(hi)

    per_col = [interval(diff[:, c]) for c in range(k)]
    return {"effect": interval(effect), "diff": ([c[0] for c in per_col], [c[1] for c in per_col])}


def within_vs_across(
    coded: CodedRatings,
    groupings: list[Grouping],
    *,
    level: str,
    n_permutations: int = 1000,
    seed: int = 0,
    pairs: RatingPairs | None = None,
) -> pd.DataFrame:
    """Per grouping and group: agreement of same-group vs cross-group co-rater pairs, permutation p."""
    pairs = pairs or RatingPairs.build(coded, level)
    i, j, d = pairs.i, pairs.j, pairs.d
    a1, a2 = coded.annotator[i], coded.annotator[j]
    lo, hi = np.minimum(a1, a2), np.maximum(a1, a2)
    match = (coded.label[i] == coded.label[j]).astype(np.float64)
    key, inverse = np.unique(lo * coded.n_annotators + hi, return_inverse=True)
    p_lo = (key // coded.n_annotators).astype(np.int64)
    p_hi = (key % coded.n_annotators).astype(np.int64)
    s_d = np.bincount(inverse, weights=d, minlength=len(key)).astype(np.float64)
    s_m = np.bincount(inverse, weights=match, minlength=len(key)).astype(np.float64)
    s_n = np.bincount(inverse, minlength=len(key)).astype(np.float64)
    de = pairs.de
    rows: list[dict[str, Any]] = []
    rng = np.random.default_rng(seed)
    for grouping in groupings:
        n_groups = len(grouping.groups)
        n_perm = int(min(n_permutations, max(99, _PERMUTATION_BUDGET // max(len(key), 1))))
        obs = _within_across_stats(grouping.codes, p_lo, p_hi, s_d, s_m, s_n, n_groups, de)
        known = np.flatnonzero(grouping.codes >= 0)
        perm_all = np.full(n_perm, np.nan)
        perm_g = np.full((n_perm, n_groups), np.nan)
        for b in range(n_perm):
            codes = grouping.codes.copy()
            codes[known] = rng.permutation(grouping.codes[known])
            perm = _within_across_stats(codes, p_lo, p_hi, s_d, None, s_n, n_groups, de)
            perm_all[b], perm_g[b] = perm["diff"], perm["diff_g"]
        p_all, mc_all = _permutation_p(np.array([obs["diff"]]), perm_all[:, None])
        p_g, mc_g = _permutation_p(np.asarray(obs["diff_g"], dtype=np.float64), perm_g)
        base = {"grouping": grouping.name, "n_permutations": n_perm}
        rows.append(
            {
                **base,
                "group": None,
                "within_alpha": obs["within"],
                "across_alpha": obs["across"],
                "difference": obs["diff"],
                "within_agreement": obs["within_pa"],
                "across_agreement": obs["across_pa"],
                "n_within_pairs": int(obs["n_within"]),
                "n_across_pairs": int(obs["n_across"]),
                "p_value": float(p_all[0]),
                "p_value_permutation": float(mc_all[0]),
            }
        )
        for g in grouping.visible():
            rows.append(
                {
                    **base,
                    "group": grouping.groups[g],
                    "within_alpha": obs["within_g"][g],
                    "across_alpha": obs["across_g"][g],
                    "difference": obs["diff_g"][g],
                    "within_agreement": obs["within_pa_g"][g],
                    "across_agreement": obs["across_pa_g"][g],
                    "n_within_pairs": int(obs["n_within_g"][g]),
                    "n_across_pairs": int(obs["n_across_g"][g]),
                    "p_value": float(p_g[g]),
                    "p_value_permutation": float(mc_g[g]),
                }
            )
    frame = pd.DataFrame(rows)
    if not frame.empty:
        frame["p_adjusted"] = benjamini_hochberg(frame["p_value"].to_numpy(dtype=np.float64))
    return frame


def _permutation_p(stat: FloatArray, perm: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Two-sided p-values of ``stat`` (G,) against permutation replicates (P, G).

    Returns the normal approximation with the permutation distribution's mean and SD --
    continuous, so p-values below 1/P stay resolvable for Benjamini-Hochberg -- and the
    Monte Carlo p-value ``(1 + #{|perm - mean| >= |stat - mean|}) / (1 + P)``. NaN where
    the statistic is undefined.
    """
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: groups without pairs
        mu = np.nanmean(perm, axis=0) if len(perm) else np.full(stat.shape, np.nan)
        sd = np.nanstd(perm, axis=0, ddof=1) if len(perm) > 1 else np.full(stat.shape, np.nan)
        dev = np.abs(stat - mu)
        exceed = (np.abs(perm - mu) >= dev - 1e-12).sum(axis=0)
        mc = (1.0 + exceed) / (1.0 + len(perm))
        approx = 2.0 * stats.norm.sf(dev / sd)
    finite = np.isfinite(stat)
    return np.where(finite, np.where(np.isfinite(approx), approx, mc), np.nan), np.where(finite, mc, np.nan)


def _within_across_stats(
    codes: IntArray,
    p_lo: IntArray,
    p_hi: IntArray,
    s_d: FloatArray,
    s_m: FloatArray | None,
    s_n: FloatArray,
    n_groups: int,
    de: float,
) -> dict[str, Any]:
    """Same-group vs cross-group pair agreement, overall and per group (``s_m`` None: skip
    the percent-agreement columns, as permutations do)."""
    # one G x G table of pair sums per weight: the diagonal holds same-group pairs
    g1, g2 = codes[p_lo], codes[p_hi]
    valid = (g1 >= 0) & (g2 >= 0)
    key = (g1 * n_groups + g2)[valid]

    def table(weights: FloatArray) -> FloatArray:
        t = np.bincount(key, weights=weights[valid], minlength=n_groups * n_groups).reshape(
            n_groups, n_groups
        )
        return np.asarray(t + t.T, dtype=np.float64) / 2.0  # pairs are unordered

    def split(t: FloatArray) -> tuple[FloatArray, FloatArray, np.float64, np.float64]:
        diag = np.diag(t).copy()
        across_g = 2.0 * (t.sum(axis=1) - diag)  # pairs with exactly one member in g
        return diag, across_g, np.float64(diag.sum()), np.float64(t.sum() - diag.sum())

    def alpha(dsum: Any, nsum: Any) -> Any:
        return 1.0 - (dsum / nsum) / de

    w_d, a_d, w_d_all, a_d_all = split(table(s_d))
    w_n, a_n, w_n_all, a_n_all = split(table(s_n))
    with np.errstate(invalid="ignore", divide="ignore"):
        out: dict[str, Any] = {
            "within": float(alpha(w_d_all, w_n_all)),
            "across": float(alpha(a_d_all, a_n_all)),
            "n_within": float(w_n_all),
            "n_across": float(a_n_all),
            "within_g": alpha(w_d, w_n),
            "across_g": alpha(a_d, a_n),
            "n_within_g": w_n,
            "n_across_g": a_n,
        }
        if s_m is not None:
            w_m, a_m, w_m_all, a_m_all = split(table(s_m))
            out.update(
                within_pa=float(w_m_all / w_n_all),
                across_pa=float(a_m_all / a_n_all),
                within_pa_g=w_m / w_n,
                across_pa_g=a_m / a_n,
            )
    out["diff"] = out["within"] - out["across"]
    out["diff_g"] = out["within_g"] - out["across_g"]
    return out
