"""Exact McNemar against the published worked example, scipy and statsmodels."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.contingency_tables import mcnemar

from rlhf_eval.stats import mcnemar_exact


def test_worked_example_b80_c5() -> None:
    # shared/reference: 250 items, b=80, c=5 -> p = 2 * BinomCDF(5; 85, 0.5) ~= 1.8e-18
    p = mcnemar_exact(80, 5)
    assert p == pytest.approx(2 * stats.binom.cdf(5, 85, 0.5), rel=1e-12)
    assert p == pytest.approx(stats.binomtest(5, 85, 0.5).pvalue, rel=1e-9)
    assert p == pytest.approx(1.8057729139e-18, rel=1e-9)
    assert 1.80e-18 < p < 1.81e-18


@pytest.mark.parametrize(("b", "c"), [(0, 0), (1, 0), (3, 3), (10, 2), (2, 10), (25, 40), (200, 170)])
def test_matches_statsmodels_exact(b: int, c: int) -> None:
    expected = mcnemar(np.array([[50, b], [c, 60]]), exact=True).pvalue
    assert mcnemar_exact(b, c) == pytest.approx(min(1.0, expected), rel=1e-12, abs=1e-300)


def test_edge_cases() -> None:
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(4, 4) == 1.0  # capped at 1
    assert mcnemar_exact(7, 2) == mcnemar_exact(2, 7)
    with pytest.raises(ValueError):
        mcnemar_exact(-1, 2)
