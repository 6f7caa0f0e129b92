"""Leave-one-out majority agreement and Dawid-Skene against brute force and planted truth."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest

from rlhf_eval.audit import dawid_skene, encode_ratings, loo_agreement


def slow_loo(frame: pd.DataFrame) -> list[float]:
    """Per rating: 1 if its label is the sole plurality of the other ratings, 1/t in a t-way tie."""
    out = []
    for idx, row in frame.iterrows():
        others = frame[(frame["item_id"] == row["item_id"]) & (frame.index != idx)]["label"]
        if others.empty:
            out.append(float("nan"))
            continue
        counts = Counter(others)
        top = max(counts.values())
        leaders = [label for label, n in counts.items() if n == top]
        out.append(1.0 / len(leaders) if row["label"] in leaders else 0.0)
    return out


@pytest.mark.parametrize("seed", [0, 1])
def test_loo_agreement_matches_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    rows = [
        (f"i{u}", f"a{r}", int(rng.integers(0, 3))) for u in range(40) for r in range(int(rng.integers(1, 7)))
    ]
    frame = pd.DataFrame(rows, columns=["item_id", "annotator_id", "label"])
    got = loo_agreement(encode_ratings(frame))
    want = np.array(slow_loo(frame))
    assert np.array_equal(np.isnan(got), np.isnan(want))
    ok = ~np.isnan(want)
    assert np.allclose(got[ok], want[ok], atol=1e-12)


def simulate(
    seed: int, n_items: int = 3000, n_ann: int = 40, c: int = 3
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = rng.choice(c, n_items, p=[0.5, 0.3, 0.2])
    acc = rng.uniform(0.6, 0.95, n_ann)
    acc[:3] = 1.0 / c  # random labellers
    item = np.repeat(np.arange(n_items), 5)
    ann = np.concatenate([rng.choice(n_ann, 5, replace=False) for _ in range(n_items)])
    right = rng.random(len(item)) < acc[ann]
    label = np.where(right, truth[item], (truth[item] + rng.integers(1, c, len(item))) % c)
    frame = pd.DataFrame({"item_id": item, "annotator_id": ann, "label": label})
    return frame, truth, acc


def test_dawid_skene_recovers_planted_reliability() -> None:
    frame, truth, acc = simulate(0)
    coded = encode_ratings(frame)
    ds = dawid_skene(
        coded.item,
        coded.annotator,
        coded.label,
        n_items=coded.n_items,
        n_annotators=coded.n_annotators,
        n_categories=coded.n_categories,
    )
    assert ds.converged
    item_truth = truth[coded.item_ids.astype(int)]
    assert (ds.labels() == item_truth).mean() > 0.93
    true_acc = acc[coded.annotator_ids.astype(int)]
    # reliability = P(label is true) and the planted accuracy agree closely
    assert np.corrcoef(ds.reliability, true_acc)[0, 1] > 0.95
    assert np.abs(ds.reliability - true_acc).max() < 0.1
    assert np.allclose(ds.confusion.sum(axis=2), 1.0)
    assert ds.priors == pytest.approx([0.5, 0.3, 0.2], abs=0.03)


def test_dawid_skene_matches_majority_vote_when_everyone_is_reliable() -> None:
    rng = np.random.default_rng(2)
    truth = rng.integers(0, 2, 500)
    item = np.repeat(np.arange(500), 3)
    ann = np.tile(np.arange(3), 500)
    label = np.where(rng.random(1500) < 0.97, truth[item], 1 - truth[item])
    ds = dawid_skene(item, ann, label)
    votes = np.bincount(item, weights=label) > 1.5
    assert (ds.labels() == votes).mean() > 0.99
