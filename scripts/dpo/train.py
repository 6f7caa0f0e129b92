"""Rebuild the shipped DPO adapters for SmolLM2-135M-Instruct (rlhf_eval/models/adapters/).

    python scripts/dpo/train.py                 # both adapters, under 15 min on 2 CPU cores
    python scripts/dpo/train.py --quick --out /tmp/dpo   # the whole pipeline on a few pairs (CI)

The pipeline, deterministic under fixed seeds:

1. **Pairs.** ``data/harmful_pairs.jsonl`` (harmful requests with a written refusal as chosen)
   and ``data/benign_pairs.jsonl`` (benign requests, a third of them only risky-looking, with
   a helpful answer as chosen and a written refusal as rejected). For harmful requests the
   rejected answer is the base model's own greedy reply, generated once into
   ``data/harmful_rejected.jsonl`` (``--regenerate-rejected`` redoes it); replies the default
   refusal judge calls refusals are dropped, so every rejected answer is a compliant one.
2. **Annotators.** Each pair is labelled by 5 of 60 synthetic annotators with planted, stated
   effects (rlhf_eval.audit.make_demo_preferences: an over-represented nationality, an age group
   that prefers the longer answer, four random clickers). The written chosen response is the
   quality winner. DPO trains on the **majority label** of those annotators, so the audit of
   this data in the demo report is an audit of what the adapter learned from.
3. **DPO** with trl's DPOTrainer and a LoRA adapter (r 8 on every linear layer of the top 8
   blocks), sigmoid loss plus an NLL term on the chosen reply (RPO), beta 0.1; the reference
   model is the base itself (the adapter disabled), as trl does for PEFT models.
4. **Over-tuned variant.** The same harmful pairs, but risky-looking and a third of the ordinary
   benign pairs with the refusal as chosen, at 1.5 times the learning rate: a deliberately
   refusal-heavy adapter that shows what an alignment tax looks like.

Each adapter folder gets its weights (float16 safetensors), ``rlhf_eval_base.json`` (the base
model's fingerprint: loading it on another base is an error), ``training.json`` (data counts,
hyper-parameters, seeds, versions, time), and the annotator files of its training data under
``preferences/``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
DATA = HERE / "data"
SHIPPED = ROOT / "rlhf_eval" / "models" / "adapters"
BASE = "smollm2-135m-instruct"
SEED = 0

# LoRA on the top 8 of SmolLM2-135M's 30 blocks only: backpropagation then stops at block 22,
# which makes a step about twice as fast on CPU.
N_LAYERS, TOP_LAYERS = 30, 8
LORA = {
    "r": 8,
    "lora_alpha": 16,
    "lora_dropout": 0.0,
    "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
    "layers_to_transform": list(range(N_LAYERS - TOP_LAYERS, N_LAYERS)),
}
VARIANTS: dict[str, dict[str, Any]] = {
    "smollm2-dpo-safety": {
        "description": "DPO safety adapter: refuse harmful requests, stay helpful on benign ones",
        "overtuned": False,
        "epochs": 1,
        "learning_rate": 4e-3,
        "beta": 0.1,
    },
    "smollm2-dpo-overtuned": {
        "description": "deliberately over-tuned DPO adapter: refusal-heavy pairs, 1.5 times the learning rate",
        "overtuned": True,
        "epochs": 1,
        "learning_rate": 6e-3,
        "beta": 0.1,
    },
}
BATCH = 8
# prompt (with SmolLM2's default system line) + the reply's first ~30 tokens: whether a reply
# refuses is settled in its opening, and 80-token sequences instead of 320 are what make DPO on
# 2 CPU cores fit in minutes (1 step of 8 pairs: about 77 s at 320 tokens, 15 s at 128)
MAX_LENGTH = 80
REJECTED_TOKENS = 64


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def base_folder() -> tuple[Path, str]:
    """The converted embedded SmolLM2 folder and its fingerprint (as the model backend computes it)."""
    from rlhf_eval.models import ensure_converted

    folder = ensure_converted(BASE, quiet=True)
    return folder, (folder / "SOURCE").read_text().split()[-1]


def generate_rejected(harmful: list[dict[str, Any]], out: Path) -> None:
    """The base model's greedy replies to the harmful prompts, with the default judge's label."""
    from rlhf_eval.models import GenerateRequest, load_model
    from rlhf_eval.scoring import default_judge

    model = load_model(f"embedded:{BASE}", batch_size=16, quiet=True)
    render = getattr(model, "render")  # noqa: B009 (HFModel only)
    reqs = [
        GenerateRequest(render([{"role": "user", "content": r["prompt"]}]), max_new_tokens=REJECTED_TOKENS)
        for r in harmful
    ]
    replies = model.generate(reqs)
    judge = default_judge()
    proba = judge.predict_proba([r["prompt"] for r in harmful], replies)
    from rlhf_eval.scoring._judge_base import labels_from_proba

    labels = labels_from_proba(proba)
    rows = [
        {"id": r["id"], "rejected": text.strip(), "judge": label}
        for r, text, label in zip(harmful, replies, labels, strict=True)
    ]
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def load_pairs(regenerate: bool) -> pd.DataFrame:
    """Every pair with ``harmful`` and ``kind``; harmful pairs whose base reply was a refusal are dropped."""
    harmful = _read_jsonl(DATA / "harmful_pairs.jsonl")
    rejected_path = DATA / "harmful_rejected.jsonl"
    if regenerate or not rejected_path.is_file():
        print(f"generating the base model's replies to {len(harmful)} harmful prompts ...", file=sys.stderr)
        generate_rejected(harmful, rejected_path)
    rejected = {r["id"]: r for r in _read_jsonl(rejected_path)}
    rows = []
    for r in harmful:
        rej = rejected[r["id"]]
        if rej["judge"] == "compliance" and rej["rejected"]:
            rows.append({**r, "rejected": rej["rejected"], "harmful": True, "kind": "harmful"})
    for r in _read_jsonl(DATA / "benign_pairs.jsonl"):
        rows.append({**r, "harmful": False})
    return pd.DataFrame(rows)


def annotate(pairs: pd.DataFrame, out: Path, seed: int) -> pd.DataFrame:
    """Synthetic annotators label every pair; returns the pairs oriented by the majority label."""
    from rlhf_eval.audit import make_demo_preferences

    make_demo_preferences(out, pairs=pairs, ratings_per_item=5, n_annotators=60, seed=seed)
    ratings = pd.read_csv(out / "ratings.csv")
    votes = ratings[ratings["label"] != "tie"].copy()
    votes["picked"] = np.where(votes["label"] == "A", votes["response_a"], votes["response_b"])
    by_id = pairs.set_index("id")
    votes["picked_chosen"] = votes["picked"].to_numpy() == by_id.loc[votes["item_id"], "chosen"].to_numpy()
    share = votes.groupby("item_id")["picked_chosen"].mean()
    oriented = pairs.copy()
    majority = oriented["id"].map(share)
    keep = majority.notna() & (majority != 0.5)
    flip = keep & (majority < 0.5)
    oriented.loc[flip, ["chosen", "rejected"]] = oriented.loc[flip, ["rejected", "chosen"]].to_numpy()
    oriented["majority_share"] = majority
    return oriented[keep].reset_index(drop=True)


def overtune(pairs: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Refusal-heavy pairs: refusals preferred on risky-looking and a third of ordinary benign requests."""
    rng = np.random.default_rng(seed)
    flip = (pairs["kind"] == "risky_looking") | (
        (pairs["kind"] == "ordinary") & (rng.random(len(pairs)) < 1 / 3)
    )
    out = pairs.copy()
    out.loc[flip, ["chosen", "rejected"]] = out.loc[flip, ["rejected", "chosen"]].to_numpy()
    return out


