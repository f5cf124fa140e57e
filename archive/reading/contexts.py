"""Context-level reads: persona texts and positions stored per context of a run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select

from .. import queries
from ..records import PersonaView
from ..schema import ContextResultRow, Evaluation, Persona
from ..vocab import Stage, coerce


@dataclass(frozen=True)
class ContextCount:
    """Per context of the run: persona ``positions`` stored, persona ``texts`` stored,
    distinct ``programs`` with positions, ``exemplars`` (texts kept as a region's exemplar)."""

    context_id: str
    positions: int
    texts: int
    programs: int
    exemplars: int = 0


@dataclass(frozen=True)
class PositionSet:
    """Every stored persona position of one context in the run (all evaluations, all
    stages) with the most common axis count ``k``: ``z`` is M×K in [0, 1] (NaN =
    unanswered), and per row its ``program_ids``, ``stages``, ``evaluation_ids`` and row
    ``indexes`` within its population. ``other_k``: rows left out for another K."""

    context_id: str
    k: int
    z: Any
    program_ids: Any
    stages: Any
    evaluation_ids: Any
    indexes: Any
    other_k: int = 0


def personas(
    conn: Connection,
    run_id: int,
    *,
    context_id: str,
    program_id: str | None = None,
    evaluation_id: int | None = None,
) -> tuple[PersonaView, ...]:
    """Stored persona texts of a context (optionally of one program / evaluation) with
    their positions, ordered by evaluation then row index."""
    views = queries.personas(conn, run_id, context_id, program_id)
    if evaluation_id is not None:
        views = [v for v in views if v.evaluation_id == evaluation_id]
    return tuple(views)


def context_counts(conn: Connection, run_id: int) -> tuple[ContextCount, ...]:
    """Per context of the run: positions, texts, exemplars and programs stored; most
    positions first (then most texts, then by context id)."""
    rows = conn.execute(
        select(
            ContextResultRow.context_id,
            func.sum(ContextResultRow.n_personas),
            func.count(func.distinct(Evaluation.program_id)),
        )
        .join(Evaluation, Evaluation.id == ContextResultRow.evaluation_id)
        .where(Evaluation.run_id == run_id, ContextResultRow.n_personas > 0)  # rows with positions
        .group_by(ContextResultRow.context_id)
    ).all()
    texts = {
        c: (int(t), int(x or 0))
        for c, t, x in conn.execute(
            select(Persona.context_id, func.count(), func.count(Persona.exemplar))
            .join(Evaluation, Evaluation.id == Persona.evaluation_id)
            .where(Evaluation.run_id == run_id)
            .group_by(Persona.context_id)
        ).all()
    }
    out = [
        ContextCount(str(c), int(n or 0), texts.get(c, (0, 0))[0], int(p), texts.get(c, (0, 0))[1])
        for c, n, p in rows
    ]
    out.sort(key=lambda c: (-c.positions, -c.texts, c.context_id))
    return tuple(out)


def context_positions(conn: Connection, run_id: int, context_id: str) -> PositionSet:
    """Every stored position of ``context_id`` in the run, in storage order, keeping the
    populations with the most common axis count (what ``inspect rare`` bins); positions
    in [0, 1], NaN = unanswered."""
    import numpy as np

    from ..codec import decode_positions

    rows = conn.execute(
        select(
            ContextResultRow.evaluation_id,
            ContextResultRow.n_personas,
            ContextResultRow.n_axes,
            ContextResultRow.positions,
            Evaluation.program_id,
            Evaluation.stage,
        )
        .join(Evaluation, Evaluation.id == ContextResultRow.evaluation_id)
        .where(
            Evaluation.run_id == run_id,
            ContextResultRow.context_id == context_id,
            ContextResultRow.positions.is_not(None),
            ContextResultRow.n_personas > 0,
        )
        .order_by(ContextResultRow.id)
    ).all()
    ks = [int(r.n_axes) for r in rows]
    k = max(set(ks), key=ks.count) if ks else 0
    used = [r for r in rows if int(r.n_axes) == k]
    other = sum(int(r.n_personas) for r in rows if int(r.n_axes) != k)
    counts = np.array([int(r.n_personas) for r in used], dtype=np.int64)
    for r in used:  # the check decode_positions makes, per row, before one decode of them all
        if len(r.positions) != 2 * int(r.n_personas) * k:
            raise ValueError(
                f"positions blob of evaluation {r.evaluation_id} ({context_id}) holds "
                f"{len(r.positions) // 2} values, expected {r.n_personas}×{k}"
            )
    blobs = b"".join(r.positions for r in used)
    z = decode_positions(blobs, int(counts.sum()), k) if used else np.zeros((0, k))
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    return PositionSet(
        context_id=context_id,
        k=k,
        z=z,
        program_ids=np.repeat(np.array([r.program_id for r in used], dtype=object), counts),
        stages=np.repeat(np.array([coerce(Stage, r.stage) for r in used], dtype=object), counts),
        evaluation_ids=np.repeat(np.array([int(r.evaluation_id) for r in used], dtype=np.int64), counts),
        indexes=np.arange(int(counts.sum()), dtype=np.int64) - starts,
        other_k=other,
    )


@dataclass(frozen=True)
class FlaggedContext:
    """A stored context result carrying a count in its metrics' extra keys, or an error
    matching a pattern: its ``program_id``, ``stage``, ``context_id``, the ``count`` (None
    when only the error matched) and the ``error`` (None when it scored)."""

    program_id: str
    stage: str
    context_id: str
    count: float | None
    error: str | None


def flagged_contexts(conn: Connection, run_id: int, key: str, error_like: str) -> tuple[FlaggedContext, ...]:
    """Context results of the run whose ``metrics_extra`` holds ``key`` or whose error is
    LIKE ``error_like`` (SQL pattern), in storage order."""
    rows = conn.execute(
        select(
            Evaluation.program_id,
            Evaluation.stage,
            ContextResultRow.context_id,
            ContextResultRow.metrics_extra,
            ContextResultRow.error,
        )
        .join(Evaluation, Evaluation.id == ContextResultRow.evaluation_id)
        .where(
            Evaluation.run_id == run_id,
            ContextResultRow.metrics_extra.is_not(None) | ContextResultRow.error.like(error_like),
        )
        .order_by(ContextResultRow.evaluation_id, ContextResultRow.id)
    ).all()
    out = []
    for pid, stage, cid, extra, error in rows:
        value = (extra or {}).get(key) if isinstance(extra, dict) else None
        if value is not None or (error and _like(error, error_like)):
            out.append(
                FlaggedContext(
                    str(pid), str(stage or ""), str(cid), None if value is None else float(value), error
                )
            )
    return tuple(out)


def _like(text: str, pattern: str) -> bool:
    """SQL LIKE with only ``%`` wildcards, case-insensitive (as SQLite's LIKE for ASCII)."""
    parts = [p.lower() for p in pattern.split("%")]
    at, low = 0, text.lower()
    for p in parts:
        found = low.find(p, at)
        if found < 0:
            return False
        at = found + len(p)
    return True


def text_keys(conn: Connection, run_id: int, context_id: str) -> Any:
    """(evaluation id, row index) of every stored persona text of ``context_id`` in the run,
    as an M×2 int64 array (no text is read)."""
    import numpy as np

    rows = (
        conn.execute(
            select(Persona.evaluation_id, Persona.idx)
            .join(Evaluation, Evaluation.id == Persona.evaluation_id)
            .where(Evaluation.run_id == run_id, Persona.context_id == context_id)
        )
        .tuples()
        .all()
    )
    return np.array([(int(e), int(i)) for e, i in rows], dtype=np.int64).reshape(-1, 2)


def personas_at(
    conn: Connection, run_id: int, context_id: str, keys: Any
) -> dict[tuple[int, int], PersonaView]:
    """The stored persona texts of ``context_id`` at the given (evaluation id, row index)
    pairs, keyed by that pair (pairs without a stored text are left out)."""
    wanted = {(int(e), int(i)) for e, i in keys}
    if not wanted:
        return {}
    views = queries.personas(conn, run_id, context_id, None, evaluation_ids={e for e, _ in wanted})
    return {(v.evaluation_id, v.index): v for v in views if (v.evaluation_id, v.index) in wanted}
