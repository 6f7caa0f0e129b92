"""Krippendorff's alpha at nominal, ordinal, interval and ratio level, sparse and vectorised.

Our own implementation (the popular ``krippendorff`` package is GPL and builds a dense
annotator x item matrix). With per-item counts ``n_uc``, ``m_u = sum_c n_uc`` and the
coincidence matrix ``o_ck = sum_u n_uc n_uk / (m_u - 1)`` (self-pairs removed),

    alpha = 1 - (n - 1) * sum_ck o_ck d_ck / sum_ck n_c n_k d_ck

where ``n_c`` are the marginals of ``o`` (values in items with at least two ratings; the
others are not pairable and drop out) and ``d_ck`` is the squared difference function of
the level. The numerator is a sum of per-item terms, computed without the C x C matrix:

* nominal: ``(m_u^2 - sum_c n_uc^2) / (m_u - 1)``;
* interval: ``2 (m_u S2_u - S1_u^2) / (m_u - 1)`` with ``S1, S2`` the item's sums of values
  and squared values;
* ordinal: interval on mid-ranks ``r_c = sum_{g<c} n_g + n_c / 2``, because Krippendorff's
  ordinal metric equals ``(r_k - r_c)^2``; the ranks depend on the marginals, so an exact
  bootstrap carries the per-item coincidences (C <= 64 categories; above that the ranks of
  the full sample are held fixed within replicates, which ``ordinal_ci_exact`` reports);
* ratio: ``((c - k) / (c + k))^2`` summed over pairs of distinct values within each item.

The expected disagreement depends only on the marginals ``n_c``, so every replicate of the
item bootstrap is exact (see ``_bootstrap``).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from rlhf_eval.audit._counts import ItemCounts
from rlhf_eval.audit._pairs import pairs_within
from rlhf_eval.errors import UserError

FloatArray = npt.NDArray[np.float64]

#: Above this many categories the ordinal bootstrap holds the mid-ranks fixed.
MAX_EXACT_ORDINAL_CATEGORIES = 64
_BLOCK_CELLS = 4_000_000


def ratio_delta(values: FloatArray, other: FloatArray) -> FloatArray:
    """Krippendorff's squared ratio difference ``((c - k) / (c + k))^2`` (0 where both are 0)."""
    num = values - other
    den = values + other
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(den == 0, 0.0, (num / np.where(den == 0, 1.0, den)) ** 2)
    return np.asarray(out, dtype=np.float64)


class AlphaFeatures:
    """Per-unit features of Krippendorff's alpha and the statistic that reads their sums.

    ``columns`` is the feature matrix (units x p) and :meth:`statistic` maps summed rows
    ``(b, p)`` to alpha values ``(b,)``. ``offset`` places these columns inside a larger
    matrix shared with other coefficients.
    """

    def __init__(self, ic: ItemCounts, level: str, *, offset: int = 0) -> None:
        if level not in ("nominal", "ordinal", "interval", "ratio"):
            raise UserError(f"level {level!r}: expected nominal, ordinal, interval or ratio")
        if level != "nominal" and not np.isfinite(ic.values).all():
            raise UserError(f"level {level!r} needs ordered numeric categories; use nominal")
        self.level = level
        self.n_cat = ic.n_categories
        self.offset = offset
        m = ic.per_item()
        pairable = m >= 2
        w_e = np.where(pairable[ic.item], ic.count, 0.0)
        denom = np.where(pairable, m - 1.0, 1.0)
        vals = ic.values.copy()
        if level == "interval":
            # centre values: differences are unchanged and sums of squares stay well conditioned
            tot = w_e.sum()
            if tot > 0:
                vals = vals - float(np.bincount(ic.cat, weights=w_e, minlength=self.n_cat) @ vals / tot)
        self.values = vals
        self.ordinal_exact = level == "ordinal" and self.n_cat <= MAX_EXACT_ORDINAL_CATEGORIES
        nc = ic.category_matrix(w_e)
        blocks: list[sp.spmatrix | sp.sparray] = [nc]
        if level == "nominal":
            sq = ic.per_item(w_e * ic.count)
            do = np.where(pairable, (m * m - sq) / denom, 0.0)
            blocks.append(sp.csr_matrix(do[:, None]))
        elif level == "interval" or (level == "ordinal" and not self.ordinal_exact):
            x = (
                vals
                if level == "interval"
                else _midranks(np.bincount(ic.cat, weights=w_e, minlength=self.n_cat).astype(np.float64))[0]
            )
            s1 = ic.per_item(w_e * x[ic.cat])
            s2 = ic.per_item(w_e * x[ic.cat] ** 2)
            do = np.where(pairable, 2.0 * (m * s2 - s1 * s1) / denom, 0.0)
            blocks.append(sp.csr_matrix(np.maximum(do, 0.0)[:, None]))
        elif level == "ratio":
            i, j = pairs_within(ic.item)
            keep = pairable[ic.item[i]]
            i, j = i[keep], j[keep]
            contrib = 2.0 * ic.count[i] * ic.count[j] * ratio_delta(vals[ic.cat[i]], vals[ic.cat[j]])
            do = np.bincount(ic.item[i], weights=contrib, minlength=ic.n_items) / denom
            blocks.append(sp.csr_matrix(do[:, None]))
        else:  # exact ordinal: per-item coincidences o_u[c, k] for c != k
            i, j = pairs_within(ic.item)
            keep = pairable[ic.item[i]]
            i, j = i[keep], j[keep]
            val = ic.count[i] * ic.count[j] / denom[ic.item[i]]
            rows = np.r_[ic.item[i], ic.item[i]]
            cols = np.r_[ic.cat[i] * self.n_cat + ic.cat[j], ic.cat[j] * self.n_cat + ic.cat[i]]
            blocks.append(sp.csr_matrix((np.r_[val, val], (rows, cols)), shape=(ic.n_items, self.n_cat**2)))
        self.columns = sp.hstack(blocks, format="csr")
        self.width = self.columns.shape[1]
        self.n_items = int(pairable.sum())
        self.n_ratings = int(m[pairable].sum())

    def statistic(self, sums: FloatArray) -> FloatArray:
        """Alpha for each row of summed features (NaN where fewer than two values vary)."""
        s = sums[:, self.offset : self.offset + self.width]
        nc = s[:, : self.n_cat]
        n = nc.sum(axis=1)
        de = expected_disagreement(nc, self.values, self.level)
        if self.level == "ordinal" and self.ordinal_exact:
            ranks = _midranks(nc)
            # an explicit row count: with no categories (all ratings missing) -1 cannot be inferred
            o = s[:, self.n_cat :].reshape(s.shape[0], self.n_cat, self.n_cat)
            do = 2.0 * ((o.sum(axis=2) * ranks**2).sum(axis=1) - np.einsum("bck,bc,bk->b", o, ranks, ranks))
        else:
            do = s[:, self.n_cat]
        varied = (nc > 0).sum(axis=1) >= 2
        with np.errstate(invalid="ignore", divide="ignore"):
            alpha = 1.0 - (n - 1.0) * do / de
        return np.where(varied & (de > 0), alpha, np.nan)


