"""Which program is a run's champion, and at which stage it was chosen.

The champion is read through a :class:`ChampionSource` (``ArchiveReader`` is one) rather
than a connection: each read it makes is one snapshot of its own, and the reads it needs
depend on what the earlier ones found.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ..records import EvaluationView, ProgramView
from ..vocab import Stage
from .errors import UnknownProgramError
from .events import EventView


@dataclass(frozen=True)
class Champion:
    """The best program on validation (``stage`` validation) or, before anything was
    validated, on train; with its best evaluation at that stage and its latest test one."""

    program: ProgramView
    stage: Stage
    fitness: float | None
    evaluation: EvaluationView | None
    test: EvaluationView | None


class ChampionSource(Protocol):
    """The reads the champion rests on (the :class:`archive.reader.ArchiveReader` methods
    of the same names)."""

    def events(self, *, kind: str | None = None) -> tuple[EventView, ...]: ...

    def program(self, program_id: str) -> ProgramView: ...

    def top(self, k: int = 10, *, stage: str = Stage.TRAIN) -> tuple[ProgramView, ...]: ...

    def best_evaluation(self, program_id: str, stage: str) -> EvaluationView | None: ...

    def latest_evaluation(self, program_id: str, stage: str) -> EvaluationView | None: ...


def champion_stage(source: ChampionSource) -> Stage:
    """Validation once any program of the run has a validation fitness, train before that."""
    return Stage.VALIDATION if source.top(1, stage=Stage.VALIDATION) else Stage.TRAIN


def champion(source: ChampionSource) -> Champion | None:
    """The program of the latest ``champion`` event (the loop's noise-aware promotion,
    issue 13) if the run holds it, else the best program on validation if any was
    validated, else the best on train; None before anything was evaluated. ``fitness``:
    its best at the chosen stage (the program's train fitness when a crowned program has
    no validation evaluation)."""
    crowned = source.events(kind="champion")
    if crowned and crowned[-1].program_id:
        pid = crowned[-1].program_id
        try:
            view = source.program(pid)
        except UnknownProgramError:
            view = None
        if view is not None:
            best = source.best_evaluation(pid, Stage.VALIDATION)
            return Champion(
                view,
                Stage.VALIDATION,
                best.fitness if best else view.fitness,
                best,
                source.latest_evaluation(pid, Stage.TEST),
            )
    for stage in (Stage.VALIDATION, Stage.TRAIN):
        top = source.top(1, stage=stage)
        if top:
            view = top[0]
            return Champion(
                view,
                stage,
                view.fitness,
                source.best_evaluation(view.id, stage),
                source.latest_evaluation(view.id, Stage.TEST),
            )
    return None
