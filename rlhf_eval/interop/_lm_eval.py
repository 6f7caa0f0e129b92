"""Read lm-evaluation-harness ``--log_samples`` output (0.4.x) into a run directory.

lm-eval writes, per model, ``results_<ts>.json`` (aggregates, task configs, model and tool
provenance) and one ``samples_<task>_<ts>.jsonl`` per task (one line per document and
filter, with the per-document metric values). Each task becomes a suite; each document an
item whose id is derived from its content (``doc_hash``) so that two models' logs pair even
when documents were logged in another order (``item_id="doc_id"`` uses lm-eval's index).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import os
import re
from pathlib import Path
from typing import Any, Literal

from rlhf_eval._io import iter_jsonl, read_json
from rlhf_eval.errors import UserError
from rlhf_eval.interop._common import (
    ImportResult,
    SuiteData,
    as_number,
    category_slug,
    mc_scores,
    metric_slug,
    short_hash,
    suite_name,
    versions,
    write_run,
)
from rlhf_eval.scoring._base import MetricDef

ItemIdMode = Literal["doc_hash", "doc_id"]

#: lm-eval metrics whose per-document value is 0/1: aggregated as proportions (Wilson interval).
BINARY_METRICS = frozenset(
    {
        "acc",
        "acc_norm",
        "acc_mutual_info",
        "exact_match",
        "em",
        "exact",
        "prompt_level_strict_acc",
        "prompt_level_loose_acc",
    }
)
#: Metric names our own multiple-choice scorers use; an lm-eval metric of the same name is renamed.
_OURS = frozenset({"accuracy", "correct", "ece", "confidence", "brier"})
#: Config fields that define a task's documents and prompts (its suite version); model-side
#: and bookkeeping fields (metadata, data file paths, batch sizes) are left out on purpose.
_DEFINITION_KEYS = (
    "output_type",
    "dataset_path",
    "dataset_name",
    "test_split",
    "validation_split",
    "process_docs",
    "doc_to_text",
    "doc_to_target",
    "doc_to_choice",
    "description",
    "target_delimiter",
    "fewshot_delimiter",
    "gen_prefix",
    "use_prompt",
)
_DATE_ID = re.compile(r"_(\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}(?:\.\d+)?)\.json$")


def find_results_file(path: Path) -> Path:
    """The ``results_<ts>.json`` that ``path`` names: the file itself, or the only one in the folder or its subfolders."""
    if path.is_file():
        if path.suffix == ".jsonl" and path.name.startswith("samples_"):
            m = re.search(r"_(\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}(?:\.\d+)?)\.jsonl$", path.name)
            found = sorted(path.parent.glob(f"*_{m.group(1)}.json")) if m else []
            if len(found) != 1:
                raise UserError(f"{path}: no results_<timestamp>.json of the same run beside it")
            return found[0]
        return path
    if not path.is_dir():
        raise UserError(f"{path}: no such file or directory")
    found = sorted(path.glob("results_*.json")) or sorted(path.glob("*/results_*.json"))
    if not found:
        raise UserError(
            f"{path}: no results_<timestamp>.json here or in a model subfolder "
            "(expected lm-eval --output_path output)"
        )
    if len(found) > 1:
        names = ", ".join(str(p.relative_to(path)) for p in found)
        raise UserError(f"{path}: {len(found)} lm-eval results files ({names}); pass the one to import")
    return found[0]


def import_lm_eval(
    path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    item_id: ItemIdMode = "doc_hash",
    category_field: str | None = None,
    seed: int = 0,
    command: str | None = None,
) -> ImportResult:
    """Import one lm-eval run (results file, its folder, or the output folder) as a run directory at ``out``."""
    if item_id not in ("doc_hash", "doc_id"):
        raise UserError(f"item_id must be 'doc_hash' or 'doc_id', got {item_id!r}")
    results_path = find_results_file(Path(path))
    res = read_json(results_path)
    if not isinstance(res, dict):
        raise UserError(f"{results_path}: expected a JSON object (an lm-eval results file)")
    if not isinstance(res.get("results"), dict):
        raise UserError(
            f"{results_path}: field 'results' missing or not an object (not an lm-eval results file?)"
        )
    configs = res.get("configs")
    if not isinstance(configs, dict) or not configs:
        raise UserError(f"{results_path}: field 'configs' missing or empty (not an lm-eval results file?)")
    m = _DATE_ID.search(results_path.name)
    if not m:
        raise UserError(f"{results_path}: file name does not end in _<timestamp>.json as lm-eval writes it")
    date_id = m.group(1)
    warnings: list[str] = []
    suites: list[SuiteData] = []
    seen: dict[str, str] = {}
    scoring: dict[str, Any] = {}
    for task, config in configs.items():
        if not isinstance(config, dict):
            raise UserError(f"{results_path}: configs.{task}: expected an object")
        samples_path = results_path.parent / f"samples_{task}_{date_id}.jsonl"
        if not samples_path.is_file():
            raise UserError(
                f"{results_path}: task {task!r} has no samples file {samples_path.name} "
                "(run lm-eval with --log_samples)"
            )
        name = suite_name(task)
        if name in seen:
            raise UserError(f"{results_path}: tasks {seen[name]!r} and {task!r} both map to suite {name!r}")
        seen[name] = task
        sd, info = _task_suite(res, task, config, samples_path, name, item_id, category_field, warnings)
        scoring.update(info)
        suites.append(sd)
    run = {
        "model": _model(res),
        "params": _params(res),
        "description": None,
        "versions": versions(
            "lm_eval",
            _str(res.get("lm_eval_version")),
            {"transformers": _str(res.get("transformers_version"))},
        ),
        "command": command,
        "started": _iso(res.get("date")),
        "finished": None,
        "timings": {"total_s": _float(res.get("total_evaluation_time_seconds"))},
        "cache": {"hits": 0, "misses": 0},
        "scoring": scoring,
        "imported": {
            "tool": "lm-eval",
            "tool_version": _str(res.get("lm_eval_version")),
            "git_hash": _str(res.get("git_hash")),
            "upper_git_hash": _str(res.get("upper_git_hash")),
            "results_file": str(results_path),
            "samples_files": [sd.source for sd in suites],
            "item_id": item_id,
            "category_field": category_field,
            "config": res.get("config"),
            "task_hashes": res.get("task_hashes"),
        },
    }
    return write_run(Path(out), suites, run, warnings, seed)


def _task_suite(
    res: dict[str, Any],
    task: str,
    config: dict[str, Any],
    samples_path: Path,
    name: str,
    mode: ItemIdMode,
    category_field: str | None,
    warnings: list[str],
) -> tuple[SuiteData, dict[str, Any]]:
    """One task's samples file -> a suite (items, metric definitions, reported aggregates)."""
    output_type = str(config.get("output_type") or "")
    docs: dict[int, dict[str, Any]] = {}
    metric_names: dict[str, tuple[str, str]] = {}  # our name -> (lm-eval metric, filter)
    non_scalar: set[str] = set()
    for lineno, obj in iter_jsonl(samples_path, allow_empty=False):
        where = f"{samples_path}:{lineno}"
        doc_id = obj.get("doc_id")
        if not isinstance(doc_id, int) or isinstance(doc_id, bool):
            raise UserError(f"{where}: field 'doc_id' missing or not an integer")
        filt = obj.get("filter", "none")
        if not isinstance(filt, str):
            raise UserError(f"{where}: field 'filter' must be a string")
        names = obj.get("metrics")
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise UserError(f"{where}: field 'metrics' missing or not a list of metric names")
        doc = obj.get("doc")
        if not isinstance(doc, dict):
            raise UserError(f"{where}: field 'doc' missing or not an object")
        rec = docs.get(doc_id)
        if rec is None:
            rec = docs[doc_id] = {"line": lineno, "obj": obj, "filters": {}, "metrics": {}}
        if filt in rec["filters"]:
            raise UserError(
                f"{where}: doc_id {doc_id} with filter {filt!r} again (first on line {rec['filters'][filt]})"
            )
        rec["filters"][filt] = lineno
        if filt == "none":
            rec["obj"] = obj  # the unfiltered line carries the raw log-likelihoods
        rec.setdefault("filtered", {})[filt] = _first(obj.get("filtered_resps"))
        for metric in names:
            ours = _metric_name(metric, filt)
            metric_names.setdefault(ours, (metric, filt))
            value = obj.get(metric)
            number = as_number(value)
            if value is not None and number is None:
                non_scalar.add(ours)
            rec["metrics"][ours] = number
    for ours in sorted(non_scalar):
        metric, filt = metric_names.pop(ours)
        warnings.append(
            f"{name}.{ours}: lm-eval metric {metric!r} (filter {filt!r}) has no per-document number "
            "(corpus-level metric); not imported"
        )
        for rec in docs.values():
            rec["metrics"].pop(ours, None)

    samples: list[dict[str, Any]] = []
    for doc_id in sorted(docs):
        rec = docs[doc_id]
        samples.append(_sample(rec, doc_id, name, output_type, samples_path, category_field))
    _assign_ids(samples, mode, samples_path, name)

    version = _task_version(res, task, config)
    for s in samples:
        s["suite_version"] = version

    defs: list[MetricDef] = []
    hib_all = res.get("higher_is_better")
    hib_task = hib_all.get(task) if isinstance(hib_all, dict) else None
    reported: dict[str, dict[str, Any]] = {}
    task_results = res["results"].get(task)
    for ours, (metric, filt) in metric_names.items():
        values = [s["metrics"].get(ours) for s in samples]
        binary = metric in BINARY_METRICS and all(v in (0.0, 1.0) for v in values if v is not None)
        if metric in BINARY_METRICS and not binary:
            warnings.append(f"{name}.{ours}: values other than 0/1; aggregated as a mean")
        hib = hib_task.get(metric) if isinstance(hib_task, dict) else None
        defs.append(
            MetricDef(ours, ours, "proportion" if binary else "mean", hib if isinstance(hib, bool) else None)
        )
        if isinstance(task_results, dict):
            rep = {
                "value": _float(task_results.get(f"{metric},{filt}")),
                "stderr": _float(task_results.get(f"{metric}_stderr,{filt}")),
                "source": "lm-eval",
            }
            if rep["value"] is not None:
                reported[ours] = rep

    info: dict[str, Any] = {}
    if output_type == "multiple_choice" and samples and all(s["task"] == "multiple_choice" for s in samples):
        mc_defs, info = mc_scores(samples)
        defs = mc_defs + defs
    elif output_type == "multiple_choice":
        warnings.append(
            f"{name}: gold answers could not be read for every document; accuracy/calibration not computed"
        )
    n_shot = res.get("n-shot", {}).get(task) if isinstance(res.get("n-shot"), dict) else None
    versions_block = res.get("versions")
    suite = SuiteData(
        name=name,
        version=version,
        source=str(samples_path),
        samples=samples,
        metric_defs=defs,
        info={
            "task": task,
            "task_version": versions_block.get(task) if isinstance(versions_block, dict) else None,
            "n_shot": n_shot,
            "output_type": output_type,
            "task_hash": (res.get("task_hashes") or {}).get(task),
        },
        reported=reported,
    )
    return suite, info


