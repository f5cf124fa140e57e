"""Opening an archive for reading: a :class:`Source` over the one read-only reader.

Every inspect command (and ``export``, and the viewer's rare page) starts from a
:class:`Source`: an :class:`archive.reader.ArchiveReader` (read-only engine, no ORM rows,
safe while a run is writing) plus what inspect adds on top: the axis names of the run's
contexts. Nothing here writes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from archive.reader import MIN_PREFIX, ArchiveReader, ReaderError

#: A user-facing problem (no such database, unknown id, empty archive...): one line.
#: The same class as :class:`archive.reader.ReaderError`, so the reader's errors are
#: inspect's errors.
InspectError = ReaderError

__all__ = ["InspectError", "MIN_PREFIX", "Source", "one_line", "open_source"]


def one_line(text: object) -> str:
    """First non-empty line of ``text`` (for error messages)."""
    for line in str(text).splitlines():
        if line.strip():
            return line.strip()
    return str(text).strip() or "unknown error"


@dataclass
class Source:
    """An archive opened for reading. ``reader`` is the read-only archive reader; ``db``
    the path/URL as given; ``run_id`` the run. Closing closes the reader when the source
    opened it (:func:`open_source`), not when it wraps one (:meth:`of`)."""

    reader: ArchiveReader
    db: str
    owner: bool = True
    _axes: dict[str, tuple[str, ...] | None] = field(default_factory=dict)
    _contexts: dict[str, Any] | None = None

    @classmethod
    def of(cls, reader: ArchiveReader) -> "Source":
        """A source over an open reader (the caller keeps ownership)."""
        return cls(reader=reader, db=reader.db, owner=False)

    @property
    def run_id(self) -> int:
        return self.reader.run_id

    def close(self) -> None:
        """Release the reader if this source opened it (idempotent)."""
        if self.owner:
            self.reader.close()

    def __enter__(self) -> "Source":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ run facts
    def run_config(self) -> dict[str, Any]:
        """The run's stored configuration (``{}`` if none)."""
        return dict(self.reader.run().run_config)

    def models(self) -> dict[str, str]:
        """Role -> model string, from the run config (empty if the config has no models)."""
        return self.reader.run().models

    def simulated(self) -> bool:
        """True when the run used the simulated world (``sim``) for any role."""
        return self.reader.simulated()

    # ------------------------------------------------------------------ programs
    def resolve_program(self, ref: str) -> str:
        """Full program id for ``ref``: an id, a unique id prefix (>= 6 characters) or a
        label such as ``seed:sobol``. Raises InspectError naming close matches."""
        return self.reader.resolve(ref)

    def best_evaluation(self, program_id: str, stage: str) -> Any:
        """The program's evaluation at ``stage`` with the highest fitness, or None."""
        return self.reader.best_evaluation(program_id, stage)

    def latest_evaluation(self, program_id: str, stage: str) -> Any:
        """The program's most recent evaluation at ``stage``, or None."""
        return self.reader.latest_evaluation(program_id, stage)

    # ------------------------------------------------------------------ contexts
    def context_axes(self, context_id: str, k: int) -> tuple[str, ...]:
        """Axis names of a context with ``k`` axes: from the run's configured contexts, else
        the shipped context of that id, else ``axis_1 .. axis_k``."""
        if context_id not in self._axes:
            self._axes[context_id] = self._lookup_axes(context_id)
        names = self._axes[context_id]
        if names is not None and len(names) == k:
            return names
        return tuple(f"axis_{i + 1}" for i in range(k))

    def _lookup_axes(self, context_id: str) -> tuple[str, ...] | None:
        ctx = self.context(context_id)
        return None if ctx is None else tuple(ctx.axis_names)

    def context(self, context_id: str) -> Any:
        """The context object of ``context_id`` (from the run's configured contexts, else
        the shipped ones), or None when it cannot be found."""
        try:
            from generators.context_loader import resolve_context, resolve_contexts
        except ImportError:  # pragma: no cover - generators is part of the project
            return None
        if self._contexts is None:
            self._contexts = {}
            refs = self.run_config().get("contexts") or {}
            for split in ("train", "validation", "test"):
                for ref in refs.get(split) or ():
                    try:
                        for loaded in resolve_contexts([str(ref)]):
                            self._contexts.setdefault(loaded.id, loaded)
                    except Exception:  # noqa: BLE001 - a moved file: fall back below
                        continue
        ctx = self._contexts.get(context_id)
        if ctx is None:
            try:
                found = resolve_context(context_id)
            except Exception:  # noqa: BLE001 - unknown context: generic names
                return None
            self._contexts[context_id] = found
            return found
        return ctx

    def context_counts(self) -> list[dict[str, Any]]:
        """Per context of the run: ``personas`` (positions stored), ``texts`` (persona
        texts stored), ``programs`` (distinct programs with positions), most personas first."""
        return [
            {"id": c.context_id, "personas": c.positions, "texts": c.texts, "programs": c.programs}
            for c in self.reader.context_counts()
        ]


def open_source(db: str | os.PathLike[str], *, run_id: int | None = None) -> Source:
    """Open ``db`` (a SQLite path or SQLAlchemy URL) read-only at ``run_id`` (default: the
    latest run). Raises InspectError with one line when it cannot."""
    reader = ArchiveReader.open(db, run_id=run_id)
    return Source(reader=reader, db=os.fspath(db))
