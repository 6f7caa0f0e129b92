"""A few-MB random llama with the real SmolLM2 tokenizer: the tiny model every test loads through ``hf:``."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def make_tiny_llama(tokenizer: Any, seed: int, out: Path) -> Path:
    """Build a seeded 2-layer llama from a config, save it with ``tokenizer`` into ``out``."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    torch.manual_seed(seed)
    config = AutoConfig.for_model(
        "llama",
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    AutoModelForCausalLM.from_config(config).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out
