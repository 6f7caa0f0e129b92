"""Retrying JSON-over-HTTP for the OpenAI-compatible backend: timeouts, backoff, Retry-After.

One request is retried on connection errors, timeouts, HTTP 408/409/425/429/5xx and bodies
that are not the JSON the caller expects (truncated, empty, an HTML error page), with
exponential backoff and jitter; a ``Retry-After`` header sets the wait when it is longer.
Other 4xx answers are final at once: retrying a bad request only repeats it.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

T = TypeVar("T")

RETRY_STATUS = frozenset({408, 409, 425, 429})


class Malformed(Exception):
    """The body is not what the endpoint promises (truncated, wrong shape): retried."""


class MissingFeature(Exception):
    """Valid JSON that lacks a feature the caller needs (e.g. prompt logprobs): not retried."""


class RequestFailed(Exception):
    """A request failed for good: final HTTP status, or the retry budget is spent."""

    def __init__(self, method: str, path: str, reason: str, *, status: int | None, attempts: int) -> None:
        super().__init__(f"{method} {path}: {reason}")
        self.method, self.path, self.reason = method, path, reason
        self.status, self.attempts = status, attempts


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry one request."""

    max_retries: int = 6
    base_delay: float = 0.5  # seconds before the first retry (then doubled each time)
    max_delay: float = 30.0  # cap on one backoff wait
    max_retry_after: float = 120.0  # cap on a server's Retry-After

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Exponential backoff with jitter: uniform in [d/2, d] for d = base * 2**attempt, capped."""
        d = min(self.max_delay, self.base_delay * (2**attempt))
        return d * rng.uniform(0.5, 1.0)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date); None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds or seconds < 0:  # NaN or in the past
        return 0.0
    return seconds


def one_line(text: str, limit: int = 200, secret: str | None = None) -> str:
    """Untrusted server text as one short line, with the API key (if echoed back) masked."""
    if secret:
        text = text.replace(secret, "***")
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def server_message(resp: httpx.Response, secret: str | None = None) -> str:
    """The error message of a JSON error body (OpenAI, vLLM, TGI, llama.cpp shapes) or its text."""
    text = resp.text
    msg: Any = None
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict):
            msg = err.get("message")
        elif isinstance(err, str):
            msg = err
        msg = msg or data.get("message") or data.get("detail")
    if not isinstance(msg, str):
        msg = text if text.strip() else resp.reason_phrase
    return one_line(str(msg), secret=secret)


class JsonClient:
    """Issues JSON requests against one base URL with the retry policy; holds the auth header."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None,
        timeout: float,
        policy: RetryPolicy,
        seed: int | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = float(timeout)
        self.policy = policy
        self._secret = api_key or None
        self._headers = {"Accept": "application/json"}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._rng = random.Random(seed)

    def session(self, concurrency: int) -> httpx.AsyncClient:
        """An async client with a connection pool sized for ``concurrency`` in-flight requests."""
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        return httpx.AsyncClient(
            headers=self._headers,
            timeout=httpx.Timeout(self.timeout),
            limits=limits,
            follow_redirects=False,
            trust_env=False,  # never route a local eval server through a proxy from the environment
        )

    def mask(self, text: str) -> str:
        """``text`` with the API key masked (for messages that quote server answers)."""
        return text.replace(self._secret, "***") if self._secret else text

    async def request(
        self,
        client: httpx.AsyncClient,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        check: Callable[[Any], T],
    ) -> T:
        """``check(json)`` of the first good answer; raises RequestFailed when retries are spent.

        ``check`` raises :class:`Malformed` (retried) or :class:`MissingFeature` (final).
        """
        url = self.base_url + path
        last = "no attempt"
        status: int | None = None
        attempts = 0
        for attempt in range(self.policy.max_retries + 1):
            attempts = attempt + 1
            wait: float | None = None
            try:
                # the client timeout bounds each phase; wait_for bounds a slow trickle as a whole
                resp = await asyncio.wait_for(
                    client.request(method, url, json=body), timeout=self.timeout + 1.0
                )
            except (httpx.TimeoutException, asyncio.TimeoutError, TimeoutError):
                last, status = f"timed out after {self.timeout:g} s", None
            except httpx.TransportError as exc:
                last, status = f"connection error ({type(exc).__name__}: {one_line(str(exc), 120)})", None
            else:
                status = resp.status_code
                if 200 <= status < 300:
                    try:
                        return check(resp.json())
                    except (ValueError, Malformed) as exc:
                        last = f"malformed response body ({one_line(str(exc), 120, self._secret)})"
                    except MissingFeature as exc:
                        raise RequestFailed(
                            method,
                            path,
                            one_line(str(exc), secret=self._secret),
                            status=status,
                            attempts=attempts,
                        ) from None
                elif status in RETRY_STATUS or status >= 500:
                    last = f"HTTP {status}: {server_message(resp, self._secret)}"
                    wait = parse_retry_after(resp.headers.get("retry-after"))
                else:
                    raise RequestFailed(
                        method,
                        path,
                        f"HTTP {status}: {server_message(resp, self._secret)}",
                        status=status,
                        attempts=attempts,
                    )
            if attempt == self.policy.max_retries:
                break
            delay = self.policy.backoff(attempt, self._rng)
            if wait is not None:
                delay = max(delay, min(wait, self.policy.max_retry_after))
            await asyncio.sleep(delay)
        raise RequestFailed(method, path, last, status=status, attempts=attempts)
