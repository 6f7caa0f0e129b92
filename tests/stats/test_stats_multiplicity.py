"""Holm and Benjamini-Hochberg against statsmodels.multipletests."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from rlhf_eval.stats import benjamini_hochberg, holm


@pytest.mark.parametrize("seed", range(5))
def test_match_statsmodels(seed: int) -> None:
    rng = np.random.default_rng(seed)
    p = np.concatenate([rng.random(15), rng.random(5) * 1e-3, [0.01, 0.01]])  # ties included
    rng.shuffle(p)
    assert holm(p) == pytest.approx(multipletests(p, method="holm")[1], abs=1e-15)
    assert benjamini_hochberg(p) == pytest.approx(multipletests(p, method="fdr_bh")[1], abs=1e-15)


def test_nan_and_none_pass_through() -> None:
    p = [0.01, None, 0.04, float("nan"), 0.03]
    h = holm(p)
    assert np.isnan(h[1]) and np.isnan(h[3])
    assert h[[0, 2, 4]] == pytest.approx(multipletests([0.01, 0.04, 0.03], method="holm")[1])
    b = benjamini_hochberg(p)
    assert b[[0, 2, 4]] == pytest.approx([0.03, 0.04, 0.04])
    assert holm([]).size == 0 and benjamini_hochberg([None]).tolist()[0] != 0


def test_known_values() -> None:
    assert holm([0.01, 0.04, 0.03]).tolist() == pytest.approx([0.03, 0.06, 0.06])
    assert benjamini_hochberg([0.01, 0.04, 0.03]).tolist() == pytest.approx([0.03, 0.04, 0.04])
    with pytest.raises(ValueError):
        holm([1.5])
