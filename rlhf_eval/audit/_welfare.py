"""Annotator welfare: exposure to harmful items, per annotator and per group.

An item is harmful when any of its rows carries a harm flag, or a harm score at or above
``harm_threshold``. Each annotator's exposure is the count and share of the items they
reviewed that are harmful, and, when ``seconds_spent`` is given, the time spent on them.
An annotator is flagged (``welfare_flagged``) when their share is at least
``share_threshold`` and they reviewed at least ``min_harmful`` harmful items (so one harmful
item out of two does not flag): a policy threshold, which chance alone can cross. Whether
the exposure is *more than chance* is ``harm_excess``: a one-sided binomial test of the
annotator's harmful count against the rest of the pool's share, Benjamini-Hochberg-adjusted
across annotators (``harm_p_adjusted < 0.05``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from rlhf_eval.audit._groups import Grouping, rating_groups
from rlhf_eval.audit._load import CodedRatings, harm_flags, numeric_column
from rlhf_eval.audit._stats import benjamini_hochberg

FloatArray = npt.NDArray[np.float64]

DEFAULT_HARM_THRESHOLD = 0.5
DEFAULT_SHARE_THRESHOLD = 0.3
DEFAULT_MIN_HARMFUL = 3


def item_harm(coded: CodedRatings, harm_threshold: float) -> FloatArray | None:
    """Per item: 1.0 harmful, 0.0 not, NaN unknown (None when there is no harm column)."""
    if "harm" not in coded.frame.columns:
        return None
    flags = harm_flags(coded.frame["harm"], threshold=harm_threshold, rows=coded.rows, name="ratings")
    ok = np.isfinite(flags)
    harmful = np.bincount(coded.item[ok], weights=flags[ok], minlength=coded.n_items) > 0
    known = np.bincount(coded.item[ok], minlength=coded.n_items) > 0
    return np.where(known, harmful.astype(np.float64), np.nan)


def welfare(
    coded: CodedRatings,
    groupings: list[Grouping],
    *,
    k: int,
    harm_threshold: float = DEFAULT_HARM_THRESHOLD,
    share_threshold: float = DEFAULT_SHARE_THRESHOLD,
    min_harmful: int = DEFAULT_MIN_HARMFUL,
) -> tuple[dict[str, Any], pd.DataFrame]:
    """The welfare section and a per-annotator exposure DataFrame (empty without a harm column)."""
    harm = item_harm(coded, harm_threshold)
    if harm is None:
        return {"available": False, "reason": "no harm column"}, pd.DataFrame()
    h = harm[coded.item]
    known = np.isfinite(h)
    a = coded.annotator
    n_ann = coded.n_annotators
    n_known = np.bincount(a[known], minlength=n_ann)
    n_harm = np.bincount(a[known], weights=h[known], minlength=n_ann)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(n_known > 0, n_harm / n_known, np.nan)
    frame = pd.DataFrame(
        {
            "annotator_id": coded.annotator_ids.astype(str),
            "n_reviewed": n_known,
            "n_harmful": n_harm.astype(np.int64),
            "harm_share": share,
        }
    )
    has_time = "seconds_spent" in coded.frame.columns
    if has_time:
        secs = numeric_column(
            coded.frame, "seconds_spent", rows=coded.rows, name="ratings", non_negative=True
        )
        ok = np.isfinite(secs)
        total = np.bincount(a[ok], weights=secs[ok], minlength=n_ann)
        harmful_time = np.bincount(
            a[ok & known], weights=(secs * np.nan_to_num(h))[ok & known], minlength=n_ann
        )
        frame["seconds_total"] = total
        frame["seconds_harmful"] = harmful_time
        with np.errstate(invalid="ignore", divide="ignore"):
            frame["harm_time_share"] = np.where(total > 0, harmful_time / total, np.nan)
    frame["welfare_flagged"] = (share >= share_threshold) & (n_harm >= min_harmful)
    pool_share = float(h[known].mean()) if known.any() else float("nan")
    # is the exposure above the rest of the pool's? one-sided binomial, BH across annotators
    others_n = n_known.sum() - n_known
    with np.errstate(invalid="ignore", divide="ignore"):
        others_share = (n_harm.sum() - n_harm) / others_n
    p = np.where(
        (n_known > 0) & (others_n > 0),
        stats.binom.sf(n_harm - 1, n_known, np.clip(others_share, 1e-12, 1.0)),
        np.nan,
    )
    frame["harm_p_value"] = p
    frame["harm_p_adjusted"] = benjamini_hochberg(p)
    frame["harm_excess"] = frame["harm_p_adjusted"].to_numpy() < 0.05
    harm_counts = np.sort(n_harm)[::-1]
    decile = max(1, int(np.ceil(n_ann / 10)))
    by_group: dict[str, Any] = {}
    flagged = frame["welfare_flagged"].to_numpy()
    for grouping in groupings:
        gcode = rating_groups(grouping, coded)

        def cell(
            g: int, name: str, grouping: Grouping = grouping, gcode: Any = gcode
        ) -> dict[str, Any] | None:
            sel = known & (gcode == g)
            if not sel.any():
                return None
            return {
                "n_reviewed": int(sel.sum()),
                "n_harmful": int(h[sel].sum()),
                "harm_share": float(h[sel].mean()),
                "n_flagged_annotators": int(flagged[grouping.codes == g].sum()),
            }

        by_group[grouping.name] = grouping.cells(k, cell)
    section = {
        "available": True,
        "harm_threshold": harm_threshold,
        "share_threshold": share_threshold,
        "min_harmful": min_harmful,
        "n_items_harmful": int(np.nansum(harm)),
        "n_items_harm_unknown": int(np.isnan(harm).sum()),
        "pool_harm_share": pool_share,
        "harmful_reviews_top_decile_share": float(harm_counts[:decile].sum() / harm_counts.sum())
        if harm_counts.sum() > 0
        else None,
        "n_flagged": int(frame["welfare_flagged"].sum()),
        "n_excess_exposure": int(frame["harm_excess"].sum()),
        "time_available": has_time,
        "by_group": by_group,
    }
    return section, frame
