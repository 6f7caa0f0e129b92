"""PEFT (LoRA) adapters on a transformers base model: ``hf:BASE+adapter=PATH``.

Most preference tuning ships as an adapter on a base model, so an adapter is part of the
model spec (and of its fingerprint, hence of every cache key) rather than a separate
checkpoint. The adapter is merged into the base weights by default: a merged LoRA runs at
the base model's speed, while an unmerged one adds two small matmuls per adapted layer
(``benchmarks/bench_adapter_merge.py`` measures the difference). ``+merge=no`` keeps the
adapter separate, e.g. to check that merging changes nothing.

An adapter built by this project's recipe (scripts/dpo) records its base model's fingerprint
in ``rlhf_eval_base.json``; loading it on another base is an error even where the shapes fit
(SmolLM2-135M base and -Instruct share every shape).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlhf_eval.errors import UserError

SHIPPED_DIR = Path(__file__).parent / "adapters"
"""Adapters shipped as package data, addressable by folder name (``+adapter=smollm2-dpo-safety``)."""

BASE_FILE = "rlhf_eval_base.json"
_OPTION = re.compile(r"\+(adapter|merge)=")
_TRUE = {"1", "yes", "true", "on"}
_FALSE = {"0", "no", "false", "off"}


@dataclass(frozen=True)
class AdapterSpec:
    """Which adapter to put on the base model and whether to merge it into the weights."""

    source: str
    merge: bool = True


def shipped_adapters() -> list[str]:
    """Names of the adapters that ship with the package."""
    if not SHIPPED_DIR.is_dir():
        return []
    return sorted(p.parent.name for p in SHIPPED_DIR.glob("*/adapter_config.json"))


def split_spec(spec: str, adapter: str | None = None) -> tuple[str, AdapterSpec | None]:
    """``hf:BASE+adapter=PATH+merge=no`` -> (``hf:BASE``, AdapterSpec); ``adapter`` is ``--adapter``."""
    parts = _OPTION.split(spec)
    base, options = parts[0], dict(zip(parts[1::2], parts[2::2], strict=True))
    if adapter is not None:
        if "adapter" in options:
            raise UserError(f"--adapter {adapter!r}: the model spec {spec!r} already names an adapter")
        options["adapter"] = adapter
    if "adapter" not in options:
        if "merge" in options:
            raise UserError(f"--model {spec!r}: +merge= needs +adapter=PATH")
        return base, None
    source = options["adapter"].strip()
    if not source:
        raise UserError(f"--model {spec!r}: +adapter= needs a path or Hub id")
    merge_text = options.get("merge", "yes").strip().lower()
    if merge_text not in _TRUE | _FALSE:
        raise UserError(f"--model {spec!r}: +merge= takes yes or no, got {merge_text!r}")
    return base, AdapterSpec(source, merge=merge_text in _TRUE)


def full_spec(base: str, adapter: AdapterSpec | None) -> str:
    """The one-string spec recorded in run.json (round-trips through :func:`split_spec`)."""
    if adapter is None:
        return base
    return f"{base}+adapter={adapter.source}" + ("" if adapter.merge else "+merge=no")


def resolve_adapter(source: str) -> Path:
    """Local folder for an adapter: a path, a shipped adapter's name, or a Hub id (when online)."""
    path = Path(source).expanduser()
    if path.exists():
        if not (path / "adapter_config.json").is_file():
            raise UserError(f"adapter {source}: no adapter_config.json in that folder (not a PEFT adapter)")
        return path
    if (SHIPPED_DIR / source / "adapter_config.json").is_file():
        return SHIPPED_DIR / source
    looks_like_hub = re.fullmatch(r"[\w.-]+/[\w.-]+", source) is not None
    if not looks_like_hub or os.environ.get("HF_HUB_OFFLINE") == "1":
        shipped = ", ".join(shipped_adapters()) or "none"
        raise UserError(
            f"adapter {source}: no such folder"
            + (", and the Hub is offline" if looks_like_hub else "")
            + f" (shipped adapters: {shipped})"
        )
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(source, allow_patterns=["adapter_*", "*.json"]))
    except Exception as exc:  # network, auth, missing repo: one line for the user
        raise UserError(
            f"adapter {source}: cannot download from the Hub ({str(exc).splitlines()[0]})"
        ) from None


def adapter_fingerprint(path: Path) -> str:
    """sha256 over the adapter's config and weight files (part of the model fingerprint)."""
    h = hashlib.sha256()
    for p in sorted(path.iterdir()):
        if p.is_file() and (p.name == "adapter_config.json" or p.name.startswith("adapter_model")):
            h.update(p.name.encode() + b"\0" + p.read_bytes() + b"\0")
    return "sha256:" + h.hexdigest()[:32]


def combined_fingerprint(base_fingerprint: str, adapter_fp: str, merged: bool) -> str:
    """The fingerprint of base + adapter (merged weights differ from unmerged in the last bits)."""
    blob = f"{base_fingerprint}|{adapter_fp}|merged={merged}".encode()
    return "sha256:" + hashlib.sha256(blob).hexdigest()[:32]


def apply_adapter(model: Any, spec: AdapterSpec, base_fingerprint: str) -> tuple[Any, dict[str, Any]]:
    """Load ``spec`` onto ``model`` with peft (merged unless asked not to); returns it and its details."""
    path = resolve_adapter(spec.source)
    try:
        config = json.loads((path / "adapter_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UserError(f"adapter {spec.source}: unreadable adapter_config.json ({exc})") from None
    expected = _recorded_base(path)
    if expected is not None and expected != base_fingerprint:
        raise UserError(
            f"adapter {spec.source} was trained on another base model "
            f"(its {BASE_FILE} says {expected}, the base loaded is {base_fingerprint})"
        )
    from peft import PeftModel

    try:
        peft_model = PeftModel.from_pretrained(model, str(path), is_trainable=False)
    except Exception as exc:  # size mismatch, missing target modules, corrupt weights
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        base_name = config.get("base_model_name_or_path") or "an unnamed base"
        raise UserError(
            f"adapter {spec.source} does not fit this base model (made for {base_name}): {first[:200]}"
        ) from None
    # unmerged: the transformers model with LoRA layers injected in place (get_base_model), so
    # the backend's body-then-head forward works unchanged
    merged = peft_model.merge_and_unload() if spec.merge else peft_model.get_base_model()
    details = {
        "source": spec.source,
        "path": str(path),
        "fingerprint": adapter_fingerprint(path),
        "peft_type": config.get("peft_type"),
        "r": config.get("r"),
        "lora_alpha": config.get("lora_alpha"),
        "target_modules": config.get("target_modules"),
        "base_model_name_or_path": config.get("base_model_name_or_path"),
        "merged": spec.merge,
    }
    return merged, details


def _recorded_base(path: Path) -> str | None:
    """The base fingerprint our recipe recorded next to the adapter, if any."""
    marker = path / BASE_FILE
    if not marker.is_file():
        return None
    try:
        value = json.loads(marker.read_text(encoding="utf-8")).get("base_fingerprint")
    except (OSError, ValueError):
        return None
    return str(value) if value else None
