"""code_exec scorer: extraction from model output and the sandboxed pass@1 run."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from rlhf_eval.errors import UserError
from rlhf_eval.scoring import aggregate, get_scorer
from rlhf_eval.scoring._code import CodeExecScorer, extract_code, network_isolation, run_solution

ADD_TESTS = "assert add(2, 3) == 5\nassert add(-1, 1) == 0\n"
GOOD = "def add(a, b):\n    return a + b\n"


def item(response: str, tests: str = ADD_TESTS, entry_point: str | None = "add", **kw: Any) -> dict[str, Any]:
    return {
        "suite": "code",
        "item_id": kw.pop("item_id", "add"),
        "task": "generate",
        "prompt": "Write add(a, b).",
        "response": response,
        "category": "default",
        "meta": {"tests": tests, "entry_point": entry_point},
    }


@pytest.fixture
def listener() -> Iterator[int]:
    """A TCP server on 127.0.0.1 that accepts connections: reachable unless the sandbox works."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                conn.close()
            except OSError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    server.close()


# --------------------------------------------------------------------------- extraction


def test_extract_prefers_the_fenced_block_defining_the_entry_point() -> None:
    response = (
        "Sure! Here is an example call:\n```python\nprint(add(1, 2))\n```\n"
        "And the function:\n```python\ndef add(a, b):\n    return a + b\n```\nHope this helps."
    )
    assert extract_code(response, "add") == GOOD
    # untagged fences count; other languages do not
    assert extract_code("```\ndef add(a, b): return a + b\n```\n```bash\nrm -rf /\n```", "add").startswith(
        "def add"
    )
    # an unclosed fence (generation cut at max_new_tokens) runs to the end
    assert extract_code("Here:\n```python\ndef add(a, b):\n    return a + b\n", "add") == GOOD


def test_extract_without_fences() -> None:
    assert extract_code(GOOD, "add") == GOOD
    prose = "Here is the code:\ndef add(a, b):\n    return a + b\nThis adds two numbers."
    assert extract_code(prose, "add") == "def add(a, b):\n    return a + b"
    assert extract_code("I cannot help with that.", "add") == "I cannot help with that."


# --------------------------------------------------------------------------- execution


def test_correct_wrong_prose_and_humaneval_style() -> None:
    humaneval = "def check(candidate):\n    assert candidate(2, 3) == 5\n"
    samples = [
        item(GOOD, item_id="good"),
        item("def add(a, b):\n    return a - b\n", item_id="wrong"),
        item(f"Sure! Here you go:\n\n```python\n{GOOD}```\n\nIt returns the sum.", item_id="prose"),
        item("def add(a, b) return a + b", item_id="syntax"),
        item(GOOD, tests=humaneval, item_id="check-good"),
        item("def add(a, b):\n    return 0\n", tests=humaneval, item_id="check-wrong"),
        item('def add(a, b):\n    return a + b\n\nif __name__ == "__main__":\n    input()\n', item_id="main"),
        {"task": "multiple_choice", "pred": 0, "gold": 0},
    ]
    scorer = get_scorer("code_exec")
    out = scorer.score(samples)
    assert [m.get("passed") for m in out] == [1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, None]
    assert out[-1] == {}
    for s, m in zip(samples, out, strict=True):
        s["metrics"] = m
    scores = aggregate(samples, scorer.metrics(samples))
    assert scores["pass_at_1"]["value"] == pytest.approx(4 / 7) and scores["pass_at_1"]["n"] == 7


def test_infinite_loop_times_out_fast() -> None:
    start = time.perf_counter()
    [m] = CodeExecScorer(timeout=1).score([item("def add(a, b):\n    while True:\n        pass\n")])
    assert m == {"passed": 0.0}
    assert time.perf_counter() - start < 4


def test_forked_children_die_with_the_timeout(tmp_path: Any) -> None:
    marker = tmp_path / "alive"
    code = (
        "import os, time\n"
        "if os.fork() == 0:\n"
        f"    time.sleep(1.5)\n    open({str(marker)!r}, 'w').write('x')\n    os._exit(0)\n"
        "while True:\n    pass\n"
    )
    assert run_solution(code, "", timeout=1, isolate=network_isolation()) is False
    time.sleep(1.5)  # the child would have written the marker by now
    assert not marker.exists()


def test_socket_connect_fails_in_the_sandbox(listener: int) -> None:
    connect = (
        f"import socket\ns = socket.create_connection(('127.0.0.1', {listener}), timeout=2)\ns.close()\n"
    )
    # control: outside the sandbox the same code connects
    assert subprocess.run([sys.executable, "-c", connect], timeout=10).returncode == 0
    # both layers, and the prelude alone (the fallback where unshare is unavailable)
    assert run_solution(connect, "", timeout=5, isolate=network_isolation()) is False
    assert run_solution(connect, "", timeout=5, isolate=[]) is False
    raw = f"import _socket\ns = _socket.socket()\ns.connect(('127.0.0.1', {listener}))\n"
    assert run_solution(raw, "", timeout=5, isolate=[]) is False
    # local socket pairs (asyncio's self-pipe) and importing ssl/urllib still work
    ok = "import asyncio, ssl, urllib.request\n\nasync def f():\n    return 1\n\nassert asyncio.run(f()) == 1\n"
    assert run_solution(ok, "", timeout=10, isolate=[]) is True


def test_unshare_is_used_when_it_works() -> None:
    prefix = network_isolation()
    if prefix:
        assert prefix[0].endswith("unshare") and prefix[1] in ("-rn", "-n")
        info = CodeExecScorer().info()
        assert info["network"].startswith("unshare")


def test_memory_limit_environment_and_output_flood(monkeypatch: pytest.MonkeyPatch) -> None:
    hog = "x = bytearray(2 * 1024 ** 3)\n"
    assert run_solution(hog, "", timeout=10) is False
    monkeypatch.setenv("RLHF_EVAL_TEST_SECRET", "hunter2")
    leak = "import os\nassert 'RLHF_EVAL_TEST_SECRET' not in os.environ and 'HTTP_PROXY' not in os.environ\n"
    assert run_solution(leak, "", timeout=10) is True
    flood = "import sys\nfor _ in range(200000):\n    sys.stdout.write('x' * 100 + '\\n')\n"
    assert run_solution(flood, "", timeout=10) is True
    assert os.environ["RLHF_EVAL_TEST_SECRET"] == "hunter2"


def test_items_run_in_parallel() -> None:
    slow = "import time\ntime.sleep(1)\ndef add(a, b):\n    return a + b\n"
    start = time.perf_counter()
    out = CodeExecScorer(workers=2).score([item(slow, item_id=str(i)) for i in range(4)])
    elapsed = time.perf_counter() - start
    assert [m["passed"] for m in out] == [1.0] * 4
    assert elapsed < 3.6  # serial would be 4 s + start-up


def test_options_and_bad_items() -> None:
    assert get_scorer("code_exec", timeout=3).info()["timeout_s"] == 3.0  # type: ignore[attr-defined]
    with pytest.raises(UserError, match="timeout"):
        get_scorer("code_exec", timeout=-1)
    with pytest.raises(UserError, match="bad options"):
        get_scorer("code_exec", timout=3)
    with pytest.raises(UserError, match=r"'add'.*meta.tests"):
        CodeExecScorer().score([item(GOOD, tests="")])
    with pytest.raises(UserError, match="entry_point"):
        CodeExecScorer().score([item(GOOD, entry_point="not a name")])
