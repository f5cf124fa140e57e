"""Opening an archive for reading: the run, program-id prefixes, context axis names.

Every inspect command (and ``export``) starts from a :class:`Source`: the archive opened
read-only (so it is safe while a run is writing) plus a read-only SQLAlchemy engine for
the few plain-SQL queries the ``Archive`` API does not offer (id prefixes, per-context
position rows). Nothing here writes.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from archive import Archive
from archive import store as archive_store
from archive.schema import ContextResultRow, Evaluation, Persona, Program, RunProgram

#: Shortest program-id prefix accepted on the command line.
MIN_PREFIX = 6


class InspectError(Exception):
    """A user-facing problem (no such database, unknown id, empty archive...): one line."""


def one_line(text: object) -> str:
    """First non-empty line of ``text`` (for error messages)."""
    for line in str(text).splitlines():
        if line.strip():
            return line.strip()
    return str(text).strip() or "unknown error"


@dataclass
class Source:
    """An archive opened for reading. ``db`` is the path/URL as given; ``run_id`` the run."""

    archive: Archive
    engine: Engine
    db: str
    _axes: dict[str, tuple[str, ...] | None] = field(default_factory=dict)
    _contexts: dict[str, Any] | None = None

    @property
    def run_id(self) -> int:
        return self.archive.run_id

    def close(self) -> None:
        """Release both database handles (idempotent)."""
        self.archive.close()
        self.engine.dispose()

    def __enter__(self) -> "Source":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ run facts
    def run_config(self) -> dict[str, Any]:
        """The run's stored configuration (``{}`` if none)."""
        return dict(self.archive.run_info().get("run_config") or {})

    def models(self) -> dict[str, str]:
        """Role -> model string, from the run config (empty if the config has no models)."""
        out: dict[str, str] = {}
        for role, spec in (self.run_config().get("models") or {}).items():
            model = spec.get("model") if isinstance(spec, dict) else spec
            if model is not None:
                out[str(role)] = str(model)
        return out

    def simulated(self) -> bool:
        """True when the run used the simulated world (``sim``) for any role, per its
        config or its ``run_started``/``run_resumed`` events."""
        if any(m == "sim" for m in self.models().values()):
            return True
        for kind in ("run_started", "run_resumed"):
            for e in self.archive.events(kind=kind):
                if (e.get("detail") or {}).get("simulated"):
                    return True
        return False

    # ------------------------------------------------------------------ programs
    def resolve_program(self, ref: str) -> str:
        """Full program id for ``ref``: an id, a unique id prefix (>= 6 characters) or a
        label such as ``seed:sobol``. Raises InspectError naming close matches."""
        text = ref.strip()
        if not text:
            raise InspectError("empty program id")
        with self.engine.connect() as conn:
            in_run = select(RunProgram.program_id).where(RunProgram.run_id == self.run_id)
            if ":" in text:
                rows = conn.execute(
                    select(Program.id).where(Program.label == text, Program.id.in_(in_run)).order_by(Program.id)
                ).scalars().all()
                if len(rows) == 1:
                    return str(rows[0])
                if len(rows) > 1:
                    raise InspectError(f"label {text!r} names {len(rows)} programs: {', '.join(rows[:5])}; use an id")
                labels = conn.execute(
                    select(Program.label).where(Program.label.is_not(None), Program.id.in_(in_run)).distinct()
                ).scalars().all()
                hint = difflib.get_close_matches(text, [str(x) for x in labels], n=3, cutoff=0.4)
                raise InspectError(f"no program labelled {text!r} in run {self.run_id}"
                                   + (f" (close: {', '.join(hint)})" if hint else ""))
            prefix = text.lower()
            if len(prefix) < MIN_PREFIX:
                raise InspectError(f"program id {text!r} is too short: give at least {MIN_PREFIX} characters")
            matches = conn.execute(
                select(RunProgram.program_id)
                .where(RunProgram.run_id == self.run_id, RunProgram.program_id.like(f"{prefix}%"))
                .order_by(RunProgram.program_id)
                .limit(21)
            ).scalars().all()
            if len(matches) == 1 or prefix in matches:
                return prefix if prefix in matches else str(matches[0])
            if matches:
                shown = ", ".join(matches[:5]) + (f" (+{len(matches) - 5} more)" if len(matches) > 5 else "")
                raise InspectError(f"program id prefix {text!r} is ambiguous: matches {shown}; give more characters")
            every = conn.execute(in_run).scalars().all()
        close = difflib.get_close_matches(prefix, [i[: len(prefix)] for i in every], n=3, cutoff=0.5)
        full = [i for c in close for i in every if i.startswith(c)][:3]
        if not every:
            raise InspectError(f"unknown program {text!r}: run {self.run_id} of {self.db} holds no programs")
        raise InspectError(f"unknown program {text!r} in run {self.run_id}"
                           + (f" (close: {', '.join(full)})" if full else f" ({len(every)} programs stored)"))

    def best_evaluation(self, program_id: str, stage: str) -> Any:
        """The program's evaluation at ``stage`` with the highest fitness (the latest among
        equals; one without fitness only if there is nothing else), or None."""
        evs = self.archive.evaluations(program_id, stage=stage)
        if not evs:
            return None
        return max(evs, key=lambda e: (e.fitness is not None, e.fitness if e.fitness is not None else 0.0, e.id))

    def latest_evaluation(self, program_id: str, stage: str) -> Any:
        """The program's most recent evaluation at ``stage``, or None."""
        evs = self.archive.evaluations(program_id, stage=stage)
        return evs[-1] if evs else None

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
                        for ctx in resolve_contexts([str(ref)]):
                            self._contexts.setdefault(ctx.id, ctx)
                    except Exception:  # noqa: BLE001 - a moved file: fall back below
                        continue
        ctx = self._contexts.get(context_id)
        if ctx is None:
            try:
                ctx = resolve_context(context_id)
            except Exception:  # noqa: BLE001 - unknown context: generic names
                return None
        return tuple(ctx.axis_names)

    def context_counts(self) -> list[dict[str, Any]]:
        """Per context of the run: ``personas`` (positions stored), ``texts`` (persona
        texts stored), ``programs`` (distinct programs with positions), most personas first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(ContextResultRow.context_id, func.sum(ContextResultRow.n_personas),
                       func.count(func.distinct(Evaluation.program_id)))
                .join(Evaluation, Evaluation.id == ContextResultRow.evaluation_id)
                .where(Evaluation.run_id == self.run_id, ContextResultRow.positions.is_not(None))
                .group_by(ContextResultRow.context_id)
            ).all()
            texts = dict(conn.execute(
                select(Persona.context_id, func.count())
                .join(Evaluation, Evaluation.id == Persona.evaluation_id)
                .where(Evaluation.run_id == self.run_id)
                .group_by(Persona.context_id)
            ).all())
        out = [{"id": str(c), "personas": int(n or 0), "texts": int(texts.get(c, 0)), "programs": int(p)}
               for c, n, p in rows]
        out.sort(key=lambda d: (-d["personas"], -d["texts"], d["id"]))
        return out


def open_source(db: str | os.PathLike[str], *, run_id: int | None = None) -> Source:
    """Open ``db`` (a SQLite path or SQLAlchemy URL) read-only at ``run_id`` (default: the
    latest run). Raises InspectError with one line when it cannot."""
    text = os.fspath(db)
    if "://" not in text and not Path(text).expanduser().exists():
        raise InspectError(f"no such database: {text}")
    try:
        archive = Archive.open(url_or_path=text, run_id=run_id, readonly=True)
    except Exception as exc:  # noqa: BLE001 - schema, lookup, sqlite errors: all one line
        raise InspectError(f"{text}: cannot open the archive: {one_line(exc)}") from None
    try:
        engine = archive_store.make_engine(archive_store.resolve(text), readonly=True)
    except Exception as exc:  # noqa: BLE001
        archive.close()
        raise InspectError(f"{text}: cannot open the archive: {one_line(exc)}") from None
    return Source(archive=archive, engine=engine, db=text)
