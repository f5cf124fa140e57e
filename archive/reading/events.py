"""The run's event log, and the proposal evaluations (what the budget counts) read from it.

A **proposal evaluation** is one proposed program fully evaluated on the train contexts:
an ``evaluated`` event whose detail has ``stage`` train. It is what ``--budget-evals``
caps and what ``run`` prints as "evaluations".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

from sqlalchemy import Connection, func, select

from ..schema import Event
from ..vocab import EventKind, Outcome, Stage, coerce


@dataclass(frozen=True)
class EventView:
    """One row of the event log (``detail`` is the stored JSON object, ``{}`` if none)."""

    id: int
    ts: float
    kind: EventKind | str
    program_id: str | None
    island: int | None
    detail: Mapping[str, Any]


@dataclass(frozen=True)
class ProposalEvaluation:
    """A full train evaluation of a proposed program, in order: ``index`` is 1-based
    (the budget's count after it), ``fitness`` None when it failed, ``elapsed_s`` the
    run's evolution seconds when it was logged."""

    index: int
    event_id: int
    program_id: str | None
    island: int | None
    fitness: float | None
    outcome: Outcome | str | None
    elapsed_s: float | None
    ts: float


def finite_float(value: Any) -> float | None:
    """``float(value)`` when that is a finite number, else None (non-numbers, NaN, inf)."""
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def event_view(e: Any) -> EventView:
    """An ``events`` row as an :class:`EventView` (a non-object ``detail`` becomes ``{}``)."""
    detail = e.detail if isinstance(e.detail, Mapping) else {}
    return EventView(int(e.id), float(e.ts), coerce(EventKind, e.kind), e.program_id, e.island, dict(detail))


def events(
    conn: Connection,
    run_id: int,
    *,
    kind: str | None = None,
    program_id: str | None = None,
    after: int | None = None,
    limit: int | None = None,
) -> tuple[EventView, ...]:
    """Events of run ``run_id`` in id order, optionally of one ``kind`` / program, with
    id > ``after``, at most ``limit`` of them."""
    q = select(Event).where(Event.run_id == run_id)
    if kind is not None:
        q = q.where(Event.kind == str(kind))
    if program_id is not None:
        q = q.where(Event.program_id == program_id)
    if after is not None:
        q = q.where(Event.id > after)
    q = q.order_by(Event.id)
    if limit is not None:
        q = q.limit(limit)
    rows = conn.execute(q).all()
    return tuple(event_view(e) for e in rows)


def _proposal_rows(conn: Connection, run_id: int) -> list[Any]:
    q = (
        select(Event)
        .where(Event.run_id == run_id, Event.kind == EventKind.EVALUATED.value)
        .order_by(Event.id)
    )
    return [
        e
        for e in conn.execute(q).all()
        if isinstance(e.detail, Mapping) and e.detail.get("stage") == Stage.TRAIN.value
    ]


def proposal_count(conn: Connection, run_id: int) -> int:
    """Number of proposal evaluations of the run (>= 0): counted in SQL on SQLite (JSON1),
    else by decoding the event details."""
    if conn.dialect.name == "sqlite":
        q = (
            select(func.count())
            .select_from(Event)
            .where(
                Event.run_id == run_id,
                Event.kind == EventKind.EVALUATED.value,
                func.json_extract(Event.detail, "$.stage") == Stage.TRAIN.value,
            )
        )
        try:
            return int(conn.execute(q).scalar() or 0)
        except Exception:  # noqa: BLE001 - SQLite built without JSON1: decode below
            conn.rollback()
    return len(_proposal_rows(conn, run_id))


def proposal_evaluations(conn: Connection, run_id: int) -> tuple[ProposalEvaluation, ...]:
    """The run's proposal evaluations in log order, numbered from 1."""
    rows = _proposal_rows(conn, run_id)
    out = []
    for i, e in enumerate(rows, 1):
        d = e.detail
        status = d.get("status")
        out.append(
            ProposalEvaluation(
                index=i,
                event_id=int(e.id),
                program_id=e.program_id,
                island=e.island,
                fitness=finite_float(d.get("fitness")),
                outcome=coerce(Outcome, status) if status is not None else None,
                elapsed_s=finite_float(d.get("elapsed_s")),
                ts=float(e.ts),
            )
        )
    return tuple(out)
