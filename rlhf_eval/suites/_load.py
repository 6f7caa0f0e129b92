"""Find and load suites: built-in names, suite.yaml files, plain items files, public adapters.

Every spec and item is validated here, at load time, with errors that name the file, row
and field, so a bad suite fails before any model is loaded.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from rlhf_eval._io import iter_jsonl, read_text
from rlhf_eval.errors import UserError
from rlhf_eval.suites._spec import DataSource, Item, SubsetSpec, Suite, SuiteSpec

_FILE_BUILDERS = {".jsonl": "json", ".json": "json", ".csv": "csv", ".parquet": "parquet"}


def builtin_suites_dir() -> Path:
    """``$RLHF_EVAL_SUITES_DIR`` or the repository's ``suites/`` folder."""
    env = os.environ.get("RLHF_EVAL_SUITES_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "suites"


def builtin_suite_names() -> list[str]:
    """Names of the built-in suites (folders holding a suite.yaml)."""
    root = builtin_suites_dir()
    return sorted(p.parent.name for p in root.glob("*/suite.yaml")) if root.is_dir() else []


def load_suite(ref: str, *, limit: int | None = None) -> Suite:
    """Load a suite from a built-in name, a suite.yaml (or its folder), an items file or ``ADAPTER:SOURCE``."""
    adapter_name, sep, source = ref.partition(":")
    if sep and _adapter_names() and adapter_name in _adapter_names():
        return _load_adapter_suite(adapter_name, source, limit)
    path = Path(ref)
    if path.is_dir():
        path = path / "suite.yaml"
    if path.suffix in (".yaml", ".yml"):
        if not path.is_file():
            raise UserError(f"{path}: suite spec not found")
        return _load_spec_suite(path, limit)
    if path.suffix in _FILE_BUILDERS:
        if not path.is_file():
            raise UserError(f"{path}: items file not found")
        return _load_items_file(path, limit)
    builtin = builtin_suites_dir() / ref / "suite.yaml"
    if builtin.is_file():
        return _load_spec_suite(builtin, limit)
    known = ", ".join(builtin_suite_names()) or "none found"
    raise UserError(
        f"--suite {ref!r}: not a built-in suite ({known}), a suite.yaml, an items file "
        f"(.jsonl/.json/.csv/.parquet) or ADAPTER:SOURCE"
    )


def load_suites(refs: Sequence[str], *, limit: int | None = None) -> list[Suite]:
    """Load several suites; two suites with one name are an error."""
    suites = [load_suite(r, limit=limit) for r in refs]
    names = [s.name for s in suites]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise UserError(f"--suite: suite name(s) given twice: {', '.join(dupes)}")
    return suites


# -- spec suites -------------------------------------------------------------------------
def _load_spec_suite(path: Path, limit: int | None) -> Suite:
    text = read_text(path, expect="a suite spec: a YAML mapping with name, version and subsets")
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise UserError(f"{path}{where}: malformed YAML ({problem})") from None
    if not isinstance(raw, dict):
        raise UserError(f"{path}: expected a mapping with name, version and subsets")
    try:
        spec = SuiteSpec.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(x) for x in err["loc"]) or "(top level)"
        raise UserError(f"{path}: field '{loc}': {err['msg']}") from None
    digest = hashlib.sha256(text.encode())
    items: list[Item] = []
    for sub in spec.subsets:
        rows, label, data_hash = _read_rows(sub.data, path.parent)
        digest.update(data_hash.encode())
        if sub.adapter:
            rows = _get_adapter(sub.adapter).to_items(rows, label)
        items += _validate_items(rows, label, sub, spec.categories, template=sub.template)
    _check_unique(items, str(path))
    return Suite(spec, _limit(items, limit), "sha256:" + digest.hexdigest()[:32], str(path))


def _load_items_file(path: Path, limit: int | None) -> Suite:
    rows, label, data_hash = _read_rows(DataSource(path=str(path.resolve())), path.parent)
    is_mc = ["choices" in r and r["choices"] is not None for r in rows]
    subsets = []
    if not all(is_mc):
        subsets.append(
            SubsetSpec(
                name="generate",
                task="generate",
                data=DataSource(path=str(path)),
                scorers=[{"refusal": {"expect": "none"}}],
            )
        )
    if any(is_mc):
        subsets.append(
            SubsetSpec(
                name="multiple_choice",
                task="multiple_choice",
                data=DataSource(path=str(path)),
                scorers=["accuracy", "calibration"],
            )
        )
    spec = SuiteSpec(name=_safe_name(path.stem), version=data_hash[:12], subsets=subsets)
    items: list[Item] = []
    for sub in subsets:
        want_mc = sub.task == "multiple_choice"
        rows_sub = [(i, r) for i, r in enumerate(rows, 1) if is_mc[i - 1] == want_mc]
        items += _validate_items(
            [r for _, r in rows_sub], label, sub, [], row_numbers=[i for i, _ in rows_sub]
        )
    items.sort(key=lambda it: int(it.meta.pop("_row")))
    _check_unique(items, label)
    return Suite(spec, _limit(items, limit), "sha256:" + data_hash[:32], str(path))


