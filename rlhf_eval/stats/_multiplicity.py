"""Multiple-comparison adjustments: Holm (family-wise error) and Benjamini-Hochberg (false discovery).

Both take any array-like of p-values and return adjusted p-values in the same order;
``nan`` entries (untested rows) pass through and do not count towards the family size.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _prepare(pvals: Sequence[float | None] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p = np.array([np.nan if v is None else v for v in np.asarray(pvals, dtype=object).ravel()], dtype=float)
    if np.any((p < 0) | (p > 1)):
        raise ValueError("p-values must lie in [0, 1]")
    return p, np.flatnonzero(np.isfinite(p))


def holm(pvals: Sequence[float | None] | np.ndarray) -> np.ndarray:
    """Holm (1979) step-down adjusted p-values: controls the family-wise error rate."""
    p, ok = _prepare(pvals)
    out = np.full(p.shape, np.nan)
    m = ok.size
    if m == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    scaled = (m - np.arange(m)) * p[order]
    out[order] = np.minimum(1.0, np.maximum.accumulate(scaled))
    return out


def benjamini_hochberg(pvals: Sequence[float | None] | np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg (1995) step-up adjusted p-values (q-values): controls the FDR."""
    p, ok = _prepare(pvals)
    out = np.full(p.shape, np.nan)
    m = ok.size
    if m == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    scaled = m / np.arange(1, m + 1) * p[order]
    out[order] = np.minimum(1.0, np.minimum.accumulate(scaled[::-1])[::-1])
    return out
