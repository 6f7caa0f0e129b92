"""Paired bootstrap and permutation tests: coverage, calibration, clusters, exactness, determinism."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from rlhf_eval.stats import (
    bootstrap_weights,
    cluster_codes,
    paired_bootstrap,
    paired_permutation_test,
    swap_plans,
)


def test_bootstrap_covers_true_difference_at_nominal_rate() -> None:
    rng = np.random.default_rng(2024)
    true_delta, n, covered = 0.3, 60, 0
    for i in range(200):
        before = rng.normal(1.0, 1.0, n)
        after = before + true_delta + rng.exponential(1.0, n) - 1.0  # skewed noise, mean 0
        _, lo, hi = paired_bootstrap(before, after, n_resamples=1000, seed=i)
        covered += lo <= true_delta <= hi
    assert 0.90 <= covered / 200 <= 0.99


def test_cluster_bootstrap_keeps_coverage_under_within_cluster_correlation() -> None:
    rng = np.random.default_rng(5)
    n_clusters, size, reps = 30, 4, 200
    labels = np.repeat(np.arange(n_clusters), size)
    cover_cluster = cover_items = 0
    for i in range(reps):
        shared = np.repeat(rng.normal(0, 1.0, n_clusters), size)  # a per-cluster shift of the change
        before = rng.normal(0, 1, labels.size)
        after = before + shared + rng.normal(0, 0.3, labels.size)
        _, lo, hi = paired_bootstrap(before, after, 1000, seed=i, clusters=labels)
        cover_cluster += lo <= 0 <= hi
        _, lo, hi = paired_bootstrap(before, after, 1000, seed=i)
        cover_items += lo <= 0 <= hi
    assert 0.88 <= cover_cluster / reps <= 0.99
    assert cover_items / reps < 0.80  # ignoring clusters is badly anti-conservative here


def test_bootstrap_point_estimate_and_determinism() -> None:
    rng = np.random.default_rng(0)
    x, y = rng.random(50), rng.random(50)
    delta, lo, hi = paired_bootstrap(x, y, 2000, seed=3)
    assert delta == pytest.approx(np.mean(y - x))
    assert lo < delta < hi
    assert paired_bootstrap(x, y, 2000, seed=3) == (delta, lo, hi)
    assert paired_bootstrap(x, y, 2000, seed=4) != (delta, lo, hi)
    assert all(np.isnan(paired_bootstrap([], [])))


def test_bootstrap_weights_shape_and_totals() -> None:
    chunks = list(bootstrap_weights(7, 50, seed=0))
    w = np.vstack(chunks)
    assert w.shape == (50, 7)
    assert np.all(w.sum(axis=1) == 7)
    labels = ["a", "a", "b", None, "c", "c", "c"]  # None = its own cluster
    codes, g = cluster_codes(labels, 7)
    assert g == 4 and codes.tolist() == [0, 0, 1, 2, 3, 3, 3]
    wc = np.vstack(list(bootstrap_weights(7, 200, seed=1, clusters=labels)))
    assert np.all(wc[:, 0] == wc[:, 1]) and np.all(wc[:, 4] == wc[:, 6])
    # G clusters drawn per resample: cluster counts sum to G
    assert np.all(wc[:, [0, 2, 3, 4]].sum(axis=1) == 4)


def test_large_resamples_are_chunked_deterministically() -> None:
    x = np.arange(5000.0) % 7
    y = x + (np.arange(5000) % 3 == 0)
    first = paired_bootstrap(x, y, 1200, seed=9)  # 1200 x 5000 weights: three chunks
    assert paired_bootstrap(x, y, 1200, seed=9) == first
    delta, lo, hi = first
    assert delta == pytest.approx(1667 / 5000)
    assert lo < delta < hi and hi - lo < 0.03


def test_permutation_exact_matches_scipy() -> None:
    rng = np.random.default_rng(11)
    x = rng.normal(size=10)
    y = x + 0.5 + rng.normal(size=10)
    p = paired_permutation_test(x, y, n_resamples=10000, seed=0)  # 2**10 <= 10000: exact
    ref = stats.permutation_test(
        (x, y),
        lambda a, b, axis: np.mean(b - a, axis=axis),
        permutation_type="samples",
        n_resamples=np.inf,
        alternative="two-sided",
    ).pvalue
    assert p == pytest.approx(ref, abs=1e-12)


def test_permutation_random_plans_close_to_exact() -> None:
    rng = np.random.default_rng(12)
    x = rng.normal(size=14)
    y = x + 0.6 + rng.normal(size=14)
    exact = paired_permutation_test(x, y, n_resamples=2**14, seed=0)
    _, is_exact = swap_plans(14, 2**14, 0)
    assert is_exact
    approx = paired_permutation_test(x, y, n_resamples=20000, seed=0)
    assert approx == pytest.approx(exact, abs=0.01)


def test_permutation_null_false_positive_rate() -> None:
    rng = np.random.default_rng(13)
    hits = 0
    for i in range(300):
        x = rng.normal(size=40)
        y = x + rng.standard_t(3, size=40)
        hits += paired_permutation_test(x, y, 500, seed=i) < 0.05
    assert hits / 300 <= 0.08


def test_permutation_edge_cases() -> None:
    assert paired_permutation_test([1, 2, 3], [1, 2, 3]) == 1.0
    assert np.isnan(paired_permutation_test([], []))
    # one item: both sign patterns are as extreme
    assert paired_permutation_test([0.0], [1.0]) == 1.0
    # clusters swap together: 2 clusters -> 4 patterns, the observed is among the 2 most extreme
    p = paired_permutation_test([0, 0, 0, 0], [1, 1, 1, 1], clusters=["a", "a", "b", "b"])
    assert p == pytest.approx(0.5)
