"""Rebuild the default refusal judge's weights and print how well it agrees with human labels.

    python scripts/refusal_judge/train.py                 # evaluate, fit, write the shipped weights
    python scripts/refusal_judge/train.py --eval-only     # print the table, write nothing
    python scripts/refusal_judge/train.py --quick --out DIR   # one held-out model + the fit (CI's check)

Training data: XSTest v2's 2,250 human-labelled completions of five chat models (CC BY 4.0,
Röttger et al., NAACL 2024; ``--xstest``, default ``../shared/data/xstest``) and the project's own
labelled responses (``rlhf_eval/scoring/data/refusal_train.jsonl`` and ``scripts/refusal_judge/
data/*.jsonl``, written for this project). Deterministic: fixed seeds, deterministic solvers;
MiniLM embeddings are cached under ``$RLHF_EVAL_CACHE/judge-embeddings`` keyed by the texts
and the embedding settings.

Evaluation (every figure is on rows the judge was not trained on):
- leave-one-model-out over XSTest's five models (train on four + our data, test on the fifth);
- held-out prompts: 5 folds over XSTest prompt ids (no prompt on both sides);
- held-out written data: trained without our written files, tested on them (other styles).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from rlhf_eval.scoring._judge_base import CLASSES, decide  # noqa: E402
from rlhf_eval.scoring._prompt_judge import (  # noqa: E402
    HEAD_TOKENS,
    PROMPT_TOKENS,
    RESPONSE_TOKENS,
    WEIGHTS_DIR,
    Embeddings,
    StackedRefusalJudge,
    embed,
)
from rlhf_eval.scoring._refusal import DATA_PATH, default_detector, load_training_data  # noqa: E402

XSTEST_MODELS = ("gpt4", "llama2new", "llama2orig", "mistralguard", "mistralinstruct")
XSTEST_LABELS = {
    "1_full_compliance": "compliance",
    "2_full_refusal": "refusal",
    "3_partial_refusal": "partial_refusal",
}
WRITTEN_DIR = Path(__file__).parent / "data"
DEFAULT_XSTEST = ROOT.parent / "shared" / "data" / "xstest"
SOURCE = "XSTest v2, leave-one-model-out (5 chat models, 2,250 human-labelled responses)"
# Our own responses count half as much as people's labels of real models' responses in the
# embedding judge and the stacker (measured: 0.956 vs 0.952 leave-one-model-out, worst model x
# safe/unsafe refusal-rate error 0.028 vs 0.035); they still carry the refusal styles XSTest lacks.
OWN_WEIGHT = 0.5


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------


def load_xstest(folder: Path) -> list[dict[str, Any]]:
    """XSTest v2 completions with their adjudicated human labels; group = the model that wrote them."""
    rows = []
    for model in XSTEST_MODELS:
        path = folder / f"xstest_v2_completions_{model}.csv"
        with path.open(encoding="utf-8", newline="") as fh:
            for r in csv.DictReader(fh):
                rows.append(
                    {
                        "prompt": r["prompt"],
                        "response": r["completion"].strip(),
                        "label": XSTEST_LABELS[r["final_label"]],
                        "group": model,
                        "prompt_id": r["id"],
                        "unsafe": r["type"].startswith("contrast_"),
                    }
                )
    return rows


def load_own() -> list[dict[str, Any]]:
    """The project's labelled responses; group = the file (hand-written styles differ by file)."""
    rows = [r | {"group": "own:" + DATA_PATH.stem} for r in load_training_data(DATA_PATH)]
    for path in sorted(WRITTEN_DIR.glob("*.jsonl")):
        rows += [r | {"group": "own:" + path.stem} for r in load_training_data(path)]
    return rows


def file_hash(paths: Sequence[Path]) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.read_bytes())
    return "sha256:" + h.hexdigest()[:16]


def cached_embeddings(rows: Sequence[dict[str, Any]]) -> Embeddings:
    """MiniLM embeddings of every row, cached on disk by a hash of the texts (the slow step)."""
    settings = [RESPONSE_TOKENS, HEAD_TOKENS, PROMPT_TOKENS]  # what the embeddings depend on besides texts
    key = hashlib.sha256(
        json.dumps([settings, [[r["prompt"], r["response"]] for r in rows]], ensure_ascii=False).encode()
    ).hexdigest()[:24]
    root = os.environ.get("RLHF_EVAL_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "rlhf-eval")
    path = Path(root) / "judge-embeddings" / f"{key}.npz"
    if path.is_file():
        with np.load(path) as z:
            return {k: z[k] for k in z.files}
    t = time.time()
    emb = embed([r["prompt"] for r in rows], [r["response"] for r in rows])
    print(f"embedded {len(rows)} responses in {time.time() - t:.1f} s", file=sys.stderr)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **emb)
    return emb


def subset(emb: Embeddings, idx: np.ndarray) -> Embeddings:
    return {k: v[idx] for k, v in emb.items()}


# --------------------------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------------------------


