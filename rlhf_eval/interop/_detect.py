"""Which tool wrote a log: lm-evaluation-harness output or an Inspect log, told apart by its files."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from rlhf_eval.errors import UserError
from rlhf_eval.interop._common import ImportResult

Source = Literal["auto", "lm-eval", "inspect"]
SOURCES = ("auto", "lm-eval", "inspect")
_FIRST_KEY = re.compile(rb'^\s*\{\s*"([^"]+)"')


def detect_source(path: str | os.PathLike[str]) -> Literal["lm-eval", "inspect"]:
    """``lm-eval`` or ``inspect`` for a log file or folder; anything else is a UserError naming it."""
    p = Path(path)
    if p.is_dir():
        if any(p.glob("results_*.json")) or any(p.glob("*/results_*.json")):
            return "lm-eval"
        if any(p.glob("*.eval")):
            return "inspect"
        if any(_json_kind(f) == "inspect" for f in sorted(p.glob("*.json"))):
            return "inspect"
        raise UserError(f"{p}: no lm-eval results_*.json and no Inspect .eval/.json logs in this folder")
    if not p.is_file():
        raise UserError(f"{p}: no such file or directory")
    if p.suffix == ".eval":
        return "inspect"
    if p.suffix == ".jsonl" and p.name.startswith("samples_"):
        return "lm-eval"
    kind = _json_kind(p) if p.suffix == ".json" else None
    if kind is None:
        raise UserError(
            f"{p}: not an lm-eval results file (results_<timestamp>.json) or an Inspect log (.eval, .json)"
        )
    return kind


def _json_kind(p: Path) -> Literal["lm-eval", "inspect"] | None:
    """Peek at a .json file's first key (``results``: lm-eval, ``version``: Inspect), else parse it."""
    try:
        with p.open("rb") as fh:
            head = fh.read(65536)
    except OSError as exc:
        raise UserError(f"{p}: cannot read ({exc})") from None
    m = _FIRST_KEY.match(head)
    first = m.group(1).decode("utf-8", "replace") if m else None
    if first == "results":
        return "lm-eval"
    if first == "version" and b'"eval"' in head:
        return "inspect"
    try:
        doc: Any = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if isinstance(doc, dict):
        if "lm_eval_version" in doc or ("results" in doc and "configs" in doc):
            return "lm-eval"
        if "eval" in doc and "version" in doc:
            return "inspect"
    return None


def import_logs(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    source: Source = "auto",
    item_id: Literal["doc_hash", "doc_id"] = "doc_hash",
    category_field: str | None = None,
    seed: int = 0,
    command: str | None = None,
) -> ImportResult:
    """Import lm-eval output or Inspect logs (``source="auto"`` tells them apart) as a run directory."""
    from rlhf_eval.interop._inspect import import_inspect
    from rlhf_eval.interop._lm_eval import import_lm_eval

    items = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    if not items:
        raise UserError("give a log file or folder to import")
    if source not in SOURCES:
        raise UserError(f"unknown log source {source!r}; use one of {', '.join(SOURCES)}")
    kinds = [detect_source(p) if source == "auto" else source for p in items]
    if len(set(kinds)) > 1:
        raise UserError(
            f"{items[kinds.index('inspect')]}: an Inspect log mixed with lm-eval output; import them separately"
        )
    if kinds[0] == "lm-eval":
        if len(items) > 1:
            raise UserError(f"{items[1]}: lm-eval output is imported one results file at a time")
        return import_lm_eval(
            items[0], out, item_id=item_id, category_field=category_field, seed=seed, command=command
        )
    if item_id != "doc_hash":
        raise UserError("--item-id applies to lm-eval output; Inspect items are keyed on their sample id")
    return import_inspect(items, out, category_field=category_field, seed=seed, command=command)