def _load_adapter_suite(name: str, source: str, limit: int | None) -> Suite:
    adapter = _get_adapter(name)
    src, _, config = source.partition("#")
    src, _, split = src.partition("@")
    local = Path(src)
    if local.suffix in _FILE_BUILDERS:
        data = DataSource(path=str(local.resolve()))
    else:
        data = DataSource(hub=src, config=config or None, split=split or "test")
    rows, label, data_hash = _read_rows(data, Path.cwd())
    sub = SubsetSpec(
        name="main",
        task=adapter.task,
        data=data,
        adapter=name,
        scorers=adapter.default_scorers,
        **adapter.subset_options,
    )
    spec = SuiteSpec(
        name=_safe_name(name if data.hub else f"{name}-{local.stem}"), version=data_hash[:12], subsets=[sub]
    )
    items = _validate_items(adapter.to_items(rows, label), label, sub, [])
    _check_unique(items, label)
    return Suite(spec, _limit(items, limit), "sha256:" + data_hash[:32], f"{name}:{source}")


# -- rows and items ----------------------------------------------------------------------
def _read_rows(data: DataSource, base: Path) -> tuple[list[dict[str, Any]], str, str]:
    """Rows via `datasets` (local json/jsonl/csv/parquet or a Hub id), a label and a content hash."""
    import datasets

    datasets.disable_progress_bars()
    if data.path is not None:
        path = (base / data.path) if not Path(data.path).is_absolute() else Path(data.path)
        if not path.is_file():
            raise UserError(f"{path}: data file not found")
        builder = _FILE_BUILDERS.get(path.suffix)
        if builder is None:
            raise UserError(f"{path}: unsupported data file type (use .jsonl, .json, .csv or .parquet)")
        parsed = _precheck(path)
        try:
            if parsed is not None:
                ds = datasets.Dataset.from_list(parsed)
            else:
                ds = datasets.load_dataset(builder, data_files=str(path), split="train", keep_in_memory=True)
        except Exception as exc:  # datasets raises many types for malformed files
            raise UserError(f"{path}: cannot load ({_first_line(exc)})") from None
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        return _nonempty(ds.to_list(), str(path)), str(path), digest
    try:
        ds = datasets.load_dataset(data.hub, data.config, split=data.split)
    except Exception as exc:
        raise UserError(f"{data.hub}: cannot load from the Hub ({_first_line(exc)})") from None
    rows = _nonempty(ds.to_list(), str(data.hub))
    return rows, str(data.hub), hashlib.sha256(str(ds._fingerprint).encode()).hexdigest()


def _precheck(path: Path) -> list[dict[str, Any]] | None:
    """One-line errors for unreadable or empty items files, before `datasets` sees them.

    Text files go through the shared reader (empty, not UTF-8, an over-long line, a bad
    JSONL line); `datasets` reads a BOM and CRLF line ends correctly itself. Files without a
    row (a header-only CSV, ``[]``, a zero-row Parquet table) would otherwise fail inside
    `datasets` with a message about splits. A ``.json`` list of objects is returned parsed:
    `datasets` sniffs the file's first bytes to tell a JSON list from JSON lines, and a list
    that starts with much whitespace came back as one ``text`` column of whole rows.
    """
    if path.suffix == ".jsonl":
        for _ in iter_jsonl(path, allow_empty=False):
            pass
    elif path.suffix == ".csv":
        text = read_text(path, expect="a header row and one item per row")
        if sum(1 for line in text.split("\n") if line.strip()) < 2:
            raise UserError(f"{path}: no items (only a header row)")
    elif path.suffix == ".json":
        text = read_text(path, expect="a JSON list of items", max_line_bytes=None)
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            return None  # maybe JSON lines in a .json file, which `datasets` reads
        if data == [] or data == {}:
            raise UserError(f"{path}: no items (an empty JSON list)")
        if isinstance(data, list) and all(isinstance(row, dict) for row in data):
            return data
    elif path.suffix == ".parquet":
        import pyarrow.parquet as pq

        if path.stat().st_size == 0:
            raise UserError(f"{path}: empty file (expected a Parquet table of items)")
        try:
            n_rows = pq.ParquetFile(path).metadata.num_rows
        except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, ... for non-Parquet files
            raise UserError(f"{path}: cannot read as Parquet ({_first_line(exc)})") from None
        if n_rows == 0:
            raise UserError(f"{path}: no items (a Parquet table with no rows)")
    return None