def train_adapter(
    pairs: pd.DataFrame, base: Path, out: Path, *, epochs: float, learning_rate: float, beta: float,
    max_steps: int = -1,
) -> dict[str, Any]:  # fmt: skip
    """DPO with a LoRA adapter on ``base``; saves the adapter to ``out`` and returns the training log."""
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import DPOConfig, DPOTrainer

    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    tok = AutoTokenizer.from_pretrained(base)
    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    data = Dataset.from_list(
        [
            {
                "prompt": [{"role": "user", "content": p}],
                "chosen": [{"role": "assistant", "content": c}],
                "rejected": [{"role": "assistant", "content": r}],
            }
            for p, c, r in zip(pairs["prompt"], pairs["chosen"], pairs["rejected"], strict=True)
        ]
    )
    args = DPOConfig(
        output_dir=str(out / "_trainer"),
        per_device_train_batch_size=BATCH,
        num_train_epochs=epochs,
        max_steps=max_steps,
        learning_rate=learning_rate,
        lr_scheduler_type="cosine",
        warmup_steps=5,
        beta=beta,
        # DPO's sigmoid loss plus an NLL term on the chosen reply (RPO, Pang et al. 2024): on a
        # 135M model, DPO alone on one epoch widened the margin (reward accuracy 0.95) without
        # changing a single greedy reply; the NLL term moves the chosen replies' likelihood itself
        loss_type=["sigmoid", "sft"],
        loss_weights=[1.0, 1.0],
        max_length=MAX_LENGTH,
        truncation_mode="keep_start",
        precompute_ref_log_probs=True,
        precompute_ref_batch_size=32,
        seed=SEED,
        data_seed=SEED,
        logging_steps=5,
        save_strategy="no",
        report_to="none",
        use_cpu=True,
        disable_tqdm=False,
        dataloader_num_workers=0,
    )
    trainer = DPOTrainer(
        model=model,
        args=args,
        train_dataset=data,
        processing_class=tok,
        peft_config=LoraConfig(task_type="CAUSAL_LM", **LORA),
    )
    t0 = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - t0
    trainer.model.save_pretrained(out)
    _to_float16(out / "adapter_model.safetensors")
    log = [e for e in trainer.state.log_history if "loss" in e]
    return {
        "steps": trainer.state.global_step,
        "train_seconds": round(seconds, 1),
        "first_log": log[0] if log else None,
        "last_log": log[-1] if log else None,
    }


