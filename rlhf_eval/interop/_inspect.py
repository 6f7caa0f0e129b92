"""Read Inspect eval logs (``.eval`` or ``.json``) into a run directory, through inspect_ai's own reader.

Each log's task becomes a suite and each (sample, epoch) an item: ``item_id`` is the sample id
(``ID@EPOCH`` when the log has several epochs, with the sample id as the ``cluster`` so that
compare treats the epochs of one sample as one cluster). Every scorer becomes a per-item
metric: ``C``/``I``/``N`` grades read 1/0/0 (a proportion), ``P`` 0.5 and numbers as they are
(a mean). inspect_ai is needed only when importing and is not imported before.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rlhf_eval.errors import UserError
from rlhf_eval.interop._common import (
    ImportResult,
    SuiteData,
    as_number,
    category_slug,
    metric_slug,
    short_hash,
    suite_name,
    versions,
    write_run,
)
from rlhf_eval.scoring._base import MetricDef

_GRADES = {"C": 1.0, "I": 0.0, "N": 0.0}
_PARTIAL = "P"
INSTALL_HINT = "reading Inspect logs needs inspect_ai: pip install inspect_ai"


def _reader() -> Any:
    """inspect_ai's ``read_eval_log``, or a one-line UserError saying how to install it."""
    try:
        from inspect_ai.log import read_eval_log
    except ImportError:
        raise UserError(INSTALL_HINT) from None
    return read_eval_log


def find_logs(path: Path) -> list[Path]:
    """The Inspect log files ``path`` names: the file itself, or every ``.eval``/``.json`` log in the folder."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise UserError(f"{path}: no such file or directory")
    found = sorted(p for p in path.iterdir() if p.suffix in (".eval", ".json") and p.is_file())
    found = [p for p in found if p.name not in ("logs.json", "listing.json")]  # Inspect's own indexes
    if not found:
        raise UserError(f"{path}: no Inspect logs (.eval or .json) in this folder")
    return found


def import_inspect(
    path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    category_field: str | None = None,
    seed: int = 0,
    command: str | None = None,
) -> ImportResult:
    """Import Inspect log(s) of one model (a file, several, or a log folder) as a run directory at ``out``."""
    paths = [Path(path)] if isinstance(path, (str, os.PathLike)) else [Path(p) for p in path]
    files = [f for p in paths for f in find_logs(p)]
    read = _reader()
    warnings: list[str] = []
    suites: list[SuiteData] = []
    seen: dict[str, Path] = {}
    model: dict[str, Any] | None = None
    model_file: Path | None = None
    headers: list[dict[str, Any]] = []
    for f in files:
        log = _read(read, f)
        sd, header, model_block = _log_suite(log, f, category_field, warnings)
        if sd.name in seen:
            raise UserError(
                f"{f}: task {header['task']!r} is also in {seen[sd.name]}; import one log per task "
                "(re-runs of a task go to separate run directories)"
            )
        seen[sd.name] = f
        if model is None:
            model, model_file = model_block, f
        elif model["spec"] != model_block["spec"]:
            raise UserError(
                f"{f}: model {model_block['spec']!r} differs from {model['spec']!r} in {model_file}; "
                "a run directory holds one model"
            )
        suites.append(sd)
        headers.append(header)
    assert model is not None
    first = headers[0]
    run = {
        "model": model,
        "params": {
            "max_new_tokens": first["generate_config"].get("max_tokens"),
            "batch_size": None,
            "seed": first["generate_config"].get("seed"),
            "temperature": first["generate_config"].get("temperature"),
            "system_prompt": first["generate_config"].get("system_message"),
            "chat_template": None,
            "limit": first["config"].get("limit"),
            "epochs": first["config"].get("epochs"),
            "generate_config": first["generate_config"],
        },
        "description": None,
        "versions": versions("inspect_ai", first["inspect_version"]),
        "command": command,
        "started": first["started"],
        "finished": first["completed"],
        "timings": {"total_s": first["total_s"]},
        "cache": {"hits": 0, "misses": 0},
        "scoring": {},
        "imported": {
            "tool": "inspect_ai",
            "tool_version": first["inspect_version"],
            "logs": headers,
            "category_field": category_field,
        },
    }
    return write_run(Path(out), suites, run, warnings, seed)


def _read(read: Any, f: Path) -> Any:
    """One log through inspect_ai's reader; anything it cannot read is a UserError naming the file."""
    if f.suffix not in (".eval", ".json"):
        raise UserError(f"{f}: not an Inspect log (expected a .eval or .json file)")
    try:
        log = read(str(f), resolve_attachments=True)
    except Exception as exc:  # the reader raises many types (zip, JSON, pydantic validation)
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"{f}: not a readable Inspect log ({type(exc).__name__}: {msg[:200]})") from None
    if getattr(log, "eval", None) is None:
        raise UserError(f"{f}: not an Inspect log (no 'eval' header)")
    return log


