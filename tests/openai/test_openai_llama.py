"""The openai backend against real llama.cpp servers (llama-cpp-python): SmolLM2-135M-Instruct, gemma-3-270m.

Slow: starts ``python -m llama_cpp.server`` once per session and model. Fails in CI (env CI)
when llama-cpp-python is missing, skips locally.

llama-cpp-python 0.3.x pairs each echoed prompt token with the distribution *after* it when
the model adds no BOS token (SmolLM2 does not): the backend's start-up probe detects this and
refuses multiple-choice suites on such a server. A prompt whose text starts with the BOS
string is aligned correctly, which the parsing tests below use to check against transformers;
gemma adds a BOS token, so a gemma server passes the probe and runs MC suites end to end.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openai_helpers import SERVED_NAME, FaultProxy, write_suite

from rlhf_eval.cli import main
from rlhf_eval.models import GenerateRequest, LoglikelihoodRequest
from rlhf_eval.models._openai import OpenAIModel
from rlhf_eval.models._openai_http import RetryPolicy
from rlhf_eval.runner import RunConfig, run_evaluation

pytestmark = pytest.mark.slow
FAST = RetryPolicy(base_delay=0.05, max_delay=0.5)
BOS = "<|im_start|>"  # SmolLM2's BOS string: a prompt starting with it gets aligned echo log-probs


def _samples(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]


def _aligned(url: str) -> OpenAIModel:
    """SmolLM2 with the probe's verdict overridden: only for prompts that start with the BOS string."""
    m = OpenAIModel(url, SERVED_NAME, policy=FAST, timeout=60)
    m.supports_loglikelihood = True
    return m


def test_generation_uses_the_servers_chat_template(llama_server: str, smollm_tokenizer) -> None:  # type: ignore[no-untyped-def]
    m = OpenAIModel.from_spec(f"openai:{llama_server}")  # the one served model, found by name
    assert m.model == SERVED_NAME and m.info.details["server_model"]["id"] == SERVED_NAME
    convs = [
        ({"role": "user", "content": "What is the capital of France?"},),
        ({"role": "system", "content": "Answer in one word."}, {"role": "user", "content": "Name a colour."}),
    ]
    chat = [GenerateRequest(prompt=m.render(c), messages=c, max_new_tokens=12) for c in convs]
    first, again = m.generate(chat), m.generate(chat[::-1])[::-1]
    assert first == again and all(t.strip() for t in first)
    # the same conversations rendered with SmolLM2's own template, sent as raw text
    raw = [
        GenerateRequest(
            prompt=smollm_tokenizer.apply_chat_template(list(c), tokenize=False, add_generation_prompt=True),
            messages=c,
            max_new_tokens=12,
        )
        for c in convs
    ]
    assert m.generate(raw) == first


