"""The openai backend against a fake OpenAI-compatible server: requests, retries, errors, secrets.

Fast (no model); the same scenarios against a real llama.cpp server are in
test_openai_llama.py.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from openai_helpers import FakeServer, FaultProxy, fake_token_logprob, write_suite

from rlhf_eval.cli import main
from rlhf_eval.errors import BackendError, UserError
from rlhf_eval.models import GenerateRequest, LoglikelihoodRequest
from rlhf_eval.models._openai import OpenAIBackendError, OpenAIModel
from rlhf_eval.models._openai_http import RetryPolicy
from rlhf_eval.runner import RunConfig, run_evaluation

FAST = RetryPolicy(base_delay=0.02, max_delay=0.1)


def _model(url: str, **kw: object) -> OpenAIModel:
    kw.setdefault("policy", FAST)
    return OpenAIModel(url, "fake-model", **kw)  # type: ignore[arg-type]


def _samples(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]


def test_generate_sends_messages_greedy_and_keeps_order(fake_server: FaultProxy) -> None:
    m = _model(fake_server.url, concurrency=4)
    msgs = [
        ({"role": "system", "content": "Be safe."}, {"role": "user", "content": f"hi {i}"}) for i in range(9)
    ]
    reqs = [GenerateRequest(prompt=m.render(ms), messages=ms, max_new_tokens=12, seed=3) for ms in msgs]
    seen: list[int] = []
    out = m.generate(reqs, progress=seen.append)
    assert out == [f"reply to: hi {i}" for i in range(9)] and sum(seen) == 9
    bodies = fake_server.posts("/chat/completions")
    assert len(bodies) == 9
    assert all(b["temperature"] == 0.0 and b["max_tokens"] == 12 and b["seed"] == 3 for b in bodies)
    assert bodies[0]["messages"][0] == {"role": "system", "content": "Be safe."}
    assert m.info.details["server_model"]["max_model_len"] == 4096


def test_stop_strings_and_raw_prompts_use_completions(fake_server: FaultProxy) -> None:
    m = _model(fake_server.url)
    msgs = ({"role": "user", "content": "one two"},)
    chat = GenerateRequest(prompt=m.render(msgs), messages=msgs, stop=(" two",))
    raw = GenerateRequest(prompt=m.render(msgs, chat=False), messages=msgs)
    assert m.render(msgs) == "User: one two\n\nAssistant:" and m.render(msgs, chat=False) == "one two"
    assert m.generate([chat, raw]) == ["reply to: one", " continued 7"]
    # "/completions" also matches the concurrent chat request, which may arrive last
    assert [b["prompt"] for b in fake_server.posts("/completions") if "prompt" in b][-1] == "one two"


def test_loglikelihood_from_echoed_prompt_logprobs(fake_server: FaultProxy) -> None:
    m = _model(fake_server.url)
    assert m.supports_loglikelihood is True
    reqs = [LoglikelihoodRequest("Assistant:", " aa bb"), LoglikelihoodRequest("Assistant:", " b")]
    res = m.loglikelihood(reqs)
    assert res[0].logprob == pytest.approx(fake_token_logprob(" aa") + fake_token_logprob(" bb"))
    assert res[0].n_tokens == 2 and res[0].is_greedy and res[1].n_tokens == 1
    # the two requests run concurrently, so they may arrive in either order
    bodies = fake_server.posts("/completions")[-2:]
    assert sorted(b["prompt"] for b in bodies) == ["Assistant: aa bb", "Assistant: b"]
    assert all(b["echo"] is True and b["logprobs"] == 1 for b in bodies)


def test_fingerprint_is_stable_and_ignores_created_and_key(fake_server: FaultProxy) -> None:
    a = _model(fake_server.url).info
    time.sleep(1.1)  # the fake stamps `created` with the time, as vLLM does
    b = _model(fake_server.url, api_key="sk-one").info
    assert a.fingerprint == b.fingerprint and a.fingerprint.startswith("sha256:")
    with FaultProxy(
        handler=FakeServer(models=[{"id": "fake-model", "owned_by": "other", "max_model_len": 8}])
    ) as p:
        c = OpenAIModel(p.url, "fake-model", policy=FAST).info
    assert c.fingerprint != a.fingerprint
    assert "sk-one" not in json.dumps(b.details)


def test_model_resolution_from_the_models_list() -> None:
    with FaultProxy(handler=FakeServer()) as p:
        assert OpenAIModel.from_spec(f"openai:{p.url}").model == "fake-model"
        with pytest.raises(UserError, match=r"does not serve 'other'.*'fake-model'"):
            OpenAIModel.from_spec(f"openai:{p.url}#other")
    two = [{"id": "a"}, {"id": "b"}]
    with FaultProxy(handler=FakeServer(models=two)) as p, pytest.raises(UserError, match="lists 2 models"):
        OpenAIModel.from_spec(f"openai:{p.url}")


def test_every_fault_kind_is_retried_to_identical_results(tmp_path: Path) -> None:
    items = write_suite(tmp_path / "suite")
    cfg = {"suites": [str(items)], "quiet": True, "batch_size": 2, "max_new_tokens": 8}
    with FaultProxy(handler=FakeServer()) as direct:
        clean = run_evaluation(
            RunConfig(out=tmp_path / "a", cache_dir=tmp_path / "ca", **cfg),
            model=_model(direct.url),  # type: ignore[arg-type]
        )
    faults = {3: "429", 4: "500", 6: "stall", 8: "truncate", 9: "bad_json", 11: "drop", 13: "500", 20: "drop"}
    with FaultProxy(handler=FakeServer(), faults=faults, stall_s=1.5) as proxy:
        t0 = time.perf_counter()
        faulty = run_evaluation(
            RunConfig(out=tmp_path / "b", cache_dir=tmp_path / "cb", **cfg),  # type: ignore[arg-type]
            model=_model(proxy.url, timeout=0.5, concurrency=3),
        )
        elapsed = time.perf_counter() - t0
    assert _samples(tmp_path / "a") == _samples(tmp_path / "b")
    assert clean.scores == faulty.scores
    # every fault was hit and retried: requests = clean requests + one per fault
    assert sorted(n for n, *_ in proxy.log if n in faults) == sorted(faults)
    assert len(proxy.log) == len(direct.log) + len(faults)
    # Retry-After: 1 was honoured, but nothing waited for the full stall
    assert 1.0 <= elapsed < 10


def test_budget_exhausted_exits_4_and_keeps_completed_chunks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    items = write_suite(tmp_path / "suite", n_gen=24, n_mc=0)
    state = {"n_chat": 0, "broken": True}

    def fail_late(req: object) -> str | None:
        if state["broken"] and getattr(req, "path", "").endswith("/chat/completions"):
            state["n_chat"] += 1
            return "500" if state["n_chat"] > 16 else None
        return None

    args = ["run", "--suite", str(items), "--batch-size", "1", "--max-retries", "1", "--quiet", "--concurrency", "4",
            "--out", str(tmp_path / "o"), "--cache-dir", str(tmp_path / "c")]  # fmt: skip
    with FaultProxy(handler=FakeServer(), faults=fail_late) as p:
        args += ["--model", f"openai:{p.url}#fake-model"]
        rc = main(args)
        err = capsys.readouterr().err.strip()
        assert rc == 4 and not (tmp_path / "o").exists()
        assert len(err.splitlines()) == 1, err
        assert "POST /v1/chat/completions failed after 2 attempts: HTTP 500: internal error" in err
        assert "of 8 requests failed" in err  # the second chunk: 24 requests in chunks of 16
        state["broken"] = False
        n_before = len(p.posts("/chat/completions"))
        rc = main(args)
        assert len(p.posts("/chat/completions")) - n_before == 8  # only the chunk that failed
    run = json.loads((tmp_path / "o" / "run.json").read_text())
    assert rc == 0 and run["cache"] == {"hits": 16, "misses": 8}


def test_failure_skips_unsent_requests_and_carries_partial_results() -> None:
    def fault(req: object) -> str | None:
        body = getattr(req, "body", b"")
        return "500" if b"hi 2" in body else None

    with FaultProxy(handler=FakeServer(), faults=fault) as p:
        m = OpenAIModel(p.url, "fake-model", policy=FAST, max_retries=2, concurrency=1)
        msgs = [({"role": "user", "content": f"hi {i}"},) for i in range(5)]
        reqs = [GenerateRequest(prompt=m.render(ms), messages=ms) for ms in msgs]
        with pytest.raises(OpenAIBackendError) as info:
            m.generate(reqs)
    e = info.value
    assert isinstance(e, BackendError) and e.exit_code == 4
    assert "1 of 5 requests failed, 2 completed, 2 not sent" in str(e) and "after 3 attempts" in str(e)
    assert e.partial == ["reply to: hi 0", "reply to: hi 1", None, None, None]


def test_final_4xx_is_not_retried() -> None:
    with FaultProxy(handler=FakeServer(), faults=lambda r: "echo_auth" if r.method == "POST" else None) as p:
        m = OpenAIModel(p.url, "fake-model", policy=FAST, api_key="sk-leaky-777")
        with pytest.raises(BackendError) as info:
            msgs = ({"role": "user", "content": "x"},)
            m.generate([GenerateRequest(prompt=m.render(msgs), messages=msgs)])
        assert len(p.posts("/chat/completions")) == 1
    assert (
        "HTTP 400" in str(info.value)
        and "sk-leaky-777" not in str(info.value)
        and "Bearer ***" in str(info.value)
    )


def test_server_down_is_a_backend_error(tmp_path: Path) -> None:
    from openai_helpers import free_port

    with pytest.raises(BackendError, match="connection error"):
        OpenAIModel(f"http://127.0.0.1:{free_port()}/v1", "m", policy=FAST, max_retries=1)


def test_no_echo_support_fails_mc_at_start_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    items = write_suite(tmp_path / "suite", n_gen=2, n_mc=2)
    with FaultProxy(handler=FakeServer(echo=False)) as p:
        m = OpenAIModel(p.url, "fake-model", policy=FAST)
        assert m.supports_loglikelihood is False
        assert "echo=true" in (m.loglikelihood_unsupported or "") and "echo is not supported" in (
            m.loglikelihood_unsupported or ""
        )
        with pytest.raises(
            UserError,
            match="need prompt log-probs from the server, but POST /v1/completions with echo=true, logprobs=1 gave HTTP 400: echo is not supported",
        ):
            m.loglikelihood([LoglikelihoodRequest("a", " b")])
        rc = main(["run", "--model", f"openai:{p.url}#fake-model", "--suite", str(items), "--quiet",
                   "--out", str(tmp_path / "o"), "--cache-dir", str(tmp_path / "c")])  # fmt: skip
        assert not p.posts("/chat/completions")  # failed before generating anything
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and "multiple-choice" in err and "oa" in err


def test_stripped_logprobs_count_as_unsupported() -> None:
    with FaultProxy(handler=FakeServer(), faults=lambda r: "strip_logprobs") as p:
        m = OpenAIModel(p.url, "fake-model", policy=FAST)
        assert m.supports_loglikelihood is False
        assert "no 'logprobs'" in (m.loglikelihood_unsupported or "")
        assert len(p.posts("/completions")) == 1  # probed once, not retried


def test_api_key_is_sent_but_never_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = "sk-test-DO-NOT-LEAK-4242"
    monkeypatch.setenv("RLHF_TEST_KEY", secret)
    items = write_suite(tmp_path / "suite", n_gen=2, n_mc=1)
    with FaultProxy(handler=FakeServer(), faults={4: "500"}) as p:
        rc = main(["run", "--model", f"openai:{p.url}#fake-model", "--suite", str(items), "--api-key-env", "RLHF_TEST_KEY",
                   "--out", str(tmp_path / "o"), "--cache-dir", str(tmp_path / "c"), "--max-retries", "2"])  # fmt: skip
        assert p.auth_seen == {f"Bearer {secret}"}
    cap = capsys.readouterr()
    assert rc == 0
    assert secret not in cap.out + cap.err
    for f in tmp_path.rglob("*"):
        if f.is_file():
            assert secret.encode() not in f.read_bytes(), f
    run = json.loads((tmp_path / "o" / "run.json").read_text())
    assert run["model"]["backend"] == "openai" and "RLHF_TEST_KEY" not in json.dumps(run["model"])
