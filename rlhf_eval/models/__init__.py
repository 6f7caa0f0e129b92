"""Model backends behind one protocol: ``generate(requests)`` and ``loglikelihood(requests)``."""

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
    "RecordedModel",
    "cache_root",
    "ensure_converted",
    "load_model",
    "plain_render",
]
