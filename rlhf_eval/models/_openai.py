"""OpenAI-compatible HTTP backend (vLLM, TGI, SGLang, llama.cpp server): ``openai:BASE_URL#MODEL``.

Generation goes to ``/v1/chat/completions`` with the conversation's messages, so the server
applies its own chat template (``--no-chat-template`` sends the raw prompt text to
``/v1/completions`` instead). Log-likelihoods go to ``/v1/completions`` with ``echo`` and
``logprobs``: the server scores ``context + continuation`` and we sum the log-probs of the
echoed tokens that overlap the continuation, located by their ``text_offset``. Requests in
one call run concurrently on an asyncio event loop, bounded by ``concurrency``; each one is
retried with backoff (see :mod:`rlhf_eval.models._openai_http`). The API key is read from the
environment variable ``--api-key-env`` names and lives only in the request header: it is
never part of the spec, fingerprint, details, errors or any file. See docs/openai.md.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import os
import re
import threading
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from rlhf_eval.errors import BackendError, UserError
from rlhf_eval.models._hf import _apply_stop, plain_render, raw_render
from rlhf_eval.models._openai_http import (
    JsonClient,
    Malformed,
    MissingFeature,
    RequestFailed,
    RetryPolicy,
)
from rlhf_eval.models._protocol import (
    GenerateRequest,
    LoglikelihoodRequest,
    LoglikelihoodResult,
    Message,
    ModelInfo,
    ProgressFn,
)

T = TypeVar("T")

# /v1/models fields that describe the served weights and are stable across calls. `created`
# is left out of the fingerprint: vLLM stamps it with the time of the request.
_FINGERPRINT_FIELDS = ("id", "owned_by", "root", "parent", "max_model_len", "meta")
_DETAIL_FIELDS = (*_FINGERPRINT_FIELDS, "created")
# predictable text: the probe also checks that log-probs are aligned with their tokens
_PROBE = LoglikelihoodRequest("1, 2, 3, 4,", " 5, 6, 7")  # short: some servers are slow at echo


class OpenAIBackendError(BackendError):
    """A backend failure that carries the results finished before it (``partial[i]`` or None)."""

    def __init__(self, message: str, partial: Sequence[Any | None] = ()) -> None:
        super().__init__(message)
        self.partial: list[Any | None] = list(partial)


def parse_spec(spec: str) -> tuple[str, str | None]:
    """``openai:BASE_URL#MODEL`` -> (base URL ending in the API root, model or None)."""
    rest = spec.removeprefix("openai:")
    base, _, model = rest.partition("#")
    parts = urlsplit(base.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UserError(f"--model {spec!r}: expected openai:http(s)://HOST[:PORT]/v1#MODEL")
    if parts.username is not None or parts.password is not None:
        raise UserError(
            f"--model openai:{parts.scheme}://...@{parts.hostname}: credentials in the URL would be "
            "recorded in run.json; put the key in an environment variable and pass --api-key-env VAR"
        )
    path = parts.path.rstrip("/")
    if not path:
        path = "/v1"  # the usual API root when only host:port is given
    base_url = urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))
    return base_url, (model.strip() or None)


def read_api_key(api_key_env: str | None) -> str | None:
    """The key from the named environment variable; None when no variable is named."""
    if not api_key_env:
        return None
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", api_key_env):
        raise UserError(f"--api-key-env {api_key_env!r}: give the NAME of an environment variable")
    key = os.environ.get(api_key_env, "").strip()
    if not key:
        raise UserError(f"--api-key-env {api_key_env}: the environment variable is not set or empty")
    return key


def _echo_parts(data: Any) -> tuple[str, list[str], list[int], list[Any], list[Any]]:
    """(text, tokens, text_offset, token_logprobs, top_logprobs) of an echo answer, validated."""
    if not isinstance(data, dict) or not isinstance(data.get("choices"), list) or not data["choices"]:
        raise Malformed("no 'choices'")
    choice = data["choices"][0]
    if not isinstance(choice, dict):
        raise Malformed("choice is not an object")
    lp = choice.get("logprobs")
    if lp is None:
        raise MissingFeature("the answer has no 'logprobs' (echo + logprobs on /v1/completions unsupported)")
    if not isinstance(lp, dict):
        raise Malformed("'logprobs' is not an object")
    tokens, offsets, values = lp.get("tokens"), lp.get("text_offset"), lp.get("token_logprobs")
    if tokens is None or offsets is None or values is None:
        raise MissingFeature(
            "'logprobs' lacks tokens/text_offset/token_logprobs (prompt logprobs unsupported)"
        )
    top = lp.get("top_logprobs") or [None] * len(tokens)
    if not (
        isinstance(tokens, list)
        and isinstance(offsets, list)
        and isinstance(values, list)
        and isinstance(top, list)
        and len(tokens) == len(offsets) == len(values) == len(top)
    ):
        raise Malformed("logprobs lists differ in length")
    if not all(isinstance(t, str) for t in tokens):
        raise Malformed("'tokens' holds non-strings")
    if not all(isinstance(o, int) and not isinstance(o, bool) for o in offsets):
        raise Malformed("'text_offset' holds non-integers")
    text = choice.get("text")
    if not isinstance(text, str):
        raise Malformed("choice has no 'text'")
    return text, tokens, offsets, values, top


