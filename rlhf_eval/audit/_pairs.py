"""Enumerate pairs of positions that share a group, vectorised (no Python loop over groups)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]


def pairs_within(group: npt.NDArray[np.integer]) -> tuple[IntArray, IntArray]:
    """All index pairs ``i < j`` with ``group[i] == group[j]``, for ``group`` sorted ascending.

    The output has ``sum(size * (size - 1) / 2)`` pairs over the runs of equal values, built
    with ``np.repeat`` in O(pairs).
    """
    g = np.asarray(group)
    n = len(g)
    if n < 2:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    sizes = np.diff(np.r_[starts, n])
    pos = np.arange(n, dtype=np.int64) - np.repeat(starts, sizes)
    n_after = np.repeat(sizes, sizes) - pos - 1
    first = np.repeat(np.arange(n, dtype=np.int64), n_after)
    total = int(n_after.sum())
    offsets = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(n_after) - n_after, n_after)
    return first, first + 1 + offsets
