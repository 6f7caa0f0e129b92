"""The result of comparing two runs: rows for comparison.json plus table views for Python users."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rlhf_eval._io import atomic_write_json

if TYPE_CHECKING:
    import pandas as pd

SCHEMA = "rlhf-eval/comparison/1"
FLIP_COLUMNS = ["suite", "metric", "category", "item_id", "direction"]


@dataclass
class Comparison:
    """Before vs after: one row per metric path, item flips, the alignment-tax block, warnings.

    ``rows`` holds the comparison.json ``metrics`` entries; :attr:`metrics` and :attr:`flips`
    are pandas views of them. ``flip_records`` lists every flipped item of headline rows.
    """

    before: dict[str, Any]
    after: dict[str, Any]
    params: dict[str, Any]
    rows: list[dict[str, Any]] = field(default_factory=list)
    flip_records: list[dict[str, Any]] = field(default_factory=list)
    alignment_tax: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def metrics(self) -> pd.DataFrame:
        """One row per metric path (the comparison.json ``metrics`` entries as a table)."""
        import pandas as pd

        return pd.DataFrame(self.rows)

    @property
    def flips(self) -> pd.DataFrame:
        """Items whose binary metric changed: columns suite, metric, category, item_id, direction."""
        import pandas as pd

        return pd.DataFrame(self.flip_records, columns=FLIP_COLUMNS)

    def row(self, path: str) -> dict[str, Any]:
        """The row for metric ``path`` (``suite.metric`` or ``suite.metric.category``)."""
        for r in self.rows:
            if r["path"] == path:
                return r
        raise KeyError(path)

    def to_dict(self) -> dict[str, Any]:
        """The comparison.json content (see docs/formats.md)."""
        return {
            "schema": SCHEMA,
            "before": self.before,
            "after": self.after,
            "warnings": list(self.warnings),
            "params": dict(self.params),
            "metrics": self.rows,
            "alignment_tax": self.alignment_tax,
        }


def write_comparison(comparison: Comparison, path: str | os.PathLike[str]) -> None:
    """Write ``comparison`` as comparison.json, atomically (strict JSON: NaN becomes null)."""
    atomic_write_json(path, comparison.to_dict())