def _offset_delta(text: str, tokens: Sequence[str], offsets: Sequence[int]) -> int | None:
    """Shift from ``text_offset`` to positions in the echoed text, checked against the token strings.

    Usually 0. llama-cpp-python counts offsets without a BOS string that the prompt text
    itself starts with (so they lag the echoed text by its length); other servers list a BOS
    token whose string the echoed text lacks. Tokens with undecodable bytes are not checked.
    """
    for delta in dict.fromkeys((0, len(text) - len("".join(tokens)))):
        ok = True
        for tok, off in zip(tokens, offsets, strict=True):
            at = off + delta
            if tok and "\ufffd" not in tok and at >= 0 and text[at : at + len(tok)] != tok:
                ok = False
                break
        if ok:
            return delta
    return None


def score_echo(context: str, continuation: str, data: Any) -> LoglikelihoodResult:
    """Summed log-prob of the continuation from a ``/v1/completions`` answer with echo + logprobs.

    Token ``i`` covers characters ``[text_offset[i], text_offset[i+1])`` of the echoed text; the
    tokens overlapping ``continuation`` are summed. A token straddling the boundary (e.g. the
    context's trailing space merged into ``" Paris"``) counts toward the continuation, as
    lm-evaluation-harness moves trailing context spaces into the continuation. Generated tokens
    (after the prompt) are ignored.
    """
    text, tokens, offsets, values, top = _echo_parts(data)
    full = context + continuation
    pos = 0 if text.startswith(full) else text.find(full)  # a BOS string may precede the prompt
    if pos < 0:
        raise MissingFeature("the answer does not echo the prompt (echo unsupported)")
    delta = _offset_delta(text, tokens, offsets)
    if delta is None:
        raise MissingFeature("the echoed 'text_offset' values do not match the echoed tokens")
    ctx_end, full_end = pos + len(context), pos + len(full)
    total, greedy, n = 0.0, True, 0
    for i, off in enumerate(offsets):
        start = off + delta
        end = (offsets[i + 1] + delta) if i + 1 < len(offsets) else len(text)
        if start >= full_end or end <= ctx_end:
            continue
        value = values[i]
        if value is None:
            raise MissingFeature(
                "no log-prob for the first prompt token: the context is empty (give a non-empty prompt)"
            )
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
            raise Malformed("a token log-prob is not a number")
        total += float(value)
        n += 1
        best = _top_value(top[i])
        greedy = greedy and best is not None and float(value) >= best[1] - 1e-5
    if n == 0:
        raise Malformed("no echoed token overlaps the continuation")
    return LoglikelihoodResult(logprob=total, is_greedy=greedy, n_tokens=n)


def _top_value(alts: Any) -> tuple[str, float] | None:
    """The most likely (token, log-prob) of one ``top_logprobs`` entry, or None."""
    if not isinstance(alts, dict):
        return None
    items = [
        (k, float(v)) for k, v in alts.items() if isinstance(v, (int, float)) and not isinstance(v, bool)
    ]
    return max(items, key=lambda kv: kv[1]) if items else None


def echo_misaligned(data: Any) -> bool:
    """Whether echoed log-probs are shifted one token late (a server bug), judged on a predictable text.

    In a correct answer ``top_logprobs[i]`` is the distribution that *produced* token ``i``, so on
    text like "1, 2, 3, ..." its best entry is usually token ``i`` itself. llama-cpp-python
    (0.3.x) pairs token ``i`` with the distribution *after* it when the model adds no BOS token:
    the best entry is then token ``i + 1``, and every value is the log-prob of the wrong event.
    """
    _, tokens, _, _, top = _echo_parts(data)
    same = nxt = 0
    for i in range(1, len(tokens)):
        best = _top_value(top[i])
        if best is None:
            continue
        same += best[0] == tokens[i]
        nxt += i + 1 < len(tokens) and best[0] == tokens[i + 1]
    return nxt >= 3 and nxt > 2 * same