def test_probe_detects_shifted_echo_logprobs_and_mc_suites_exit_2(
    llama_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    m = OpenAIModel(llama_server, SERVED_NAME)
    assert m.supports_loglikelihood is False
    assert "shifted one token late" in (m.loglikelihood_unsupported or "")
    assert m.info.details["loglikelihood"].startswith("unsupported: POST /v1/completions with echo=true")
    suite = write_suite(tmp_path / "suite", n_gen=2, n_mc=2)
    with FaultProxy(upstream=llama_server) as p:
        rc = main(["run", "--model", f"openai:{p.url}#{SERVED_NAME}", "--suite", str(suite), "--quiet",
                   "--out", str(tmp_path / "o"), "--cache-dir", str(tmp_path / "c")])  # fmt: skip
        assert not p.posts("/chat/completions")  # stopped before any generation
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and "multiple-choice" in err and "oa" in err
    assert not (tmp_path / "o").exists()


def test_proxy_refusing_echo_is_unsupported(llama_server: str) -> None:
    with FaultProxy(upstream=llama_server, faults=lambda r: "no_echo") as p:
        m = OpenAIModel(p.url, SERVED_NAME)
        assert m.supports_loglikelihood is False
        assert "HTTP 400: echo is not supported" in (m.loglikelihood_unsupported or "")


def test_echo_parsing_matches_transformers(llama_server: str) -> None:
    """Same weights (Q4_1; dequantised for transformers), same text: close log-probs, same tokens."""
    from rlhf_eval.models import load_model

    api, hf = _aligned(llama_server), load_model("embedded:smollm2-135m-instruct", quiet=True)
    ctx = BOS + "The capital of France is"
    reqs = [
        LoglikelihoodRequest(ctx, " Paris"),
        LoglikelihoodRequest(ctx, " Berlin"),
        LoglikelihoodRequest(ctx + " ", "Paris"),  # boundary inside a token: the space moves over
        LoglikelihoodRequest(BOS + "user\nWater freezes at zero degrees", " Celsius, which is cold."),
    ]
    got, ref = api.loglikelihood(reqs), hf.loglikelihood(reqs)
    assert got[0].logprob > got[1].logprob + 3 and got[0].is_greedy and not got[1].is_greedy
    assert got[2].logprob == pytest.approx(got[0].logprob, abs=1e-4) and got[3].n_tokens >= 5
    for g, r in zip(got, ref, strict=True):
        assert g.n_tokens == r.n_tokens
        # llama.cpp multiplies Q4_1 weights with 8-bit-quantised activations; transformers in fp32
        assert g.logprob == pytest.approx(r.logprob, abs=0.1 + 0.1 * g.n_tokens)
    assert [g.is_greedy for g in got[:2]] == [r.is_greedy for r in ref[:2]]


def test_faults_through_a_proxy_give_identical_results(llama_server: str, tmp_path: Path) -> None:
    suite = write_suite(tmp_path / "suite", n_gen=6, n_mc=0, gen_tokens=12)
    cfg = {"suites": [str(suite)], "quiet": True, "batch_size": 1}
    lls = [
        LoglikelihoodRequest(BOS + f"Q{i}: the capital of France is", c)
        for i in range(2)
        for c in (" Paris", " Rome")
    ]
    with FaultProxy(upstream=llama_server) as direct:
        run_evaluation(
            RunConfig(out=tmp_path / "a", cache_dir=tmp_path / "ca", **cfg),  # type: ignore[arg-type]
            model=OpenAIModel(direct.url, SERVED_NAME, policy=FAST),
        )
        ll_clean = _aligned(direct.url).loglikelihood(lls)
    # run (generate only, so no log-likelihood probe): 1 GET /models, 2-12 six chats (5 faults);
    # then a new model: 13 GET /models, 14-20 four echo completions (3 faults).
    # The timeout covers the slowest request on a loaded 2-core machine; the stall outlasts it.
    faults = {2: "500", 3: "429", 5: "stall", 6: "truncate", 7: "drop", 14: "bad_json", 16: "drop", 18: "500"}
    with FaultProxy(upstream=llama_server, faults=faults, stall_s=12.0) as proxy:
        run_evaluation(
            RunConfig(out=tmp_path / "b", cache_dir=tmp_path / "cb", **cfg),  # type: ignore[arg-type]
            model=OpenAIModel(proxy.url, SERVED_NAME, policy=FAST, timeout=10.0, concurrency=3),
        )
        assert len(proxy.log) == 12
        got = _aligned(proxy.url).loglikelihood(lls)
        assert len(proxy.log) == 20
    a, b = _samples(tmp_path / "a"), _samples(tmp_path / "b")
    assert [s["item_id"] for s in b] == [f"g{i}" for i in range(6)] and a == b
    assert [r.logprob for r in got] == pytest.approx([r.logprob for r in ll_clean], abs=1e-4)
    assert [(r.is_greedy, r.n_tokens) for r in got] == [(r.is_greedy, r.n_tokens) for r in ll_clean]
    assert sorted(n for n, *_ in proxy.log if n in faults) == sorted(faults)
    # nothing lost, nothing extra: without the faulted attempts, the same bodies as the clean run
    clean_bodies = sorted(json.dumps(x, sort_keys=True) for x in direct.bodies if x)
    seen = [
        json.dumps(x, sort_keys=True)
        for x, (n, *_) in zip(proxy.bodies, proxy.log, strict=True)
        if x and n not in faults
    ]
    assert sorted(seen) == clean_bodies


def test_cli_with_api_key_resumes_and_never_writes_the_key(
    llama_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = "sk-llama-NEVER-WRITE-ME-9876"
    monkeypatch.setenv("OA_TEST_KEY", secret)
    suite = write_suite(tmp_path / "suite", n_gen=3, n_mc=0)
    with FaultProxy(upstream=llama_server, faults={4: "500"}) as p:
        args = ["run", "--model", f"openai:{p.url}#{SERVED_NAME}", "--suite", str(suite), "--api-key-env", "OA_TEST_KEY",
                "--out", str(tmp_path / "o"), "--cache-dir", str(tmp_path / "c"), "--max-retries", "2"]  # fmt: skip
        assert main(args) == 0
        assert main(args) == 0  # identical re-run: all cached
        assert p.auth_seen == {f"Bearer {secret}"} and len(p.posts("/chat/completions")) == 4
    cap = capsys.readouterr()
    assert secret not in cap.out + cap.err
    for f in tmp_path.rglob("*"):
        if f.is_file():
            assert secret.encode() not in f.read_bytes(), f
    run = json.loads((tmp_path / "o" / "run.json").read_text())
    assert run["cache"] == {"hits": 3, "misses": 0} and run["model"]["details"]["api_key"].startswith("sent")


def test_bos_model_runs_a_multiple_choice_suite_end_to_end(gemma_server: str, tmp_path: Path) -> None:
    suite = write_suite(tmp_path / "suite", n_gen=0, n_mc=1)  # "The capital of France is": Paris/Berlin/Rome
    rc = main(["run", "--model", f"openai:{gemma_server}", "--suite", str(suite), "--quiet", "--no-chat-template",
               "--out", str(tmp_path / "o"), "--cache-dir", str(tmp_path / "c")])  # fmt: skip
    assert rc == 0
    (s,) = _samples(tmp_path / "o")
    assert s["prompt"] == "The capital of France is" and s["pred"] == 0 == s["gold"]
    lps = s["choice_logprobs"]
    assert lps[0] > max(lps[1:]) + 1 and all(x < 0 for x in lps)
    run = json.loads((tmp_path / "o" / "run.json").read_text())
    assert run["model"]["details"]["loglikelihood"] == "/v1/completions echo+logprobs"
