"""Responses produced elsewhere (a JSONL file), so any system's outputs can be audited."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from rlhf_eval._io import iter_jsonl
from rlhf_eval.errors import UserError
from rlhf_eval.models._hf import plain_render, raw_render
from rlhf_eval.models._protocol import (
    GenerateRequest,
    LoglikelihoodRequest,
    LoglikelihoodResult,
    Message,
    ModelInfo,
    ProgressFn,
)


class RecordedModel:
    """Looks responses up by ``item_id`` (preferred) or by the user ``prompt`` text."""

    supports_loglikelihood = False

    def __init__(self, path: str) -> None:
        p = Path(path)
        self.by_id: dict[str, str] = {}
        self.by_prompt: dict[str, str] = {}
        for lineno, row in iter_jsonl(p, allow_empty=False):
            if "response" not in row or not isinstance(row["response"], str):
                raise UserError(f"{p}:{lineno}: missing field 'response' (a string)")
            if "item_id" not in row and "prompt" not in row:
                raise UserError(f"{p}:{lineno}: needs a field 'item_id' or 'prompt'")
            if "item_id" in row:
                self.by_id[str(row["item_id"])] = row["response"]
            if isinstance(row.get("prompt"), str):
                self.by_prompt[row["prompt"]] = row["response"]
        if not self.by_id and not self.by_prompt:
            raise UserError(f"{p}: no responses")
        self.path = p
        digest = hashlib.sha256(p.read_bytes()).hexdigest()[:32]
        self.info = ModelInfo(
            spec=f"recorded:{path}",
            backend="recorded",
            fingerprint=f"sha256:{digest}",
            details={"path": str(p), "n_responses": len(self.by_id) + len(self.by_prompt)},
        )

    def render(self, messages: Sequence[Message], *, chat: bool = True) -> str:
        """The plain template text (recorded responses carry no template of their own)."""
        return plain_render(messages) if chat else raw_render(messages)

    def generate(self, requests: Sequence[GenerateRequest], progress: ProgressFn | None = None) -> list[str]:
        """Each request's recorded response; a missing one is an error naming the item."""
        out = []
        for r in requests:
            user = next((m["content"] for m in reversed(r.messages) if m["role"] == "user"), r.prompt)
            resp = self.by_id.get(r.item_id) if r.item_id else None
            if resp is None:
                resp = self.by_prompt.get(user, self.by_prompt.get(r.prompt))
            if resp is None:
                raise UserError(
                    f"{self.path}: no response for item {r.item_id!r} (matched by item_id or prompt)"
                )
            out.append(resp)
        if progress:
            progress(len(requests))
        return out

    def loglikelihood(
        self, requests: Sequence[LoglikelihoodRequest], progress: ProgressFn | None = None
    ) -> list[LoglikelihoodResult]:
        """Recorded responses have no log-probabilities."""
        raise UserError("the recorded: backend has no log-likelihoods; multiple-choice suites need a model")
