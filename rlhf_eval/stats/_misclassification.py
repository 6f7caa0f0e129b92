"""Rates measured by an imperfect judge, corrected for its measured error (Rogan-Gladen).

A judge with sensitivity ``se`` (refusals it calls refusals) and specificity ``sp`` (compliances it
calls compliance) reports on average ``q = se * p + (1 - sp) * (1 - p)`` for a true rate ``p``, so
``p = (q + sp - 1) / (se + sp - 1)`` (Rogan & Gladen, 1978). ``se`` and ``sp`` are themselves
estimates from a validation set, so the interval draws all three from their posteriors (Jeffreys
priors) and takes percentiles of the corrected rate, clipped to [0, 1]: the interval carries the
judge's uncertainty as well as the sampling error of the rate. Coverage is checked by simulation
in ``tests/stats/test_misclassification.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

N_DRAWS = 20_000
SEED = 20_240_601


@dataclass(frozen=True)
class JudgeError:
    """A judge's measured sensitivity and specificity as counts: ``tp`` of ``n_pos``, ``tn`` of ``n_neg``."""

    tp: int
    n_pos: int
    tn: int
    n_neg: int
    source: str = ""

    @property
    def sensitivity(self) -> float:
        return self.tp / self.n_pos if self.n_pos else float("nan")

    @property
    def specificity(self) -> float:
        return self.tn / self.n_neg if self.n_neg else float("nan")

    @classmethod
    def from_info(cls, info: object) -> JudgeError | None:
        """From a judge's ``info()`` / run.json ``refusal_detector`` block; None when it has no counts."""
        if not isinstance(info, dict):
            return None
        se, sp = info.get("sensitivity"), info.get("specificity")
        if not (isinstance(se, dict) and isinstance(sp, dict)):
            return None
        try:
            tp, n_pos, tn, n_neg = (int(se["k"]), int(se["n"]), int(sp["k"]), int(sp["n"]))
        except (KeyError, TypeError, ValueError):
            return None
        if n_pos <= 0 or n_neg <= 0 or not (0 <= tp <= n_pos and 0 <= tn <= n_neg):
            return None
        return cls(tp, n_pos, tn, n_neg, str(info.get("accuracy_source") or info.get("source") or ""))

    def swapped(self) -> JudgeError:
        """The same judge's error for the complementary event (a compliance rate from a refusal judge)."""
        return JudgeError(self.tn, self.n_neg, self.tp, self.n_pos, self.source)

    def to_dict(self) -> dict[str, object]:
        return {
            "sensitivity": {"value": round(self.sensitivity, 4), "k": self.tp, "n": self.n_pos},
            "specificity": {"value": round(self.specificity, 4), "k": self.tn, "n": self.n_neg},
            "source": self.source,
        }

    def draws(self, rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
        """Posterior draws of (sensitivity, specificity) under Jeffreys priors."""
        se = rng.beta(self.tp + 0.5, self.n_pos - self.tp + 0.5, size)
        sp = rng.beta(self.tn + 0.5, self.n_neg - self.tn + 0.5, size)
        return se, sp


def rogan_gladen(observed: float, sensitivity: float, specificity: float) -> float:
    """The corrected rate, clipped to [0, 1]; NaN when the judge is no better than chance."""
    youden = sensitivity + specificity - 1.0
    if not youden > 0:
        return float("nan")
    return float(np.clip((observed + specificity - 1.0) / youden, 0.0, 1.0))


def corrected_rate(
    k: float, n: float, judge: JudgeError, alpha: float = 0.05, n_draws: int = N_DRAWS, seed: int = SEED
) -> tuple[float, float, float]:
    """(estimate, lo, hi): the judged rate ``k / n`` corrected for the judge's error, with its interval.

    ``k`` and ``n`` may be effective (design-effect-adjusted) counts for clustered items.
    """
    if n <= 0:
        return float("nan"), float("nan"), float("nan")
    est = rogan_gladen(k / n, judge.sensitivity, judge.specificity)
    rng = np.random.default_rng(seed)
    q = rng.beta(k + 0.5, n - k + 0.5, n_draws)
    se, sp = judge.draws(rng, n_draws)
    lo, hi = _percentiles(_corrected(q, se, sp), alpha)
    return est, lo, hi


def corrected_delta(
    delta: float,
    delta_lo: float,
    delta_hi: float,
    judge: JudgeError,
    alpha: float = 0.05,
    n_draws: int = N_DRAWS,
    seed: int = SEED,
) -> tuple[float, float, float]:
    """A paired difference of two rates judged by the same judge, corrected: ``delta / (se + sp - 1)``.

    The difference's own uncertainty enters as a normal with the width of its interval
    ``[delta_lo, delta_hi]`` (computed at the same ``alpha``); the judge's through its posterior.
    """
    youden = judge.sensitivity + judge.specificity - 1.0
    if not youden > 0 or not np.isfinite(delta):
        return float("nan"), float("nan"), float("nan")
    from scipy.stats import norm

    z = float(norm.ppf(1 - alpha / 2))
    sd = max((delta_hi - delta_lo) / (2 * z), 0.0) if np.isfinite(delta_hi - delta_lo) else 0.0
    rng = np.random.default_rng(seed)
    d = rng.normal(delta, sd, n_draws)
    se, sp = judge.draws(rng, n_draws)
    j = se + sp - 1.0
    draws = np.clip(np.where(j > 0, d / np.where(j > 0, j, 1.0), np.nan), -1.0, 1.0)
    lo, hi = _percentiles(draws, alpha)
    return float(np.clip(delta / youden, -1.0, 1.0)), lo, hi


def _corrected(q: np.ndarray, se: np.ndarray, sp: np.ndarray) -> np.ndarray:
    j = se + sp - 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(j > 0, np.clip((q + sp - 1.0) / j, 0.0, 1.0), np.nan)


def _percentiles(draws: np.ndarray, alpha: float) -> tuple[float, float]:
    ok = draws[np.isfinite(draws)]
    if ok.size == 0:
        return float("nan"), float("nan")
    lo, hi = np.quantile(ok, [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi)