def _metric_name(metric: str, filt: str) -> str:
    """Our per-item metric name: lm-eval's, plus the filter unless it is ``none``."""
    base = metric_slug(metric)
    if base in _OURS:
        base += "_lm_eval"
    return base if filt == "none" else f"{base}_{metric_slug(filt)}"


def _first(value: Any) -> Any:
    """The first element of a non-empty list (lm-eval nests responses one level per request)."""
    return value[0] if isinstance(value, list) and value else value


def _sample(
    rec: dict[str, Any],
    doc_id: int,
    suite: str,
    output_type: str,
    path: Path,
    category_field: str | None,
) -> dict[str, Any]:
    """One document as a samples.jsonl row (item_id is set afterwards)."""
    obj = rec["obj"]
    doc = obj["doc"]
    args = _arguments(obj, path, rec["line"])
    category = "default"
    if category_field is not None:
        if category_field not in doc:
            raise UserError(f"{path}:{rec['line']}: doc has no field {category_field!r} (--category-field)")
        raw = doc[category_field]
        category = "default" if raw is None or str(raw).strip() == "" else category_slug(raw)
    doc_hash = obj.get("doc_hash")
    if not isinstance(doc_hash, str) or not doc_hash:
        doc_hash = hashlib.sha256(
            json.dumps(doc, indent=2, ensure_ascii=False, default=str).encode()
        ).hexdigest()
    sample: dict[str, Any] = {
        "suite": suite,
        "suite_version": None,
        "subset": "main",
        "item_id": None,
        "category": category,
        "task": "generate",
        "messages": [],
        "prompt": str(args[0][0]) if args and args[0] else "",
    }
    meta: dict[str, Any] = {
        "doc_id": doc_id,
        "doc_hash": doc_hash,
        "doc": doc,
        "target": obj.get("target"),
    }
    mc = _multiple_choice(obj, args, rec["metrics"]) if output_type == "multiple_choice" else None
    if mc is not None:
        sample["task"] = "multiple_choice"
        sample.update(mc)
    else:
        raw = _first(_first(obj.get("resps")))
        if isinstance(raw, str):
            sample["response"] = raw
        meta["filtered_resps"] = rec.get("filtered", {})
    sample["meta"] = meta
    sample["metrics"] = dict(rec["metrics"])
    return sample