def _nonempty(rows: list[dict[str, Any]], label: str) -> list[dict[str, Any]]:
    """``rows``, or a one-line error when there are none (a header-only CSV, ``[]``)."""
    if not rows:
        raise UserError(f"{label}: no items (the file has no rows)")
    return rows


def _first_line(exc: Exception) -> str:
    """The first line of an exception's message, at most 200 characters, never empty."""
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else type(exc).__name__)[:200]


_CORE = {"id", "prompt", "category", "choices", "gold"}


def _validate_items(
    rows: Sequence[dict[str, Any]],
    label: str,
    sub: SubsetSpec,
    categories: Sequence[str],
    *,
    template: str = "{prompt}",
    row_numbers: Sequence[int] | None = None,
) -> list[Item]:
    items = []
    mc = sub.task == "multiple_choice"
    for pos, row in enumerate(rows):
        n = row_numbers[pos] if row_numbers else pos + 1
        where = f"{label}: row {n}"
        if row.get("id") is None or str(row["id"]).strip() == "":
            raise UserError(f"{where}: missing field 'id'")
        if template == "{prompt}" and not isinstance(row.get("prompt"), str):
            raise UserError(f"{where}: missing field 'prompt' (a string)")
        try:
            prompt = template.format(**row)
        except KeyError as exc:
            raise UserError(f"{where}: template field {exc.args[0]!r} missing from the item") from None
        except (IndexError, ValueError) as exc:
            raise UserError(f"{label}: template {template!r} is malformed ({exc})") from None
        if not prompt.strip():
            raise UserError(f"{where}: field 'prompt' is empty")
        category = row.get("category")
        category = "default" if category is None or category == "" else str(category)
        if categories and category not in categories:
            raise UserError(f"{where}: field 'category': {category!r} is not one of the suite's categories")
        choices = gold = None
        if mc:
            choices = row.get("choices")
            if (
                not isinstance(choices, list)
                or len(choices) < 2
                or not all(isinstance(c, str) and c for c in choices)
            ):
                raise UserError(f"{where}: field 'choices' must be a list of at least 2 non-empty strings")
            gold = row.get("gold")
            if isinstance(gold, bool) or not isinstance(gold, int):
                raise UserError(f"{where}: field 'gold' must be an integer index into 'choices'")
            if not 0 <= gold < len(choices):
                raise UserError(f"{where}: field 'gold' = {gold} is out of range for {len(choices)} choices")
        meta = {k: v for k, v in row.items() if k not in _CORE and v is not None}
        if row_numbers:
            meta["_row"] = n
        items.append(Item(str(row["id"]), prompt, category, sub.name, sub.task, choices, gold, meta))
    return items


def _check_unique(items: Sequence[Item], label: str) -> None:
    seen: set[str] = set()
    for it in items:
        if it.id in seen:
            raise UserError(f"{label}: duplicate item id {it.id!r}")
        seen.add(it.id)


def _limit(items: list[Item], limit: int | None) -> list[Item]:
    """At most ``limit`` items of each subset, taken round-robin across its categories.

    So ``--limit 16`` on an 11-category suite still sees every category; items keep their
    suite order.
    """
    if limit is None:
        return items
    if limit < 1:
        raise UserError("--limit must be at least 1")
    by_cell: dict[tuple[str, str], list[int]] = {}
    for i, it in enumerate(items):
        by_cell.setdefault((it.subset, it.category), []).append(i)
    chosen: set[int] = set()
    for subset in dict.fromkeys(it.subset for it in items):
        queues = [q for (sub, _), q in by_cell.items() if sub == subset]
        taken, depth = 0, 0
        while taken < limit and any(depth < len(q) for q in queues):
            for q in queues:
                if depth < len(q) and taken < limit:
                    chosen.add(q[depth])
                    taken += 1
            depth += 1
    return [it for i, it in enumerate(items) if i in chosen]


def _safe_name(stem: str) -> str:
    return "".join(c if c.isalnum() or c in "_.-" else "_" for c in stem) or "suite"


def _adapter_names() -> set[str]:
    try:
        from rlhf_eval.suites._adapters import ADAPTERS
    except ImportError:
        return set()
    return set(ADAPTERS)


def _get_adapter(name: str) -> Any:
    from rlhf_eval.suites._adapters import get_adapter

    return get_adapter(name)
