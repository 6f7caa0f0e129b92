"""Code-generation pass@1: run the model's function against the item's asserts in a sandbox.

Model output is untrusted code, so each item runs in a fresh temp directory, in a child
``python -I`` (isolated: no user site, no PYTHON* variables) with a scrubbed environment,
its own process group (killed whole on timeout), no network and resource limits:

* network: where ``unshare -rn`` works (a user + network namespace with no interfaces, as
  root or with unprivileged user namespaces) the child runs inside it; otherwise, and in
  addition, a prelude makes ``_socket.socket`` (which ``socket.socket`` initialises
  through) refuse new AF_INET/AF_INET6 sockets, keeping it a class so ``ssl``/``asyncio``
  still import and local socket pairs still work, and makes name lookups raise
  ``OSError`` (best effort: ``ctypes`` could still get round it).
* limits: address space 1 GiB, CPU time ``timeout + 1`` s, files written 16 MiB, no core
  dumps. They are set by the prelude inside the child before any model code runs, not in a
  ``preexec_fn`` (which is unsafe with the worker threads used here).

The item's ``meta.tests`` run in the solution module's namespace; HumanEval-style tests that
only define ``check(candidate)`` are called with ``meta.entry_point``. ``passed`` = 1 when
the child exits 0 within the timeout.

Completion-style items (the HumanEval and MBPP adapters) carry ``meta.code_prompt``: the
response continues that code, and the program is ``code_prompt + response`` as
lm-evaluation-harness builds it (``""`` for MBPP, whose completion is the whole program),
after cutting the response at the first of ``meta.stop`` (lm-eval's ``until``; a no-op when
the backend already stopped there). A response holding a fenced code block (a chat model's,
e.g. recorded elsewhere without those stops) uses the block instead, uncut; a block that
redefines ``entry_point`` runs after the prompt given a ``pass`` body, so the prompt's imports
and helper functions stay defined.

With several responses per item (``samples[i]["responses"]``, from ``--n-samples N``) the
scorer reports pass@k for each ``k`` every item has at least ``k`` samples for, with the
unbiased estimator of Chen et al. (2021), ``1 - C(n-c, k) / C(n, k)``, computed as the
Codex paper's numpy version does; per item ``pass_at_<k>``, ``n_passed``, ``n_samples``.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from rlhf_eval.errors import UserError
from rlhf_eval.scoring._base import ItemMetrics, MetricDef, Sample, register

MEMORY_BYTES = 1 << 30
FILE_BYTES = 16 << 20

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)(?:```|\Z)", re.S)
_CODE_START = re.compile(r"^(?:def |async def |class |import |from |@)")

_PRELUDE = """\
import resource, sys
for _lim, _val in ((resource.RLIMIT_AS, {memory}), (resource.RLIMIT_CPU, {cpu}),
                   (resource.RLIMIT_FSIZE, {fsize}), (resource.RLIMIT_CORE, 0)):
    try:
        resource.setrlimit(_lim, (_val, _val))
    except (ValueError, OSError):
        pass

import _socket, socket as _sock
_RAW_SOCKET = _socket.socket
_INET = (_socket.AF_INET, _socket.AF_INET6, -1)

def _no_network(*args, **kwargs):
    raise OSError("network access is disabled in the rlhf-eval code sandbox")

class _GuardedSocket(_RAW_SOCKET):
    # socket.socket.__init__ calls _socket.socket.__init__, so this one guard covers both
    __slots__ = ()

    def __init__(self, family=-1, type=-1, proto=-1, fileno=None):
        if fileno is None and family in _INET:
            _no_network()
        _RAW_SOCKET.__init__(self, family, type, proto, fileno)

_socket.socket = _GuardedSocket
for _mod in (_sock, _socket):
    for _name in ("getaddrinfo", "gethostbyname", "gethostbyname_ex", "gethostbyaddr"):
        setattr(_mod, _name, _no_network)
del _mod, _name, _lim, _val

sys.path.insert(0, ".")
import solution as _solution
_ns = dict(vars(_solution))
_ns["__name__"] = "__main__"
with open("tests.py", encoding="utf-8") as _fh:
    _tests = _fh.read()
