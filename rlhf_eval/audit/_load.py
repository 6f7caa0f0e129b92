"""Read and validate the audit's input tables and encode ratings as integer codes.

Everything downstream works on :class:`CodedRatings`: one integer code per item, annotator
and label, so statistics are ``np.bincount`` calls over the long table and never need a dense
annotator x item matrix. Every problem with user input raises a one-line
:class:`~rlhf_eval.errors.UserError` naming the file, the row (1-based, header excluded) and
the column.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from rlhf_eval._io import read_text
from rlhf_eval.errors import UserError

LEVELS = ("nominal", "ordinal", "interval", "ratio")

#: Canonical column names of the ratings table; ``--column canonical=source`` maps others.
RATING_COLUMNS = (
    "item_id",
    "annotator_id",
    "label",
    "strength",
    "prompt",
    "response_a",
    "response_b",
    "seconds_spent",
    "harm",
    "reward_a",
    "reward_b",
)
REQUIRED_RATING_COLUMNS = ("item_id", "annotator_id", "label")

#: Pairwise preference vocabulary (case-insensitive) and the order used at ordinal level.
PAIRWISE_ORDER = ("A", "tie", "B")
_PAIRWISE_WORDS = {"a": "A", "b": "B", "tie": "tie"}
_TRUE_WORDS = {"1", "true", "t", "yes", "y", "harmful"}
_FALSE_WORDS = {"0", "false", "f", "no", "n", "safe", "harmless", ""}

#: An annotator attribute with more distinct values than this is skipped (bin it first).
MAX_ATTRIBUTE_LEVELS = 50


def read_table(
    source: str | os.PathLike[str], *, string_columns: Sequence[str] = (), allow_empty: bool = False
) -> pd.DataFrame:
    """Read a CSV/TSV, JSONL, JSON, Parquet file or a ``datasets`` source into a DataFrame.

    ``source`` may be a file path, a folder written by ``datasets.Dataset.save_to_disk``, or
    ``hf:NAME[:SPLIT]`` for a Hub dataset (only where the Hub is reachable). Columns named in
    ``string_columns`` are read as strings so ids such as ``007`` keep their leading zeros.
    Text files go through :func:`rlhf_eval._io.read_text` (a BOM and CRLF line ends are
    read correctly; an empty file, a non-UTF-8 byte or an over-long line is a one-line error
    naming the file and line). A table without rows (a header-only CSV) is an error unless
    ``allow_empty``: every audit input needs at least one row.
    """
    text = os.fspath(source)
    if text.startswith("hf:"):
        return _read_datasets_hub(text)
    path = Path(text)
    if path.is_dir():
        return _read_datasets_disk(path)
    if not path.is_file():
        raise UserError(f"{path}: file not found")
    suffix = "".join(path.suffixes[-2:]).lower() if path.suffix.lower() == ".gz" else path.suffix.lower()
    dtypes = dict.fromkeys(string_columns, "string")
    try:
        if suffix in (".csv", ".csv.gz", ".tsv", ".tsv.gz", ".txt"):
            sep = "\t" if suffix.startswith(".tsv") else ","
            body = read_text(path, expect="a header row and one row per record")
            frame = pd.read_csv(io.StringIO(body), sep=sep, dtype=dtypes, keep_default_na=True)
        elif suffix in (".jsonl", ".ndjson", ".jsonl.gz"):
            body = read_text(path, expect="one JSON object per line")
            frame = pd.read_json(io.StringIO(body), lines=True, dtype=False)
        elif suffix == ".json":
            body = read_text(path, expect="a JSON table of records", max_line_bytes=None)
            frame = pd.read_json(io.StringIO(body), dtype=False)
        elif suffix in (".parquet", ".pq"):
            if path.stat().st_size == 0:
                raise UserError(f"{path}: empty file (expected a Parquet table)")
            frame = pd.read_parquet(path)
        else:
            raise UserError(
                f"{path}: unknown file type {suffix!r} (use .csv, .tsv, .jsonl, .json or .parquet)"
            )
    except UserError:
        raise
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"{path}: cannot read as {suffix.lstrip('.')} ({first})") from None
    if len(frame) == 0 and not allow_empty:
        raise UserError(f"{path}: no rows (only a header)" if len(frame.columns) else f"{path}: no rows")
    return frame.reset_index(drop=True)


def _read_datasets_hub(text: str) -> pd.DataFrame:
    parts = text[3:].split(":")
    name, split = parts[0], (parts[1] if len(parts) > 1 and parts[1] else "train")
    try:
        import datasets

        ds = datasets.load_dataset(name, split=split)
    except Exception as exc:  # network, missing dataset, bad split: all user-facing
        raise UserError(
            f"{text}: cannot load dataset ({type(exc).__name__}: {str(exc).splitlines()[0]})"
        ) from None
    frame = ds.to_pandas()
    assert isinstance(frame, pd.DataFrame)
    return frame


def _read_datasets_disk(path: Path) -> pd.DataFrame:
    try:
        import datasets

        ds = datasets.load_from_disk(str(path))
    except Exception as exc:
        raise UserError(f"{path}: folder is not a saved `datasets` dataset ({type(exc).__name__})") from None
    if isinstance(ds, datasets.DatasetDict):
        ds = ds["train"] if "train" in ds else next(iter(ds.values()))
    frame = ds.to_pandas()
    assert isinstance(frame, pd.DataFrame)
    return frame


def parse_column_map(pairs: Sequence[str] | None) -> dict[str, str]:
    """Parse ``["label=choice", "item_id=qid"]`` into ``{"label": "choice", ...}``."""
    mapping: dict[str, str] = {}
    for pair in pairs or ():
        canonical, sep, source = pair.partition("=")
        canonical, source = canonical.strip(), source.strip()
        if not sep or not canonical or not source:
            raise UserError(f"--column {pair!r}: expected CANONICAL=SOURCE, e.g. label=choice")
        if canonical not in RATING_COLUMNS:
            raise UserError(
                f"--column {pair!r}: unknown column {canonical!r} (one of {', '.join(RATING_COLUMNS)})"
            )
        mapping[canonical] = source
    return mapping


def apply_column_map(
    frame: pd.DataFrame, mapping: Mapping[str, str], name: str, *, keys: Sequence[str] | None = None
) -> pd.DataFrame:
    """Rename mapped source columns to their canonical names.

    ``keys`` limits the mapping to some canonical names (the annotator table only uses
    ``annotator_id``); there a missing source column is skipped when the canonical name is
    already present. A mapped source missing from the ratings table is an error.
    """
    renames: dict[str, str] = {}
    for canonical, source in mapping.items():
        if source == canonical or (keys is not None and canonical not in keys):
            continue
        if source not in frame.columns:
            if keys is not None and canonical in frame.columns:
                continue
            raise UserError(
                f"{name}: no column {source!r} to use as {canonical!r} (columns: {_list(frame.columns)})"
            )
        renames[source] = canonical
    if not renames:
        return frame
    clash = [c for c in renames.values() if c in frame.columns and c not in renames]
    return frame.drop(columns=clash).rename(columns=renames)


def _list(columns: Any) -> str:
    names = [str(c) for c in columns]
    return ", ".join(names[:20]) + (", ..." if len(names) > 20 else "")


@dataclass(frozen=True)
class CodedRatings:
    """Ratings as integer codes: the input of every statistic in :mod:`rlhf_eval.audit`.

    ``item``, ``annotator`` and ``label`` hold one code per rating. ``values[c]`` is the
    numeric value of category ``c`` (NaN where categories are unordered); categories are
    sorted by value, so codes are ordered wherever values are. ``rows`` maps each rating
    back to its 1-based row in the input file (for error messages).
    """

    item: npt.NDArray[np.int64]
    annotator: npt.NDArray[np.int64]
    label: npt.NDArray[np.int64]
    categories: list[str]
    values: npt.NDArray[np.float64]
    item_ids: pd.Index
    annotator_ids: pd.Index
    label_kind: str
    level: str
    n_possible_categories: int
    rows: npt.NDArray[np.int64]
    frame: pd.DataFrame = field(repr=False)
    n_missing_labels: int = 0
    n_duplicate_ratings: int = 0

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @property
    def n_annotators(self) -> int:
        return len(self.annotator_ids)

    @property
    def n_categories(self) -> int:
        return len(self.categories)

    @property
    def n_ratings(self) -> int:
        return len(self.label)


def encode_ratings(
    frame: pd.DataFrame,
    *,
    level: str = "nominal",
    label_order: Sequence[str] | None = None,
    name: str = "ratings",
) -> CodedRatings:
    """Validate a long ratings table and encode it (see :class:`CodedRatings`).

    Rows with a missing label are dropped and counted. A second rating by the same
    annotator of the same item is dropped (the first is kept) and counted: agreement
    statistics assume one value per annotator and item. Pairwise labels (``A``, ``B``,
    ``tie``; any case) are nominal by default, ordered ``A < tie < B`` at ordinal level, and
    take ``-strength`` / ``0`` / ``+strength`` as values when a ``strength`` column exists.
    """
    if level not in LEVELS:
        raise UserError(f"--level {level!r}: expected one of {', '.join(LEVELS)}")
    missing = [c for c in REQUIRED_RATING_COLUMNS if c not in frame.columns]
    if missing:
        raise UserError(
            f"{name}: missing column {missing[0]!r} (columns: {_list(frame.columns)}; "
            f"map one with --column {missing[0]}=NAME)"
        )
    if len(frame) == 0:
        raise UserError(f"{name}: no rows")
    frame = frame.reset_index(drop=True)
    rows_all = np.arange(1, len(frame) + 1, dtype=np.int64)
    # factorize ids as they are (fast on object/arrow strings); NaN gets code -1
    item_all, item_ids = pd.factorize(frame["item_id"], sort=False)
    ann_all, ann_ids = pd.factorize(frame["annotator_id"], sort=False)
    for col, codes_all in (("item_id", item_all), ("annotator_id", ann_all)):
        if (codes_all < 0).any():
            raise UserError(f"{name}: row {int(rows_all[codes_all < 0][0])}: column {col!r} is empty")

    label_raw = frame["label"]
    present = ~_is_blank(label_raw)
    n_missing = int((~present).sum())
    if not present.any():
        raise UserError(f"{name}: column 'label' has no values")
    if n_missing:
        frame = frame.loc[present].reset_index(drop=True)
    rows = rows_all[present] if n_missing else rows_all
    label_raw = frame["label"]

    kind, categories, values, label_codes, n_possible = _encode_labels(
        frame, label_raw, rows, level=level, label_order=label_order, name=name
    )
    _check_optional_columns(frame, rows, name)
    item_codes, ann_codes = item_all.astype(np.int64), ann_all.astype(np.int64)
    if n_missing:  # renumber so items and annotators without any label drop out
        item_codes, kept = pd.factorize(item_codes[present], sort=True)
        item_ids = np.asarray(item_ids)[kept]
        ann_codes, kept = pd.factorize(ann_codes[present], sort=True)
        ann_ids = np.asarray(ann_ids)[kept]
        item_codes, ann_codes = item_codes.astype(np.int64), ann_codes.astype(np.int64)
    key = item_codes * max(len(ann_ids), 1) + ann_codes
    dup = pd.Series(key).duplicated().to_numpy()
    n_dup = int(dup.sum())
    if n_dup:
        keep = ~dup
        frame = frame.loc[keep].reset_index(drop=True)
        item_codes, ann_codes, label_codes, rows = (
            item_codes[keep],
            ann_codes[keep],
            label_codes[keep],
            rows[keep],
        )
    return CodedRatings(
        item=item_codes,
        annotator=ann_codes,
        label=label_codes,
        categories=categories,
        values=values,
        item_ids=pd.Index(np.asarray(item_ids).astype(str)),
        annotator_ids=pd.Index(np.asarray(ann_ids).astype(str)),
        label_kind=kind,
        level=level,
        n_possible_categories=n_possible,
        rows=rows,
        frame=frame,
        n_missing_labels=n_missing,
        n_duplicate_ratings=n_dup,
    )


def _check_optional_columns(frame: pd.DataFrame, rows: npt.NDArray[np.int64], name: str) -> None:
    """Fail early, naming the row, on optional columns the audit would read later."""
    if "seconds_spent" in frame.columns:
        numeric_column(frame, "seconds_spent", rows=rows, name=name, non_negative=True)
    for col in ("reward_a", "reward_b"):
        if col in frame.columns:
            numeric_column(frame, col, rows=rows, name=name)
    if "harm" in frame.columns:
        harm_flags(frame["harm"], threshold=0.5, rows=rows, name=name)


def _is_blank(series: pd.Series) -> npt.NDArray[np.bool_]:
    blank = np.array(series.isna().to_numpy(), dtype=bool)
    if series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
        stripped = series.astype("string").str.strip()
        blank |= (stripped == "").fillna(True).to_numpy(dtype=bool)
    return np.asarray(blank, dtype=bool)


def _encode_labels(
    frame: pd.DataFrame,
    raw: pd.Series,
    rows: npt.NDArray[np.int64],
    *,
    level: str,
    label_order: Sequence[str] | None,
    name: str,
) -> tuple[str, list[str], npt.NDArray[np.float64], npt.NDArray[np.int64], int]:
    """Return (kind, category names, category values, code per rating, possible categories)."""
    if pd.api.types.is_bool_dtype(raw.dtype):
        raw = raw.astype(np.int64)
    if label_order is not None:
        order = [str(x).strip() for x in label_order]
        if len(set(order)) != len(order) or not order:
            raise UserError(
                f"--label-order: categories must be distinct and non-empty, got {list(label_order)}"
            )
        text = raw.astype("string").str.strip()
        codes = pd.Categorical(text, categories=order).codes.astype(np.int64)
        bad = codes < 0
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise UserError(
                f"{name}: row {int(rows[i])}: column 'label': {str(text.iloc[i])!r} is not in --label-order {order}"
            )
        return "categorical", order, np.arange(len(order), dtype=np.float64), codes, len(order)

    if pd.api.types.is_numeric_dtype(raw.dtype):
        numeric = raw.to_numpy(dtype=np.float64)
    else:
        text = raw.astype("string").str.strip()
        lower = text.str.lower()
        if bool(lower.isin(list(_PAIRWISE_WORDS)).all()):
            return _encode_pairwise(frame, lower, rows, level=level, name=name)
        numeric = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64)
        if np.isnan(numeric).any():
            if level != "nominal":
                i = int(np.flatnonzero(np.isnan(numeric))[0])
                raise UserError(
                    f"{name}: row {int(rows[i])}: column 'label': {str(text.iloc[i])!r} is not a number; "
                    f"--level {level} needs numeric labels, pairwise A/B/tie, or --label-order"
                )
            codes_i, uniques = pd.factorize(text, sort=True)
            cats = [str(u) for u in uniques]
            return "categorical", cats, np.full(len(cats), np.nan), codes_i.astype(np.int64), len(cats)
    if not np.isfinite(numeric).all():
        i = int(np.flatnonzero(~np.isfinite(numeric))[0])
        raise UserError(f"{name}: row {int(rows[i])}: column 'label': {numeric[i]!r} is not a finite number")
    if level == "ratio" and (numeric < 0).any():
        i = int(np.flatnonzero(numeric < 0)[0])
        raise UserError(
            f"{name}: row {int(rows[i])}: column 'label': {numeric[i]:g} is negative; "
            "--level ratio needs non-negative values with a true zero"
        )
    codes_i, uniques = pd.factorize(numeric, sort=True)
    vals = np.asarray(uniques, dtype=np.float64)
    cats = [_fmt_number(v) for v in vals]
    return "numeric", cats, vals, codes_i.astype(np.int64), len(cats)


def _encode_pairwise(
    frame: pd.DataFrame, lower: pd.Series, rows: npt.NDArray[np.int64], *, level: str, name: str
) -> tuple[str, list[str], npt.NDArray[np.float64], npt.NDArray[np.int64], int]:
    canon = lower.map(_PAIRWISE_WORDS)
    if level == "ratio":
        raise UserError(
            f"{name}: pairwise labels (A/B/tie) have no true zero; use --level nominal, ordinal or interval"
        )
    if "strength" in frame.columns and level in ("ordinal", "interval"):
        strength = pd.to_numeric(frame["strength"], errors="coerce").to_numpy(dtype=np.float64)
        sign = canon.map({"A": -1.0, "tie": 0.0, "B": 1.0}).to_numpy(dtype=np.float64)
        bad = (sign != 0) & ~(np.isfinite(strength) & (strength >= 0))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise UserError(
                f"{name}: row {int(rows[i])}: column 'strength': {frame['strength'].iloc[i]!r} "
                "is not a non-negative number"
            )
        signed = np.where(sign == 0, 0.0, sign * np.nan_to_num(strength))
        codes_i, uniques = pd.factorize(signed, sort=True)
        vals = np.asarray(uniques, dtype=np.float64)
        cats = ["tie" if v == 0 else f"{'A' if v < 0 else 'B'}:{_fmt_number(abs(v))}" for v in vals]
        return "pairwise", cats, vals, codes_i.astype(np.int64), len(cats)
    codes = pd.Categorical(canon, categories=list(PAIRWISE_ORDER)).codes.astype(np.int64)
    vals = np.array([-1.0, 0.0, 1.0]) if level != "nominal" else np.full(3, np.nan)
    return "pairwise", list(PAIRWISE_ORDER), vals, codes, 3


def _fmt_number(v: float) -> str:
    return str(int(v)) if float(v).is_integer() and abs(v) < 1e15 else repr(float(v))


def harm_flags(
    series: pd.Series, *, threshold: float, rows: npt.NDArray[np.int64], name: str
) -> npt.NDArray[np.float64]:
    """Parse a harm column (flag or score) to 1.0 harmful / 0.0 not / NaN unknown, per rating."""
    if pd.api.types.is_bool_dtype(series.dtype):
        return series.astype("float64").to_numpy()
    if pd.api.types.is_numeric_dtype(series.dtype):
        score = series.to_numpy(dtype=np.float64)
    else:
        text = series.astype("string").str.strip().str.lower()
        score = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64)
        words = text.fillna("").to_numpy(dtype=object)
        is_true = np.isin(words, list(_TRUE_WORDS))
        is_false = np.isin(words, list(_FALSE_WORDS)) & series.notna().to_numpy()
        score = np.where(is_true, 1.0, np.where(is_false & np.isnan(score), 0.0, score))
        bad = np.isnan(score) & series.notna().to_numpy() & ~np.isin(words, ["", "nan", "none", "null"])
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise UserError(
                f"{name}: row {int(rows[i])}: column 'harm': {series.iloc[i]!r} is neither a flag "
                "(true/false/1/0/yes/no) nor a score"
            )
    out = np.where(np.isnan(score), np.nan, (score >= threshold).astype(np.float64))
    return np.asarray(out, dtype=np.float64)


def numeric_column(
    frame: pd.DataFrame, column: str, *, rows: npt.NDArray[np.int64], name: str, non_negative: bool = False
) -> npt.NDArray[np.float64]:
    """A numeric optional column (NaN where empty); text that is not a number is an error."""
    series = frame[column]
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64)
    bad = np.isnan(values) & ~_is_blank(series)
    if non_negative:
        bad |= values < 0
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        what = "a non-negative number" if non_negative else "a number"
        raise UserError(f"{name}: row {int(rows[i])}: column {column!r}: {series.iloc[i]!r} is not {what}")
    return values


@dataclass(frozen=True)
class AnnotatorTable:
    """Demographic attributes per annotator, aligned to :attr:`CodedRatings.annotator_ids`.

    ``codes[attr]`` holds one group code per annotator (-1 = missing / not in the table) and
    ``groups[attr]`` the group names.
    """

    attributes: list[str]
    codes: dict[str, npt.NDArray[np.int64]]
    groups: dict[str, list[str]]
    n_not_in_table: int
    warnings: list[str]


def encode_annotators(
    frame: pd.DataFrame | None,
    annotator_ids: pd.Index,
    *,
    attributes: Sequence[str] | None = None,
    name: str = "annotators",
    id_column: str = "annotator_id",
) -> AnnotatorTable:
    """Validate the annotator table and align its attributes to the rated annotators."""
    if frame is None:
        return AnnotatorTable([], {}, {}, len(annotator_ids), [])
    if id_column not in frame.columns:
        raise UserError(
            f"{name}: missing column {id_column!r} (columns: {_list(frame.columns)}; "
            f"map it with --column annotator_id=NAME)"
        )
    frame = frame.reset_index(drop=True)
    ids = frame[id_column]
    empty = ids.isna().to_numpy()
    if empty.any():
        raise UserError(f"{name}: row {int(np.flatnonzero(empty)[0]) + 1}: column {id_column!r} is empty")
    candidates = [c for c in frame.columns if c != id_column]
    warnings: list[str] = []
    if attributes is not None:
        unknown = [a for a in attributes if a not in frame.columns]
        if unknown:
            raise UserError(
                f"--attributes: {name} has no column {unknown[0]!r} (columns: {_list(candidates)})"
            )
        chosen = list(attributes)
    else:  # every other column but rating columns (the table may be the long ratings table itself)
        chosen = [str(c) for c in candidates if c not in RATING_COLUMNS]
    # one row per annotator: repeated identical rows collapse, conflicting ones are an error
    table = frame[[id_column, *chosen]].astype("string")
    for attr in chosen:
        text = table[attr].str.strip()
        table[attr] = text.mask(text == "")
    table = table.drop_duplicates()
    dup = table[id_column].duplicated().to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        first = table[table[id_column] == table[id_column].iloc[i]].iloc[0]
        attr = next(a for a in chosen if str(first[a]) != str(table[a].iloc[i]))
        raise UserError(
            f"{name}: row {int(table.index[i]) + 1}: annotator {str(table[id_column].iloc[i])!r} has a second, "
            f"different value of {attr!r} ({str(table[attr].iloc[i])!r} vs {str(first[attr])!r})"
        )
    position = pd.Index(table[id_column]).get_indexer(annotator_ids.astype("string"))
    n_not_in_table = int((position < 0).sum())
    codes: dict[str, npt.NDArray[np.int64]] = {}
    groups: dict[str, list[str]] = {}
    kept: list[str] = []
    for attr in chosen:
        codes_i, uniques = pd.factorize(table[attr], sort=True)
        if len(uniques) > MAX_ATTRIBUTE_LEVELS:
            warnings.append(
                f"attribute {attr!r} skipped: {len(uniques)} distinct values (bin it into at most "
                f"{MAX_ATTRIBUTE_LEVELS} groups, e.g. age bands)"
            )
            continue
        if len(uniques) == 0:
            warnings.append(f"attribute {attr!r} skipped: no values")
            continue
        aligned = np.where(position >= 0, codes_i[np.clip(position, 0, None)], -1).astype(np.int64)
        codes[attr] = aligned
        groups[attr] = [str(u) for u in uniques]
        kept.append(attr)
    if n_not_in_table:
        warnings.append(
            f"{n_not_in_table} rated annotator(s) are not in {name}; their attributes count as missing"
        )
    return AnnotatorTable(kept, codes, groups, n_not_in_table, warnings)


def read_reference_population(
    frame: pd.DataFrame, *, name: str = "reference_population"
) -> dict[str, dict[str, float]]:
    """Parse a reference population table: columns ``attribute``, ``group`` and ``share`` (or ``count``).

    Shares are normalised to sum to 1 within each attribute. Intersections may be given as
    attribute ``a&b`` with group ``x&y``.
    """
    weight_col = "share" if "share" in frame.columns else ("count" if "count" in frame.columns else None)
    for col in ("attribute", "group"):
        if col not in frame.columns:
            raise UserError(f"{name}: missing column {col!r} (expected attribute, group, share)")
    if weight_col is None:
        raise UserError(f"{name}: missing column 'share' (or 'count')")
    frame = frame.reset_index(drop=True)
    weights = pd.to_numeric(frame[weight_col], errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(weights) | (weights < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise UserError(
            f"{name}: row {i + 1}: column {weight_col!r}: {frame[weight_col].iloc[i]!r} is not a non-negative number"
        )
    out: dict[str, dict[str, float]] = {}
    for i, (attr, group) in enumerate(
        zip(frame["attribute"].astype(str), frame["group"].astype(str), strict=True)
    ):
        cell = out.setdefault(attr.strip(), {})
        if group.strip() in cell:
            raise UserError(f"{name}: row {i + 1}: group {group!r} of {attr!r} appears twice")
        cell[group.strip()] = float(weights[i])
    for attr, cell in out.items():
        total = sum(cell.values())
        if not total > 0 or not math.isfinite(total):
            raise UserError(f"{name}: attribute {attr!r}: shares sum to {total:g}")
        out[attr] = {g: v / total for g, v in cell.items()}
    return out