def summarise(rows: Sequence[dict[str, Any]], proba: np.ndarray, source: str) -> dict[str, Any]:
    """Binary and 3-class agreement with the human labels, calibration, and per-model refusal rates."""
    y = np.array([CLASSES.index(r["label"]) for r in rows])
    pred = decide(proba)
    human, judge = y != 0, pred != 0
    score = proba[:, 1] + proba[:, 2]
    tp, fn = int(np.sum(human & judge)), int(np.sum(human & ~judge))
    tn, fp = int(np.sum(~human & ~judge)), int(np.sum(~human & judge))
    out: dict[str, Any] = {
        "source": source,
        "n": len(rows),
        "binary_accuracy": round(float(np.mean(human == judge)), 4),
        "accuracy": round(float(np.mean(y == pred)), 4),
        "precision": round(tp / max(tp + fp, 1), 4),
        "recall": round(tp / max(tp + fn, 1), 4),
        "sensitivity": {"value": round(tp / max(tp + fn, 1), 4), "k": tp, "n": tp + fn},
        "specificity": {"value": round(tn / max(tn + fp, 1), 4), "k": tn, "n": tn + fp},
        "ece": round(ece(score, human), 4),
        "confusion": [[int(np.sum((y == i) & (pred == j))) for j in range(3)] for i in range(3)],
    }
    if "unsafe" in rows[0]:
        cells = []
        groups = np.array([r["group"] for r in rows])
        unsafe = np.array([r["unsafe"] for r in rows])
        for g in dict.fromkeys(groups.tolist()):
            for u in (False, True):
                m = (groups == g) & (unsafe == u)
                if m.any():
                    cells.append(
                        {
                            "model": g,
                            "prompts": "unsafe" if u else "safe",
                            "n": int(m.sum()),
                            "human_rate": round(float(human[m].mean()), 4),
                            "judge_rate": round(float(judge[m].mean()), 4),
                            "binary_accuracy": round(float(np.mean(human[m] == judge[m])), 4),
                        }
                    )
        out["per_model"] = cells
        out["max_rate_error"] = round(max(abs(c["judge_rate"] - c["human_rate"]) for c in cells), 4)
    return out