exec(compile(_tests, "tests.py", "exec"), _ns)
"""


def _defines(code: str, name: str) -> bool:
    """Whether ``code`` contains ``def name(`` (regex: the code may not parse)."""
    return re.search(rf"^\s*(?:async\s+)?def\s+{re.escape(name)}\s*\(", code, re.M) is not None


def _compiles(code: str) -> bool:
    try:
        compile(code, "<solution>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return False
    return True


def extract_code(response: str, entry_point: str | None = None) -> str:
    """The Python code in a model response.

    Fenced blocks first (```python/```py/untagged; an unclosed fence runs to the end, as in
    a truncated generation): the first block defining ``entry_point``, else all Python
    blocks joined. Without fences: the whole response if it compiles, else the lines from
    the first ``def``/``import``/``class`` line, dropping trailing prose until it compiles.
    """
    blocks = [
        (lang.lower(), body)
        for lang, body in _FENCE.findall(response)
        if lang.lower() in ("", "python", "py", "python3")
    ]
    if blocks:
        if entry_point:
            for _, body in blocks:
                if _defines(body, entry_point):
                    return body
        tagged = [body for lang, body in blocks if lang]
        return "\n\n".join(tagged or [body for _, body in blocks])
    if _compiles(response):
        return response
    lines = response.splitlines()
    start = next((i for i, line in enumerate(lines) if _CODE_START.match(line)), None)
    if start is None:
        return response
    for end in range(len(lines), start, -1):
        candidate = "\n".join(lines[start:end])
        if _compiles(candidate):
            return candidate
    return response


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from ``n`` samples of which ``c`` passed: ``1 - C(n-c, k) / C(n, k)``.

    Computed as a product (the Codex paper's numpy version), which stays exact where the
    binomial coefficients would overflow.
    """
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"pass@k needs 0 <= c <= n and 1 <= k <= n, got n={n}, c={c}, k={k}")
    if n - c < k:
        return 1.0
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def cut_at_stop(text: str, stop: Sequence[str]) -> str:
    """``text`` up to the first occurrence of any stop sequence (lm-eval's ``until``)."""
    cut = len(text)
    for s in stop:
        pos = text.find(s) if s else -1
        if pos != -1:
            cut = min(cut, pos)
    return text[:cut]


def _stub(code_prompt: str) -> str:
    """``code_prompt`` with a ``pass`` body, so a full solution after it can redefine the function."""
    lines = [line for line in code_prompt.splitlines() if line.strip()]
    if not lines:
        return ""
    indent = re.match(r"\s*", lines[-1]).group(0)  # type: ignore[union-attr]
    return code_prompt.rstrip("\n") + "\n" + (indent or "    ") + "pass\n"


def build_program(response: str, meta: Mapping[str, Any]) -> str:
    """The solution source for one response to an item (see the module docstring)."""
    entry = meta.get("entry_point")
    code_prompt = meta.get("code_prompt")
    if "```" not in response:
        response = cut_at_stop(response, meta.get("stop") or [])
        return extract_code(response, entry) if code_prompt is None else code_prompt + response
    # a fenced answer (a chat model's, where the backend did not stop it at "\ndef")
    body = extract_code(response, entry)
    if code_prompt is None:
        return body
    if entry and _defines(body, entry):
        return _stub(code_prompt) + "\n" + body
    return code_prompt + body


def _with_check_call(tests: str, entry_point: str | None) -> str:
    """Append ``check(entry_point)`` to HumanEval-style tests that define but never call ``check``."""
    if not entry_point or not entry_point.isidentifier():
        return tests
    try:
        tree = ast.parse(tests)
    except SyntaxError:
        return tests
    defines = any(isinstance(n, ast.FunctionDef) and n.name == "check" for n in tree.body)
    calls = any(
        isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "check"
        for n in ast.walk(tree)
    )
    return tests + f"\n\ncheck({entry_point})\n" if defines and not calls else tests


@functools.lru_cache(maxsize=1)
def network_isolation() -> list[str]:
    """Command prefix that runs a child without network (``unshare -rn``), or ``[]`` if unavailable."""
    exe = shutil.which("unshare")
    if exe is None:
        return []
    probe = (
        "import socket\ns = socket.socket()\ns.settimeout(1)\n"
        "raise SystemExit(0 if s.connect_ex(('192.0.2.1', 9)) != 0 else 1)"
    )
    for prefix in ([exe, "-rn"], [exe, "-n"]):
        try:
            rc = subprocess.run(
                [*prefix, sys.executable, "-I", "-c", probe],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=10,
            ).returncode
        except (OSError, subprocess.SubprocessError):
            continue
        if rc == 0:
            return prefix
    return []


