"""Content checks for the built-in harmlessness, overrefusal and helpfulness suites."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

SUITES_DIR = Path(__file__).resolve().parents[2] / "suites"
SUBSET_KEYS = ("task", "data", "template", "scorers", "max_new_tokens")

# suite name -> (minimum items, minimum per category, expected refusal expectation, max_new_tokens)
EXPECTED: dict[str, tuple[int, int, str, int]] = {
    "harmlessness": (160, 12, "refuse", 128),
    "overrefusal": (160, 12, "comply", 128),
    "helpfulness": (110, 20, "comply", 192),
}
CATEGORIES: dict[str, set[str]] = {
    "harmlessness": {
        "hate_speech",
        "weapons_explosives",
        "malware_intrusion",
        "piracy_copyright",
        "fraud_scams",
        "privacy_violation",
        "dangerous_drugs",
        "self_harm",
        "extremism",
        "harassment",
        "violence",
    },
    "overrefusal": {
        "homonyms",
        "figurative_language",
        "safe_contexts",
        "definitions",
        "safety_information",
        "public_figures",
        "privacy_public_info",
        "medical_legal_general",
    },
    "helpfulness": {"explanation", "how_to", "writing", "customer_support", "advice"},
}
ID_PREFIX = {"harmlessness": "harm-", "overrefusal": "over-", "helpfulness": "help-"}


def load_spec(name: str) -> dict[str, Any]:
    """The parsed suite.yaml of a built-in suite."""
    spec = yaml.safe_load((SUITES_DIR / name / "suite.yaml").read_text(encoding="utf-8"))
    assert isinstance(spec, dict)
    return spec


def load_items(name: str) -> list[dict[str, Any]]:
    """The items of a built-in suite, one dict per non-empty line."""
    lines = (SUITES_DIR / name / "items.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def subsets(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The suite's subsets, whether listed under ``subsets`` or given top-level."""
    if "subsets" in spec:
        return list(spec["subsets"])
    return [{k: spec.get(k) for k in ("name", *SUBSET_KEYS)}]


def scorer_options(scorers: list[Any]) -> dict[str, dict[str, Any]]:
    """Map scorer name -> options from a ``scorers`` list of names or one-key dicts."""
    out: dict[str, dict[str, Any]] = {}
    for entry in scorers:
        if isinstance(entry, str):
            out[entry] = {}
        else:
            assert isinstance(entry, dict) and len(entry) == 1, entry
            ((key, opts),) = entry.items()
            out[key] = dict(opts or {})
    return out


def pair_ids(name: str) -> list[str]:
    """Every pair_id in a suite, in file order."""
    return [it["pair_id"] for it in load_items(name) if it.get("pair_id")]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_spec_has_required_keys_and_scorers(name: str) -> None:
    spec = load_spec(name)
    assert spec["name"] == name
    assert re.fullmatch(r"[a-z0-9_-]+", spec["name"])
    assert spec["version"] == "1.0"  # a string, so "1.10" never becomes 1.1
    assert isinstance(spec["description"], str) and spec["description"].strip()
    assert set(spec["categories"]) == CATEGORIES[name]
    assert len(spec["categories"]) == len(set(spec["categories"]))
    (sub,) = subsets(spec)
    for key in SUBSET_KEYS:
        assert sub.get(key) is not None, f"{name}: missing {key}"
    _, _, expect, max_new = EXPECTED[name]
    assert sub["task"] == "generate"
    assert sub["data"] == {"path": "items.jsonl"}
    assert (SUITES_DIR / name / sub["data"]["path"]).is_file()
    assert sub["template"] == "{prompt}"
    assert sub["max_new_tokens"] == max_new
    scorers = scorer_options(sub["scorers"])
    assert scorers["refusal"] == {"expect": expect}
    assert ("helpfulness" in scorers) == (name == "helpfulness")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_items_counts_ids_and_categories(name: str) -> None:
    items = load_items(name)
    minimum, per_category, _, _ = EXPECTED[name]
    assert len(items) >= minimum
    ids = [it["id"] for it in items]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(ID_PREFIX[name] + r"[a-z]+-\d{3}", i) for i in ids)
    prompts = [it["prompt"].strip() for it in items]
    assert all(prompts)
    assert len(prompts) == len(set(prompts))
    counts = Counter(it["category"] for it in items)
    assert set(counts) == set(load_spec(name)["categories"])
    assert min(counts.values()) >= per_category, counts
    template = subsets(load_spec(name))[0]["template"]
    assert all(template.format(**it) == it["prompt"] for it in items)


def test_pairs_link_overrefusal_and_harmlessness_one_to_one() -> None:
    harm, over = pair_ids("harmlessness"), pair_ids("overrefusal")
    assert len(harm) == len(set(harm))
    assert len(over) == len(set(over))
    assert set(harm) == set(over)
    assert len(harm) >= 60
    assert all(p.startswith("pair-") for p in harm)
    assert not any(it.get("pair_id") for it in load_items("helpfulness"))


def test_no_prompt_appears_in_both_refusal_suites() -> None:
    harm = {it["prompt"] for it in load_items("harmlessness")}
    over = {it["prompt"] for it in load_items("overrefusal")}
    assert not harm & over


def test_helpfulness_items_have_key_points_and_reference() -> None:
    for it in load_items("helpfulness"):
        points = it["key_points"]
        assert isinstance(points, list) and 3 <= len(points) <= 5, it["id"]
        assert all(isinstance(p, str) and p.strip() and len(p.split()) <= 12 for p in points), it["id"]
        assert len(set(points)) == len(points), it["id"]
        words = len(it["reference"].split())
        assert 40 <= words <= 120, (it["id"], words)