def ece(score: np.ndarray, truth: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error of P(refused) over equal-width bins (the stats module's definition)."""
    from rlhf_eval.stats._calibration import weighted_ece

    return float(weighted_ece(score, truth.astype(float), np.ones((1, len(score))), n_bins=bins)[0])


# --------------------------------------------------------------------------------------------
# Evaluation protocols
# --------------------------------------------------------------------------------------------

FitPredict = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (train idx, test idx) -> (n_test, 3)


def stacked_fit_predict(rows: Sequence[dict[str, Any]], emb: Embeddings) -> FitPredict:
    """The default judge as a (train, test) -> probabilities function over ``rows``."""

    def fit_predict(train: np.ndarray, test: np.ndarray) -> np.ndarray:
        judge = fit(rows, emb, train)
        return judge.predict_proba_embedded([rows[i]["response"] for i in test], subset(emb, test))

    return fit_predict


def fit(rows: Sequence[dict[str, Any]], emb: Embeddings, idx: np.ndarray) -> StackedRefusalJudge:
    part = [rows[i] for i in idx]
    return StackedRefusalJudge.fit(
        [r["prompt"] for r in part],
        [r["response"] for r in part],
        [r["label"] for r in part],
        [r["group"] for r in part],
        emb=subset(emb, idx),
        weights=[OWN_WEIGHT if r["group"].startswith("own:") else 1.0 for r in part],
    )


def leave_one_model_out(
    rows: Sequence[dict[str, Any]], fit_predict: FitPredict, models: Sequence[str] = XSTEST_MODELS
) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-model probabilities for the XSTest rows of ``models``; returns (row indices, proba)."""
    groups = np.array([r["group"] for r in rows])
    idx, out = [], []
    for m in models:
        test = np.flatnonzero(groups == m)
        t = time.time()
        out.append(fit_predict(np.flatnonzero(groups != m), test))
        idx.append(test)
        print(f"  held out {m}: {time.time() - t:.0f} s", file=sys.stderr)
    return np.concatenate(idx), np.vstack(out)


def held_out_prompts(rows: Sequence[dict[str, Any]], fit_predict: FitPredict, folds: int = 5) -> np.ndarray:
    """Probabilities for every XSTest row from a fold where none of its prompt's responses trained."""
    xs = np.array([r["group"] in XSTEST_MODELS for r in rows])
    pid = np.array([r.get("prompt_id", "") for r in rows])
    ids = sorted(set(pid[xs].tolist()), key=lambda s: int(s.split("-")[-1]))
    fold_of = {p: i % folds for i, p in enumerate(ids)}
    fold = np.array([fold_of.get(p, -1) if x else -1 for p, x in zip(pid, xs, strict=True)])
    proba = np.zeros((len(rows), 3))
    for k in range(folds):
        test = np.flatnonzero(fold == k)
        proba[test] = fit_predict(np.flatnonzero(fold != k), test)
    return proba[xs]


def table(summary: dict[str, Any]) -> str:
    """The per-model x safe/unsafe table of human vs judge refusal rates, as text."""
    lines = [f"{'model':16s} {'prompts':7s} {'n':>4s} {'human':>6s} {'judge':>6s} {'diff':>6s} {'acc':>6s}"]
    for c in summary.get("per_model", []):
        diff = c["judge_rate"] - c["human_rate"]
        lines.append(
            f"{c['model']:16s} {c['prompts']:7s} {c['n']:4d} {c['human_rate']:6.3f} {c['judge_rate']:6.3f} "
            f"{diff:+6.3f} {c['binary_accuracy']:6.3f}"
        )
    return "\n".join(lines)


def headline(name: str, s: dict[str, Any]) -> str:
    worst = f" max|rate diff| {s['max_rate_error']:.3f}" if "max_rate_error" in s else ""
    return (
        f"{name:34s} binary {s['binary_accuracy']:.3f}  3-class {s['accuracy']:.3f}  precision "
        f"{s['precision']:.3f}  recall {s['recall']:.3f}  ECE {s['ece']:.3f}{worst}  (n={s['n']})"
    )


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--xstest", type=Path, default=Path(os.environ.get("RLHF_EVAL_XSTEST", DEFAULT_XSTEST)))
    ap.add_argument("--out", type=Path, default=WEIGHTS_DIR, help="where to write weights.npz and judge.json")
    ap.add_argument("--eval-only", action="store_true", help="print the evaluation, write nothing")
    ap.add_argument(
        "--quick",
        action="store_true",
        help="hold out one model only, skip the other checks, still fit and write",
    )
    ap.add_argument("--json", type=Path, help="also write the evaluation as JSON here")
    ap.add_argument("--predictions", type=Path, help="write the leave-one-model-out predictions (JSONL) here")
    args = ap.parse_args(argv)

    xs, own = load_xstest(args.xstest), load_own()
    rows = xs + own
    emb = cached_embeddings(rows)
    fp = stacked_fit_predict(rows, emb)
    n_xs = len(xs)
    ev: dict[str, Any] = {}

    models = ("mistralinstruct",) if args.quick else XSTEST_MODELS
    idx, proba = leave_one_model_out(rows, fp, models)
    ev["leave_one_model_out"] = summarise([rows[i] for i in idx], proba, SOURCE)
    if args.predictions:
        with args.predictions.open("w", encoding="utf-8") as fh:
            for i, p in zip(idx, proba, strict=True):
                r = rows[i]
                out = {k: r[k] for k in ("group", "prompt_id", "unsafe", "prompt", "response", "label")}
                fh.write(
                    json.dumps(out | {"judge": CLASSES[int(decide(p)[0])], "p": p.round(4).tolist()}) + "\n"
                )
    print(headline("leave-one-model-out", ev["leave_one_model_out"]))
    print(table(ev["leave_one_model_out"]))
    if not args.quick:
        ev["held_out_prompts"] = summarise(
            xs, held_out_prompts(rows, fp), "XSTest v2, 5 folds over prompts (no prompt on both sides)"
        )
        print(headline("held-out prompts", ev["held_out_prompts"]))
        written = np.array(
            [r["group"].startswith("own:") and r["group"] != "own:" + DATA_PATH.stem for r in rows]
        )
        if written.any():
            test = np.flatnonzero(written)
            p = fp(np.flatnonzero(~written), test)
            ev["held_out_written"] = summarise(
                [rows[i] for i in test], p, "project-written styles (scripts/refusal_judge/data), held out"
            )
            print(headline("held-out written styles", ev["held_out_written"]))
        rules = default_detector()
        ev["rules_on_xstest"] = summarise(
            xs,
            rules.predict_proba(None, [r["response"] for r in xs]),
            "XSTest v2, all 2,250 responses (none in its training data)",
        ) | {"data_hash": rules.data_hash}
        print(headline("--judge rules on XSTest", ev["rules_on_xstest"]))
    if args.json:
        args.json.write_text(json.dumps(ev, indent=2), encoding="utf-8")
    if args.eval_only:
        return 0
    if args.quick and args.out == WEIGHTS_DIR:
        ap.error("--quick writes an incomplete card: give --out DIR (not the shipped weights folder)")

    judge = fit(rows, emb, np.arange(len(rows)))
    sources = [args.xstest / f"xstest_v2_completions_{m}.csv" for m in XSTEST_MODELS]
    written_files = sorted(WRITTEN_DIR.glob("*.jsonl"))
    card = {
        "validation": ev["leave_one_model_out"],
        "evaluation": ev,
        "n_train": len(rows),
        "n_train_by_source": {"xstest": n_xs, "own": len(own)},
        "data": {
            "xstest": file_hash(sources),
            "own": file_hash([DATA_PATH, *written_files]),
        },
        "attribution": "Trained in part on XSTest v2 (Röttger et al., NAACL 2024), CC BY 4.0.",
        "rebuild": "python scripts/refusal_judge/train.py",
    }
    judge.save(args.out, card)
    print(f"wrote {args.out}/weights.npz and judge.json", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
