"""Load and validate the report's inputs (run dirs, comparison, audit, gate) at the boundary.

Every input may be a path or an already-loaded dict. A missing file, invalid JSON or a field
of the wrong type is a one-line :class:`UserError` naming the file, before anything is written.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rlhf_eval._io import iter_jsonl, read_json
from rlhf_eval.errors import UserError

PathOrDict = str | os.PathLike[str] | Mapping[str, Any]


@dataclass
class RunInput:
    """One run directory: run.json, its samples and its scores."""

    label: str
    source: str
    run: dict[str, Any]
    samples: list[dict[str, Any]]
    scores: dict[str, Any]

    @property
    def model_spec(self) -> str:
        """The model spec (or the run's label when run.json has none)."""
        model = self.run.get("model")
        spec = model.get("spec") if isinstance(model, dict) else None
        return str(spec) if spec else self.label


@dataclass
class ReportInputs:
    """Everything one report is built from; each part is optional except at least one input."""

    runs: list[RunInput] = field(default_factory=list)
    comparison: dict[str, Any] | None = None
    audit: dict[str, Any] | None = None
    gate: dict[str, Any] | None = None
    judge_validation: dict[str, Any] | None = None
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def before(self) -> RunInput | None:
        """The before run when two runs are given."""
        return self.runs[0] if len(self.runs) == 2 else None

    @property
    def after(self) -> RunInput | None:
        """The after run when two runs are given."""
        return self.runs[1] if len(self.runs) == 2 else None


def load_inputs(
    runs: Sequence[PathOrDict] | None = None,
    comparison: PathOrDict | None = None,
    audit: PathOrDict | None = None,
    gate: PathOrDict | None = None,
    judge_validation: PathOrDict | None = None,
) -> ReportInputs:
    """Read and validate every input; raises UserError naming the file on the first problem."""
    runs = list(runs or [])
    if not runs and comparison is None and audit is None and gate is None:
        raise UserError("report: nothing to report; give --run, --comparison, --audit and/or --gate")
    if len(runs) > 2:
        raise UserError(f"report: at most two --run directories (before, after); got {len(runs)}")
    inputs = ReportInputs()
    labels = ["before", "after"] if len(runs) == 2 else ["run"]
    for label, r in zip(labels, runs, strict=False):
        inputs.runs.append(load_run(r, label))
    if comparison is not None:
        inputs.comparison, inputs.sources["comparison"] = _load_doc(
            comparison, "comparison", "comparison.json"
        )
        _check_comparison(inputs.comparison, inputs.sources["comparison"])
    if audit is not None:
        inputs.audit, inputs.sources["audit"] = _load_doc(audit, "audit", "audit.json")
    if gate is not None:
        inputs.gate, inputs.sources["gate"] = _load_doc(gate, "gate", "gate.json")
        _check_gate(inputs.gate, inputs.sources["gate"])
    if judge_validation is not None:
        jv, src = _load_doc(judge_validation, "judge validation", "judge.json")
        for key in ("n", "accuracy", "binary_accuracy", "kappa", "confusion", "sensitivity", "specificity"):
            if key not in jv:
                raise UserError(
                    f"{src}: field {key!r} missing (expected `rlhf-eval validate-judge --out` output)"
                )
        inputs.judge_validation, inputs.sources["judge_validation"] = jv, src
    return inputs


def load_run(run: PathOrDict, label: str = "run") -> RunInput:
    """A run from its directory, or from a dict ``{"run": ..., "samples": [...], "scores": ...}``."""
    if isinstance(run, Mapping):
        src = str(run.get("dir") or f"<{label} run>")
        run_json = run.get("run", {})
        samples = run.get("samples", [])
        scores = run.get("scores", {})
        if not isinstance(run_json, dict):
            raise UserError(f"{src}: 'run' must be an object (run.json)")
        if not isinstance(samples, list) or not all(isinstance(s, dict) for s in samples):
            raise UserError(f"{src}: 'samples' must be a list of objects (samples.jsonl)")
        checked = [_check_sample(s, f"{src}: samples[{i}]") for i, s in enumerate(samples)]
        _check_scores(scores, f"{src}: scores")
        return RunInput(label, src, run_json, checked, scores)
    d = Path(run)
    if not d.is_dir():
        raise UserError(f"{d}: not a run directory (expected run.json, samples.jsonl, scores.json)")
    run_json = read_json(d / "run.json")
    if not isinstance(run_json, dict):
        raise UserError(f"{d / 'run.json'}: expected a JSON object")
    scores = read_json(d / "scores.json")
    _check_scores(scores, str(d / "scores.json"))
    samples = [
        _check_sample(obj, f"{d / 'samples.jsonl'}:{ln}")
        for ln, obj in iter_jsonl(d / "samples.jsonl", allow_empty=False)
    ]
    return RunInput(label, str(d), run_json, samples, scores)


def _load_doc(doc: PathOrDict, what: str, default_name: str) -> tuple[dict[str, Any], str]:
    if isinstance(doc, Mapping):
        return dict(doc), f"<{what}>"
    data = read_json(doc)
    if not isinstance(data, dict):
        raise UserError(f"{doc}: expected a JSON object ({default_name})")
    return data, str(doc)


def _check_sample(obj: dict[str, Any], where: str) -> dict[str, Any]:
    for key in ("suite", "item_id"):
        if not isinstance(obj.get(key), (str, int)) or isinstance(obj.get(key), bool):
            raise UserError(f"{where}: field {key!r} must be a string")
    if "metrics" in obj and obj["metrics"] is not None and not isinstance(obj["metrics"], dict):
        raise UserError(f"{where}: field 'metrics' must be an object")
    return obj


def _check_scores(scores: Any, where: str) -> None:
    if not isinstance(scores, dict):
        raise UserError(f"{where}: expected a JSON object {{suite: {{metric: ...}}}}")
    for suite, metrics in scores.items():
        if not isinstance(metrics, dict):
            raise UserError(f"{where}: suite {suite!r} must map metric names to objects")
        for name, entry in metrics.items():
            if not isinstance(entry, dict):
                raise UserError(f"{where}: {suite}.{name} must be an object with 'value'")


def _check_schema(doc: dict[str, Any], src: str, expected: str) -> None:
    schema = doc.get("schema")
    if schema is not None and not str(schema).startswith(expected):
        raise UserError(f"{src}: schema {schema!r} is not a {expected}* file")


def _check_comparison(doc: dict[str, Any], src: str) -> None:
    _check_schema(doc, src, "rlhf-eval/comparison/")
    metrics = doc.get("metrics", [])
    if not isinstance(metrics, list):
        raise UserError(f"{src}: field 'metrics' must be a list")
    for i, row in enumerate(metrics):
        if not isinstance(row, dict):
            raise UserError(f"{src}: metrics[{i}] must be an object")
    tax = doc.get("alignment_tax")
    if tax is not None and not isinstance(tax, dict):
        raise UserError(f"{src}: field 'alignment_tax' must be an object")


def _check_gate(doc: dict[str, Any], src: str) -> None:
    _check_schema(doc, src, "rlhf-eval/gate/")
    results = doc.get("results", [])
    if not isinstance(results, list) or not all(isinstance(r, dict) for r in results):
        raise UserError(f"{src}: field 'results' must be a list of objects")
