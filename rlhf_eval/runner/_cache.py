"""On-disk, content-addressed result cache (SQLite, one transaction per batch).

Keys hash the model fingerprint, the exact text sent and every generation parameter, so a
re-run of an identical command makes zero model calls. SQLite's journal makes each batch's
commit atomic: a run killed with SIGKILL loses at most the batch in flight, never corrupts
what was stored, and the next run resumes from there.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any


def cache_key(fingerprint: str, kind: str, payload: dict[str, Any]) -> str:
    """sha256 of the model fingerprint, request kind and canonical JSON of the request."""
    blob = json.dumps({"fp": fingerprint, "kind": kind, **payload}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class ResultCache:
    """Key -> JSON value store; ``hits``/``misses`` count lookups for run.json."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path), timeout=60, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("CREATE TABLE IF NOT EXISTS results (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            self._db.commit()

    def get_many(self, keys: Sequence[str]) -> dict[str, Any]:
        """Cached values for the keys present; counts hits and misses."""
        found: dict[str, Any] = {}
        if self._db is not None:
            with self._lock:
                for start in range(0, len(keys), 500):
                    chunk = list(keys[start : start + 500])
                    marks = ",".join("?" * len(chunk))
                    for k, v in self._db.execute(
                        f"SELECT key, value FROM results WHERE key IN ({marks})", chunk
                    ):
                        found[k] = json.loads(v)
        unique = set(keys)
        self.hits += len(unique & found.keys())
        self.misses += len(unique - found.keys())
        return found

    def put_many(self, items: Iterable[tuple[str, Any]]) -> None:
        """Store results in one transaction (atomic under SIGKILL)."""
        if self._db is None:
            return
        rows = [(k, json.dumps(v, ensure_ascii=False)) for k, v in items]
        with self._lock, self._db:
            self._db.executemany("INSERT OR REPLACE INTO results (key, value) VALUES (?, ?)", rows)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
