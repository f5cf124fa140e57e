"""Persistent response cache: one SQLite file, safe for several processes at once.

Keyed by the sha256 of (model, messages, params, seed) — see :func:`cache_key`. The file
uses WAL journaling and a busy timeout, and writes with ``INSERT OR IGNORE``, so many Ray
workers may read and write the same file concurrently; the first answer stored for a key
wins. Only litellm responses are cached (sim responses are cheap and deterministic, and
must not be cached: the sim registers every persona it writes with the evaluation's
ledger, so a replayed sim text would not read; see :mod:`generators.sim.ledger`).

Note: a call without a seed is cached too, so repeating an identical unseeded prompt
returns the stored answer; callers that want independent samples pass distinct seeds.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["CachedResponse", "ResponseCache", "cache_key"]

_BUSY_TIMEOUT_MS = 30_000
_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    text TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    cost_usd REAL NOT NULL,
    created_at REAL NOT NULL
)
"""


@dataclass(frozen=True)
class CachedResponse:
    """A stored completion: text, model, token counts, original cost in USD."""

    text: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float


def cache_key(
    model: str,
    messages: Sequence[Mapping[str, Any]],
    params: Mapping[str, Any],
    seed: int | None,
) -> str:
    """Hex sha256 of the canonical JSON of (model, messages, params, seed).

    ``params`` holds the effective request parameters (temperature, max_tokens, api_base,
    extra kwargs); None values are dropped so "unset" and "None" hash alike. Values that are
    not JSON (e.g. an exception given as ``mock_response``) hash by ``repr``.
    """
    payload = {
        "model": model,
        "messages": [dict(m) for m in messages],
        "params": {k: v for k, v in sorted(params.items()) if v is not None},
        "seed": seed,
    }
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=repr)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _enable_wal(conn: sqlite3.Connection) -> None:
    """Switch the file to WAL journaling. Several processes opening a new file at once
    race for this switch, and SQLite reports ``database is locked`` at once for it
    (the busy timeout does not apply), so retry until the busy timeout has passed."""
    deadline = time.monotonic() + _BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


class ResponseCache:
    """SQLite-backed response cache at ``path`` (parent directories are created).

    Thread-safe within a process (one connection per process, guarded by a lock) and
    process-safe through SQLite locking. ``ResponseCache.disabled()`` returns a cache that
    stores nothing.
    """

    def __init__(self, path: str | os.PathLike[str] | None) -> None:
        self.path: Path | None = None if path is None else Path(path)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pid = -1
        self.hits = 0
        self.misses = 0
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._lock:
                self._connection()

    @classmethod
    def disabled(cls) -> ResponseCache:
        """A cache that never stores nor returns anything."""
        return cls(None)

    @property
    def enabled(self) -> bool:
        """False for :meth:`disabled` caches."""
        return self.path is not None

    def _connection(self) -> sqlite3.Connection:
        # Caller holds self._lock. Reconnect after fork: SQLite connections must not cross it.
        if self._conn is None or self._pid != os.getpid():
            assert self.path is not None
            conn = sqlite3.connect(
                self.path, timeout=_BUSY_TIMEOUT_MS / 1000, check_same_thread=False, isolation_level=None
            )
            conn.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
            _enable_wal(conn)
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(_SCHEMA)
            self._conn, self._pid = conn, os.getpid()
        return self._conn

    def get(self, key: str) -> CachedResponse | None:
        """The stored response for ``key``, or None (always None when disabled)."""
        if self.path is None:
            return None
        with self._lock:
            row = (
                self._connection()
                .execute(
                    (
                        "SELECT text, model, prompt_tokens, completion_tokens, cost_usd FROM responses "
                        "WHERE key = ?"
                    ),
                    (key,),
                )
                .fetchone()
            )
            if row is None:
                self.misses += 1
                return None
            self.hits += 1
        return CachedResponse(
            text=row[0], model=row[1], prompt_tokens=row[2], completion_tokens=row[3], cost_usd=row[4]
        )

    def put(self, key: str, response: CachedResponse) -> None:
        """Store ``response`` under ``key`` unless an answer is already stored (first wins)."""
        if self.path is None:
            return
        with self._lock:
            self._connection().execute(
                "INSERT OR IGNORE INTO responses VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    key,
                    response.model,
                    response.text,
                    int(response.prompt_tokens),
                    int(response.completion_tokens),
                    float(response.cost_usd),
                    time.time(),
                ),
            )

    def __len__(self) -> int:
        """Number of stored responses (0 when disabled)."""
        if self.path is None:
            return 0
        with self._lock:
            return int(self._connection().execute("SELECT COUNT(*) FROM responses").fetchone()[0])

    def close(self) -> None:
        """Close this process's connection (the cache reopens on next use)."""
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None

    def __getstate__(self) -> dict[str, Any]:
        # Picklable (e.g. shipped to a Ray worker): only the path travels.
        return {"path": self.path}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["path"])  # type: ignore[misc]

    def __repr__(self) -> str:
        return f"ResponseCache({str(self.path) if self.path else 'disabled'!r})"
