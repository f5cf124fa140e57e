"""Read-only queries on an archive database (safe from any number of reader processes).

Every function takes a ``Connection`` and the run id; none writes.
"""

from __future__ import annotations

import json
from typing import Any, Iterable, Mapping

from sqlalchemy import Connection, case, func, literal, select

from .binning import parse_cell
from .codec import decode_positions
from .identity import verify_code
from .records import (
    METRIC_NAMES,
    ContextView,
    EliteView,
    EvaluationView,
    MutationInfo,
    PersonaView,
    ProgramView,
)
from .schema import ContextResultRow, Counter, Elite, Evaluation, LLMCall, Persona, Program, RunProgram

#: Longest lineage walked (guards against a corrupt parent cycle).
MAX_LINEAGE = 100_000


def _metrics(row: Any) -> dict[str, float] | None:
    out = {n: getattr(row, n) for n in METRIC_NAMES if getattr(row, n) is not None}
    out.update({k: v for k, v in (row.metrics_extra or {}).items() if v is not None})
    return out or None


def _elite(row: Any) -> EliteView:
    return EliteView(
        island=row.island,
        cell=parse_cell(row.cell),
        program_id=row.program_id,
        fitness=row.fitness,
        descriptors=dict(row.descriptors or {}),
        migrant_from=row.migrant_from,
        improved_at=row.improved_at,
    )


def load_elites(conn: Connection, run_id: int, island: int | None = None) -> list[EliteView]:
    """Elites of the run (of one island if given), ordered by island then cell."""
    q = select(Elite).where(Elite.run_id == run_id)
    if island is not None:
        q = q.where(Elite.island == island)
    out = [_elite(r) for r in conn.execute(q).all()]
    out.sort(key=lambda e: (e.island, e.cell))
    return out


def eval_count(conn: Connection, run_id: int) -> int:
    """Number of evaluations stored for the run (all stages): the run's clock."""
    return int(
        conn.execute(select(func.count()).select_from(Evaluation).where(Evaluation.run_id == run_id)).scalar()
        or 0
    )


def run_program_ids(conn: Connection, run_id: int) -> set[str]:
    return set(conn.execute(select(RunProgram.program_id).where(RunProgram.run_id == run_id)).scalars())


def has_program(conn: Connection, run_id: int, program_id: str) -> bool:
    q = select(RunProgram.program_id).where(RunProgram.run_id == run_id, RunProgram.program_id == program_id)
    return conn.execute(q).first() is not None


def program_views(
    conn: Connection,
    run_id: int,
    ids: Iterable[str],
    placements: Mapping[str, EliteView] | None = None,
) -> dict[str, ProgramView]:
    """Views of the given programs (missing ids are left out).

    Fitness, metrics and descriptors come from the program's best train evaluation in the
    run. Island/cell come from ``placements`` if given, else from its elite row on its own
    island, else from any elite row of it, else (own island, None).
    """
    ids = list(dict.fromkeys(ids))
    if not ids:
        return {}
    progs = {r.id: r for r in conn.execute(select(Program).where(Program.id.in_(ids))).all()}
    best: dict[str, Any] = {}
    q = select(Evaluation).where(
        Evaluation.run_id == run_id, Evaluation.program_id.in_(ids), Evaluation.stage == "train"
    )
    for row in conn.execute(q).all():
        cur = best.get(row.program_id)
        key = (row.fitness is not None, row.fitness if row.fitness is not None else 0.0, row.id)
        if cur is None or key > (
            cur.fitness is not None,
            cur.fitness if cur.fitness is not None else 0.0,
            cur.id,
        ):
            best[row.program_id] = row
    where: dict[str, EliteView] = dict(placements or {})
    missing = [i for i in ids if i not in where]
    if missing:
        rows = conn.execute(select(Elite).where(Elite.run_id == run_id, Elite.program_id.in_(missing))).all()
        for r in sorted(rows, key=lambda r: (r.island, r.cell)):
            e = _elite(r)
            own = progs[e.program_id].island if e.program_id in progs else None
            if e.program_id not in where or e.island == own:
                where[e.program_id] = e
    out: dict[str, ProgramView] = {}
    for pid in ids:
        p = progs.get(pid)
        if p is None:
            continue
        ev = best.get(pid)
        pl = where.get(pid)
        mut = None
        if p.operator is not None:
            mut = MutationInfo(p.operator, p.model, p.directive, p.diff, p.prompt_tokens, p.completion_tokens)
        verify_code(p.id, p.code)
        out[pid] = ProgramView(
            id=p.id,
            code=p.code,
            parent_id=p.parent_id,
            island=pl.island if pl else p.island,
            generation=p.generation,
            label=p.label,
            mutation=mut,
            fitness=ev.fitness if ev is not None else None,
            metrics=_metrics(ev) if ev is not None else None,
            descriptors=dict(ev.descriptors) if ev is not None and ev.descriptors else None,
            cell=tuple(pl.cell) if pl else None,
        )
    return out