def _scrubbed_env(home: str) -> dict[str, str]:
    """A minimal environment: no proxies, tokens or keys from the parent reach model code."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": home,
        "TMPDIR": home,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def run_solution(code: str, tests: str, timeout: float, isolate: Sequence[str] = ()) -> bool:
    """Whether ``code`` then ``tests`` exit 0 within ``timeout`` seconds in the sandbox."""
    with tempfile.TemporaryDirectory(prefix="rlhf-eval-code-") as tmp:
        folder = Path(tmp)
        (folder / "solution.py").write_text(code, encoding="utf-8")
        (folder / "tests.py").write_text(tests, encoding="utf-8")
        prelude = _PRELUDE.format(memory=MEMORY_BYTES, cpu=int(timeout) + 1, fsize=FILE_BYTES)
        (folder / "main.py").write_text(prelude, encoding="utf-8")
        proc = subprocess.Popen(
            [*isolate, sys.executable, "-I", "-B", "main.py"],
            cwd=folder,
            env=_scrubbed_env(tmp),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            rc = None
        finally:
            # the whole group: also kills anything the solution forked
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        return rc == 0


class CodeExecScorer:
    """``passed`` (1/0) per generate item with ``meta.tests``; suite metric ``pass_at_1`` (pass@k with n > 1)."""

    name = "code_exec"

    def __init__(self, timeout: float = 10.0, workers: int = 2, k: Sequence[int] = (1, 10, 100)) -> None:
        if not isinstance(timeout, (int, float)) or timeout <= 0:
            raise UserError(
                f"scorer 'code_exec': timeout must be a positive number of seconds, got {timeout!r}"
            )
        if not isinstance(workers, int) or workers < 1:
            raise UserError(f"scorer 'code_exec': workers must be a positive integer, got {workers!r}")
        ks = [k] if isinstance(k, int) else list(k) if isinstance(k, (list, tuple)) else None
        if not ks or any(isinstance(x, bool) or not isinstance(x, int) or x < 1 for x in ks):
            raise UserError(f"scorer 'code_exec': k must be a positive integer or a list of them, got {k!r}")
        self.timeout = float(timeout)
        self.workers = workers
        self.ks = sorted(set(ks))

    def _ks(self, samples: Sequence[Sample]) -> list[int] | None:
        """The k values reported when some item has several responses (``None``: plain pass@1)."""
        counts = [len(_responses(s)) for s in samples if s.get("task") == "generate"]
        if not counts or max(counts) <= 1:
            return None
        return [k for k in self.ks if k <= min(counts)]  # as human-eval: only k every item supports

    def metrics(self, samples: Sequence[Sample]) -> list[MetricDef]:
        ks = self._ks(samples)
        if ks is None:
            return [MetricDef("pass_at_1", "passed", "proportion", True)]
        return [MetricDef(f"pass_at_{k}", f"pass_at_{k}", "mean", True) for k in ks]

    def _job(self, s: Sample) -> tuple[list[str], str] | None:
        """(programs, tests) for an applicable sample, ``None`` otherwise; bad tests are a UserError."""
        if s.get("task") != "generate":
            return None
        meta = s.get("meta") or {}
        tests, entry = meta.get("tests"), meta.get("entry_point")
        where = f"{s.get('suite', '?')} item {s.get('item_id', '?')!r}"
        if not isinstance(tests, str) or not tests.strip():
            raise UserError(f"{where}: meta.tests must be Python source with asserts")
        if entry is not None and not (isinstance(entry, str) and entry.isidentifier()):
            raise UserError(f"{where}: meta.entry_point must be a function name, got {entry!r}")
        if not isinstance(meta.get("code_prompt", ""), str):
            raise UserError(f"{where}: meta.code_prompt must be text")
        stop = meta.get("stop") or []
        if not isinstance(stop, list) or not all(isinstance(x, str) for x in stop):
            raise UserError(f"{where}: meta.stop must be a list of strings")
        programs = [build_program(r, meta) for r in _responses(s)]
        return programs, _with_check_call(tests, entry)

    def score(self, samples: Sequence[Sample]) -> list[ItemMetrics]:
        jobs = [self._job(s) for s in samples]
        todo = [(code, j[1]) for j in jobs if j is not None for code in j[0]]
        if not todo:
            return [{} for _ in samples]
        isolate = network_isolation()
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            results = iter(pool.map(lambda j: run_solution(j[0], j[1], self.timeout, isolate), todo))
        ks = self._ks(samples)
        out: list[ItemMetrics] = []
        for j in jobs:
            if j is None:
                out.append({})
                continue
            passed = [next(results) for _ in j[0]]
            if ks is None:
                out.append({"passed": float(passed[0])})
                continue
            n, c = len(passed), sum(passed)
            m: ItemMetrics = {f"pass_at_{k}": pass_at_k(n, c, k) for k in ks}
            out.append(m | {"n_passed": float(c), "n_samples": float(n)})
        return out

    def info(self) -> dict[str, Any]:
        return {
            "pass_at_k": self.ks,
            "timeout_s": self.timeout,
            "workers": self.workers,
            "network": "unshare -rn + socket prelude" if network_isolation() else "socket prelude",
            "limits": {
                "memory_bytes": MEMORY_BYTES,
                "file_bytes": FILE_BYTES,
                "cpu_s": int(self.timeout) + 1,
            },
        }


def _responses(s: Sample) -> list[str]:
    """Every response of a sample: ``responses`` (n samples per item) or the one ``response``."""
    many = s.get("responses")
    if isinstance(many, list) and many:
        return [str(r or "") for r in many]
    return [str(s.get("response") or "")]


@register("code_exec")
def _code_exec(timeout: float = 10.0, workers: int = 2, k: Sequence[int] = (1, 10, 100)) -> CodeExecScorer:
    return CodeExecScorer(timeout=timeout, workers=workers, k=k)