def _arguments(obj: dict[str, Any], path: Path, line: int) -> list[list[Any]]:
    """The request arguments ``[[context, continuation-or-gen-kwargs], ...]`` in request order."""
    raw = obj.get("arguments")
    if isinstance(raw, dict):  # as the tracker writes them: {"gen_args_0": {"arg_0": .., "arg_1": ..}}
        out = []
        for i in range(len(raw)):
            entry = raw.get(f"gen_args_{i}")
            if not isinstance(entry, dict):
                raise UserError(f"{path}:{line}: field 'arguments.gen_args_{i}' missing or not an object")
            out.append([entry.get(f"arg_{j}") for j in range(len(entry))])
        return out
    if isinstance(raw, list):  # in-memory layout: a list of argument tuples
        return [list(a) if isinstance(a, (list, tuple)) else [a] for a in raw]
    raise UserError(f"{path}:{line}: field 'arguments' missing or not an object")


def _multiple_choice(
    obj: dict[str, Any], args: list[list[Any]], metrics: dict[str, float | None]
) -> dict[str, Any] | None:
    """``choices``, ``choice_logprobs``, ``pred``, ``gold`` from a multiple-choice line; None if unreadable."""
    n = len(args)
    if "acc_mutual_info" in (obj.get("metrics") or []) and n % 2 == 0:
        n //= 2  # the second half are the unconditional requests
    resps = obj.get("resps")
    if n < 2 or not isinstance(resps, list) or len(resps) < n:
        return None
    lps: list[float] = []
    for r in resps[:n]:
        first = _first(r)  # [[logprob, is_greedy]] -> [logprob, is_greedy]
        try:
            lp = float(first[0] if isinstance(first, (list, tuple)) else first)
        except (TypeError, ValueError, IndexError):
            return None
        if math.isnan(lp):
            return None
        lps.append(lp)
    contexts = [str(a[0]) if a else "" for a in args[:n]]
    choices = [str(a[1]) if len(a) > 1 else "" for a in args[:n]]
    pred = max(range(n), key=lambda i: (lps[i], -i))
    gold = _gold(obj.get("target"), choices, pred, metrics.get("acc"))
    if gold is None:
        return None
    out: dict[str, Any] = {"choices": choices, "choice_logprobs": lps, "pred": pred, "gold": gold}
    if len(set(contexts)) > 1:  # e.g. winogrande: the context varies, the continuation not
        out["choice_contexts"] = contexts
    return out


