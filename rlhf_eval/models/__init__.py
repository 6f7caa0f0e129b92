"""Model backends behind one protocol: ``generate(requests)`` and ``loglikelihood(requests)``."""

from typing import TYPE_CHECKING, Any

from rlhf_eval.models._embedded import EMBEDDED, cache_root, ensure_converted
from rlhf_eval.models._hf import HFModel, plain_render
from rlhf_eval.models._protocol import (
    GenerateRequest,
    LoglikelihoodRequest,
    LoglikelihoodResult,
    Message,
    Model,
    ModelInfo,
)
from rlhf_eval.models._recorded import RecordedModel
from rlhf_eval.models._spec import SPEC_HELP, load_model

if TYPE_CHECKING:
    from rlhf_eval.models._openai import OpenAIModel

__all__ = [
    "EMBEDDED",
    "SPEC_HELP",
    "GenerateRequest",
    "HFModel",
    "LoglikelihoodRequest",
    "LoglikelihoodResult",
    "Message",
    "Model",
    "ModelInfo",
    "OpenAIModel",
    "RecordedModel",
    "cache_root",
    "ensure_converted",
    "load_model",
    "plain_render",
]


def __getattr__(name: str) -> Any:
    """Import the HTTP backend (httpx) only when asked for, so ``--help`` stays fast."""
    if name == "OpenAIModel":
        from rlhf_eval.models._openai import OpenAIModel

        return OpenAIModel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
