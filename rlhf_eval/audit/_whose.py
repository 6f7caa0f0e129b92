"""Whose preferences does the reward model follow? Its agreement with each group's majority.

For pairwise labels with reward-model scores of both responses: on each item the reward
model prefers B when ``reward_b > reward_a`` (A when lower; equal scores are skipped), a
group's majority prefers the side with more of the group's votes (``tie`` votes count for
neither; items where the group is split evenly are skipped), and the agreement is the share
of items where the two coincide, with a Wilson 95 % interval (items are independent).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from rlhf_eval.audit._groups import Grouping, rating_groups
from rlhf_eval.audit._load import CodedRatings, numeric_column
from rlhf_eval.audit._stats import wilson_interval

FloatArray = npt.NDArray[np.float64]


def preference_sides(coded: CodedRatings) -> FloatArray:
    """-1 for an A preference, +1 for B, 0 for tie, per category of pairwise labels."""
    return np.array(
        [-1.0 if c.startswith("A") else 1.0 if c.startswith("B") else 0.0 for c in coded.categories]
    )


def reward_preference(coded: CodedRatings) -> FloatArray | None:
    """Per item: +1 if the reward model scores B higher, -1 if A, 0 if equal, NaN if unknown."""
    frame = coded.frame
    if coded.label_kind != "pairwise" or "reward_a" not in frame.columns or "reward_b" not in frame.columns:
        return None
    sums = []
    for col in ("reward_a", "reward_b"):
        values = numeric_column(frame, col, rows=coded.rows, name="ratings")
        ok = np.isfinite(values)
        total = np.bincount(coded.item[ok], weights=values[ok], minlength=coded.n_items)
        count = np.bincount(coded.item[ok], minlength=coded.n_items)
        with np.errstate(invalid="ignore", divide="ignore"):
            sums.append(np.where(count > 0, total / count, np.nan))
    return np.asarray(np.sign(sums[1] - sums[0]), dtype=np.float64)


def _agreement(
    coded: CodedRatings, side: FloatArray, mask: npt.NDArray[np.bool_], rm: FloatArray, confidence: float
) -> dict[str, Any]:
    votes = np.bincount(coded.item[mask], weights=side[mask], minlength=coded.n_items)
    majority = np.sign(votes)
    rated = np.bincount(coded.item[mask], minlength=coded.n_items) > 0
    usable = rated & (majority != 0) & np.isfinite(rm) & (rm != 0)
    n = int(usable.sum())
    hits = int((majority[usable] == rm[usable]).sum())
    lo, hi = wilson_interval(hits, n, confidence)
    return {"value": hits / n if n else None, "ci_low": lo, "ci_high": hi, "n_items": n}


def whose_preferences(
    coded: CodedRatings, groupings: list[Grouping], *, k: int, confidence: float = 0.95
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Reward-model agreement with everyone's and each visible group's majority preference."""
    rm = reward_preference(coded)
    if rm is None:
        reason = (
            "labels are not pairwise preferences"
            if coded.label_kind != "pairwise"
            else "no reward_a / reward_b columns"
        )
        return {"available": False, "reason": reason}, pd.DataFrame()
    side = preference_sides(coded)[coded.label]
    everyone = np.ones(coded.n_ratings, dtype=bool)
    overall = _agreement(coded, side, everyone, rm, confidence)
    rows = [{"grouping": None, "group": None, **overall}]
    by_group: dict[str, Any] = {}
    for grouping in groupings:
        gcode = rating_groups(grouping, coded)

        def cell(g: int, name: str, grouping: Grouping = grouping, gcode: Any = gcode) -> dict[str, Any]:
            res = _agreement(coded, side, gcode == g, rm, confidence)
            rows.append({"grouping": grouping.name, "group": name, **res})
            return res

        by_group[grouping.name] = grouping.cells(k, cell)
    section = {
        "available": True,
        "definition": "share of items where the reward model prefers the same response as the majority",
        "overall": overall,
        "by_group": by_group,
    }
    return section, pd.DataFrame(rows)
