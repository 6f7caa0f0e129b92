"""The real embedded SmolLM2-135M-Instruct end to end, checked against plain transformers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from rlhf_eval.cli import main
from rlhf_eval.models import HFModel, ensure_converted, load_model

pytestmark = pytest.mark.slow


def test_embedded_smollm2_end_to_end(tmp_path: Path, items_file: Path) -> None:
    mc_only = tmp_path / "mc.jsonl"
    mc_only.write_text(
        "".join(line + "\n" for line in items_file.read_text().splitlines() if '"choices"' in line)
    )
    out = tmp_path / "run"
    rc = main(
        [
            "run",
            "--model",
            "embedded:smollm2-135m-instruct",
            "--suite",
            str(mc_only),
            "--out",
            str(out),
            "--cache-dir",
            str(tmp_path / "c"),
            "--quiet",
        ]
    )
    assert rc == 0
    samples = [json.loads(x) for x in (out / "samples.jsonl").read_text().splitlines()]
    assert [s["item_id"] for s in samples] == ["m1", "m2"]

    # reference: plain transformers, one item at a time, full logits, no batching
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = ensure_converted("smollm2-135m-instruct")
    tok = AutoTokenizer.from_pretrained(folder)
    ref_model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    for s in samples:
        for choice, got in zip(s["choices"], s["choice_logprobs"], strict=True):
            ctx = tok(s["prompt"], add_special_tokens=False)["input_ids"]
            whole = tok(s["prompt"] + choice, add_special_tokens=False)["input_ids"]
            cont = whole[len(ctx) :]
            with torch.no_grad():
                logp = torch.log_softmax(ref_model(torch.tensor([whole])).logits[0].float(), -1)
            ref = float(sum(logp[len(ctx) - 1 + t, x] for t, x in enumerate(cont)))
            assert got == pytest.approx(ref, abs=1e-3)
    assert samples[1]["pred"] == 1  # SmolLM2 knows the colour of the sky
    run = json.loads((out / "run.json").read_text())
    assert run["model"]["details"]["n_parameters"] == 134515008


def test_embedded_smollm2_generates_sensible_text() -> None:
    model = load_model("embedded:smollm2-135m-instruct", quiet=True)
    assert isinstance(model, HFModel)
    from rlhf_eval.models import GenerateRequest

    prompt = model.render([{"role": "user", "content": "What is the capital of France?"}])
    [text] = model.generate([GenerateRequest(prompt=prompt, max_new_tokens=16)])
    assert "Paris" in text