def _slim_ratings(path: Path) -> None:
    """Drop the response texts from the shipped ratings (item ids point at scripts/dpo/data)."""
    ratings = pd.read_csv(path)
    ratings.drop(columns=["response_a", "response_b"]).to_csv(path, index=False)


def _to_float16(path: Path) -> None:
    """Halve the shipped size: LoRA factors lose nothing that matters at float16."""
    from safetensors.torch import load_file, save_file

    tensors = {k: v.half().contiguous() for k, v in load_file(path).items()}
    save_file(tensors, path, metadata={"format": "pt"})


def build(
    name: str, pairs: pd.DataFrame, base: Path, base_fp: str, dest: Path, quick: bool
) -> dict[str, Any]:
    """One adapter: annotate, orient by majority, (over-tune), train, write the card."""
    import shutil

    import peft
    import torch
    import transformers
    import trl

    variant = VARIANTS[name]
    tmp = dest.with_name(f".{dest.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    oriented = annotate(pairs, tmp / "preferences", seed=SEED)
    _slim_ratings(tmp / "preferences" / "ratings.csv")
    train_pairs = overtune(oriented, SEED) if variant["overtuned"] else oriented
    log = train_adapter(
        train_pairs, base, tmp, epochs=variant["epochs"], learning_rate=variant["learning_rate"],
        beta=variant["beta"], max_steps=3 if quick else -1,
    )  # fmt: skip
    shutil.rmtree(tmp / "_trainer", ignore_errors=True)
    (tmp / "README.md").unlink(missing_ok=True)  # peft's model-card template, replaced by training.json
    (tmp / "rlhf_eval_base.json").write_text(
        json.dumps({"base_spec": f"embedded:{BASE}", "base_fingerprint": base_fp}, indent=2) + "\n"
    )
    counts = train_pairs.groupby("kind").size().to_dict()
    card = {
        "name": name,
        "description": variant["description"],
        "base": f"embedded:{BASE}",
        "base_fingerprint": base_fp,
        "method": "DPO + NLL on chosen (trl DPOTrainer, loss_type sigmoid+sft, RPO) with a LoRA adapter; "
        "reference = base (adapter off)",
        "lora": LORA,
        "hyperparameters": {k: variant[k] for k in ("epochs", "learning_rate", "beta")}
        | {"batch_size": BATCH, "max_length": MAX_LENGTH, "seed": SEED, "scheduler": "cosine"},
        "data": {
            "pairs": len(train_pairs),
            "by_kind": {k: int(v) for k, v in counts.items()},
            "dropped_by_annotator_ties": int(len(pairs) - len(oriented)),
            "flipped_by_annotator_majority": int((oriented["majority_share"] < 0.5).sum()),
            "refusal_chosen_on_benign": int(
                ((~train_pairs["harmful"]) & train_pairs["chosen"].isin(pairs["rejected"])).sum()
            ),
            "sources": "scripts/dpo/data (written for the project; rejected harmful replies are the base model's)",
            "annotators": "synthetic, with planted effects (preferences/planted.json)",
        },
        "training": log,
        "versions": {
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "trl": trl.__version__,
            "peft": peft.__version__,
        },
        "rebuild": "python scripts/dpo/train.py",
        "quick": quick,
    }
    (tmp / "training.json").write_text(json.dumps(card, indent=2) + "\n")
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    return card


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and build the adapters."""
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--out", type=Path, default=SHIPPED, help=f"where the adapter folders go (default {SHIPPED})"
    )
    ap.add_argument("--only", choices=sorted(VARIANTS), action="append", help="build only this variant")
    ap.add_argument(
        "--quick", action="store_true", help="24 pairs, 3 steps: checks the pipeline, not the model"
    )
    ap.add_argument("--regenerate-rejected", action="store_true", help="re-generate the base model's replies")
    args = ap.parse_args(argv)
    if args.quick and args.out.resolve() == SHIPPED.resolve():
        ap.error("--quick needs --out DIR (it must not overwrite the shipped adapters)")
    pairs = load_pairs(args.regenerate_rejected)
    if args.quick:
        pairs = pd.concat(
            [pairs[pairs["harmful"]].head(12), pairs[~pairs["harmful"]].head(12)], ignore_index=True
        )
    base, base_fp = base_folder()
    t0 = time.perf_counter()
    for name in args.only or list(VARIANTS):
        card = build(name, pairs, base, base_fp, args.out / name, args.quick)
        print(f"{name}: {card['data']['pairs']} pairs, {card['training']['steps']} steps, "
              f"{card['training']['train_seconds']:.0f} s; last loss {card['training']['last_log']}", file=sys.stderr)  # fmt: skip
    print(f"done in {time.perf_counter() - t0:.0f} s -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
