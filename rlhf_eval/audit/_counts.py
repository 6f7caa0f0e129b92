"""Per-item value counts in sparse form, built from the long table with ``np.bincount``.

An :class:`ItemCounts` holds one entry per (item, category) that occurs: the item's code,
the category's code and how many ratings of the item fell in that category. Every
count-based agreement coefficient (Krippendorff's alpha, Fleiss' kappa, Gwet's AC1,
percent agreement) is a sum over items of a per-item contribution computed from these
entries, which is what makes an item bootstrap a matrix product (see ``_bootstrap``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from rlhf_eval.errors import UserError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# Dense (item x category) bincount is used when it has at most this many cells.
_DENSE_CELLS = 50_000_000
# Items are compressed to distinct count patterns when there are at most this many.
_MAX_PATTERNS = 20_000


@dataclass(frozen=True)
class ItemCounts:
    """Sparse per-item category counts.

    Attributes:
        n_items: number of items (rows), including items with a single rating.
        item, cat, count: one entry per (item, category) present, sorted by item.
        values: numeric value of each category, shape ``(n_categories,)`` (NaN = unordered).
        n_possible_categories: categories a rating could take (``q`` of Gwet's AC1), which
            may exceed the observed ones, e.g. 3 for pairwise A/tie/B.
    """

    n_items: int
    item: IntArray
    cat: IntArray
    count: FloatArray
    values: FloatArray
    n_possible_categories: int

    @property
    def n_categories(self) -> int:
        return len(self.values)

    @classmethod
    def from_codes(
        cls,
        item: npt.ArrayLike,
        label: npt.ArrayLike,
        *,
        n_items: int,
        values: npt.ArrayLike,
        n_possible_categories: int | None = None,
    ) -> ItemCounts:
        """Count ratings per (item, category) from long-format integer codes."""
        item_a = np.asarray(item, dtype=np.int64)
        label_a = np.asarray(label, dtype=np.int64)
        vals = np.asarray(values, dtype=np.float64)
        n_cat = len(vals)
        if n_items * n_cat <= _DENSE_CELLS:
            dense = np.bincount(item_a * n_cat + label_a, minlength=n_items * n_cat)
            key = np.flatnonzero(dense)
            count = dense[key].astype(np.float64)
        else:
            key, cnt = np.unique(item_a * n_cat + label_a, return_counts=True)
            count = cnt.astype(np.float64)
        return cls(
            n_items=n_items,
            item=(key // n_cat).astype(np.int64),
            cat=(key % n_cat).astype(np.int64),
            count=count,
            values=vals,
            n_possible_categories=n_possible_categories or n_cat,
        )

    @classmethod
    def from_counts(
        cls,
        counts: npt.ArrayLike,
        values: npt.ArrayLike | None = None,
        *,
        n_possible_categories: int | None = None,
    ) -> ItemCounts:
        """From a dense items x categories count matrix (e.g. the Fleiss table layout)."""
        mat = np.asarray(counts, dtype=np.float64)
        if mat.ndim != 2:
            raise UserError(f"counts: expected a 2-D items x categories matrix, got shape {mat.shape}")
        if (mat < 0).any() or not np.array_equal(mat, np.round(mat)):
            raise UserError("counts: entries must be non-negative whole numbers")
        vals = (
            np.arange(mat.shape[1], dtype=np.float64)
            if values is None
            else np.asarray(values, dtype=np.float64)
        )
        if len(vals) != mat.shape[1]:
            raise UserError(f"counts: {mat.shape[1]} columns but {len(vals)} category values")
        rows, cols = np.nonzero(mat)
        return cls(
            n_items=mat.shape[0],
            item=rows.astype(np.int64),
            cat=cols.astype(np.int64),
            count=mat[rows, cols],
            values=vals,
            n_possible_categories=n_possible_categories or mat.shape[1],
        )

    @classmethod
    def from_matrix(
        cls,
        data: Sequence[Sequence[float | None]] | npt.NDArray[np.float64],
        *,
        layout: str = "raters_x_items",
    ) -> ItemCounts:
        """From a reliability-data matrix with ``None``/NaN for a missing rating.

        ``layout`` is ``"raters_x_items"`` (Krippendorff's layout: one row per observer)
        or ``"items_x_raters"`` (Fleiss' layout: one row per subject). Categories are the
        distinct numeric values, sorted.
        """
        if isinstance(data, np.ndarray):
            mat = np.asarray(data, dtype=np.float64)
        else:
            mat = np.array([[np.nan if v is None else v for v in row] for row in data], dtype=np.float64)  # type: ignore[union-attr]
        if layout == "raters_x_items":
            mat = mat.T
        elif layout != "items_x_raters":
            raise UserError(f"layout {layout!r}: expected 'raters_x_items' or 'items_x_raters'")
        item_idx, _ = np.nonzero(~np.isnan(mat))
        vals = mat[~np.isnan(mat)]
        uniq, codes = np.unique(vals, return_inverse=True)
        return cls.from_codes(item_idx, codes, n_items=mat.shape[0], values=uniq)

    def per_item(self, weights: FloatArray | None = None) -> FloatArray:
        """``sum over the item's entries of weights`` (``count`` by default), per item."""
        w = self.count if weights is None else weights
        return np.bincount(self.item, weights=w, minlength=self.n_items).astype(np.float64)

    def ratings_per_item(self) -> FloatArray:
        """m_u: the number of ratings of each item."""
        return self.per_item()

    def category_matrix(self, weights: FloatArray) -> sp.csr_matrix:
        """Sparse items x categories matrix with ``weights`` at each (item, category) entry."""
        return sp.csr_matrix((weights, (self.item, self.cat)), shape=(self.n_items, self.n_categories))

    def dense(self) -> FloatArray:
        """The dense items x categories count matrix (only for small tables)."""
        out = np.zeros((self.n_items, self.n_categories))
        out[self.item, self.cat] = self.count
        return out

    def compress(self) -> tuple[ItemCounts, FloatArray | None]:
        """Collapse items with identical count vectors into patterns with multiplicities.

        Returns ``(patterns, multiplicity)``; ``multiplicity`` is None when compression does
        not pay (too many categories or too many distinct patterns), in which case the
        original object is returned. With 5 ratings over 3 categories there are at most 21
        patterns however many items, so sums and bootstrap draws cost nothing.
        """
        n_cat = self.n_categories
        if self.n_items == 0 or self.n_items * n_cat > _DENSE_CELLS:
            return self, None
        m_max = int(self.count.max()) if len(self.count) else 0
        base = m_max + 1
        if n_cat * np.log2(base) >= 62:
            return self, None
        powers = base ** np.arange(n_cat, dtype=np.int64)
        key = _segment_sum_int(self.item, self.count.astype(np.int64) * powers[self.cat], self.n_items)
        uniq, mult = np.unique(key, return_counts=True)
        if len(uniq) > _MAX_PATTERNS or len(uniq) * 4 > self.n_items:
            return self, None
        digits = (uniq[:, None] // powers[None, :]) % base
        rows, cols = np.nonzero(digits)
        patterns = ItemCounts(
            n_items=len(uniq),
            item=rows.astype(np.int64),
            cat=cols.astype(np.int64),
            count=digits[rows, cols].astype(np.float64),
            values=self.values,
            n_possible_categories=self.n_possible_categories,
        )
        return patterns, mult.astype(np.float64)


def _segment_sum_int(index: IntArray, values: IntArray, n: int) -> IntArray:
    """Exact integer sum of ``values`` per ``index`` (``index`` sorted ascending)."""
    out = np.zeros(n, dtype=np.int64)
    if len(index) == 0:
        return out
    starts = np.flatnonzero(np.r_[True, index[1:] != index[:-1]])
    out[index[starts]] = np.add.reduceat(values, starts)
    return out
