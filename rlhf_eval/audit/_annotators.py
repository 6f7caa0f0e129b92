"""Per-annotator reliability: agreement with the leave-one-out majority, Dawid-Skene, flags.

Leave-one-out (LOO) agreement of a rating is 1 when its label is the plurality label of the
*other* ratings of the item, ``1/t`` when it ties with ``t - 1`` other labels for the
plurality, 0 otherwise. It is computed from per-(item, category) counts without a dense
matrix: only the item's largest count, how many categories reach it, and the runner-up.

Flags: an annotator is compared with what the other raters achieve *on the same items*
(the mean LOO agreement of the item's other ratings), and that shortfall with the pool's:
the shortfall times sqrt(n) is standardised by the pool's median and MAD (robust, so the
few annotators being looked for do not hide themselves, and over-dispersion from ordinary
differences between people is absorbed). The one-sided normal p-values are
Benjamini-Hochberg-adjusted across annotators; the flag needs ``p_adjusted < alpha`` and a
shortfall of at least ``flag_gap``, with at least ``min_ratings`` rated items that have
other ratings. A flag means "disagrees with the majority far more than the pool", which
a coherent minority perspective also does: check ``by_group.*.n_flagged`` before
dropping anyone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from rlhf_eval.audit._dawid_skene import DawidSkeneResult, dawid_skene
from rlhf_eval.audit._load import CodedRatings
from rlhf_eval.audit._stats import benjamini_hochberg

FloatArray = npt.NDArray[np.float64]

#: Dawid-Skene is skipped above this many categories (it would be a model of noise).
MAX_DS_CATEGORIES = 20


def loo_agreement(coded: CodedRatings) -> FloatArray:
    """LOO-majority agreement of every rating (NaN for the only rating of an item)."""
    c = coded.n_categories
    key = coded.item * c + coded.label
    uniq, inverse, group_count = np.unique(key, return_inverse=True, return_counts=True)
    g_item = uniq // c
    n_items = coded.n_items
    m = np.bincount(g_item, weights=group_count, minlength=n_items)
    top = np.zeros(n_items)
    np.maximum.at(top, g_item, group_count)
    at_top = group_count == top[g_item]
    n_top = np.bincount(g_item, weights=at_top, minlength=n_items)
    below = np.where(at_top, 0, group_count)
    second = np.zeros(n_items)
    np.maximum.at(second, g_item, below)
    n_second = np.bincount(g_item, weights=(group_count == second[g_item]) & ~at_top, minlength=n_items)
    own = group_count[inverse].astype(np.float64)
    it = coded.item
    sole_top = (own == top[it]) & (n_top[it] == 1)
    others_top = top[it] - 1.0
    tie_with_second = (second[it] > 0) & (second[it] == others_top)
    score = np.where(sole_top, np.where(tie_with_second, 1.0 / (1.0 + n_second[it]), 1.0), 0.0)
    return np.where(m[it] >= 2, score, np.nan)


@dataclass(frozen=True)
class AnnotatorReport:
    """Per-annotator rows (``frame``) and the Dawid-Skene fit (None when skipped)."""

    frame: pd.DataFrame
    dawid_skene: DawidSkeneResult | None
    ds_note: str | None


def annotator_report(
    coded: CodedRatings,
    *,
    flag_gap: float = 0.1,
    min_ratings: int = 10,
    alpha: float = 0.05,
) -> AnnotatorReport:
    """One row per annotator: n_ratings, LOO agreement, expected agreement, test, DS reliability, flag."""
    score = loo_agreement(coded)
    ok = np.isfinite(score)
    # expectation: the mean score of the *other* ratings of the same item
    item_sum = np.bincount(coded.item[ok], weights=score[ok], minlength=coded.n_items)
    item_n = np.bincount(coded.item[ok], minlength=coded.n_items)
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = (item_sum[coded.item] - score) / (item_n[coded.item] - 1.0)
    ok &= np.isfinite(expected)
    a = coded.annotator
    n_ann = coded.n_annotators
    n_ratings = np.bincount(a, minlength=n_ann)
    n_scored = np.bincount(a[ok], minlength=n_ann).astype(np.float64)
    got = np.bincount(a[ok], weights=score[ok], minlength=n_ann)
    exp = np.bincount(a[ok], weights=expected[ok], minlength=n_ann)
    with np.errstate(invalid="ignore", divide="ignore"):
        agreement = got / n_scored
        expected_rate = exp / n_scored
        scaled = (got - exp) / np.sqrt(n_scored)  # shortfall x sqrt(n): comparable across n
    testable = (n_scored >= min_ratings) & np.isfinite(scaled)
    z = np.full(n_ann, np.nan)
    if testable.sum() >= 3:
        centre = float(np.median(scaled[testable]))
        spread = 1.4826 * float(np.median(np.abs(scaled[testable] - centre)))
        if spread > 0:
            z = np.where(testable, (scaled - centre) / spread, np.nan)
    testable &= np.isfinite(z)
    p = np.where(testable, stats.norm.cdf(z), np.nan)
    p_adj = benjamini_hochberg(p)
    flagged = testable & (p_adj < alpha) & (agreement - expected_rate <= -flag_gap)

    ds: DawidSkeneResult | None = None
    ds_note: str | None = None
    reliability = np.full(n_ann, np.nan)
    if coded.n_categories > MAX_DS_CATEGORIES:
        ds_note = f"skipped: {coded.n_categories} categories (Dawid-Skene needs at most {MAX_DS_CATEGORIES})"
    elif coded.n_categories < 2:
        ds_note = "skipped: a single category"
    else:
        ds = dawid_skene(
            coded.item,
            coded.annotator,
            coded.label,
            n_items=coded.n_items,
            n_annotators=n_ann,
            n_categories=coded.n_categories,
        )
        reliability = ds.reliability
    frame = pd.DataFrame(
        {
            "annotator_id": coded.annotator_ids.astype(str),
            "n_ratings": n_ratings,
            "n_scored": n_scored.astype(np.int64),
            "loo_agreement": agreement,
            "expected_agreement": expected_rate,
            "z": z,
            "p_value": p,
            "p_adjusted": p_adj,
            "ds_reliability": reliability,
            "flagged": flagged,
        }
    )
    frame["flag_reasons"] = [["low_loo_agreement"] if f else [] for f in flagged]
    return AnnotatorReport(frame, ds, ds_note)
