"""Benchmark the preference-data audit on 1,000,000 labels (200,000 items x 5, 2,000 annotators).

Prints, for a raw long table held in a pandas DataFrame (string ids, as read from a file):

* Krippendorff's alpha at each level, end to end (encoding included); target < 0.5 s;
* every agreement coefficient together (alpha, percent agreement, Fleiss, AC1, pairwise and
  weighted Cohen), point estimates; target < 2 s; and the same with 1,000 item-bootstrap
  replicates;
* Dawid-Skene: ours vs crowd-kit's ``DawidSkene`` on the same labels -- time, speed ratio
  (target >= 2x) and accuracy against the planted true labels;
* peak resident memory of our part (before crowd-kit runs); target < 3 GB.

Annotators work in 100 teams of 20 (each item goes to 5 members of one team), so pairs of
annotators share ~100 items and pairwise Cohen's kappa is defined. Labels are a 5-point
scale drawn from per-annotator confusion matrices (a Dawid-Skene world), including 5 %
annotators who label at random.

Usage: python benchmarks/bench_audit.py [--items 200000] [--skip-crowdkit] [--full-audit]
(crowd-kit: ``pip install crowd-kit``; it is a benchmark baseline, not a dependency.)
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd


def make_data(
    n_items: int, per_item: int, n_annotators: int, n_cat: int, seed: int
) -> tuple[pd.DataFrame, Any]:
    """Synthetic long table and the true label of each item."""
    rng = np.random.default_rng(seed)
    team_size = 20
    n_teams = n_annotators // team_size
    truth = rng.choice(n_cat, size=n_items, p=np.array([0.1, 0.2, 0.3, 0.25, 0.15])[:n_cat] / 1.0)
    team = rng.integers(0, n_teams, size=n_items)
    keys = rng.random((n_items, team_size))
    members = np.argsort(keys, axis=1)[:, :per_item]
    annotator = (team[:, None] * team_size + members).ravel()
    item = np.repeat(np.arange(n_items), per_item)
    accuracy = rng.uniform(0.55, 0.9, size=n_annotators)
    accuracy[rng.random(n_annotators) < 0.05] = 1.0 / n_cat
    correct = rng.random(len(item)) < accuracy[annotator]
    # errors land on a neighbouring category (ordinal noise), clipped to the scale
    step = np.where(rng.random(len(item)) < 0.5, -1, 1) * rng.integers(1, 3, size=len(item))
    wrong = np.clip(truth[item] + step, 0, n_cat - 1)
    wrong = np.where(wrong == truth[item], (truth[item] + 1) % n_cat, wrong)
    label = np.where(correct, truth[item], wrong) + 1
    frame = pd.DataFrame(
        {
            "item_id": pd.Series(np.char.add("item-", item.astype(str)), dtype=object),
            "annotator_id": pd.Series(np.char.add("ann-", annotator.astype(str)), dtype=object),
            "label": label.astype(np.int64),
        }
    )
    return frame, truth


def timed(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    """Best wall time of ``repeat`` runs and the last result."""
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def peak_rss_gb() -> float:
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / (1024**2) if sys.platform != "darwin" else kb / (1024**3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--per-item", type=int, default=5)
    parser.add_argument("--annotators", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-crowdkit", action="store_true")
    parser.add_argument("--full-audit", action="store_true", help="also time audit() end to end")
    args = parser.parse_args(argv)

    from rlhf_eval.audit import dawid_skene
    from rlhf_eval.audit._agreement import agreement, count_coefficients
    from rlhf_eval.audit._counts import ItemCounts
    from rlhf_eval.audit._krippendorff import alpha_from_counts
    from rlhf_eval.audit._load import encode_ratings

    frame, truth = make_data(args.items, args.per_item, args.annotators, 5, args.seed)
    print(f"data: {len(frame):,} labels, {args.items:,} items, {args.annotators:,} annotators, 5 categories")
    results: dict[str, float] = {}

    def alpha_end_to_end(level: str) -> float:
        coded = encode_ratings(frame, level=level)
        ic = ItemCounts.from_codes(coded.item, coded.label, n_items=coded.n_items, values=coded.values)
        return alpha_from_counts(ic, level)

    for level in ("nominal", "ordinal", "interval", "ratio"):
        t, value = timed(lambda level=level: alpha_end_to_end(level))
        results[f"alpha_{level}_s"] = t
        print(f"alpha ({level:8s}) from the raw table: {t:6.3f} s   alpha = {value:.4f}")

    t, coefs = timed(lambda: agreement(frame, level="ordinal", n_boot=0))
    results["all_coefficients_s"] = t
    print(f"all agreement coefficients (point estimates): {t:6.3f} s")
    for name, coef in coefs.items():
        print(f"    {name:22s} {coef.estimate.value: .4f}  (n_items {coef.n_items:,})")

    coded = encode_ratings(frame, level="ordinal")
    ic = ItemCounts.from_codes(coded.item, coded.label, n_items=coded.n_items, values=coded.values)
    t, _ = timed(lambda: count_coefficients(ic, "ordinal", n_boot=1000, seed=0), repeat=1)
    results["count_coefficients_bootstrap_s"] = t
    print(f"alpha + percent + Fleiss + AC1 with 1,000 item-bootstrap CIs: {t:6.3f} s")
    t, full = timed(lambda: agreement(frame, level="ordinal", n_boot=1000, seed=0), repeat=1)
    results["all_coefficients_bootstrap_s"] = t
    a = full["krippendorff_alpha"].estimate
    print(
        f"all coefficients with 1,000 item-bootstrap CIs: {t:6.3f} s   alpha CI [{a.ci_low:.4f}, {a.ci_high:.4f}]"
    )

    t_ours, ds = timed(
        lambda: dawid_skene(
            coded.item,
            coded.annotator,
            coded.label,
            n_items=coded.n_items,
            n_annotators=coded.n_annotators,
            n_categories=coded.n_categories,
        ),
        repeat=1,
    )
    truth_coded = truth[pd.factorize(frame["item_id"])[1].str.slice(5).astype(int).to_numpy()]
    acc_ours = float((ds.labels() == truth_coded).mean())
    results["ds_ours_s"] = t_ours
    print(f"Dawid-Skene (ours):     {t_ours:6.3f} s  {ds.n_iter} iterations  accuracy {acc_ours:.4f}")
    results["peak_rss_gb"] = peak_rss_gb()
    print(f"peak resident memory so far (data + ours): {results['peak_rss_gb']:.2f} GB")

    if args.full_audit:
        from rlhf_eval.audit import audit

        ann = pd.DataFrame({"annotator_id": [f"ann-{i}" for i in range(args.annotators)]})
        rng = np.random.default_rng(1)
        ann["region"] = rng.choice(["north", "south", "east", "west"], size=args.annotators)
        ann["age_band"] = rng.choice(["18-29", "30-44", "45-59", "60+"], size=args.annotators)
        t, _ = timed(lambda: audit(frame, ann, level="ordinal", pseudonym_key="bench"), repeat=1)
        results["full_audit_s"] = t
        print(f"full audit() with 2 attributes + intersection: {t:6.3f} s, peak RSS {peak_rss_gb():.2f} GB")

    if not args.skip_crowdkit:
        try:
            from crowdkit.aggregation import DawidSkene
        except ImportError:
            print("crowd-kit not installed (pip install crowd-kit); skipping the baseline")
            return 0
        data = pd.DataFrame({"task": coded.item, "worker": coded.annotator, "label": coded.label})
        t0 = time.perf_counter()
        model = DawidSkene(n_iter=100, tol=1e-5)
        labels = model.fit_predict(data)
        t_ck = time.perf_counter() - t0
        acc_ck = float((labels.sort_index().to_numpy() == truth_coded).mean())
        agree = float((labels.sort_index().to_numpy() == ds.labels()).mean())
        print(
            f"Dawid-Skene (crowd-kit): {t_ck:6.3f} s  {len(model.loss_history_)} iterations  "
            f"accuracy {acc_ck:.4f}"
        )
        print(f"speed-up {t_ck / t_ours:.1f}x; same label on {agree:.2%} of items")
    return 0


if __name__ == "__main__":
    sys.exit(main())
