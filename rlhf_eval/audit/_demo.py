"""A synthetic preference dataset with planted effects, for the demo and the tests.

``make_demo_preferences(out_dir)`` writes ``ratings.csv``, ``annotators.csv``,
``reference_population.csv``, ``planted.json`` (the ground truth) and ``README.md``.

Planted effects (all off with ``null=True``, which draws annotators at random from the
reference population and gives every annotator the same behaviour):

1. **Over-represented group** -- half the annotators have nationality ``US`` against a
   reference share of 20 % (other attributes follow the reference shares exactly, so
   ``gender=nonbinary``, 2 %, has one annotator and is suppressed).
2. **Style preference** -- annotators aged ``60+`` pick the *detailed* response 85 % of
   the time whatever its quality; everyone else picks the higher-quality one 90-97 % of the
   time. Which side (A/B) is detailed is random per item, so this shows up as ``dissent``
   and in-group agreement, not as a ``shift`` towards A, B or tie. The reward model follows
   quality, so it agrees less with this group's majority.
3. **Unreliable annotators** -- four annotators pick A or B at random (ties at the usual
   rate) and, working fast, are three times as likely as others to get each ordinary item.
4. **Concentrated harm** -- about 15 % of items are harmful, and five "front-line"
   annotators are twenty times as likely as others to be assigned a harmful item.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rlhf_eval._io import atomic_write_json, atomic_write_text
from rlhf_eval.errors import UserError

ATTRIBUTES: dict[str, dict[str, float]] = {
    "nationality": {"US": 0.20, "IN": 0.20, "PH": 0.15, "KE": 0.15, "BR": 0.15, "DE": 0.15},
    "age_band": {"18-29": 0.30, "30-44": 0.30, "45-59": 0.25, "60+": 0.15},
    "gender": {"female": 0.49, "male": 0.49, "nonbinary": 0.02},
    "religion": {"none": 0.25, "christian": 0.30, "muslim": 0.20, "hindu": 0.15, "other": 0.10},
    "political_leaning": {"left": 0.33, "center": 0.34, "right": 0.33},
}
OVER_REPRESENTED = ("nationality", "US")
OVER_REPRESENTED_SHARE = 0.5
STYLE_GROUP = ("age_band", "60+")
N_UNRELIABLE = 4
N_FRONTLINE = 5
HARM_RATE = 0.15
STYLE_STRENGTH = 0.85
SPAMMER_WEIGHT = 3.0
FRONTLINE_WEIGHT = 20.0

_TOPICS = [
    "how to repot a cactus",
    "a polite reply to a late invoice",
    "the causes of inflation",
    "a beginner's running plan",
    "how vaccines train the immune system",
    "a haiku about the sea",
    "how to dispute a parking ticket",
    "the rules of chess castling",
]


def make_demo_preferences(
    out_dir: str | Path,
    *,
    n_items: int = 300,
    ratings_per_item: int = 5,
    n_annotators: int = 60,
    seed: int = 0,
    null: bool = False,
    pairs: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Write the demo dataset into ``out_dir`` and return the planted ground truth.

    ``pairs`` (columns ``id``, ``prompt``, ``chosen``, ``rejected``, ``harmful``) makes the items
    real preference pairs, such as those behind the shipped DPO adapters: the quality winner
    is the written ``chosen`` response, the "detailed" one is the longer text, and the harm
    flag is the pair's own. ``n_items`` is then the number of pairs.
    """
    if pairs is not None:
        n_items = len(pairs)
    if n_items < 1 or n_annotators < 1:
        raise UserError("--n-items and --n-annotators must be at least 1")
    if not 2 <= ratings_per_item <= n_annotators:
        raise UserError(f"--ratings-per-item must be between 2 and --n-annotators ({n_annotators})")
    rng = np.random.default_rng(seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    # annotators and their demographics
    ann_ids = np.array([f"w{i:04d}" for i in range(n_annotators)])
    demo: dict[str, np.ndarray] = {}
    for attr, shares in ATTRIBUTES.items():
        groups = list(shares)
        probs = np.array(list(shares.values()))
        if null:  # a random sample of the reference population
            demo[attr] = rng.choice(groups, size=n_annotators, p=probs / probs.sum())
            continue
        if attr == OVER_REPRESENTED[0]:
            probs = np.full(len(groups), (1 - OVER_REPRESENTED_SHARE) / (len(groups) - 1))
            probs[groups.index(OVER_REPRESENTED[1])] = OVER_REPRESENTED_SHARE
        demo[attr] = rng.permutation(np.repeat(groups, _quota(probs / probs.sum(), n_annotators)))
    style = np.zeros(n_annotators, dtype=bool) if null else demo[STYLE_GROUP[0]] == STYLE_GROUP[1]
    candidates = np.flatnonzero(~style)
    unreliable = np.zeros(n_annotators, dtype=bool)
    frontline = np.zeros(n_annotators, dtype=bool)
    if not null:
        picked = rng.choice(candidates, size=min(N_UNRELIABLE + N_FRONTLINE, len(candidates)), replace=False)
        unreliable[picked[:N_UNRELIABLE]] = True
        frontline[picked[N_UNRELIABLE:]] = True
    accuracy = rng.uniform(0.9, 0.97, size=n_annotators)

    # items
    winner_b = rng.random(n_items) < 0.5  # higher-quality response is B
    concise_b = rng.random(n_items) < 0.5  # concise response is B
    harmful = rng.random(n_items) < HARM_RATE
    if pairs is not None:
        harmful = pairs["harmful"].to_numpy(dtype=bool)
        chosen_len = pairs["chosen"].str.len().to_numpy()
        rejected_len = pairs["rejected"].str.len().to_numpy()
        # B holds chosen when winner_b; the concise side is the shorter text
        concise_b = np.where(winner_b, chosen_len <= rejected_len, rejected_len < chosen_len)
    weights = np.where(unreliable, SPAMMER_WEIGHT, 1.0)  # careless annotators also work fast
    harm_weights = np.where(frontline, FRONTLINE_WEIGHT, 1.0)
    item_of = np.repeat(np.arange(n_items), ratings_per_item)
    annotator_of = np.empty(n_items * ratings_per_item, dtype=np.int64)
    for start in range(0, n_items, 5000):
        stop = min(n_items, start + 5000)
        w = np.where(harmful[start:stop, None], harm_weights[None, :], weights[None, :])
        keys = np.log(w) + rng.gumbel(size=(stop - start, n_annotators))  # Gumbel top-k sampling
        top = np.argsort(-keys, axis=1)[:, :ratings_per_item]
        annotator_of[start * ratings_per_item : stop * ratings_per_item] = top.ravel()

    # labels
    n = len(item_of)
    u = rng.random(n)
    tie = rng.random(n) < 0.05
    quality_pick_b = np.where(u < accuracy[annotator_of], winner_b[item_of], ~winner_b[item_of])
    style_pick_b = np.where(u < STYLE_STRENGTH, ~concise_b[item_of], concise_b[item_of])  # the detailed one
    pick_b = np.where(style[annotator_of], style_pick_b, quality_pick_b)
    label = np.where(tie, "tie", np.where(pick_b, "B", "A")).astype(object)
    random_label = np.where(tie, "tie", np.where(rng.random(n) < 0.5, "B", "A")).astype(object)
    label = np.where(unreliable[annotator_of], random_label, label)
    strength = np.where(label == "tie", np.nan, rng.integers(1, 4, size=n).astype(np.float64))
    seconds = np.round(rng.lognormal(3.5, 0.5, size=n) * np.where(harmful[item_of], 1.5, 1.0), 1)

    # reward model: follows quality (scores are per item, repeated on each rating row)
    reward_a = rng.normal(0.0, 1.0, n_items) + np.where(winner_b, 0.0, 1.0)
    reward_b = rng.normal(0.0, 1.0, n_items) + np.where(winner_b, 1.0, 0.0)

    topics = np.array(_TOPICS, dtype=object)[np.arange(n_items) % len(_TOPICS)]
    concise = "Short answer about {t}."
    verbose = "A detailed, step-by-step explanation of {t}, with background, caveats and examples."
    prompt = [f"Explain {t}." for t in topics]
    resp_a = [(verbose if c else concise).format(t=t) for t, c in zip(topics, concise_b, strict=True)]
    resp_b = [(concise if c else verbose).format(t=t) for t, c in zip(topics, concise_b, strict=True)]
    item_ids = np.array([f"item-{i:05d}" for i in range(n_items)])
    if pairs is not None:
        chosen, rejected = pairs["chosen"].tolist(), pairs["rejected"].tolist()
        prompt = pairs["prompt"].tolist()
        resp_a = [r if w else c for c, r, w in zip(chosen, rejected, winner_b, strict=True)]
        resp_b = [c if w else r for c, r, w in zip(chosen, rejected, winner_b, strict=True)]
        item_ids = pairs["id"].astype(str).to_numpy()
    ratings = pd.DataFrame(
        {
            "item_id": item_ids[item_of],
            "annotator_id": ann_ids[annotator_of],
            "label": label,
            "strength": strength,
            "prompt": np.array(prompt, dtype=object)[item_of],
            "response_a": np.array(resp_a, dtype=object)[item_of],
            "response_b": np.array(resp_b, dtype=object)[item_of],
            "seconds_spent": seconds,
            "harm": harmful[item_of].astype(int),
            "reward_a": np.round(reward_a[item_of], 4),
            "reward_b": np.round(reward_b[item_of], 4),
        }
    )
    annotators = pd.DataFrame({"annotator_id": ann_ids, **demo})
    reference = pd.DataFrame(
        [(attr, g, s) for attr, shares in ATTRIBUTES.items() for g, s in shares.items()],
        columns=["attribute", "group", "share"],
    )
    atomic_write_text(out / "ratings.csv", ratings.to_csv(index=False))
    atomic_write_text(out / "annotators.csv", annotators.to_csv(index=False))
    atomic_write_text(out / "reference_population.csv", reference.to_csv(index=False))
    planted: dict[str, Any] = {
        "null": null,
        "seed": seed,
        "over_represented": None
        if null
        else {"attribute": OVER_REPRESENTED[0], "group": OVER_REPRESENTED[1]},
        "style_group": None if null else {"attribute": STYLE_GROUP[0], "group": STYLE_GROUP[1]},
        "unreliable_annotators": ann_ids[unreliable].tolist(),
        "frontline_annotators": ann_ids[frontline].tolist(),
    }
    atomic_write_json(out / "planted.json", planted)
    atomic_write_text(out / "README.md", _readme(planted, n_items, ratings_per_item, n_annotators))
    return planted


def _quota(probs: np.ndarray, n: int) -> np.ndarray:
    """Whole counts summing to n, proportional to probs (largest remainders)."""
    raw = probs * n
    counts = np.floor(raw).astype(int)
    counts[np.argsort(-(raw - counts), kind="stable")[: n - counts.sum()]] += 1
    return counts


def _readme(planted: dict[str, Any], n_items: int, per_item: int, n_annotators: int) -> str:
    effects = (
        "None: this is a null dataset (annotators drawn from the reference population, identical behaviour,\n"
        "harmful items assigned uniformly). An audit should find nothing beyond the nominal false-positive rate.\n"
        if planted["null"]
        else "1. Over-represented group: half the annotators have nationality US (reference share 20 %).\n"
        "2. Style preference: annotators aged 60+ pick the detailed response 85 % of the time whatever its\n"
        "   quality (the detailed side is random per item, so look at `dissent` and `within_vs_across`).\n"
        "   The reward model follows quality, so `whose_preferences` is lower for this group.\n"
        f"3. Unreliable annotators (pick A or B at random, rate 3x as many items): "
        f"{', '.join(planted['unreliable_annotators'])}.\n"
        f"4. Concentrated harm: {', '.join(planted['frontline_annotators'])} are 20x as likely to be\n"
        "   assigned a harmful item (see `welfare`).\n"
    )
    return (
        "# Synthetic preference data (rlhf-eval make-demo-preferences)\n\n"
        f"{n_items} items x {per_item} ratings, {n_annotators} annotators, seed {planted['seed']}.\n"
        "Generated, not collected: ids, demographics and texts are synthetic.\n\n"
        "Files: `ratings.csv` (item_id, annotator_id, label A/B/tie, strength, prompt, response_a,\n"
        "response_b, seconds_spent, harm, reward_a, reward_b), `annotators.csv` (annotator_id,\n"
        "nationality, age_band, gender, religion, political_leaning), `reference_population.csv`\n"
        "(attribute, group, share) and `planted.json` (the ground truth below).\n\n"
        "## Planted effects\n\n" + effects + "\n"
        "Audit it with:\n\n"
        "    rlhf-eval audit --ratings ratings.csv --annotators annotators.csv \\\n"
        "        --reference-population reference_population.csv --out audit.json\n"
    )