def _log_suite(
    log: Any, f: Path, category_field: str | None, warnings: list[str]
) -> tuple[SuiteData, dict[str, Any], dict[str, Any]]:
    """One Inspect log -> a suite, the header recorded in run.json, and the model block."""
    ev = log.eval
    task = str(ev.task)
    name = suite_name(task.rsplit("/", 1)[-1])
    samples_in = log.samples or []
    if not samples_in:
        raise UserError(
            f"{f}: field 'samples' is empty (status {log.status!r}; was the eval run with log_samples=False, "
            "or did it fail before any sample finished?)"
        )
    epochs = max(int(s.epoch or 1) for s in samples_in)
    version = _version(log)
    samples: list[dict[str, Any]] = []
    kinds: dict[str, set[str]] = {}  # metric -> {"grade", "partial", "number", "other"}
    seen: dict[str, int] = {}
    n_errors = 0
    for k, s in enumerate(samples_in):
        where = f"{f}: sample {s.id!r} (epoch {s.epoch})"
        if s.id is None:
            raise UserError(f"{f}: sample #{k}: field 'id' missing")
        item_id = str(s.id) if epochs == 1 else f"{s.id}@{s.epoch}"
        if item_id in seen:
            raise UserError(f"{where}: duplicate sample id/epoch (also sample #{seen[item_id]})")
        seen[item_id] = k
        metrics: dict[str, float | None] = {}
        if s.error is not None:
            n_errors += 1
        for scorer, score in (s.scores or {}).items():
            for metric, value in _score_values(scorer, score.value):
                number, kind = _to_float(value)
                if number is None and value is not None:
                    raise UserError(f"{where}: scores.{scorer}: value {value!r} is not a grade or a number")
                metrics[metric] = number
                kinds.setdefault(metric, set()).add(kind)
        category = "default"
        meta_in = s.metadata or {}
        if category_field is not None:
            if category_field not in meta_in:
                raise UserError(f"{where}: metadata has no field {category_field!r} (--category-field)")
            raw = meta_in[category_field]
            category = "default" if raw is None or str(raw).strip() == "" else category_slug(raw)
        messages = _messages(s.input)
        meta: dict[str, Any] = {"sample_id": s.id, "epoch": s.epoch, "target": s.target, "metadata": meta_in}
        if epochs > 1:
            meta["cluster"] = str(s.id)
        if s.error is not None:
            meta["error"] = str(getattr(s.error, "message", s.error))[:500]
        samples.append(
            {
                "suite": name,
                "suite_version": version,
                "subset": "main",
                "item_id": item_id,
                "category": category,
                "task": "generate",
                "messages": messages,
                "prompt": "\n\n".join(m["content"] for m in messages),
                "response": s.output.completion if s.output is not None else "",
                "meta": meta,
                "metrics": metrics,
            }
        )
    if n_errors:
        warnings.append(f"{name}: {n_errors} samples ended in an error in {f.name}; their scores are missing")
    for s in samples:  # every item has every metric (null = not scored)
        for metric in kinds:
            s["metrics"].setdefault(metric, None)
    defs: list[MetricDef] = []
    for metric, ks in kinds.items():
        kind = "proportion" if ks <= {"grade", "missing"} and "grade" in ks else "mean"
        graded = bool(ks & {"grade", "partial"}) and not ks & {"number", "other"}
        # grades are right/wrong (higher is better); a bare number's direction is the scorer's secret
        defs.append(MetricDef(metric, metric, kind, True if graded else None))  # type: ignore[arg-type]
    reported = _reported(log)
    header = {
        "file": str(f),
        "task": task,
        "task_version": ev.task_version,
        "task_id": ev.task_id,
        "eval_id": getattr(ev, "eval_id", None),
        "run_id": ev.run_id,
        "status": log.status,
        "log_version": log.version,
        "inspect_version": (ev.packages or {}).get("inspect_ai"),
        "model": ev.model,
        "model_base_url": ev.model_base_url,
        "dataset": ev.dataset.model_dump(exclude={"sample_ids"}) if ev.dataset is not None else None,
        "config": ev.config.model_dump(exclude_none=True) if ev.config is not None else {},
        "generate_config": (
            ev.model_generate_config.model_dump(exclude_none=True)
            if ev.model_generate_config is not None
            else {}
        ),
        "epochs": epochs,
        "started": _iso(ev.created),
        "completed": _iso(getattr(log.stats, "completed_at", None)) if log.stats is not None else None,
        "total_s": _duration(log),
        "revision": ev.revision.model_dump() if ev.revision is not None else None,
    }
    model_args = {k: v for k, v in (ev.model_args or {}).items() if v is not None}
    model_block = {
        "spec": f"inspect:{ev.model}",
        "backend": "inspect_ai",
        "fingerprint": "inspect:" + short_hash({"model": ev.model, "base_url": ev.model_base_url}, 16),
        "fingerprint_source": "model name/base URL recorded by Inspect (weights not hashed)",
        "tokenizer_hash": None,
        "chat_template_hash": None,
        "details": {"model": ev.model, "model_base_url": ev.model_base_url, "model_args": model_args},
    }
    sd = SuiteData(
        name=name,
        version=version,
        source=str(f),
        samples=samples,
        metric_defs=defs,
        info={"task": task, "task_version": ev.task_version, "epochs": epochs},
        reported={k: v for k, v in reported.items() if k in kinds},
    )
    return sd, header, model_block


