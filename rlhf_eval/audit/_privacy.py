"""Privacy: keyed pseudonyms for annotator ids and small-cell suppression.

* Pseudonyms are ``ann-`` + the first 12 hex digits of HMAC-SHA256(key, id). With a fixed
  key (``--pseudonym-key`` or ``$RLHF_EVAL_PSEUDONYM_KEY``) they are stable across audits,
  so the same annotator can be followed over time; without one a random key is drawn per
  audit, so outputs cannot be linked. The key itself is never written.
* No group or intersection cell with fewer than ``k`` annotators is shown. Because totals
  and the other cells are shown, a single hidden cell could be recovered by subtraction, so
  suppression is *complementary*: while a row or column of a table has exactly one hidden
  cell, the smallest visible cell of it is hidden too.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt

KEY_ENV = "RLHF_EVAL_PSEUDONYM_KEY"
DEFAULT_MIN_GROUP_SIZE = 5


def resolve_key(key: str | bytes | None) -> tuple[bytes, bool]:
    """The pseudonym key and whether it was supplied (False = random for this audit)."""
    if key is None:
        key = os.environ.get(KEY_ENV) or None
    if key is None:
        return os.urandom(32), False
    return (key.encode("utf-8") if isinstance(key, str) else key), True


def pseudonymise(ids: Iterable[object], key: bytes) -> list[str]:
    """Keyed-hash pseudonym of each id (same id and key -> same pseudonym)."""
    return ["ann-" + hmac.new(key, str(i).encode("utf-8"), hashlib.sha256).hexdigest()[:12] for i in ids]


def suppressed_cell(k: int, *, complementary: bool = False) -> dict[str, Any]:
    """The JSON marker written in place of a hidden cell."""
    if complementary:
        return {
            "suppressed": True,
            "reason": "complementary: hidden so a smaller hidden group cannot be recovered",
        }
    return {"suppressed": True, "reason": f"fewer than {k} annotators"}


def suppression_mask(counts: npt.ArrayLike, k: int) -> npt.NDArray[np.bool_]:
    """Cells to hide in a 1-D or 2-D table of annotator counts (True = hidden).

    Cells with ``0 < count < k`` are hidden; zero cells identify nobody and stay visible
    (they also count as known). Then complementary suppression along every row and column.
    """
    table = np.atleast_2d(np.asarray(counts, dtype=np.float64))
    hidden = (table > 0) & (table < k)
    changed = True
    while changed:
        changed = False
        for axis_table, axis_hidden in ((table, hidden), (table.T, hidden.T)):
            for row, row_hidden in zip(axis_table, axis_hidden, strict=True):
                if row_hidden.sum() == 1:
                    visible = np.flatnonzero(~row_hidden & (row > 0))
                    if len(visible):
                        row_hidden[visible[np.argmin(row[visible])]] = True
                        changed = True
    return hidden.reshape(np.shape(counts)) if np.ndim(counts) == 2 else hidden[0]
