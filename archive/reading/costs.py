"""What each validated program costs and covers: the inputs of the cost front.

Per program of the run with at least one validation evaluation that has a coverage: its
mean validation ``coverage`` (over those evaluations, in [0, 1]) and its persona-role LLM
tokens (prompt + completion, summed over the same evaluations' contexts, failed contexts
included) per persona placed (summed ``context_results.n_personas``). That is the
``llm_tokens_per_persona`` rule of ``archive.descriptors`` (tokens of the evaluation /
personas it placed), applied to validation instead of train evaluations. One grouped SQL
query; no positions are decoded.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, and_, func, select

from ..schema import ContextResultRow, Evaluation, Program, RunProgram
from ..vocab import Stage


@dataclass(frozen=True)
class ProgramCost:
    """One validated program: ``coverage`` (mean over ``evaluations`` validation
    evaluations, [0, 1]), ``tokens`` (persona-role tokens over them, >= 0), ``personas``
    (personas they placed, >= 0), and ``tokens_per_persona`` (``tokens / personas``; None
    when no persona was placed). ``label`` and ``generation`` from the program row."""

    program_id: str
    label: str | None
    generation: int
    coverage: float
    tokens: int
    personas: int
    evaluations: int

    @property
    def tokens_per_persona(self) -> float | None:
        if self.personas <= 0:
            return None
        from metrics.descriptors import llm_tokens_per_persona

        return llm_tokens_per_persona(self.tokens, self.personas)


@dataclass(frozen=True)
class CostTable:
    """``programs``: every program with a validation coverage, oldest id first;
    ``unvalidated``: programs of the run with no validation evaluation that has a coverage
    (they cannot be on the front)."""

    programs: tuple[ProgramCost, ...]
    unvalidated: int


def validation_costs(conn: Connection, run_id: int) -> CostTable:
    """The :class:`CostTable` of run ``run_id`` (two grouped queries)."""
    validated = and_(
        Evaluation.run_id == run_id,
        Evaluation.stage == str(Stage.VALIDATION),
        Evaluation.coverage.is_not(None),
    )
    personas = (
        select(ContextResultRow.evaluation_id.label("eid"), func.sum(ContextResultRow.n_personas).label("n"))
        .where(ContextResultRow.evaluation_id.in_(select(Evaluation.id).where(validated)))
        .group_by(ContextResultRow.evaluation_id)
        .subquery()
    )
    rows = conn.execute(
        select(
            Evaluation.program_id,
            func.avg(Evaluation.coverage),
            func.sum(Evaluation.tokens),
            func.coalesce(func.sum(personas.c.n), 0),
            func.count(Evaluation.id),
            Program.label,
            Program.generation,
        )
        .join(Program, Program.id == Evaluation.program_id)
        .outerjoin(personas, personas.c.eid == Evaluation.id)
        .where(validated)
        .group_by(Evaluation.program_id, Program.label, Program.generation)
        .order_by(Evaluation.program_id)
    ).all()
    programs = tuple(
        ProgramCost(str(pid), label, int(gen or 0), float(cov), int(tok or 0), int(n or 0), int(ne))
        for pid, cov, tok, n, ne, label, gen in rows
    )
    total = int(
        conn.execute(select(func.count()).select_from(RunProgram).where(RunProgram.run_id == run_id)).scalar()
        or 0
    )
    return CostTable(programs, max(total - len(programs), 0))
