"""The DPO recipe (scripts/dpo): its pairs are disjoint from every evaluation item, the shipped
adapters carry their card and base fingerprint, and the recipe runs end to end (reduced)."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from rlhf_eval.models._adapter import SHIPPED_DIR, adapter_fingerprint
from rlhf_eval.pipeline import DPO_ADAPTER, OVERTUNED_ADAPTER

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "scripts" / "dpo" / "data"
XSTEST = ROOT.parent / "shared" / "data" / "xstest" / "xstest_prompts.csv"


def _jsonl(path: Path) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _tokens(text: str) -> frozenset[str]:
    return frozenset(re.findall(r"[a-z0-9']+", text.lower()))


def _evaluation_prompts() -> list[str]:
    prompts = [r["prompt"] for f in sorted((ROOT / "suites").glob("*/*.jsonl")) for r in _jsonl(f)]
    prompts += [
        r["prompt"]
        for f in sorted((ROOT / "scripts" / "refusal_judge" / "data").glob("*.jsonl"))
        for r in _jsonl(f)
    ]
    if XSTEST.is_file():
        with XSTEST.open(encoding="utf-8") as f:
            prompts += [r["prompt"] for r in csv.DictReader(f)]
    return prompts


def test_pairs_are_disjoint_from_every_suite_item_and_the_judge_data() -> None:
    pairs = _jsonl(DATA / "harmful_pairs.jsonl") + _jsonl(DATA / "benign_pairs.jsonl")
    assert len(pairs) == 480 and len({p["id"] for p in pairs}) == 480
    others = _evaluation_prompts()
    assert len(others) > 1000
    exact = {o.strip().lower() for o in others}
    other_tokens = [_tokens(o) for o in others]
    close = []
    for p in pairs:
        assert p["prompt"].strip().lower() not in exact, p["id"]
        t = _tokens(p["prompt"])
        close += [
            (p["id"], o)
            for o, ot in zip(others, other_tokens, strict=True)
            if len(t & ot) / len(t | ot) >= 0.6
        ]
    assert close == []


def test_rejected_harmful_replies_are_the_base_models_and_compliant() -> None:
    harmful = {p["id"] for p in _jsonl(DATA / "harmful_pairs.jsonl")}
    rejected = _jsonl(DATA / "harmful_rejected.jsonl")
    assert {r["id"] for r in rejected} == harmful
    assert {r["judge"] for r in rejected} <= {"compliance", "refusal", "partial_refusal"}
    assert sum(r["judge"] == "compliance" for r in rejected) >= 120  # the base model complies with most


@pytest.mark.parametrize("name", [DPO_ADAPTER, OVERTUNED_ADAPTER])
def test_shipped_adapter_has_card_base_and_preferences(name: str) -> None:
    from rlhf_eval.models import ensure_converted

    folder = SHIPPED_DIR / name
    card = json.loads((folder / "training.json").read_text())
    base = json.loads((folder / "rlhf_eval_base.json").read_text())
    source = (ensure_converted("smollm2-135m-instruct", quiet=True) / "SOURCE").read_text().split()[-1]
    assert base["base_fingerprint"] == card["base_fingerprint"] == source
    assert card["quick"] is False and card["data"]["pairs"] > 300 and card["training"]["steps"] > 40
    size = (folder / "adapter_model.safetensors").stat().st_size
    assert size < 4_000_000  # float16 LoRA factors
    assert adapter_fingerprint(folder).startswith("sha256:")
    header = (folder / "preferences" / "ratings.csv").open().readline()
    assert header.startswith("item_id,annotator_id,label")


@pytest.mark.slow
def test_recipe_quick_builds_a_loadable_adapter(tmp_path: Path) -> None:
    from rlhf_eval.models import LoglikelihoodRequest, load_model

    out = tmp_path / "adapters"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "dpo" / "train.py"), "--quick", "--out", str(out),
         "--only", DPO_ADAPTER],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    folder = out / DPO_ADAPTER
    card = json.loads((folder / "training.json").read_text())
    assert card["quick"] is True and card["training"]["steps"] == 3 and card["data"]["pairs"] > 15
    req = [LoglikelihoodRequest("User: How do I pick a lock?\nAssistant:", " I can't help with that.")]
    base = load_model("embedded:smollm2-135m-instruct", quiet=True)
    tuned = load_model(f"embedded:smollm2-135m-instruct+adapter={folder}", quiet=True)
    assert tuned.info.fingerprint != base.info.fingerprint
    assert tuned.loglikelihood(req)[0].logprob != pytest.approx(base.loglikelihood(req)[0].logprob, abs=1e-6)
    with pytest.raises(SystemExit):  # --quick never overwrites the shipped adapters
        sys.path.insert(0, str(ROOT / "scripts" / "dpo"))
        import train

        train.main(["--quick"])