def _midranks(nc: FloatArray) -> FloatArray:
    """Mid-rank of each category given marginal counts (rows of ``nc``)."""
    arr = np.atleast_2d(nc)
    return np.asarray(np.cumsum(arr, axis=1) - arr / 2.0, dtype=np.float64)


def expected_disagreement(nc: FloatArray, values: FloatArray, level: str) -> FloatArray:
    """``sum_ck n_c n_k d_ck`` for each row of marginal counts ``nc`` (shape ``(b, C)``)."""
    n = nc.sum(axis=1)
    if level == "nominal":
        return np.asarray(n * n - (nc * nc).sum(axis=1), dtype=np.float64)
    if level == "ratio":
        return _quadratic_form(nc, values)
    x = _midranks(nc) if level == "ordinal" else np.broadcast_to(values, nc.shape)
    return np.asarray(2.0 * (n * (nc * x**2).sum(axis=1) - (nc * x).sum(axis=1) ** 2), dtype=np.float64)


def category_coordinates(level: str, values: FloatArray, marginals: FloatArray) -> FloatArray:
    """Per-category coordinate of the level's metric: values (interval, ratio), mid-ranks
    (ordinal, from the pairable marginals) or codes (nominal, compared for equality)."""
    if level == "ordinal":
        return _midranks(marginals.astype(np.float64))[0]
    if level == "nominal":
        return np.arange(len(values), dtype=np.float64)
    return np.asarray(values, dtype=np.float64)


def pair_delta(level: str, x: FloatArray, y: FloatArray) -> FloatArray:
    """Squared difference ``d(x, y)`` of the level between category coordinates."""
    if level == "nominal":
        return np.asarray(x != y, dtype=np.float64)
    if level == "ratio":
        return ratio_delta(x, y)
    return np.asarray((x - y) ** 2, dtype=np.float64)


def _quadratic_form(nc: FloatArray, values: FloatArray) -> FloatArray:
    """``sum_ck n_c n_k d_ratio(c, k)`` per row, in column blocks to bound memory."""
    n_cat = len(values)
    out = np.zeros(nc.shape[0])
    step = max(1, _BLOCK_CELLS // max(n_cat, 1))
    for lo in range(0, n_cat, step):
        hi = min(n_cat, lo + step)
        delta = ratio_delta(values[:, None], values[None, lo:hi])
        out += ((nc @ delta) * nc[:, lo:hi]).sum(axis=1)
    return out


def alpha_from_counts(ic: ItemCounts, level: str = "nominal") -> float:
    """Krippendorff's alpha of an :class:`ItemCounts` (NaN when undefined)."""
    feats = AlphaFeatures(ic, level)
    totals = np.asarray(feats.columns.sum(axis=0), dtype=np.float64).reshape(1, -1)
    value = float(feats.statistic(totals)[0])
    return value if math.isfinite(value) else math.nan
