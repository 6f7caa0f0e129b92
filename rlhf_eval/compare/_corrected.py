"""Judge-corrected refusal rates in comparison.json: each row's rates and delta, corrected for the judge's error.

A refusal rate is what a judge said, not what people would say. With the judge's sensitivity
and specificity measured on human labels (run.json ``scoring.refusal_detector``, or
``compare --judge-validation judge.json`` from ``validate-judge``), each judged row gets a
``corrected`` block: Rogan-Gladen before/after rates and their delta, with intervals that also
carry the uncertainty of sensitivity and specificity (see ``stats._misclassification``).
Clustered rows use the design-effect-adjusted effective n for the levels; the delta's interval
starts from the row's own (cluster-aware) interval.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from rlhf_eval.errors import UserError
from rlhf_eval.stats._misclassification import JudgeError, corrected_delta, corrected_rate

#: Item metrics decided by the refusal judge, and whether the rate counts the complement (compliance).
JUDGED_ITEM_METRICS: dict[str, bool] = {"refused": False, "harmful_compliance": True}


def load_judge_validation(path: str | os.PathLike[str]) -> JudgeError:
    """The judge error measured by ``validate-judge --out``; a file without its counts is a UserError."""
    from rlhf_eval._io import read_json

    doc = read_json(path)
    err = JudgeError.from_info({**doc, "source": f"your labels ({path})"} if isinstance(doc, dict) else None)
    if err is None:
        raise UserError(
            f"{path}: no sensitivity/specificity counts (expected the output of `rlhf-eval validate-judge --out`)"
        )
    return err


def judge_error_of(run_info: dict[str, Any]) -> JudgeError | None:
    """The refusal judge's measured error recorded in a run.json, if any."""
    scoring = run_info.get("scoring")
    return JudgeError.from_info(scoring.get("refusal_detector")) if isinstance(scoring, dict) else None


def corrected_block(
    row: dict[str, Any],
    before: np.ndarray,
    after: np.ndarray,
    err_before: JudgeError | None,
    err_after: JudgeError | None,
    alpha: float,
) -> dict[str, Any] | None:
    """The ``corrected`` block of one comparison row, or None when it is not a judged rate or no error is known."""
    complement = JUDGED_ITEM_METRICS.get(str(row.get("item_metric")))
    if complement is None or err_before is None or err_after is None or not row.get("n"):
        return None
    eb, ea = (err_before.swapped(), err_after.swapped()) if complement else (err_before, err_after)
    n, n_eff = len(before), float(row.get("n_effective") or len(before))
    scale = n_eff / n if n else 1.0

    def level(values: np.ndarray, err: JudgeError) -> tuple[float, float, float]:
        return corrected_rate(float(values.sum()) * scale, n_eff, err, alpha=alpha)

    b, b_lo, b_hi = level(before, eb)
    a, a_lo, a_hi = level(after, ea)
    out: dict[str, Any] = {
        "before": b,
        "before_ci": [b_lo, b_hi],
        "after": a,
        "after_ci": [a_lo, a_hi],
        "judge": ea.to_dict(),
        "method": "Rogan-Gladen with sensitivity/specificity drawn from their posteriors",
    }
    lo_hi = row.get("delta_ci") or [None, None]
    if eb == ea and None not in lo_hi:
        d, d_lo, d_hi = corrected_delta(
            float(row["delta"]), float(lo_hi[0]), float(lo_hi[1]), ea, alpha=alpha
        )
        out.update(delta=d, delta_ci=[d_lo, d_hi])
    else:
        out.update(delta=a - b, delta_ci=[None, None], note="the two runs used different judges")
    return out