def top(conn: Connection, run_id: int, k: int, stage: str) -> list[ProgramView]:
    """The ``k`` programs with the highest fitness at ``stage`` (best evaluation each)."""
    f = func.max(Evaluation.fitness).label("f")
    q = (
        select(Evaluation.program_id, f)
        .where(Evaluation.run_id == run_id, Evaluation.stage == stage, Evaluation.fitness.is_not(None))
        .group_by(Evaluation.program_id)
        .order_by(f.desc(), Evaluation.program_id)
        .limit(k)
    )
    ranked = conn.execute(q).all()
    views = program_views(conn, run_id, [r[0] for r in ranked])
    if stage == "train":
        return [views[r[0]] for r in ranked if r[0] in views]
    from dataclasses import replace

    return [replace(views[r[0]], fitness=r[1]) for r in ranked if r[0] in views]


def lineage(conn: Connection, program_id: str) -> list[str]:
    """Ids from ``program_id`` back to its seed (first element is the program itself)."""
    start = select(Program.id, Program.parent_id, literal(0).label("depth")).where(Program.id == program_id)
    base = start.cte("anc", recursive=True)
    step = select(Program.id, Program.parent_id, (base.c.depth + 1).label("depth")).where(
        Program.id == base.c.parent_id, base.c.depth < MAX_LINEAGE
    )
    anc = base.union_all(step)
    rows = conn.execute(select(anc.c.id, anc.c.depth).order_by(anc.c.depth)).all()
    seen: list[str] = []
    for r in rows:
        if r[0] in seen:
            break
        seen.append(r[0])
    return seen


def spend_by_role(conn: Connection, run_id: int) -> dict[str, dict[str, Any]]:
    """Per role: calls, cached, errors, prompt/completion tokens, cost_usd, latency_s (sums)."""
    q = (
        select(
            LLMCall.role,
            func.count(),
            func.sum(case((LLMCall.cached.is_(True), 1), else_=0)),
            func.count(LLMCall.error),
            func.sum(LLMCall.prompt_tokens),
            func.sum(LLMCall.completion_tokens),
            func.sum(LLMCall.cost_usd),
            func.sum(LLMCall.latency_s),
        )
        .where(LLMCall.run_id == run_id)
        .group_by(LLMCall.role)
        .order_by(LLMCall.role)
    )
    return {
        r[0]: {
            "calls": int(r[1]),
            "cached": int(r[2] or 0),
            "errors": int(r[3] or 0),
            "prompt_tokens": int(r[4] or 0),
            "completion_tokens": int(r[5] or 0),
            "cost_usd": float(r[6] or 0.0),
            "latency_s": float(r[7] or 0.0),
        }
        for r in conn.execute(q).all()
    }


def counters(conn: Connection, run_id: int) -> dict[str, int]:
    return dict(conn.execute(select(Counter.name, Counter.value).where(Counter.run_id == run_id)).all())


def evaluations_by_stage(conn: Connection, run_id: int) -> dict[str, int]:
    q = select(Evaluation.stage, func.count()).where(Evaluation.run_id == run_id).group_by(Evaluation.stage)
    return {r[0]: int(r[1]) for r in conn.execute(q).all()}


def llm_totals(conn: Connection, run_id: int) -> tuple[int, float, int]:
    q = select(
        func.count(), func.sum(LLMCall.cost_usd), func.sum(LLMCall.prompt_tokens + LLMCall.completion_tokens)
    ).where(LLMCall.run_id == run_id)
    n, cost, tok = conn.execute(q).one()
    return int(n), float(cost or 0.0), int(tok or 0)