def _chat_text(data: Any) -> str:
    if not isinstance(data, dict) or not isinstance(data.get("choices"), list) or not data["choices"]:
        raise Malformed("no 'choices'")
    choice = data["choices"][0]
    msg = choice.get("message") if isinstance(choice, dict) else None
    if not isinstance(msg, dict):
        raise Malformed("choice has no 'message'")
    content = msg.get("content")
    if content is None:
        return ""  # e.g. a reply that is only a tool call or an empty answer
    if not isinstance(content, str):
        raise Malformed("'message.content' is not a string")
    return content


def _completion_text(data: Any) -> str:
    if not isinstance(data, dict) or not isinstance(data.get("choices"), list) or not data["choices"]:
        raise Malformed("no 'choices'")
    choice = data["choices"][0]
    text = choice.get("text") if isinstance(choice, dict) else None
    if not isinstance(text, str):
        raise Malformed("choice has no 'text'")
    return text


def _run_sync(make: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to completion from sync code, also when the caller already runs a loop."""

    async def main() -> T:
        return await make()

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(main())
    box: dict[str, Any] = {}

    def worker() -> None:
        try:
            box["value"] = asyncio.run(main())
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    t = threading.Thread(target=worker, name="rlhf-eval-openai", daemon=True)
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    value: T = box["value"]
    return value


class OpenAIModel:
    """A model behind an OpenAI-compatible HTTP API; see the module docstring and docs/openai.md."""

    def __init__(
        self,
        base_url: str,
        model: str | None = None,
        *,
        api_key: str | None = None,
        concurrency: int = 8,
        timeout: float = 120.0,
        max_retries: int = 6,
        spec: str | None = None,
        policy: RetryPolicy | None = None,
    ) -> None:
        if concurrency < 1:
            raise UserError("--concurrency must be at least 1")
        if not timeout > 0:
            raise UserError("--timeout must be a positive number of seconds")
        if max_retries < 0:
            raise UserError("--max-retries must be 0 or more")
        self.base_url = base_url.rstrip("/")
        self.concurrency = int(concurrency)
        policy = policy or RetryPolicy()
        self.http = JsonClient(
            self.base_url,
            api_key=api_key,
            timeout=timeout,
            policy=RetryPolicy(
                max_retries=int(max_retries),
                base_delay=policy.base_delay,
                max_delay=policy.max_delay,
                max_retry_after=policy.max_retry_after,
            ),
        )
        entry = self._server_model(model)
        self.model: str = model or str(entry["id"])
        canonical = {
            "base_url": self.base_url,
            "model": self.model,
            "server": {k: entry[k] for k in _FINGERPRINT_FIELDS if entry.get(k) is not None},
        }
        blob = json.dumps(canonical, sort_keys=True, ensure_ascii=False, default=str)
        self._ll_support: bool | None = None
        self.loglikelihood_unsupported: str | None = None
        self.info = ModelInfo(
            spec=spec or f"openai:{self.base_url}#{self.model}",
            backend="openai",
            fingerprint="sha256:" + hashlib.sha256(blob.encode("utf-8")).hexdigest()[:32],
            tokenizer_hash=None,  # the server's tokenizer and chat template are not visible to us
            chat_template_hash=None,
            details={
                "base_url": self.base_url,
                "model": self.model,
                "server_model": {k: entry[k] for k in _DETAIL_FIELDS if entry.get(k) is not None},
                "chat_template": "server (generate); plain rendering (multiple choice)",
                "concurrency": self.concurrency,
                "timeout_s": self.http.timeout,
                "max_retries": self.http.policy.max_retries,
                "api_key": "sent (value never recorded)" if api_key else None,
            },
        )

    @classmethod
    def from_spec(
        cls,
        spec: str,
        *,
        api_key_env: str | None = None,
        concurrency: int = 8,
        timeout: float = 120.0,
        max_retries: int = 6,
    ) -> OpenAIModel:
        """Build from ``openai:BASE_URL#MODEL`` and the ``rlhf-eval run`` options."""
        base_url, model = parse_spec(spec)
        return cls(
            base_url,
            model,
            api_key=read_api_key(api_key_env),
            concurrency=concurrency,
            timeout=timeout,
            max_retries=max_retries,
            spec=spec,
        )

    # -- server metadata ---------------------------------------------------------------
    def _server_model(self, model: str | None) -> dict[str, Any]:
        """The /v1/models entry of ``model`` (the only one served when ``model`` is None)."""

        def check(data: Any) -> list[dict[str, Any]]:
            rows = data.get("data") if isinstance(data, dict) else None
            if not isinstance(rows, list):
                raise Malformed("no 'data' list")
            return [r for r in rows if isinstance(r, dict) and isinstance(r.get("id"), str)]

        async def fetch() -> list[dict[str, Any]]:
            async with self.http.session(1) as client:
                return await self.http.request(client, "GET", "/models", None, check)

        try:
            rows = _run_sync(fetch)
        except RequestFailed as exc:
            if exc.status in (404, 405, 501) and model:  # no /models endpoint: name only
                return {"id": model, "models_endpoint": "unavailable"}
            raise self._error(exc, 1, "listing the served models") from None
        ids = [str(r["id"]) for r in rows]
        if model is None:
            if len(rows) != 1:
                raise UserError(
                    f"--model openai:{self.base_url}: the server lists {len(rows)} models "
                    f"({_listing(ids)}); name one as openai:{self.base_url}#MODEL"
                )
            return rows[0]
        for r in rows:
            if r["id"] == model:
                return r
        raise UserError(
            f"--model openai:{self.base_url}#{model}: the server does not serve {model!r} (it lists {_listing(ids)})"
        )

    # -- protocol ----------------------------------------------------------------------
    @property
    def supports_loglikelihood(self) -> bool:
        """Whether /v1/completions returns prompt logprobs with echo (probed once, lazily)."""
        if self._ll_support is None:
            self._probe()
        return bool(self._ll_support)

    @supports_loglikelihood.setter
    def supports_loglikelihood(self, value: bool) -> None:
        self._ll_support = bool(value)

    def _probe(self) -> None:
        """One echo request on a predictable text: does the server give aligned prompt log-probs?"""

        def check(i: int) -> Callable[[Any], LoglikelihoodResult]:
            def run(data: Any) -> LoglikelihoodResult:
                result = score_echo(_PROBE.context, _PROBE.continuation, data)
                if echo_misaligned(data):
                    raise MissingFeature(
                        "prompt log-probs that are shifted one token late (each token is paired with the "
                        "next position's distribution; llama-cpp-python does this for models that add no "
                        "BOS token)"
                    )
                return result

            return run

        try:
            self._batch("/completions", [self._ll_body(_PROBE)], check, None)
        except OpenAIBackendError as exc:
            failed = exc.__cause__
            final = {400, 404, 422, 501, *range(200, 300)}  # a refusal or an answer lacking logprobs
            if isinstance(failed, RequestFailed) and failed.status in final:
                reason = f"POST {urlsplit(self.base_url).path}/completions with echo=true, logprobs=1 gave {failed.reason}"
                self._ll_support = False
                self.loglikelihood_unsupported = reason
                self.info.details["loglikelihood"] = "unsupported: " + reason
                return
            raise
        self._ll_support = True
        self.info.details["loglikelihood"] = "/v1/completions echo+logprobs"

    def render(self, messages: Sequence[Message], *, chat: bool = True) -> str:
        """The plain rendering (role-prefixed turns, ends with 'Assistant:'); raw text if not chat.

        Chat generation sends the messages and the server applies its own template; this text
        is what multiple-choice scoring sends to /v1/completions and what the cache keys on.
        """
        return plain_render(messages) if chat else raw_render(messages)

    def generate(self, requests: Sequence[GenerateRequest], progress: ProgressFn | None = None) -> list[str]:
        """Chat completions (or text completions for un-templated prompts), concurrently, in order."""
        if not requests:
            return []
        chat = [bool(r.messages) and r.prompt == plain_render(r.messages) for r in requests]
        bodies: list[dict[str, Any]] = []
        for r, is_chat in zip(requests, chat, strict=True):
            body: dict[str, Any] = {"model": self.model, "max_tokens": int(r.max_new_tokens)}
            if is_chat:
                body["messages"] = [{"role": m["role"], "content": m["content"]} for m in r.messages]
            else:
                body["prompt"] = r.prompt
            body["temperature"] = float(r.temperature)
            if r.seed is not None:
                body["seed"] = int(r.seed)
            if r.stop:
                body["stop"] = list(r.stop)
            bodies.append(body)
        if all(chat):
            texts = self._batch("/chat/completions", bodies, _const(_chat_text), progress)
        elif not any(chat):
            texts = self._batch("/completions", bodies, _const(_completion_text), progress)
        else:  # mixed: two groups, results put back in request order
            texts = [""] * len(requests)
            groups = (("/chat/completions", _chat_text, True), ("/completions", _completion_text, False))
            for path, parse, flag in groups:
                idx = [i for i, c in enumerate(chat) if c is flag]
                got = self._batch(path, [bodies[i] for i in idx], _const(parse), progress)
                for i, t in zip(idx, got, strict=True):
                    texts[i] = t
        return [_apply_stop(t, r.stop) for t, r in zip(texts, requests, strict=True)]

    def loglikelihood(
        self, requests: Sequence[LoglikelihoodRequest], progress: ProgressFn | None = None
    ) -> list[LoglikelihoodResult]:
        """Summed continuation log-probs from /v1/completions echo + logprobs, concurrently, in order."""
        if not requests:
            return []
        if not self.supports_loglikelihood:
            raise UserError(
                f"--model {self.info.spec}: multiple-choice suites need prompt log-probs from the server, "
                f"but {self.loglikelihood_unsupported}"
            )
        for r in requests:
            if not r.continuation:
                raise UserError("an empty multiple-choice continuation cannot be scored")
        bodies = [self._ll_body(r) for r in requests]
        return self._batch("/completions", bodies, self._ll_check(requests), progress)

    # -- internals ---------------------------------------------------------------------
    def _ll_body(self, r: LoglikelihoodRequest) -> dict[str, Any]:
        # max_tokens=1 (0 means "unlimited" on some servers); the generated token is ignored
        return {
            "model": self.model,
            "prompt": r.context + r.continuation,
            "max_tokens": 1,
            "temperature": 0.0,
            "echo": True,
            "logprobs": 1,
        }

    @staticmethod
    def _ll_check(
        requests: Sequence[LoglikelihoodRequest],
    ) -> Callable[[int], Callable[[Any], LoglikelihoodResult]]:
        def for_index(i: int) -> Callable[[Any], LoglikelihoodResult]:
            r = requests[i]
            return lambda data: score_echo(r.context, r.continuation, data)

        return for_index

    def _batch(
        self,
        path: str,
        bodies: Sequence[dict[str, Any]],
        check_for: Callable[[int], Callable[[Any], T]],
        progress: ProgressFn | None,
    ) -> list[T]:
        """POST every body concurrently (at most ``concurrency`` in flight); results in order.

        After a request fails for good, requests not yet started are skipped, the ones in
        flight finish, and one error names the path, the failure and the counts; the results
        that did finish ride on the error as ``partial`` for a caller that can keep them.
        """
        n = len(bodies)

        async def main() -> tuple[list[T | None], list[RequestFailed], list[BaseException]]:
            results: list[T | None] = [None] * n
            failed: list[RequestFailed] = []
            other: list[BaseException] = []
            sem = asyncio.Semaphore(self.concurrency)
            async with self.http.session(self.concurrency) as client:

                async def one(i: int) -> None:
                    async with sem:
                        if failed or other:
                            return
                        try:
                            results[i] = await self.http.request(
                                client, "POST", path, bodies[i], check_for(i)
                            )
                        except RequestFailed as exc:
                            failed.append(exc)
                            return
                        except Exception as exc:  # a bug or a UserError: re-raised after the rest
                            other.append(exc)
                            return
                    if progress:
                        progress(1)

                await asyncio.gather(*(one(i) for i in range(n)))
            return results, failed, other

        results, failed, other = _run_sync(main)
        if other:
            raise other[0]
        if failed:
            done = sum(r is not None for r in results)
            raise self._error(
                failed[0], n, None, done=done, n_failed=len(failed), partial=results
            ) from failed[0]
        return [r for r in results if r is not None] if n else []

    def _error(
        self,
        exc: RequestFailed,
        n: int,
        doing: str | None,
        *,
        done: int = 0,
        n_failed: int = 1,
        partial: Sequence[Any | None] = (),
    ) -> OpenAIBackendError:
        retries = f" after {exc.attempts} attempts" if exc.attempts > 1 else ""
        what = f" ({doing})" if doing else ""
        hint = " (check the key named by --api-key-env)" if exc.status in (401, 403) else ""
        counts = (
            ""
            if doing
            else f"; {n_failed} of {n} requests failed, {done} completed, {n - done - n_failed} not sent"
        )
        msg = (
            f"openai backend {self.base_url}: {exc.method} {urlsplit(self.base_url).path}{exc.path}{what} "
            f"failed{retries}: {exc.reason}{hint}{counts}"
        )
        err = OpenAIBackendError(self.http.mask(msg), partial)
        err.__cause__ = exc
        return err


def _const(parse: Callable[[Any], T]) -> Callable[[int], Callable[[Any], T]]:
    """The same parser for every request index."""
    return lambda i: parse


def _listing(ids: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(repr(i) for i in ids[:limit])
    return shown + (f", ... ({len(ids)} in all)" if len(ids) > limit else "") if ids else "none"
