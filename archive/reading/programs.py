"""Program-level reads: resolving a program reference, a run's programs, seeds, lineage."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select, select

from .. import queries
from ..records import ProgramView
from ..schema import Program, RunProgram
from .errors import UnknownProgramError

#: Shortest program-id prefix :func:`resolve` accepts.
MIN_PREFIX = 6


@dataclass(frozen=True)
class Lineage:
    """``steps``: the program first, its seed last. ``complete`` is False when an ancestor
    is missing from the database; ``missing_parent`` then names it."""

    program_id: str
    steps: tuple[ProgramView, ...]
    complete: bool
    missing_parent: str | None

    def delta_fitness(self, i: int) -> float | None:
        """Train fitness of step ``i`` minus its parent's (None if either is unknown)."""
        if i + 1 >= len(self.steps):
            return None
        a, b = self.steps[i].fitness, self.steps[i + 1].fitness
        return None if a is None or b is None else float(a) - float(b)


def clean_ref(ref: str) -> str:
    """``ref`` without surrounding blanks. Raises UnknownProgramError when nothing is left."""
    text = ref.strip()
    if not text:
        raise UnknownProgramError("empty program id")
    return text


def resolve(conn: Connection, run_id: int, ref: str) -> str:
    """Full program id for ``ref``: an id, a unique id prefix (>= :data:`MIN_PREFIX`
    characters) or a label such as ``seed:sobol``, among the run's programs. Raises
    UnknownProgramError naming close matches."""
    text = clean_ref(ref)
    in_run = select(RunProgram.program_id).where(RunProgram.run_id == run_id)
    if ":" in text:
        return _resolve_label(conn, run_id, text, in_run)
    prefix = text.lower()
    if len(prefix) < MIN_PREFIX:
        raise UnknownProgramError(f"program id {text!r} is too short: give at least {MIN_PREFIX} characters")
    like = prefix.replace("\\", "").replace("%", "").replace("_", "")
    matches = (
        conn.execute(
            select(RunProgram.program_id)
            .where(RunProgram.run_id == run_id, RunProgram.program_id.like(f"{like}%"))
            .order_by(RunProgram.program_id)
            .limit(21)
        )
        .scalars()
        .all()
    )
    matches = [m for m in matches if m.startswith(prefix)]
    if prefix in matches:
        return prefix
    if len(matches) == 1:
        return str(matches[0])
    if matches:
        raise UnknownProgramError(
            f"program id prefix {text!r} is ambiguous: matches {', '.join(matches[:5])}; give more characters"
        )
    every = conn.execute(in_run).scalars().all()
    close = difflib.get_close_matches(prefix, [i[: len(prefix)] for i in every], n=3, cutoff=0.5)
    full = [i for c in close for i in every if i.startswith(c)][:3]
    raise UnknownProgramError(
        f"unknown program {text!r} in run {run_id}" + (f" (close: {', '.join(full)})" if full else "")
    )


def _resolve_label(conn: Connection, run_id: int, text: str, in_run: Select[Any]) -> str:
    rows = (
        conn.execute(
            select(Program.id).where(Program.label == text, Program.id.in_(in_run)).order_by(Program.id)
        )
        .scalars()
        .all()
    )
    if len(rows) == 1:
        return str(rows[0])
    if rows:
        raise UnknownProgramError(f"label {text!r} names {len(rows)} programs: {', '.join(rows[:5])}")
    labels = (
        conn.execute(
            select(Program.label).where(Program.label.is_not(None), Program.id.in_(in_run)).distinct()
        )
        .scalars()
        .all()
    )
    hint = difflib.get_close_matches(text, [str(x) for x in labels], n=3, cutoff=0.4)
    raise UnknownProgramError(
        f"no program labelled {text!r} in run {run_id}" + (f" (close: {', '.join(hint)})" if hint else "")
    )


def program(conn: Connection, run_id: int, program_id: str) -> ProgramView:
    """A stored program of the run with its best train fitness and metrics. Raises
    UnknownProgramError when the run does not hold it."""
    views = queries.program_views(conn, run_id, [program_id])
    if program_id not in views:
        raise UnknownProgramError(f"program {program_id} is not in run {run_id}")
    return views[program_id]


def program_ids(conn: Connection, run_id: int) -> tuple[str, ...]:
    """Ids of every program the run has stored, oldest first (ties by id)."""
    return tuple(
        conn.execute(
            select(RunProgram.program_id)
            .where(RunProgram.run_id == run_id)
            .order_by(RunProgram.created_at, RunProgram.program_id)
        ).scalars()
    )


def seeds(conn: Connection, run_id: int) -> tuple[ProgramView, ...]:
    """The run's seed programs (no parent), sorted by label then id."""
    ids = (
        conn.execute(
            select(Program.id)
            .join(RunProgram, RunProgram.program_id == Program.id)
            .where(RunProgram.run_id == run_id, Program.parent_id.is_(None))
        )
        .scalars()
        .all()
    )
    views = queries.program_views(conn, run_id, ids)
    return tuple(sorted(views.values(), key=lambda v: (v.label or "", v.id)))


def lineage(conn: Connection, run_id: int, program_id: str) -> Lineage:
    """The chain from ``program_id`` back to its seed (or to the first ancestor the
    database lacks). Raises UnknownProgramError when the archive holds no step of it."""
    ids = queries.lineage(conn, program_id)
    views = queries.program_views(conn, run_id, ids)
    steps = tuple(views[i] for i in ids if i in views)
    if not steps:
        raise UnknownProgramError(f"program {program_id} is not in the archive")
    last = steps[-1]
    return Lineage(program_id, steps, last.parent_id is None, last.parent_id)
