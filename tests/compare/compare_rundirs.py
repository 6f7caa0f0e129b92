"""Test helper: write real run directories (run.json, samples.jsonl, scores.json) per docs/formats.md."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rlhf_eval._io import atomic_write_json, atomic_write_jsonl
from rlhf_eval.scoring import MetricDef, aggregate


def item(
    suite: str, item_id: str, category: str = "default", meta: dict[str, Any] | None = None, **metrics: Any
) -> dict[str, Any]:
    """One samples.jsonl row with every documented field."""
    return {
        "suite": suite,
        "suite_version": "1.0",
        "subset": "main",
        "item_id": item_id,
        "category": category,
        "task": "generate",
        "messages": [{"role": "user", "content": f"prompt {item_id}"}],
        "prompt": f"prompt {item_id}",
        "response": "ok",
        "meta": meta or {},
        "metrics": metrics,
    }


def write_run(
    path: Path,
    samples: Sequence[dict[str, Any]],
    metric_defs: dict[str, list[MetricDef]],
    *,
    versions: dict[str, str] | None = None,
    n_items: dict[str, int] | None = None,
    model: str = "m",
) -> Path:
    """Write a run directory; scores.json comes from the real aggregator."""
    path.mkdir(parents=True, exist_ok=True)
    versions = versions or {}
    suites: dict[str, Any] = {}
    for s in samples:
        suites.setdefault(
            s["suite"], {"version": versions.get(s["suite"], "1.0"), "hash": "sha256:x", "n_items": 0}
        )
        suites[s["suite"]]["n_items"] += 1
        s["suite_version"] = suites[s["suite"]]["version"]
    for name, n in (n_items or {}).items():
        suites[name]["n_items"] = n
    run = {
        "schema": "rlhf-eval/run/1",
        "model": {"spec": model, "backend": "recorded", "fingerprint": f"sha256:{model}"},
        "suites": suites,
        "params": {"seed": 0},
    }
    atomic_write_json(path / "run.json", run)
    atomic_write_jsonl(path / "samples.jsonl", samples)
    scores = {
        suite: aggregate([s for s in samples if s["suite"] == suite], defs, seed=0)
        for suite, defs in metric_defs.items()
    }
    atomic_write_json(path / "scores.json", scores)
    return path


def correlated_binary(
    rng: np.random.Generator, n: int, p_before: float, p_after: float, keep: float = 0.6
) -> tuple[np.ndarray, np.ndarray]:
    """Paired 0/1 outcomes with the given marginals; ``keep`` of the items share one latent draw."""
    u = rng.random(n)
    before = (u < p_before).astype(int)
    shared = rng.random(n) < keep
    after = np.where(shared, u < p_after, rng.random(n) < p_after).astype(int)
    return before, after


REFUSAL = MetricDef("refusal_rate", "refused", "proportion", True)
SCORE = MetricDef("score", "score", "mean", True)


def planted_runs(
    tmp: Path, seed: int, n: int = 400, p_before: float = 0.9, p_after: float = 0.8, shift: float = 0.0
) -> tuple[Path, Path]:
    """Before/after runs of suite 'harmlessness' with a proportion and a mean metric, 4 categories."""
    rng = np.random.default_rng(seed)
    b, a = correlated_binary(rng, n, p_before, p_after)
    sb = rng.normal(0.5, 0.2, n)
    sa = sb + shift + rng.normal(0, 0.2, n)
    cats = ["weapons", "malware", "fraud", "hate"]
    before = [
        item("harmlessness", f"i{i}", cats[i % 4], refused=int(b[i]), score=float(sb[i])) for i in range(n)
    ]
    after = [
        item("harmlessness", f"i{i}", cats[i % 4], refused=int(a[i]), score=float(sa[i])) for i in range(n)
    ]
    defs = {"harmlessness": [REFUSAL, SCORE]}
    return (
        write_run(tmp / f"before{seed}", before, defs, model="before"),
        write_run(tmp / f"after{seed}", after, defs, model="after"),
    )


def read_lines(path: Path) -> list[dict[str, Any]]:
    """The JSON objects of a JSONL file."""
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
