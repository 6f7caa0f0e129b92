"""The one model protocol every backend implements: ``generate`` and ``loglikelihood``.

Requests carry the conversation (``messages``) *and* the rendered ``prompt`` text; the
backend decides which it sends (a local model sends the rendered text it produced with
:meth:`Model.render`; an HTTP chat server sends the messages).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

Message = dict[str, str]  # {"role": "system"|"user"|"assistant", "content": str}


@dataclass(frozen=True)
class GenerateRequest:
    """One greedy (or seeded sampling) completion of a rendered prompt."""

    prompt: str
    messages: tuple[Message, ...] = ()
    max_new_tokens: int = 256
    temperature: float = 0.0
    seed: int | None = None
    stop: tuple[str, ...] = ()
    item_id: str = ""  # the item this answers (the recorded backend looks responses up by it)


@dataclass(frozen=True)
class LoglikelihoodRequest:
    """Summed log-probability of ``continuation`` given ``context`` (both exact text)."""

    context: str
    continuation: str


@dataclass(frozen=True)
class LoglikelihoodResult:
    """Summed log-prob of the continuation and whether it is the greedy continuation."""

    logprob: float
    is_greedy: bool
    n_tokens: int = 0


ProgressFn = Callable[[int], None]
"""Called with the number of requests just completed (for progress bars)."""


@dataclass
class ModelInfo:
    """Provenance of a loaded model, recorded in run.json and part of every cache key."""

    spec: str
    backend: str
    fingerprint: str
    tokenizer_hash: str | None = None
    chat_template_hash: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Model(Protocol):
    """What the runner needs from a backend."""

    info: ModelInfo
    supports_loglikelihood: bool

    def render(self, messages: Sequence[Message], *, chat: bool = True) -> str:
        """The exact text sent for a conversation (chat template, or plain concatenation)."""
        ...

    def generate(self, requests: Sequence[GenerateRequest], progress: ProgressFn | None = None) -> list[str]:
        """Responses in request order."""
        ...

    def loglikelihood(
        self, requests: Sequence[LoglikelihoodRequest], progress: ProgressFn | None = None
    ) -> list[LoglikelihoodResult]:
        """Results in request order."""
        ...
