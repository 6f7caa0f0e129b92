"""Krippendorff's alpha is NaN, never an exception, when no rating is present, at every level.

The exact ordinal statistic reshapes per-item coincidences into ``(rows, C, C)``; with no
category at all (C = 0) the row count cannot be inferred, which used to raise a reshape error
where nominal, interval and ratio returned NaN.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from rlhf_eval.audit import krippendorff_alpha
from rlhf_eval.audit._agreement import count_coefficients
from rlhf_eval.audit._counts import ItemCounts

LEVELS = ["nominal", "ordinal", "interval", "ratio"]


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("matrix", [np.full((3, 4), np.nan), [[None, None], [None, None]]])
def test_all_missing_matrix_is_nan(level: str, matrix: object) -> None:
    assert math.isnan(krippendorff_alpha(matrix, level=level))


@pytest.mark.parametrize("level", LEVELS)
def test_all_missing_bootstrap_is_nan(level: str) -> None:
    coef = count_coefficients(ItemCounts.from_matrix(np.full((2, 5), np.nan)), level, n_boot=20, seed=0)[
        "krippendorff_alpha"
    ]
    assert math.isnan(coef.estimate.value)
    assert coef.n_items == 0


def test_ordinal_value_is_unchanged_where_defined() -> None:
    # 2 coders x 3 units; unit 3 has one value and drops out. By hand: n = (2, 1, 1) for
    # values 1, 2, 3; o_23 = o_32 = 1, d_23 = 1, so D_o = 2; D_e = 2 (2*2.25 + 2*6.25 + 1) = 36;
    # alpha = 1 - 3 * 2 / 36 = 5/6
    data = [[1, 2, None], [1, 3, 3]]
    assert krippendorff_alpha(data, level="ordinal") == pytest.approx(5 / 6, abs=1e-12)
