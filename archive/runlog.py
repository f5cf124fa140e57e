"""``RunLog``: the append-only record of a run (events, LLM calls, run status).

Separate from the grid writer (``archive.Archive``) and the reader
(``archive.reader.ArchiveReader``): the writer appends its own events inside its
transactions with :meth:`RunLog.append_in`; the evolution loop appends through
:meth:`append`, :meth:`llm_calls` and :meth:`set_status`. Kinds, statuses and rejection
reasons are the StrEnums of :mod:`archive.vocab` (a plain string is accepted for a kind
the vocabulary does not know yet and stored as given).
"""

from __future__ import annotations

import time
from typing import Any, Callable, Mapping, Sequence

from sqlalchemy import Connection, Engine, update

from . import store
from .schema import Run
from .vocab import EventKind, RunStatus


class RunLog:
    """Appends to the ``events``, ``llm_calls`` and ``counters`` tables of one run and sets
    ``runs.status``. ``check`` is called before every write (raises when the owner is
    closed or read-only)."""

    def __init__(self, *, engine: Engine, run_id: int, check: Callable[[], None] = lambda: None) -> None:
        self._engine = engine
        self.run_id = run_id
        self._check = check

    def append_in(
        self,
        conn: Connection,
        kind: EventKind | str,
        *,
        program_id: str | None = None,
        island: int | None = None,
        detail: Mapping[str, Any] | None = None,
        now: float | None = None,
        count_rejection: bool = False,
    ) -> None:
        """Append an event inside the caller's transaction. With ``count_rejection`` a
        ``rejected`` event also bumps ``rejected.<reason>``."""
        store.add_event(
            conn, self.run_id, str(kind), program_id=program_id, island=island, detail=detail, now=now
        )
        if count_rejection and str(kind) == EventKind.REJECTED:
            reason = str((detail or {}).get("reason", "unspecified"))
            store.bump(conn, self.run_id, f"rejected.{reason}")

    def append(
        self,
        kind: EventKind | str,
        *,
        program_id: str | None = None,
        island: int | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        """Append one event in its own transaction; a ``rejected`` event counts towards
        ``rejected.<detail["reason"]>``."""
        self._check()
        with self._engine.begin() as conn:
            self.append_in(
                conn, kind, program_id=program_id, island=island, detail=detail, count_rejection=True
            )

    def llm_calls(self, calls: Sequence[Mapping[str, Any]]) -> None:
        """Store LLM calls (keys: role [required], model, prompt_tokens, completion_tokens,
        cost_usd, latency_s, cached, error, optional ts and program_id), one transaction."""
        self._check()
        if not calls:
            return
        with self._engine.begin() as conn:
            store.insert_llm_calls(conn, self.run_id, calls, time.time())

    def set_status(self, status: RunStatus | str) -> None:
        """Set ``runs.status``; ``finished`` also appends ``run_finished``."""
        self._check()
        now = time.time()
        with self._engine.begin() as conn:
            conn.execute(update(Run).where(Run.id == self.run_id).values(status=str(status), updated_at=now))
            if str(status) == RunStatus.FINISHED:
                self.append_in(conn, EventKind.RUN_FINISHED, now=now)
