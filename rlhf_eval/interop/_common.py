"""Shared by the importers: naming, metric definitions, our own aggregation, and writing the run folder.

An imported run is scored exactly like a native one: per-item metrics go into samples.jsonl
and :func:`rlhf_eval.scoring.aggregate` turns them into scores.json, so intervals, and
everything ``compare``/``gate``/``report`` compute from them, follow the same rules.
"""

from __future__ import annotations

import hashlib
import json
import math
import platform
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rlhf_eval import __version__
from rlhf_eval._io import atomic_write_json, atomic_write_jsonl
from rlhf_eval.scoring._base import MetricDef

SCHEMA = "rlhf-eval/run/1"


@dataclass
class ImportResult:
    """What an import wrote, in memory (the three files' contents and the warnings)."""

    out: Path
    run: dict[str, Any]
    samples: list[dict[str, Any]]
    scores: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


@dataclass
class SuiteData:
    """One imported task: its samples (metrics filled), metric definitions and run.json entry."""

    name: str
    version: str
    source: str
    samples: list[dict[str, Any]]
    metric_defs: list[MetricDef]
    info: dict[str, Any]
    reported: dict[str, dict[str, Any]] = field(default_factory=dict)  # metric -> the tool's own value


def suite_name(task: str) -> str:
    """A task name as a suite name: lower case ``[a-z0-9_-]`` so it is safe in ``suite.metric`` paths."""
    slug = re.sub(r"[^a-z0-9_-]+", "_", task.strip().lower()).strip("_")
    return slug or "task"


def metric_slug(text: str) -> str:
    """A metric or filter name as ``[a-z0-9_]`` (``strict-match`` -> ``strict_match``)."""
    slug = re.sub(r"[^a-z0-9]+", "_", text.strip().lower()).strip("_")
    return slug or "metric"


def category_slug(value: Any) -> str:
    """A category value slugged as the native adapters do (``High School`` -> ``high_school``)."""
    from rlhf_eval.suites._adapters import _slug

    return _slug(str(value))


def short_hash(obj: Any, n: int = 12) -> str:
    """First ``n`` hex digits of sha256 over canonical JSON of ``obj`` (content versions)."""
    blob = json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:n]


def as_number(value: Any) -> float | None:
    """A per-item metric value as a float; ``None`` when it is not a finite scalar number."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)) and math.isfinite(value):
        return float(value)
    return None


def mc_scores(samples: list[dict[str, Any]]) -> tuple[list[MetricDef], dict[str, Any]]:
    """Our own ``accuracy`` and ``calibration`` scorers over multiple-choice samples (in place).

    Imported log-likelihoods are scored by the same code as native runs, so an imported
    run has the same ``accuracy``/``ece``/``brier`` metrics a native run of the task has.
    """
    from rlhf_eval.scoring import get_scorer

    defs: list[MetricDef] = []
    info: dict[str, Any] = {}
    for name in ("accuracy", "calibration"):
        scorer = get_scorer(name)
        for s, m in zip(samples, scorer.score(samples), strict=True):
            s.setdefault("metrics", {}).update(m)
        defs.extend(scorer.metrics(samples))
        info.update(scorer.info())
    return defs, info


def versions(tool: str, tool_version: str | None, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """run.json ``versions``: ours and Python, plus the source tool's (and what it recorded)."""
    out: dict[str, Any] = {"rlhf_eval": __version__, "python": platform.python_version()}
    out[tool] = tool_version
    for k, v in (extra or {}).items():
        if v is not None:
            out[k] = v
    return out


def write_run(
    out: Path,
    suites: Sequence[SuiteData],
    run: dict[str, Any],
    warnings: list[str],
    seed: int,
) -> ImportResult:
    """Aggregate every suite with our own code and write run.json, samples.jsonl, scores.json."""
    from rlhf_eval.scoring import aggregate

    samples: list[dict[str, Any]] = []
    scores: dict[str, Any] = {}
    for sd in suites:
        for s in sd.samples:
            s.setdefault("metrics", {})
        entry = aggregate(sd.samples, sd.metric_defs, seed=seed)
        for name, rep in sd.reported.items():
            if name not in entry:
                continue
            entry[name]["reported"] = rep
            ours, theirs = entry[name].get("value"), rep.get("value")
            if isinstance(ours, float) and isinstance(theirs, (int, float)) and abs(ours - theirs) > 1e-6:
                warnings.append(
                    f"{sd.name}.{name}: {ours:.6g} from the samples but the tool reported {theirs:.6g} "
                    "(different aggregation, or a samples file that does not match the results file)"
                )
        scores[sd.name] = entry
        samples.extend(sd.samples)
    run = {
        "schema": SCHEMA,
        **run,
        "suites": {
            sd.name: {
                "version": sd.version,
                "hash": "sha256:" + short_hash(sorted(str(s["item_id"]) for s in sd.samples), 32),
                "source": sd.source,
                "n_items": len(sd.samples),
                "subsets": ["main"],
                **sd.info,
            }
            for sd in suites
        },
        "n_samples": len(samples),
    }
    run["imported"]["warnings"] = list(warnings)
    out = Path(out)
    atomic_write_jsonl(out / "samples.jsonl", samples)
    atomic_write_json(out / "scores.json", scores)
    atomic_write_json(out / "run.json", run)  # written last, as `run` does: it marks a complete folder
    return ImportResult(out, run, samples, scores, warnings)