def _gold(target: Any, choices: list[str], pred: int, acc: float | None) -> int | None:
    """The gold index from lm-eval's logged target (an index, or a choice's text; both are logged as text)."""
    candidates: list[int] = []
    text = str(target).strip() if target is not None else ""
    if re.fullmatch(r"\d+", text) and int(text) < len(choices):
        candidates.append(int(text))
    stripped = [c.strip() for c in choices]
    if text in stripped and stripped.count(text) == 1 and stripped.index(text) not in candidates:
        candidates.append(stripped.index(text))
    if len(candidates) > 1 and acc in (0.0, 1.0):  # ambiguous: keep the reading lm-eval's own acc agrees with
        agree = [g for g in candidates if float(pred == g) == acc]
        candidates = agree or candidates
    return candidates[0] if candidates else None


def _assign_ids(samples: list[dict[str, Any]], mode: ItemIdMode, path: Path, suite: str) -> None:
    """Set ``item_id``: ``doc_hash`` (first 16 hex digits; repeats get ``~2``, ``~3``) or ``doc_id``."""
    counts: dict[str, int] = {}
    for s in samples:
        if mode == "doc_id":
            s["item_id"] = str(s["meta"]["doc_id"])
            continue
        base = str(s["meta"]["doc_hash"])[:16]
        counts[base] = counts.get(base, 0) + 1
        s["item_id"] = base if counts[base] == 1 else f"{base}~{counts[base]}"


