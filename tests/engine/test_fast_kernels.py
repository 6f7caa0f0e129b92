"""The two CPU speed-ups of the transformers backend give the same numbers as transformers' defaults.

`PackedLinear` (oneDNN, weights packed once) against `nn.Linear`, `GrowingLayer` (no per-step
concatenation) against `DynamicLayer`, and the whole decode loop against `model.generate`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM, DynamicCache

from rlhf_eval.models import GenerateRequest, HFModel, load_model
from rlhf_eval.models._kvcache import GrowingLayer, preallocated_cache
from rlhf_eval.models._onednn import PackedLinear, pack_linears

needs_onednn = pytest.mark.skipif(
    not torch.backends.mkldnn.is_available(), reason="PyTorch built without oneDNN"
)


@needs_onednn
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(1, 48), (7, 48), (2, 5, 48)])
def test_packed_linear_equals_linear(bias: bool, shape: tuple[int, ...]) -> None:
    torch.manual_seed(1)
    lin = torch.nn.Linear(48, 40, bias=bias)
    x = torch.randn(*shape)
    packed = PackedLinear(lin)
    with torch.inference_mode():
        got, want = packed(x), lin(x)
    assert got.shape == want.shape == (*shape[:-1], 40)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    assert torch.equal(packed.weight, lin.weight.detach())


@needs_onednn
def test_pack_linears_swaps_every_linear_and_can_be_turned_off(
    tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
    assert not pack_linears(model, "cuda")  # GPUs keep their own kernels
    monkeypatch.setenv("RLHF_EVAL_ONEDNN", "0")
    assert not pack_linears(model, "cpu")
    assert any(type(m) is torch.nn.Linear for m in model.modules())
    monkeypatch.delenv("RLHF_EVAL_ONEDNN")
    ids = torch.tensor([[1, 2, 3, 4, 5, 6]])
    with torch.inference_mode():
        before = model(ids).logits
        assert pack_linears(model, "cpu")
        after = model(ids).logits
    assert not any(type(m) is torch.nn.Linear for m in model.modules())
    assert sum(type(m) is PackedLinear for m in model.modules()) == 2 * 7 + 1  # 2 layers + LM head
    torch.testing.assert_close(after, before, rtol=1e-4, atol=1e-4)


def test_growing_cache_equals_dynamic_cache(tiny_model_dir: Path) -> None:
    """Prefill, three steps, drop a row, two more steps, then past the planned capacity."""
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
    body = model.base_model
    torch.manual_seed(2)
    ids = torch.randint(5, 1000, (3, 6))
    mask = torch.ones(3, 6, dtype=torch.long)
    mask[0, :2] = 0  # left padding
    outs: list[list[torch.Tensor]] = []
    for cache in (DynamicCache(config=model.config), preallocated_cache(model.config, capacity=9)):
        assert cache is not None
        seen: list[torch.Tensor] = []
        m, pos = mask.clone(), (mask.cumsum(-1) - 1).clamp(min=0)
        with torch.inference_mode():
            h = body(input_ids=ids, attention_mask=m, position_ids=pos, cache=cache, use_cache=True)[0]
            seen.append(h)
            tok, nxt = ids[:, -1:], pos[:, -1:] + 1
            for step in range(8):  # 6 + 8 = 14 tokens > capacity 9: the buffer grows
                if step == 3:
                    keep = torch.tensor([0, 2])
                    cache.batch_select_indices(keep)
                    m, tok, nxt = m[keep], tok[keep], nxt[keep]
                m = torch.cat([m, m.new_ones((m.shape[0], 1))], dim=1)
                h = body(input_ids=tok, attention_mask=m, position_ids=nxt, cache=cache, use_cache=True)[0]
                seen.append(h)
                nxt = nxt + 1
        outs.append(seen)
    for a, b in zip(*outs, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6)
    grown = preallocated_cache(model.config, capacity=9)
    assert grown is not None and all(type(layer) is GrowingLayer for layer in grown.layers)


def test_generation_equals_transformers_generate(tiny_model_dir: Path) -> None:
    """Our decode loop (packed kernels, growing cache, finished rows dropped) = `generate`."""
    ours = load_model(f"hf:{tiny_model_dir}", batch_size=4)
    assert isinstance(ours, HFModel)
    if torch.backends.mkldnn.is_available():
        assert ours.info.details["matmul"] == "onednn-packed"
    plain = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
    tok = ours.tok
    prompts = [
        ours.render([{"role": "user", "content": t}])
        for t in ("Hi", "Tell me a long story about a cat and a dog", "Why?", "List three colours.")
    ]
    got = ours.generate([GenerateRequest(prompt=p, max_new_tokens=12) for p in prompts])
    tok.padding_side = "left"
    enc = tok(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
    with torch.inference_mode():
        out = plain.generate(**enc, max_new_tokens=12, do_sample=False, pad_token_id=tok.pad_token_id)
    want = tok.batch_decode(out[:, enc["input_ids"].shape[1] :], skip_special_tokens=True)
    assert got == want
