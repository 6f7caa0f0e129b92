"""Wilson against statsmodels; Newcombe's paired interval against a slow independent version."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import optimize, stats
from statsmodels.stats.proportion import proportion_confint

from rlhf_eval.stats import newcombe_paired_interval, wilson_interval


@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_wilson_matches_statsmodels(confidence: float) -> None:
    for n in (1, 2, 7, 30, 150, 1000):
        for k in sorted({0, 1, n // 3, n // 2, n - 1, n}):
            lo, hi = proportion_confint(k, n, alpha=1 - confidence, method="wilson")
            assert wilson_interval(k, n, confidence) == pytest.approx((lo, hi), abs=1e-12)


def test_wilson_empty() -> None:
    assert all(math.isnan(v) for v in wilson_interval(0, 0))


def _slow_wilson(k: int, n: int, z: float) -> tuple[float, float]:
    """Wilson limits as the roots of the score equation |p - pi| = z sqrt(pi (1 - pi) / n)."""
    p = k / n

    def score(pi: float) -> float:
        return (p - pi) ** 2 - z * z * pi * (1 - pi) / n

    # score < 0 strictly inside the interval, > 0 at the far ends (unless p is at the boundary)
    inside = min(max(p, 1e-12), 1 - 1e-12)
    lo = 0.0 if k == 0 else optimize.brentq(score, 0.0, inside, xtol=1e-15)
    hi = 1.0 if k == n else optimize.brentq(score, inside, 1.0, xtol=1e-15)
    return lo, hi


def _slow_newcombe(a: int, b: int, c: int, d: int, confidence: float = 0.95) -> tuple[float, float]:
    """Newcombe (1998) method 10 written from the paper, with phi from the expanded 0/1 data."""
    z = stats.norm.ppf(0.5 + confidence / 2)
    n = a + b + c + d
    first = np.repeat([1, 1, 0, 0], [a, b, c, d])
    second = np.repeat([1, 0, 1, 0], [a, b, c, d])
    p1, p2 = first.mean(), second.mean()
    l1, u1 = _slow_wilson(a + b, n, z)
    l2, u2 = _slow_wilson(a + c, n, z)
    if first.std() == 0 or second.std() == 0:
        phi = 0.0
    else:
        phi = float(np.corrcoef(first, second)[0, 1])
    delta = math.sqrt((p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2)
    eps = math.sqrt((u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2)
    return p1 - p2 - delta, p1 - p2 + eps


TABLES = [
    *itertools.product([0, 1, 12], [0, 2, 9], [0, 1, 5], [0, 1, 20]),
    (50, 80, 5, 115),
    (1, 1, 7, 12),
    (200, 3, 30, 17),
]


@pytest.mark.parametrize("table", [t for t in TABLES if sum(t) > 0])
def test_newcombe_matches_slow_implementation(table: tuple[int, int, int, int]) -> None:
    # abs 1e-7: sqrt amplifies the root-finder tolerance when phi = 1 makes the radicand ~0
    assert newcombe_paired_interval(*table) == pytest.approx(_slow_newcombe(*table), abs=1e-7)


def test_newcombe_properties() -> None:
    a, b, c, d = 12, 9, 2, 1
    lo, hi = newcombe_paired_interval(a, b, c, d)
    theta = (b - c) / (a + b + c + d)
    assert lo < theta < hi
    assert lo >= -1 and hi <= 1
    # swapping the two classifications negates the interval
    assert newcombe_paired_interval(a, c, b, d) == pytest.approx((-hi, -lo), abs=1e-12)
    # wider at higher confidence
    lo99, hi99 = newcombe_paired_interval(a, b, c, d, 0.99)
    assert lo99 < lo and hi < hi99
    # phi = 0 (ad == bc) reduces to the unpaired square-and-add (Newcombe 1998 unpaired method 10)
    l1, u1 = wilson_interval(4 + 2, 12)
    l2, u2 = wilson_interval(4 + 4, 12)
    lo0, hi0 = newcombe_paired_interval(4, 2, 4, 2)
    p1, p2 = 0.5, 8 / 12
    assert lo0 == pytest.approx(p1 - p2 - math.hypot(p1 - l1, u2 - p2), abs=1e-12)
    assert hi0 == pytest.approx(p1 - p2 + math.hypot(u1 - p1, p2 - l2), abs=1e-12)
    assert all(math.isnan(v) for v in newcombe_paired_interval(0, 0, 0, 0))


def test_newcombe_coverage_simulation() -> None:
    # paired cells with probabilities (p11, p10, p01, p00); true difference p10 - p01
    rng = np.random.default_rng(7)
    probs = np.array([0.55, 0.15, 0.08, 0.22])
    truth = probs[1] - probs[2]
    tables = rng.multinomial(120, probs, size=1000)
    covered = [lo <= truth <= hi for lo, hi in (newcombe_paired_interval(*map(int, t)) for t in tables)]
    assert 0.93 <= np.mean(covered) <= 0.98