def _task_version(res: dict[str, Any], task: str, config: dict[str, Any]) -> str:
    """Suite version: lm-eval's task version plus a hash of the fields that define documents and prompts."""
    vers = res.get("versions")
    tv = vers.get(task) if isinstance(vers, dict) else None
    n_shot = res.get("n-shot")
    definition = {k: config.get(k) for k in _DEFINITION_KEYS if config.get(k) is not None}
    definition["num_fewshot"] = n_shot.get(task) if isinstance(n_shot, dict) else config.get("num_fewshot")
    return f"{tv if tv is not None else 'na'}+{short_hash(definition)}"


def _model(res: dict[str, Any]) -> dict[str, Any]:
    """run.json ``model`` from what lm-eval recorded (it hashes no weights: the fingerprint hashes the identity)."""
    cfg = res.get("config") if isinstance(res.get("config"), dict) else {}
    assert isinstance(cfg, dict)
    model = _str(cfg.get("model")) or _str(res.get("model_source")) or "unknown"
    model_args = cfg.get("model_args")
    args_text = (
        model_args
        if isinstance(model_args, str)
        else ",".join(f"{k}={v}" for k, v in model_args.items())
        if isinstance(model_args, dict)
        else ""
    )
    identity = {
        "model": model,
        "model_args": args_text,
        "model_name": res.get("model_name"),
        "model_sha": cfg.get("model_sha"),
        "model_revision": cfg.get("model_revision"),
    }
    details = {
        k: v
        for k, v in {
            "model_name": res.get("model_name"),
            "model_args": model_args,
            "model_source": res.get("model_source"),
            "model_num_parameters": cfg.get("model_num_parameters"),
            "model_dtype": cfg.get("model_dtype"),
            "model_revision": cfg.get("model_revision"),
            "model_sha": cfg.get("model_sha"),
            "tokenizer_pad_token": res.get("tokenizer_pad_token"),
            "tokenizer_eos_token": res.get("tokenizer_eos_token"),
            "tokenizer_bos_token": res.get("tokenizer_bos_token"),
            "max_length": res.get("max_length"),
        }.items()
        if v not in (None, "")
    }
    return {
        "spec": f"lm-eval:{model}" + (f":{args_text}" if args_text else ""),
        "backend": "lm-eval",
        "fingerprint": "lm-eval:" + short_hash(identity, 16),
        "fingerprint_source": "model name/args recorded by lm-eval (weights not hashed)",
        "tokenizer_hash": None,
        "chat_template_hash": _str(res.get("chat_template_sha")),
        "details": details,
    }


def _params(res: dict[str, Any]) -> dict[str, Any]:
    """run.json ``params`` from lm-eval's run config."""
    cfg = res.get("config") if isinstance(res.get("config"), dict) else {}
    assert isinstance(cfg, dict)
    return {
        "max_new_tokens": None,
        "batch_size": cfg.get("batch_size"),
        "seed": cfg.get("random_seed"),
        "temperature": None,
        "system_prompt": res.get("system_instruction"),
        "chat_template": bool(res.get("chat_template")),
        "limit": cfg.get("limit"),
        "num_fewshot": res.get("n-shot"),
        "fewshot_as_multiturn": res.get("fewshot_as_multiturn"),
        "gen_kwargs": cfg.get("gen_kwargs"),
        "device": cfg.get("device"),
        "bootstrap_iters": cfg.get("bootstrap_iters"),
    }


def _str(v: Any) -> str | None:
    """``v`` as text, keeping ``None``."""
    return None if v is None else str(v)


def _float(v: Any) -> float | None:
    """``v`` as a finite float, else ``None`` (lm-eval writes ``"N/A"`` for skipped stderrs)."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _iso(ts: Any) -> str | None:
    """lm-eval's ``date`` (a Unix time) as ISO-8601 UTC."""
    f = _float(ts)
    if f is None:
        return None
    return _dt.datetime.fromtimestamp(f, _dt.timezone.utc).isoformat(timespec="seconds")
