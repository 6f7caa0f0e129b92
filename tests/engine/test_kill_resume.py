"""A run killed with SIGKILL and started again ends with the same samples: none lost or duplicated."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest


def _suite(tmp_path: Path, n: int) -> Path:
    d = tmp_path / "suite"
    d.mkdir()
    (d / "suite.yaml").write_text(
        "name: resume\nversion: '1'\ntask: generate\ndata: {path: items.jsonl}\nmax_new_tokens: 16\n"
    )
    (d / "items.jsonl").write_text(
        "".join(
            json.dumps({"id": f"i{i:03d}", "prompt": f"Tell me fact number {i} about the number {i * 7}."})
            + "\n"
            for i in range(n)
        )
    )
    return d


def _cmd(model: Path, suite: Path, out: Path, cache: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "rlhf_eval",
        "run",
        "--model",
        f"hf:{model}",
        "--suite",
        str(suite),
        "--out",
        str(out),
        "--cache-dir",
        str(cache),
        "--batch-size",
        "1",
        "--quiet",
    ]


def _rows(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(str(db), timeout=1) as con:
            return int(con.execute("SELECT count(*) FROM results").fetchone()[0])
    except sqlite3.Error:
        return 0


@pytest.mark.slow
def test_sigkill_then_resume_matches_uninterrupted_run(tiny_model_dir: Path, tmp_path: Path) -> None:
    suite = _suite(tmp_path, 100)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    cache = tmp_path / "cache"
    proc = subprocess.Popen(_cmd(tiny_model_dir, suite, tmp_path / "killed", cache), env=env)
    deadline = time.time() + 120
    while _rows(cache / "results.sqlite") < 20 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    stored = _rows(cache / "results.sqlite")
    assert 0 < stored < 100, "the kill must land mid-run"
    assert not (tmp_path / "killed" / "run.json").exists()

    subprocess.run(_cmd(tiny_model_dir, suite, tmp_path / "killed", cache), env=env, check=True)
    run = json.loads((tmp_path / "killed" / "run.json").read_text())
    assert run["cache"]["hits"] >= stored and run["cache"]["hits"] + run["cache"]["misses"] == 100

    subprocess.run(_cmd(tiny_model_dir, suite, tmp_path / "clean", tmp_path / "cache2"), env=env, check=True)
    resumed = [json.loads(x) for x in (tmp_path / "killed" / "samples.jsonl").read_text().splitlines()]
    clean = [json.loads(x) for x in (tmp_path / "clean" / "samples.jsonl").read_text().splitlines()]
    ids = [s["item_id"] for s in resumed]
    assert len(ids) == len(set(ids)) == 100
    assert resumed == clean
