"""Item bootstrap as a matrix product: resample whole items, never individual ratings.

Each statistic is written as a function of column sums of a per-item feature matrix ``F``
(items x features): the point estimate is ``stat(1 @ F)`` and bootstrap replicate ``b`` is
``stat(w_b @ F)``, where ``w_b[u]`` counts how often item ``u`` was drawn. Features are
computed once; replicates cost one (dense or sparse) matrix product per chunk of draws.

When items were compressed into distinct count patterns (``ItemCounts.compress``), drawing
``n`` items uniformly is the same as drawing pattern counts from a multinomial with the
patterns' frequencies, so a replicate costs O(patterns) instead of O(items). Both paths are
seeded and deterministic.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

FloatArray = npt.NDArray[np.float64]
Features: TypeAlias = "FloatArray | sp.spmatrix | sp.sparray"
Statistic: TypeAlias = Callable[[FloatArray], FloatArray]

DEFAULT_N_BOOTSTRAP = 1000
_CHUNK_CELLS = 10_000_000


@dataclass(frozen=True)
class Estimate:
    """A point estimate with a percentile bootstrap interval (NaN = undefined)."""

    value: float
    ci_low: float = math.nan
    ci_high: float = math.nan
    n_boot_valid: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"value": _num(self.value), "ci_low": _num(self.ci_low), "ci_high": _num(self.ci_high)}


def _num(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def item_bootstrap(
    features: Features,
    statistics: Mapping[str, Statistic],
    *,
    n_boot: int = DEFAULT_N_BOOTSTRAP,
    seed: int = 0,
    multiplicity: FloatArray | None = None,
    confidence: float = 0.95,
) -> dict[str, Estimate]:
    """Point estimates and percentile CIs of several statistics of the same items.

    Args:
        features: per-unit features, shape ``(n_units, p)``; a unit is an item, or a count
            pattern when ``multiplicity`` is given.
        statistics: name -> function mapping sums of shape ``(b, p)`` to values ``(b,)``.
        n_boot: number of bootstrap replicates (0 = no interval).
        seed: seed of the resampling generator.
        multiplicity: items per unit when units are patterns.
        confidence: two-sided coverage of the interval.
    """
    n_units = features.shape[0]
    if sp.issparse(features):
        # transposed CSR: each feature's nonzeros, multiplied into contiguous weight columns
        features = sp.csr_matrix(features.T)
    base = np.ones(n_units) if multiplicity is None else np.asarray(multiplicity, dtype=np.float64)
    totals = _weighted_sums(features, base[None, :])
    points = {name: float(stat(totals)[0]) for name, stat in statistics.items()}
    reps: dict[str, list[FloatArray]] = {name: [] for name in statistics}
    if n_boot > 0 and n_units > 0:
        for weights in _draws(n_units, n_boot, seed, multiplicity, _width(features)):
            sums = _weighted_sums(features, weights)
            for name, stat in statistics.items():
                reps[name].append(np.asarray(stat(sums), dtype=np.float64))
    tail = (1.0 - confidence) / 2.0
    out: dict[str, Estimate] = {}
    for name, point in points.items():
        values = np.concatenate(reps[name]) if reps[name] else np.empty(0)
        finite = values[np.isfinite(values)]
        if math.isfinite(point) and n_boot > 0 and len(finite) >= max(1, n_boot // 2):
            lo, hi = np.quantile(finite, [tail, 1.0 - tail])
            out[name] = Estimate(point, float(lo), float(hi), len(finite))
        else:
            out[name] = Estimate(point, math.nan, math.nan, len(finite))
    return out


def _width(features: Features) -> int:
    return int(features.shape[0] if sp.issparse(features) else features.shape[1])


def _weighted_sums(features: Features, weights: FloatArray) -> FloatArray:
    """``weights @ F`` as a dense ``(b, p)`` array; sparse features arrive transposed (p x units)."""
    if sp.issparse(features):
        return np.asarray((features @ np.ascontiguousarray(weights.T)).T, dtype=np.float64)
    return np.asarray(weights @ np.asarray(features), dtype=np.float64)


def _draws(
    n_units: int, n_boot: int, seed: int, multiplicity: FloatArray | None, width: int = 1
) -> Iterator[FloatArray]:
    """Yield chunks of bootstrap weight rows, shape ``(b, n_units)``, summing to the item count."""
    rng = np.random.default_rng(seed)
    chunk = max(1, min(n_boot, _CHUNK_CELLS // max(n_units, width, 1)))
    done = 0
    if multiplicity is not None:
        n_items = round(float(multiplicity.sum()))
        probs = multiplicity / multiplicity.sum()
        while done < n_boot:
            b = min(chunk, n_boot - done)
            yield rng.multinomial(n_items, probs, size=b).astype(np.float64)
            done += b
        return
    while done < n_boot:
        b = min(chunk, n_boot - done)
        yield resample_counts(rng, n_units, b)
        done += b


def resample_counts(rng: np.random.Generator, n_units: int, b: int) -> FloatArray:
    """``b`` rows of how often each of ``n_units`` units is drawn in ``n_units`` draws with
    replacement (uniform multinomial counts; integers + bincount is much faster than
    ``rng.multinomial`` with many categories)."""
    idx = rng.integers(0, n_units, size=(b, n_units))
    idx += (np.arange(b, dtype=np.int64) * n_units)[:, None]
    return np.bincount(idx.ravel(), minlength=b * n_units).reshape(b, n_units).astype(np.float64)
