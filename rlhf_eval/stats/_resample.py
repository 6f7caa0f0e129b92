"""Resampling plans for paired data: bootstrap weights and before/after swaps, by item or cluster.

Both plans are produced in chunks of whole resamples (a matrix per chunk, no Python loop
over resamples) so memory stays bounded for large suites. A *cluster* is a set of items
that are resampled, or swapped, together: items sharing ``meta.cluster`` or ``meta.pair_id``
are not independent, so treating them as independent would make intervals too narrow.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Sequence

import numpy as np

# Upper bound on matrix elements per chunk (about 16 MB of float64).
_CHUNK_ELEMENTS = 2_000_000
# Relative tolerance when counting permutation statistics "at least as extreme" (float ties).
_TIE_RTOL = 1e-9

ClusterLabels = Sequence[Hashable | None] | np.ndarray | None


def cluster_codes(clusters: ClusterLabels, n: int) -> tuple[np.ndarray, int]:
    """Integer code per item (``0..G-1``, first-seen order) and ``G``; ``None`` labels are singletons."""
    if clusters is None:
        return np.arange(n), n
    labels = list(clusters)
    if len(labels) != n:
        raise ValueError(f"clusters has {len(labels)} labels for {n} items")
    seen: dict[Hashable, int] = {}
    codes = np.empty(n, dtype=np.intp)
    for i, lab in enumerate(labels):
        key: Hashable = ("\0item", i) if lab is None else lab
        codes[i] = seen.setdefault(key, len(seen))
    return codes, len(seen)


def _chunk_size(width: int) -> int:
    return max(1, _CHUNK_ELEMENTS // max(width, 1))


def bootstrap_weights(
    n: int, n_resamples: int, seed: int, clusters: ClusterLabels = None
) -> Iterator[np.ndarray]:
    """Yield chunks of bootstrap weights, shape ``(b, n)``: how often each item is drawn.

    Without clusters each resample draws ``n`` items with replacement; with clusters it
    draws ``G`` whole clusters with replacement and every item gets its cluster's count.
    """
    codes, g = cluster_codes(clusters, n)
    rng = np.random.default_rng(seed)
    chunk = _chunk_size(max(n, g))
    done = 0
    while done < n_resamples:
        b = min(chunk, n_resamples - done)
        idx = rng.integers(0, g, size=(b, g), dtype=np.int32)  # int32 draws are ~4x faster
        offsets = (np.arange(b, dtype=np.intp) * g)[:, None]
        counts = np.bincount((idx + offsets).ravel(), minlength=b * g).reshape(b, g)
        yield (counts if clusters is None else counts[:, codes]).astype(float)
        done += b


def bootstrap_distribution(
    statistic: Callable[[np.ndarray], np.ndarray],
    n: int,
    n_resamples: int,
    seed: int,
    clusters: ClusterLabels = None,
) -> np.ndarray:
    """Bootstrap replicates of ``statistic``, which maps weights ``(b, n)`` to ``(b,)`` or ``(b, k)``."""
    parts = [np.asarray(statistic(w)) for w in bootstrap_weights(n, n_resamples, seed, clusters)]
    return np.concatenate(parts, axis=0)


def swap_plans(
    n: int, n_resamples: int, seed: int, clusters: ClusterLabels = None
) -> tuple[Iterator[np.ndarray], bool]:
    """Chunks of 0/1 swap matrices ``(b, n)`` (1 = exchange the item's before and after values).

    Returns ``(chunks, exact)``. When ``2**G <= n_resamples`` every one of the ``2**G``
    swap patterns of the ``G`` clusters is enumerated (an exact test, identity included);
    otherwise ``n_resamples`` patterns are drawn at random. Whole clusters swap together.
    """
    codes, g = cluster_codes(clusters, n)
    exact = g <= 62 and 2**g <= n_resamples

    def chunks() -> Iterator[np.ndarray]:
        chunk = _chunk_size(max(n, g))
        total = 2**g if exact else n_resamples
        rng = np.random.default_rng(seed)
        done = 0
        while done < total:
            b = min(chunk, total - done)
            bits: np.ndarray
            if exact:
                patterns = np.arange(done, done + b, dtype=np.int64)[:, None]
                bits = (patterns >> np.arange(g, dtype=np.int64)) & 1
            else:  # one random bit per cluster, from random bytes
                raw = rng.integers(0, 256, size=(b, (g + 7) // 8), dtype=np.uint8)
                bits = np.unpackbits(raw, axis=1, count=g)
            yield (bits if clusters is None else bits[:, codes]).astype(float)
            done += b

    return chunks(), exact


def permutation_pvalue(observed: float, null: np.ndarray, exact: bool) -> float:
    """Two-sided p-value: share of ``|null| >= |observed|`` (random plans add the observed one)."""
    if not np.isfinite(observed):
        return float("nan")
    extreme = np.abs(null) >= abs(observed) * (1 - _TIE_RTOL) - 1e-12
    hits = int(np.count_nonzero(extreme))
    if exact:
        return min(1.0, hits / null.size)
    return min(1.0, (hits + 1) / (null.size + 1))


def permutation_test(
    statistic: Callable[[np.ndarray], np.ndarray],
    n: int,
    n_resamples: int,
    seed: int,
    clusters: ClusterLabels = None,
) -> float:
    """Paired permutation p-value of ``statistic``, which maps swap matrices ``(b, n)`` to ``(b,)``.

    Under the null hypothesis "before and after are exchangeable within each item (or
    cluster)", every swap pattern is equally likely; the observed value is the no-swap one.
    """
    observed = float(np.asarray(statistic(np.zeros((1, n))))[0])
    chunks, exact = swap_plans(n, n_resamples, seed, clusters)
    null = np.concatenate([np.asarray(statistic(s)) for s in chunks])
    return permutation_pvalue(observed, null, exact)
