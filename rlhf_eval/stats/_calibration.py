"""Expected calibration error over bootstrap weights, and paired before/after ECE inference.

Uses the binning of :func:`rlhf_eval.scoring.expected_calibration_error` (``n_bins``
equal-width bins ``(lo, hi]``, a confidence of 0 in the first bin) so that weights of all
ones reproduce it exactly. ECE is a sum over bins of ``|sum(correct - confidence)|``, so
every resample reduces to one matrix product with a per-bin indicator matrix.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from rlhf_eval.stats._resample import ClusterLabels, bootstrap_distribution, permutation_test

N_BINS = 10


def calibration_bins(confidence: npt.ArrayLike, n_bins: int = N_BINS) -> np.ndarray:
    """Bin index of each confidence: equal-width bins ``(lo, hi]``, a confidence of 0 in bin 0.

    The one binning every calibration number uses (ECE, its resamples, reliability diagrams).
    """
    conf = np.asarray(confidence, dtype=float).ravel()
    return np.clip(np.ceil(conf * n_bins).astype(int) - 1, 0, n_bins - 1)


def reliability_table(
    confidence: npt.ArrayLike, correct: npt.ArrayLike, n_bins: int = N_BINS
) -> list[dict[str, object]]:
    """Per bin: ``lo``, ``hi``, ``count``, ``mean_confidence``, ``accuracy`` (None when empty)."""
    conf = np.asarray(confidence, dtype=float).ravel()
    corr = np.asarray(correct, dtype=float).ravel()
    bins = calibration_bins(conf, n_bins)
    count = np.bincount(bins, minlength=n_bins)
    conf_sum = np.bincount(bins, weights=conf, minlength=n_bins)
    acc_sum = np.bincount(bins, weights=corr, minlength=n_bins)
    return [
        {
            "lo": b / n_bins,
            "hi": (b + 1) / n_bins,
            "count": int(count[b]),
            "mean_confidence": float(conf_sum[b] / count[b]) if count[b] else None,
            "accuracy": float(acc_sum[b] / count[b]) if count[b] else None,
        }
        for b in range(n_bins)
    ]


def _bin_gaps(confidence: npt.ArrayLike, correct: npt.ArrayLike, n_bins: int) -> np.ndarray:
    """Matrix ``(n, n_bins)``: ``correct - confidence`` in each item's bin column, 0 elsewhere."""
    conf = np.asarray(confidence, dtype=float).ravel()
    corr = np.asarray(correct, dtype=float).ravel()
    bins = calibration_bins(conf, n_bins)
    gaps = np.zeros((conf.size, n_bins))
    gaps[np.arange(conf.size), bins] = corr - conf
    return gaps


def weighted_ece(
    confidence: npt.ArrayLike, correct: npt.ArrayLike, weights: np.ndarray, n_bins: int = N_BINS
) -> np.ndarray:
    """ECE under each row of ``weights`` (shape ``(b, n)``, e.g. bootstrap counts); returns ``(b,)``."""
    return _ece_of(np.atleast_2d(np.asarray(weights, dtype=float)), _bin_gaps(confidence, correct, n_bins))


def _ece_of(w: np.ndarray, gaps: np.ndarray) -> np.ndarray:
    """ECE under each row of weights ``w`` ``(b, n)`` given the ``(n, n_bins)`` gap matrix."""
    return np.abs(w @ gaps).sum(axis=1) / w.sum(axis=1)


def _paired_gaps(
    conf_before: npt.ArrayLike,
    correct_before: npt.ArrayLike,
    conf_after: npt.ArrayLike,
    correct_after: npt.ArrayLike,
    n_bins: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Gap matrices of the before and after runs, which must hold the same items."""
    gb = _bin_gaps(conf_before, correct_before, n_bins)
    ga = _bin_gaps(conf_after, correct_after, n_bins)
    if gb.shape != ga.shape:
        raise ValueError("before and after must have the same number of items")
    return gb, ga


def paired_ece_bootstrap(
    conf_before: npt.ArrayLike,
    correct_before: npt.ArrayLike,
    conf_after: npt.ArrayLike,
    correct_after: npt.ArrayLike,
    n_resamples: int = 10000,
    seed: int = 0,
    clusters: ClusterLabels = None,
    *,
    n_bins: int = N_BINS,
) -> np.ndarray:
    """Bootstrap replicates ``(B, 3)`` of ``[ECE before, ECE after, after - before]`` over paired items."""
    gb, ga = _paired_gaps(conf_before, correct_before, conf_after, correct_after, n_bins)

    def stat(w: np.ndarray) -> np.ndarray:
        eb, ea = _ece_of(w, gb), _ece_of(w, ga)
        return np.column_stack([eb, ea, ea - eb])

    return bootstrap_distribution(stat, gb.shape[0], n_resamples, seed, clusters)


def paired_ece_permutation_test(
    conf_before: npt.ArrayLike,
    correct_before: npt.ArrayLike,
    conf_after: npt.ArrayLike,
    correct_after: npt.ArrayLike,
    n_resamples: int = 10000,
    seed: int = 0,
    clusters: ClusterLabels = None,
    *,
    n_bins: int = N_BINS,
) -> float:
    """Two-sided permutation p-value for ``ECE(after) - ECE(before)``, swapping runs within items.

    Under the null each item's (confidence, correct) pair is equally likely to have come
    from either run; swapping is linear in the per-bin sums, so each plan is a matmul.
    """
    gb, ga = _paired_gaps(conf_before, correct_before, conf_after, correct_after, n_bins)
    n = gb.shape[0]
    if n == 0:
        return float("nan")
    sum_b, sum_a, delta = gb.sum(axis=0), ga.sum(axis=0), gb - ga

    def stat(swap: np.ndarray) -> np.ndarray:
        moved = swap @ delta  # what swapping moves from after into before's bins
        after_bins = sum_a + moved
        before_bins = sum_b - moved
        return (np.abs(after_bins).sum(axis=1) - np.abs(before_bins).sum(axis=1)) / n

    return permutation_test(stat, n, n_resamples, seed, clusters)
