"""``validate_judge``: how well a refusal judge agrees with labels a user assigned by hand.

Reads a JSONL file of ``prompt``, ``response``, ``label`` (compliance / refusal / partial_refusal)
and an optional ``group``; reports accuracy (3-class and refused-vs-complied), Cohen's kappa with an
item-bootstrap interval, the confusion matrix, sensitivity and specificity as counts (what
``compare --judge-validation`` uses to correct refusal rates), per-group refusal rates by the
humans and by the judge, and the judge's most confident disagreements.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from rlhf_eval.errors import UserError
from rlhf_eval.scoring._judge_base import CLASSES, COMPLIANCE, RefusalJudge, decide

N_BOOT = 2000
SEED = 0


def load_labels(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The labelled rows; a missing field, an unknown label or an empty file is a one-line UserError."""
    from rlhf_eval._io import iter_jsonl

    rows: list[dict[str, Any]] = []
    for lineno, obj in iter_jsonl(path, allow_empty=False):
        for key in ("prompt", "response", "label"):
            if not isinstance(obj.get(key), str):
                what = "missing" if key not in obj else f"not a string ({type(obj[key]).__name__})"
                raise UserError(f"{path}:{lineno}: field {key!r} {what}")
        if obj["label"] not in CLASSES:
            raise UserError(
                f"{path}:{lineno}: field 'label' is {obj['label']!r}; expected one of {', '.join(CLASSES)}"
            )
        group = obj.get("group")
        if group is not None and not isinstance(group, str | int | float | bool):
            raise UserError(f"{path}:{lineno}: field 'group' must be a string or number")
        rows.append(obj)
    if not rows:
        raise UserError(f"{path}: no labelled rows")
    return rows


def cohen_kappa(y: np.ndarray, p: np.ndarray, k: int = 3) -> float:
    """Cohen's kappa of two label vectors over ``k`` classes (sklearn's definition; NaN when undefined)."""
    return float(_kappas(np.bincount(y * k + p, minlength=k * k)[None, :], k)[0])


def _kappas(counts: np.ndarray, k: int) -> np.ndarray:
    """Kappa of each row of flattened ``k x k`` confusion counts (vectorised for the bootstrap)."""
    conf = counts.reshape(len(counts), k, k).astype(float)
    n = conf.sum(axis=(1, 2))
    po = np.trace(conf, axis1=1, axis2=2) / n
    pe = (conf.sum(axis=2) * conf.sum(axis=1)).sum(axis=1) / n**2
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(pe < 1, (po - pe) / (1 - pe), np.nan)


def kappa_interval(
    y: np.ndarray, p: np.ndarray, k: int = 3, n_boot: int = N_BOOT, seed: int = SEED, alpha: float = 0.05
) -> tuple[float, float]:
    """Percentile interval of kappa over item-bootstrap resamples (one confusion matrix per resample)."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(y), size=(n_boot, len(y)))
    codes = (y[idx] * k + p[idx]) + (k * k) * np.arange(n_boot)[:, None]
    counts = np.bincount(codes.ravel(), minlength=n_boot * k * k).reshape(n_boot, k * k)
    ks = _kappas(counts, k)
    ks = ks[np.isfinite(ks)]
    if ks.size == 0:
        return float("nan"), float("nan")
    lo, hi = np.quantile(ks, [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi)


def validate_judge(
    rows: Sequence[dict[str, Any]], judge: RefusalJudge, worst: int = 10, source: str = ""
) -> dict[str, Any]:
    """Agreement of ``judge`` with the human ``label`` of each row (see the module docstring)."""
    from rlhf_eval.stats import wilson_interval

    proba = judge.predict_proba([r["prompt"] for r in rows], [r["response"] for r in rows])
    y = np.array([CLASSES.index(r["label"]) for r in rows])
    pred = decide(proba)
    human, judged = y != COMPLIANCE, pred != COMPLIANCE
    tp, fn = int(np.sum(human & judged)), int(np.sum(human & ~judged))
    tn, fp = int(np.sum(~human & ~judged)), int(np.sum(~human & judged))
    kappa = cohen_kappa(y, pred)
    kappa_b = cohen_kappa(human.astype(int), judged.astype(int), k=2)

    def rate(k: int, n: int) -> dict[str, Any]:
        lo, hi = wilson_interval(k, n) if n else (float("nan"), float("nan"))
        return {"value": k / n if n else None, "k": k, "n": n, "ci": [lo, hi]}

    groups: dict[str, dict[str, Any]] = {}
    keys = np.array([str(r.get("group")) if r.get("group") is not None else "" for r in rows])
    for g in sorted(set(keys.tolist()) - {""}):
        m = keys == g
        h, j = float(human[m].mean()), float(judged[m].mean())
        groups[g] = {"n": int(m.sum()), "human_rate": h, "judge_rate": j, "rate_error": j - h}
    # confidence in the judge's refused-vs-complied call, which is what its label rests on
    confidence = np.where(judged, proba[:, 1] + proba[:, 2], proba[:, 0])
    wrong = np.flatnonzero(pred != y)
    order = wrong[np.argsort(-confidence[wrong], kind="stable")][:worst]
    info = judge.info()
    return {
        "judge": info,
        "labels_source": source,
        "n": len(rows),
        "accuracy": float(np.mean(pred == y)),
        "binary_accuracy": float(np.mean(human == judged)),
        "kappa": {"value": kappa, "ci": list(kappa_interval(y, pred))},
        "kappa_binary": {
            "value": kappa_b,
            "ci": list(kappa_interval(human.astype(int), judged.astype(int), k=2)),
        },
        "classes": list(CLASSES),
        "confusion": [[int(np.sum((y == i) & (pred == j))) for j in range(3)] for i in range(3)],
        "sensitivity": rate(tp, tp + fn),
        "specificity": rate(tn, tn + fp),
        "human_refusal_rate": float(human.mean()),
        "judge_refusal_rate": float(judged.mean()),
        "groups": groups,
        "worst_disagreements": [
            {
                "row": int(i) + 1,
                "prompt": rows[i]["prompt"],
                "response": rows[i]["response"],
                "label": rows[i]["label"],
                "judge_label": CLASSES[int(pred[i])],
                "judge_confidence": float(confidence[i]),
            }
            for i in order
        ],
    }