def evaluations(conn: Connection, run_id: int, program_id: str, stage: str | None) -> list[EvaluationView]:
    """Evaluations of a program in the run, oldest first, with per-context results."""
    q = select(Evaluation).where(Evaluation.run_id == run_id, Evaluation.program_id == program_id)
    if stage is not None:
        q = q.where(Evaluation.stage == stage)
    evs = list(conn.execute(q.order_by(Evaluation.id)).all())
    if not evs:
        return []
    ctx: dict[int, list[ContextView]] = {e.id: [] for e in evs}
    cq = (
        select(ContextResultRow)
        .where(ContextResultRow.evaluation_id.in_(list(ctx)))
        .order_by(ContextResultRow.id)
    )
    for c in conn.execute(cq).all():
        pos = None if c.positions is None else decode_positions(c.positions, c.n_personas, c.n_axes)
        ctx[c.evaluation_id].append(
            ContextView(c.context_id, _metrics(c), pos, c.error, c.tokens, c.missing_answers, c.wall_s)
        )
    return [
        EvaluationView(
            id=e.id,
            program_id=e.program_id,
            stage=e.stage,
            fitness=e.fitness,
            metrics=_metrics(e),
            error=e.error,
            wall_s=e.wall_s,
            tokens=e.tokens,
            keep_personas=bool(e.keep_personas),
            created_at=e.created_at,
            contexts=tuple(ctx[e.id]),
        )
        for e in evs
    ]


def personas(
    conn: Connection,
    run_id: int,
    context_id: str,
    program_id: str | None,
    evaluation_ids: Iterable[int] | None = None,
) -> list[PersonaView]:
    """Stored personas of a context in the run (optionally of one program, and/or of the
    given evaluations only)."""
    import numpy as np

    q = (
        select(Persona, Evaluation.stage)
        .join(Evaluation, Evaluation.id == Persona.evaluation_id)
        .where(Evaluation.run_id == run_id, Persona.context_id == context_id)
    )
    if program_id is not None:
        q = q.where(Persona.program_id == program_id)
    if evaluation_ids is not None:
        q = q.where(Persona.evaluation_id.in_(sorted({int(e) for e in evaluation_ids})))
    out = []
    for p in conn.execute(q.order_by(Persona.evaluation_id, Persona.idx)).all():
        stage = p.stage
        pos = None
        if p.position is not None:
            pos = np.array([np.nan if x is None else x for x in json.loads(p.position)], dtype=float)
        fields: dict[str, Any] = {}
        if p.name is not None:
            fields["name"] = p.name
        if p.description is not None:
            fields["description"] = p.description
        fields.update(json.loads(p.fields) if p.fields else {})
        out.append(
            PersonaView(p.program_id, p.evaluation_id, stage, p.context_id, p.idx, fields, pos, p.exemplar)
        )
    return out


def exemplar_keys(conn: Connection, run_id: int) -> list[tuple[str, str]]:
    """(context id, region key) of every exemplar persona stored for the run (one per row)."""
    q = (
        select(Persona.context_id, Persona.exemplar)
        .join(Evaluation, Evaluation.id == Persona.evaluation_id)
        .where(Evaluation.run_id == run_id, Persona.exemplar.is_not(None))
    )
    return [(str(c), str(k)) for c, k in conn.execute(q).all()]


def placed_evaluations(conn: Connection, run_id: int, clock: int) -> list[EliteView]:
    """Every train evaluation of the run that ``add`` stored with descriptor values and a
    finite fitness, as a native elite of the island its program was proposed on (cell
    empty, ``improved_at`` = ``clock``): the programs a re-binning places again."""
    q = (
        select(Evaluation.program_id, Evaluation.fitness, Evaluation.descriptors, Program.island)
        .join(Program, Program.id == Evaluation.program_id)
        .where(
            Evaluation.run_id == run_id,
            Evaluation.stage == "train",
            Evaluation.fitness.is_not(None),
            Evaluation.descriptors.is_not(None),
        )
        .order_by(Evaluation.id)
    )
    out = []
    for pid, fitness, desc, island in conn.execute(q).all():
        if isinstance(desc, dict) and desc:
            out.append(EliteView(int(island), (), pid, float(fitness), dict(desc), None, int(clock)))
    return out
