"""Read and validate one run directory (run.json, samples.jsonl, scores.json) for comparison.

Everything that can be wrong with the input is checked here, before any statistics, and
reported as a one-line :class:`UserError` naming the file, line and field.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rlhf_eval._io import iter_jsonl, read_json
from rlhf_eval.errors import UserError

KINDS = ("proportion", "mean", "ece")


@dataclass(frozen=True)
class MetricSpec:
    """One scores.json metric as compare needs it."""

    name: str
    item_metric: str
    kind: str
    higher_is_better: bool | None


@dataclass(frozen=True)
class Sample:
    """The fields of one samples.jsonl row that compare uses (plus its line, for errors)."""

    line: int
    category: str
    metrics: dict[str, Any]
    cluster: str | None


@dataclass
class Run:
    """A loaded, validated run directory."""

    dir: Path
    info: dict[str, Any]
    samples_path: Path
    samples: dict[str, dict[str, Sample]] = field(default_factory=dict)  # suite -> item_id -> sample
    versions: dict[str, str | None] = field(default_factory=dict)
    metrics: dict[str, dict[str, MetricSpec]] = field(default_factory=dict)  # suite -> name -> spec

    def provenance(self) -> dict[str, Any]:
        """The ``before``/``after`` block of comparison.json."""
        return {"dir": str(self.dir), "model": self.info.get("model"), "suites": self.info.get("suites")}


def load_run(path: str | os.PathLike[str]) -> Run:
    """Load ``path`` as a run directory; any problem is a UserError naming file/line/field."""
    d = Path(path)
    if not d.is_dir():
        raise UserError(f"{d}: not a run directory (no such directory)")
    for name in ("run.json", "samples.jsonl"):
        if not (d / name).is_file():
            raise UserError(f"{d}: not a run directory (no {name}; expected the output of `rlhf-eval run`)")
    info = read_json(d / "run.json")
    if not isinstance(info, dict):
        raise UserError(f"{d / 'run.json'}: expected a JSON object")
    schema = info.get("schema")
    if schema is not None and not str(schema).startswith("rlhf-eval/run/"):
        raise UserError(f"{d / 'run.json'}: field 'schema' is {schema!r}, expected 'rlhf-eval/run/1'")
    suites = info.get("suites", {})
    if not isinstance(suites, dict):
        raise UserError(f"{d / 'run.json'}: field 'suites' must be an object")
    run = Run(dir=d, info=info, samples_path=d / "samples.jsonl")
    n_lines = _read_samples(run)
    _check_counts(run, suites, n_lines)
    for suite in run.samples:
        entry = suites.get(suite)
        version = entry.get("version") if isinstance(entry, dict) else None
        run.versions[suite] = str(version) if version is not None else run.versions.get(suite)
    run.metrics = _read_scores(d / "scores.json")
    return run


def _read_samples(run: Run) -> int:
    """Fill ``run.samples`` (and sample-level suite versions); returns the file's line count."""
    path = run.samples_path
    first_line: dict[tuple[str, str], int] = {}
    lineno = 0
    for lineno, obj in iter_jsonl(path, allow_empty=False):
        suite, item_id = obj.get("suite"), obj.get("item_id")
        if not isinstance(suite, str) or not suite:
            raise UserError(f"{path}:{lineno}: field 'suite' missing or not a string")
        if not isinstance(item_id, (str, int)) or isinstance(item_id, bool) or item_id == "":
            raise UserError(f"{path}:{lineno}: field 'item_id' missing or not a string")
        key = (suite, str(item_id))
        if key in first_line:
            raise UserError(
                f"{path}:{lineno}: duplicate item_id {key[1]!r} in suite {suite!r} "
                f"(first on line {first_line[key]})"
            )
        first_line[key] = lineno
        metrics = obj.get("metrics", {})
        if metrics is None:
            metrics = {}
        if not isinstance(metrics, dict):
            raise UserError(f"{path}:{lineno}: field 'metrics' must be an object")
        meta = obj.get("meta") or {}
        if not isinstance(meta, dict):
            raise UserError(f"{path}:{lineno}: field 'meta' must be an object")
        cluster = None
        for name in ("cluster", "pair_id"):
            if meta.get(name) is not None:
                cluster = f"{name}:{meta[name]}"
                break
        category = obj.get("category")
        run.samples.setdefault(suite, {})[key[1]] = Sample(
            line=lineno,
            category="default" if category is None else str(category),
            metrics=metrics,
            cluster=cluster,
        )
        if obj.get("suite_version") is not None:
            run.versions.setdefault(suite, str(obj["suite_version"]))
    return lineno


def _check_counts(run: Run, suites: dict[str, Any], n_lines: int) -> None:
    """A suite with fewer samples than run.json's ``n_items`` means a truncated file."""
    for suite, entry in suites.items():
        expected = entry.get("n_items") if isinstance(entry, dict) else None
        if not isinstance(expected, int) or isinstance(expected, bool):
            continue
        got = len(run.samples.get(suite, {}))
        if got < expected:
            raise UserError(
                f"{run.samples_path}:{n_lines}: suite {suite!r} has {got} samples but run.json says "
                f"n_items={expected} (truncated file? re-run to resume)"
            )


def _read_scores(path: Path) -> dict[str, dict[str, MetricSpec]]:
    """Metric definitions from scores.json: ``{suite: {metric: MetricSpec}}``."""
    scores = read_json(path)
    if not isinstance(scores, dict):
        raise UserError(f"{path}: expected a JSON object of suites")
    out: dict[str, dict[str, MetricSpec]] = {}
    for suite, metrics in scores.items():
        if not isinstance(metrics, dict):
            raise UserError(f"{path}: {suite}: expected an object of metrics")
        specs: dict[str, MetricSpec] = {}
        for name, entry in metrics.items():
            where = f"{path}: {suite}.{name}"
            if not isinstance(entry, dict):
                raise UserError(f"{where}: expected an object")
            kind, item_metric, hib = (
                entry.get("kind"),
                entry.get("item_metric"),
                entry.get("higher_is_better"),
            )
            if kind not in KINDS:
                raise UserError(f"{where}: field 'kind' is {kind!r}, expected one of {', '.join(KINDS)}")
            if not isinstance(item_metric, str) or not item_metric:
                raise UserError(f"{where}: field 'item_metric' missing or not a string")
            if hib is not None and not isinstance(hib, bool):
                raise UserError(f"{where}: field 'higher_is_better' must be true, false or null")
            specs[name] = MetricSpec(name, item_metric, kind, hib)
        out[suite] = specs
    return out


def item_value(run: Run, sample: Sample, metric: str, *, binary: bool) -> float | None:
    """The sample's ``metrics[metric]`` as a float (``None`` = not applicable); bad values raise."""
    v = sample.metrics.get(metric)
    if v is None:
        return None
    if isinstance(v, bool):
        v = float(v)
    if not isinstance(v, (int, float)) or not math.isfinite(v):
        raise UserError(f"{run.samples_path}:{sample.line}: metrics.{metric} = {v!r}, expected a number")
    if binary and v not in (0, 1):
        raise UserError(f"{run.samples_path}:{sample.line}: metrics.{metric} = {v!r}, expected 0 or 1")
    return float(v)
