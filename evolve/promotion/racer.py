"""Promotion races run against the evaluator (issue 13, item 2).

:class:`Racer` keeps, per (program, stage), the per-context fitness of every replicate it
has seen (replicate 0 from the stored evaluation, further replicates from its own runs),
draws more replicates of a candidate and its incumbent (concurrently) while the
:class:`~evolve.promotion.race_rule.RaceRule` is undecided, and logs every race as a ``raced`` event.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Awaitable, Callable, Mapping, Sequence

from evolve.promotion.race_rule import Decision, Interval, RaceRule, mean_interval, paired_diffs
from generators.evaluation import ContextOutcome

Table = dict[int, dict[str, float]]
"""replicate -> context id -> fitness."""

EvaluateAt = Callable[[str, str, Sequence[str], int], Awaitable[list[ContextOutcome]]]
"""(program id, code, context ids, replicate) -> outcomes."""


@dataclass(frozen=True)
class RaceResult:
    """The outcome of one race: ``decision``, the paired interval of the mean difference
    (candidate - incumbent), ``replicates`` looked at and a one-line ``reason``."""

    decision: Decision
    interval: Interval
    replicates: int
    reason: str
    evaluations: int  # replicate evaluations run by this race
    first: int = 0  # the first replicate looked at

    @property
    def accepted(self) -> bool:
        return self.decision == Decision.ACCEPTED


class Racer:
    """Runs races. ``evaluate_at`` scores a program at a replicate; ``fitness`` turns an
    outcome into per-context fitness (0 for a failed context)."""

    def __init__(
        self, *, rule: RaceRule, evaluate_at: EvaluateAt, fitness: Callable[[ContextOutcome], float]
    ) -> None:
        self.rule = rule
        self._evaluate_at = evaluate_at
        self._fitness = fitness
        self._tables: dict[tuple[str, str], Table] = {}
        self.evaluations = 0
        self._running: dict[tuple[str, str, int, tuple[str, ...]], asyncio.Future[None]] = {}

    def table(self, program_id: str, stage: str) -> Table:
        """The replicates known for ``program_id`` at ``stage`` (mutable, shared)."""
        return self._tables.setdefault((program_id, stage), {})

    def know(self, program_id: str, stage: str, replicate: int, fitness: Mapping[str, float]) -> None:
        """Remember per-context fitness of a replicate (e.g. the stored replicate-0 row)."""
        self.table(program_id, stage)[int(replicate)] = {k: float(v) for k, v in fitness.items()}

    async def _ensure(self, pid: str, code: str, stage: str, ids: Sequence[str], replicate: int) -> int:
        """Evaluate ``pid`` at ``replicate`` on ``ids`` unless known or already being
        evaluated for another race (then wait for that one); returns the evaluations this
        call ran (0 or 1)."""
        table = self.table(pid, stage)
        if replicate in table and all(cid in table[replicate] for cid in ids):
            return 0
        key = (pid, stage, replicate, tuple(ids))
        running = self._running.get(key)
        if running is not None:
            await running
            return 0

        async def evaluate() -> None:
            outcomes = await self._evaluate_at(pid, code, ids, replicate)
            self.evaluations += 1
            table[replicate] = {o.context_id: self._fitness(o) for o in outcomes}

        task = asyncio.ensure_future(evaluate())
        self._running[key] = task
        try:
            await task
        finally:
            self._running.pop(key, None)
        return 1

    async def race(
        self,
        *,
        stage: str,
        context_ids: Sequence[str],
        candidate: tuple[str, str],
        incumbent: tuple[str, str],
        first: int = 0,
    ) -> RaceResult:
        """Race ``candidate`` against ``incumbent`` (each ``(program id, code)``) on
        ``context_ids`` at ``stage``, on replicates ``first``, ``first + 1``, ... (at most
        ``rule.max_replicates`` looks). ``first = 1`` leaves out replicate 0 when that is
        the draw the candidate was selected on (its luck there would bias the race)."""
        (cid_, ccode), (iid, icode) = candidate, incumbent
        ran = 0  # this race's own evaluations (other races may run concurrently)
        ids = list(context_ids)
        r = first
        while True:
            ran += sum(
                await asyncio.gather(
                    self._ensure(cid_, ccode, stage, ids, r), self._ensure(iid, icode, stage, ids, r)
                )
            )
            window = range(first, r + 1)
            cand = {
                k: {c: v for c, v in t.items() if c in ids}
                for k, t in self.table(cid_, stage).items()
                if k in window
            }
            inc = {
                k: {c: v for c, v in t.items() if c in ids}
                for k, t in self.table(iid, stage).items()
                if k in window
            }
            decision, interval, reason = self.rule.decide(paired_diffs(cand, inc), len(window))
            if decision != Decision.CONTINUE:
                return RaceResult(decision, interval, len(window), reason, ran, first)
            r += 1

    async def measure(
        self,
        *,
        stage: str,
        context_ids: Sequence[str],
        program: tuple[str, str],
        replicates: int,
        confidence: float,
    ) -> Interval:
        """``program``'s mean fitness over ``context_ids`` x ``replicates`` (0 ..
        replicates - 1) and its two-sided interval at ``confidence``."""
        pid, code = program
        ids = list(context_ids)
        await asyncio.gather(*(self._ensure(pid, code, stage, ids, r) for r in range(replicates)))
        table = self.table(pid, stage)
        values = [table[r][c] for r in range(replicates) for c in ids if c in table.get(r, {})]
        return mean_interval(values, confidence)

    def values(self, program_id: str, stage: str, context_ids: Sequence[str]) -> list[float]:
        """Every known (replicate, context) fitness of a program on ``context_ids``."""
        return [v for t in self.table(program_id, stage).values() for c, v in t.items() if c in context_ids]
