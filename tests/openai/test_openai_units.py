"""openai backend pieces without a server: spec parsing, key lookup, echo scoring, Retry-After."""

from __future__ import annotations

import email.utils

import pytest

from rlhf_eval.errors import UserError
from rlhf_eval.models._openai import parse_spec, read_api_key, score_echo
from rlhf_eval.models._openai_http import (
    Malformed,
    MissingFeature,
    RetryPolicy,
    one_line,
    parse_retry_after,
)


def test_parse_spec_forms() -> None:
    assert parse_spec("openai:http://127.0.0.1:8000/v1#my-model") == ("http://127.0.0.1:8000/v1", "my-model")
    assert parse_spec("openai:http://127.0.0.1:8000/v1/#org/model#2") == (
        "http://127.0.0.1:8000/v1",
        "org/model#2",
    )
    assert parse_spec("openai:http://127.0.0.1:8000") == ("http://127.0.0.1:8000/v1", None)
    assert parse_spec("openai:https://host/api/openai/v1#m") == ("https://host/api/openai/v1", "m")


@pytest.mark.parametrize("bad", ["openai:127.0.0.1:8000#m", "openai:ftp://h/v1#m", "openai:#m"])
def test_parse_spec_rejects_non_http(bad: str) -> None:
    with pytest.raises(UserError, match="expected openai:http"):
        parse_spec(bad)


def test_credentials_in_url_are_refused_without_echoing_them() -> None:
    with pytest.raises(UserError) as info:
        parse_spec("openai:http://user:sk-secret-123@127.0.0.1:8000/v1#m")
    assert "sk-secret-123" not in str(info.value) and "--api-key-env" in str(info.value)


def test_read_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    assert read_api_key(None) is None
    monkeypatch.setenv("MY_KEY", " sk-abc ")
    assert read_api_key("MY_KEY") == "sk-abc"
    monkeypatch.delenv("MY_KEY")
    with pytest.raises(UserError, match="MY_KEY: the environment variable is not set"):
        read_api_key("MY_KEY")
    with pytest.raises(UserError, match="NAME of an environment variable"):
        read_api_key("sk-abc-looks-like-a-key")


def _echo(
    tokens: list[str], lps: list[float | None], text: str | None = None, top: list | None = None
) -> dict:
    offs, pos = [], 0
    for t in tokens:
        offs.append(pos)
        pos += len(t)
    lp = {"tokens": tokens, "text_offset": offs, "token_logprobs": lps, "top_logprobs": top}
    return {"choices": [{"text": "".join(tokens) if text is None else text, "logprobs": lp}]}


def test_score_echo_sums_continuation_tokens_and_ignores_generated() -> None:
    data = _echo(
        ["The", " capital", " is", " Par", "is", "."],
        [None, -1.0, -0.5, -2.0, -0.25, -9.0],
        top=[None, {" capital": -1.0}, {" is": -0.5}, {" Ber": -1.0}, {"is": -0.25}, {".": -9.0}],
    )
    # "." is the generated token (max_tokens=1): after context + continuation, so ignored
    data["choices"][0]["text"] = "The capital is Paris."
    r = score_echo("The capital is", " Paris", data)
    assert r.logprob == pytest.approx(-2.25) and r.n_tokens == 2 and r.is_greedy is False
    r2 = score_echo("The capital", " is", data)
    assert r2.logprob == pytest.approx(-0.5) and r2.n_tokens == 1 and r2.is_greedy is True


def test_score_echo_boundary_token_and_bos_prefix() -> None:
    # the context's trailing space is merged into " Paris": that token counts for the continuation
    data = _echo(["<s>", "Capital:", " Paris"], [None, -3.0, -1.5], text="<s>Capital: Paris")
    r = score_echo("Capital: ", "Paris", data)
    assert r.logprob == pytest.approx(-1.5) and r.n_tokens == 1


def test_score_echo_first_token_and_missing_features() -> None:
    data = _echo(["Paris", " is"], [None, -1.0])
    with pytest.raises(MissingFeature, match="first prompt token"):
        score_echo("", "Paris is", data)
    with pytest.raises(MissingFeature, match="no 'logprobs'"):
        score_echo("a", "b", {"choices": [{"text": "ab", "logprobs": None}]})
    with pytest.raises(MissingFeature, match="does not echo"):
        score_echo("Capital:", " Paris", _echo([" Paris"], [-1.0]))
    with pytest.raises(Malformed):
        score_echo("a", "b", {"choices": []})
    with pytest.raises(Malformed):
        score_echo(
            "a",
            "b",
            {
                "choices": [
                    {
                        "text": "ab",
                        "logprobs": {"tokens": ["a"], "text_offset": [0, 1], "token_logprobs": [None]},
                    }
                ]
            },
        )


def test_retry_after_forms_and_backoff_bounds() -> None:
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after(" 0.5 ") == 0.5
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    now = 1_700_000_000.0
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert parse_retry_after(date, now=now) == pytest.approx(30, abs=1)
    assert parse_retry_after(email.utils.formatdate(now - 30, usegmt=True), now=now) == 0.0
    import random

    p, rng = RetryPolicy(base_delay=0.5, max_delay=4.0), random.Random(0)
    for attempt, hi in [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (10, 4.0)]:
        waits = [p.backoff(attempt, rng) for _ in range(50)]
        assert all(hi / 2 <= w <= hi for w in waits) and len(set(waits)) > 1


def test_one_line_masks_the_key_and_truncates() -> None:
    assert one_line("bad key sk-123\nsee docs", secret="sk-123") == "bad key *** see docs"
    assert len(one_line("x" * 1000)) == 200


def test_offsets_counted_without_a_bos_string_the_text_starts_with() -> None:
    # llama-cpp-python strips a leading BOS token and counts offsets without its text
    tokens, lps = ["The", " capital", " is", " Paris", "."], [None, -1.0, -0.5, -0.25, -3.0]
    data = _echo(tokens, lps, text="<s>The capital is Paris.")
    r = score_echo("<s>The capital is", " Paris", data)
    assert r.logprob == pytest.approx(-0.25) and r.n_tokens == 1
    # and a server that lists a BOS token the echoed text lacks
    data = _echo(["<s>", *tokens], [None, *lps], text="The capital is Paris.")
    assert score_echo("The capital is", " Paris", data).logprob == pytest.approx(-0.25)
    bad = _echo(tokens, lps, text="The capital is Paris.")
    bad["choices"][0]["logprobs"]["text_offset"] = [0, 2, 9, 14, 20]
    with pytest.raises(MissingFeature, match="do not match"):
        score_echo("The capital is", " Paris", bad)


def test_echo_misalignment_is_detected_from_top_logprobs() -> None:
    from rlhf_eval.models._openai import echo_misaligned

    tokens = ["1", ",", " 2", ",", " 3", ",", " 4", ",", " 5"]
    aligned_top = [None] + [{t: -0.1} for t in tokens[1:]]  # the best entry is the token itself
    shifted_top = [None] + [{t: -0.1} for t in tokens[2:]] + [{".": -0.1}]  # ... the next token
    lps = [None] + [-0.1] * 8
    assert not echo_misaligned(_echo(tokens, lps, top=aligned_top))
    assert echo_misaligned(_echo(tokens, lps, top=shifted_top))
    assert not echo_misaligned(_echo(tokens, lps, top=None))  # nothing to judge by
