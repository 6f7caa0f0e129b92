"""The transformers backend against a plain one-item-at-a-time computation."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
import torch

from rlhf_eval.models import GenerateRequest, HFModel, LoglikelihoodRequest, load_model


@functools.cache
def _plain_model(path: str) -> torch.nn.Module:
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()


def reference_loglikelihood(model: HFModel, context: str, continuation: str) -> float:
    """Full-vocabulary logits over the whole sequence, one request at a time (lm-eval style).

    Computed by the checkpoint as transformers loads it (PyTorch's default kernels, no cache),
    not by the backend's own (oneDNN-packed) copy.
    """
    ctx, cont = model._ll_tokens(LoglikelihoodRequest(context, continuation))
    ids = torch.tensor([ctx + cont])
    with torch.no_grad():
        logits = _plain_model(model.info.details["name_or_path"])(ids).logits[0]
    logp = torch.log_softmax(logits.float(), dim=-1)
    return float(sum(logp[len(ctx) - 1 + t, tok] for t, tok in enumerate(cont)))


@pytest.fixture(scope="module")
def tiny(tiny_model_dir: Path) -> HFModel:
    model = load_model(f"hf:{tiny_model_dir}", batch_size=3)
    assert isinstance(model, HFModel)
    return model


def test_loglikelihood_matches_one_at_a_time(tiny: HFModel) -> None:
    prompt = tiny.render([{"role": "user", "content": "Pick one."}])
    reqs = [
        LoglikelihoodRequest(prompt, " A"),
        LoglikelihoodRequest(prompt, " B"),  # same input as " A": shares one forward pass
        LoglikelihoodRequest(prompt, "A longer continuation with several tokens."),
        LoglikelihoodRequest("Question: What is 2+2?\nAnswer: ", "4"),  # trailing space moves to continuation
        LoglikelihoodRequest("Short", " context"),
    ]
    got = tiny.loglikelihood(reqs)
    for req, res in zip(reqs, got, strict=True):
        ref = reference_loglikelihood(tiny, req.context, req.continuation)
        assert res.logprob == pytest.approx(ref, abs=1e-4)
        assert res.n_tokens >= 1
    assert got[0].logprob != got[1].logprob


def test_batched_greedy_generation_equals_single(tiny: HFModel) -> None:
    prompts = [
        tiny.render([{"role": "user", "content": t}])
        for t in ("Hi", "Tell me a long story about a cat", "Why?")
    ]
    reqs = [GenerateRequest(prompt=p, max_new_tokens=8) for p in prompts]
    batched = tiny.generate(reqs)
    single = [tiny.generate([r])[0] for r in reqs]
    assert batched == single
    assert all(isinstance(t, str) for t in batched)


def test_render_uses_chat_template_and_system_prompt(tiny: HFModel) -> None:
    text = tiny.render([{"role": "system", "content": "Be safe."}, {"role": "user", "content": "Hello"}])
    assert text.startswith("<|im_start|>system\nBe safe.<|im_end|>")
    assert text.endswith("<|im_start|>assistant\n")
    assert tiny.render([{"role": "user", "content": "Hello"}], chat=False) == "Hello"


def test_plain_template_for_models_without_one(tiny_model_dir: Path, tmp_path: Path) -> None:
    import shutil

    base = tmp_path / "base"
    shutil.copytree(tiny_model_dir, base)
    cfg = base / "tokenizer_config.json"
    import json

    data = json.loads(cfg.read_text())
    data.pop("chat_template", None)
    cfg.write_text(json.dumps(data))
    for extra in base.glob("chat_template.*"):
        extra.unlink()
    model = load_model(f"hf:{base}")
    text = model.render([{"role": "system", "content": "S"}, {"role": "user", "content": "U"}])
    assert text == "System: S\n\nUser: U\n\nAssistant:"


def test_sampling_is_seeded(tiny: HFModel) -> None:
    p = tiny.render([{"role": "user", "content": "Say something"}])
    a = tiny.generate([GenerateRequest(prompt=p, max_new_tokens=6, temperature=1.0, seed=3)])
    b = tiny.generate([GenerateRequest(prompt=p, max_new_tokens=6, temperature=1.0, seed=3)])
    assert a == b


def test_fingerprint_is_weights_hash(tiny: HFModel) -> None:
    assert tiny.info.fingerprint.startswith("sha256:")
    assert tiny.info.chat_template_hash and tiny.info.tokenizer_hash


def test_loglikelihood_shared_contexts_with_ragged_lengths(tiny: HFModel) -> None:
    contexts = ["Q: one?\nA:", "A much longer question about the history of bread and yeast?\nA:", "Hi"]
    conts = [" yes", " no, not at all, never", " maybe", "!", " a b c d e f g"]
    reqs = [LoglikelihoodRequest(c, x) for c in contexts for x in conts]
    got = tiny.loglikelihood(reqs)  # batch_size 3: contexts padded against each other
    for req, res in zip(reqs, got, strict=True):
        assert res.logprob == pytest.approx(
            reference_loglikelihood(tiny, req.context, req.continuation), abs=1e-4
        )