def _score_values(scorer: str, value: Any) -> list[tuple[str, Any]]:
    """``[(metric name, value)]``: one per scorer, or one per key of a dict-valued score."""
    base = metric_slug(scorer)
    if isinstance(value, dict):
        return [(f"{base}_{metric_slug(str(k))}", v) for k, v in value.items()]
    return [(base, value)]


def _to_float(value: Any) -> tuple[float | None, str]:
    """A score value as a float and its kind: ``grade`` (C/I/N, bools), ``partial`` (P), ``number``."""
    if value is None:
        return None, "missing"
    if isinstance(value, bool):
        return float(value), "grade"
    if isinstance(value, str):
        v = value.strip()
        if v in _GRADES:
            return _GRADES[v], "grade"
        if v == _PARTIAL:
            return 0.5, "partial"
        try:
            return float(v), "number"
        except ValueError:
            return None, "other"
    number = as_number(value)
    return number, "number"


def _messages(input_: Any) -> list[dict[str, str]]:
    """The sample's input as ``[{role, content}]`` (a plain string is one user message)."""
    if isinstance(input_, str):
        return [{"role": "user", "content": input_}]
    out = []
    for m in input_ or []:
        out.append({"role": str(getattr(m, "role", "user")), "content": str(getattr(m, "text", ""))})
    return out


def _version(log: Any) -> str:
    """Suite version: the task version plus a hash of what defines its items and prompts (not the model)."""
    ev = log.eval
    plan = log.plan.model_dump(exclude={"config"}) if log.plan is not None else None
    scorers = [sc.model_dump() for sc in ev.scorers] if getattr(ev, "scorers", None) else None
    definition = {
        "task": ev.task,
        "task_args": ev.task_args,
        "dataset": ev.dataset.name if ev.dataset is not None else None,
        "plan": plan,
        "scorers": scorers,
    }
    return f"{ev.task_version}+{short_hash(definition)}"


def _reported(log: Any) -> dict[str, dict[str, Any]]:
    """Inspect's own aggregate per scorer (its ``accuracy`` or ``mean`` metric), for a cross-check."""
    out: dict[str, dict[str, Any]] = {}
    results = getattr(log, "results", None)
    for sc in getattr(results, "scores", None) or []:
        if getattr(sc, "reducer", None) not in (None, "mean"):
            continue
        metrics = sc.metrics or {}
        main = metrics.get("accuracy") or metrics.get("mean")
        if main is None:
            continue
        stderr = metrics.get("stderr")
        out[metric_slug(sc.name)] = {
            "value": float(main.value),
            "stderr": float(stderr.value) if stderr is not None else None,
            "source": "inspect_ai",
        }
    return out


def _iso(value: Any) -> str | None:
    """A timestamp (datetime or text) as ISO-8601 text."""
    if value is None or value == "":
        return None
    if isinstance(value, _dt.datetime):
        return value.isoformat(timespec="seconds")
    return str(value)


def _duration(log: Any) -> float | None:
    """Seconds from the log's start to its completion (``None`` when either is missing)."""
    stats: Any = getattr(log, "stats", None)
    try:
        start = _dt.datetime.fromisoformat(str(stats.started_at))
        end = _dt.datetime.fromisoformat(str(stats.completed_at))
    except (AttributeError, TypeError, ValueError):
        return None
    return round((end - start).total_seconds(), 3)
