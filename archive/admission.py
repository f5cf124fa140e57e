"""What ``Archive.add`` does with one candidate, decided without touching the database.

:func:`admit` checks a candidate -- its code parses, the run does not hold it yet, its
train evaluation has a finite fitness, its island exists, its descriptors bin -- and
places it against its island's grid (:meth:`IslandGrids.decide`). The answer says what to
store, which event to log and which counters to bump; the writer stores that in one
transaction and then applies it to its grids. Nothing here writes or mutates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Container

from .binning import DescriptorError, cell_of
from .descriptors import compute as compute_descriptors
from .identity import ProgramSyntaxError, program_id
from .map_elites import IslandGrids, Placement
from .records import AddResult, AddStatus, ArchiveConfig, Candidate, EliteView
from .vocab import EventKind, RejectReason, Stage


@dataclass(frozen=True)
class Refusal:
    """A candidate of which nothing is stored but a ``rejected`` event: its code does not
    parse (``failed``, ``program_id`` None, ``error`` the parser's message) or the run
    already holds its program (``duplicate``)."""

    status: AddStatus
    program_id: str | None
    reason: RejectReason
    error: str | None = None

    def detail(self) -> dict[str, Any]:
        """Detail of the ``rejected`` event."""
        if self.reason is RejectReason.SYNTAX:
            return {"reason": self.reason, "error": self.error}
        return {"reason": self.reason, "status": self.status}

    def result(self) -> AddResult:
        return AddResult(self.status, self.program_id, None, self.error)


@dataclass(frozen=True)
class Admission:
    """A candidate whose program (and evaluation, if any) is stored.

    ``placement`` is None when the candidate ``failed`` (``error`` says why); otherwise its
    status is new_cell / improved / not_improved and ``elite`` (if any) takes the cell.
    ``descriptors``: raw values stored with the evaluation (None when not computed);
    ``cell``/``clipped``: their bins and the names clipped to their range; ``clock``: the
    run's evaluation count after this add; ``orphans``: programs that sit in no grid once
    the elite displaces its cell's incumbent.
    """

    program_id: str
    error: str | None
    fitness: float | None
    descriptors: dict[str, float] | None
    cell: tuple[int, ...] | None
    clipped: tuple[str, ...]
    placement: Placement | None
    clock: int
    keep_personas: bool
    orphans: tuple[str, ...] = ()

    @property
    def status(self) -> AddStatus:
        return self.placement.status if self.placement is not None else AddStatus.FAILED

    @property
    def elite(self) -> EliteView | None:
        """The elite to store and put in the grid (None when nothing takes a cell)."""
        return self.placement.elite if self.placement is not None else None

    def event(self, evaluation_id: int | None) -> tuple[EventKind, dict[str, Any]]:
        """Kind and detail of the event to log: ``rejected`` (reason failed) or ``inserted``."""
        if self.placement is None:
            return EventKind.REJECTED, {
                "reason": RejectReason.FAILED,
                "error": self.error,
                "evaluation_id": evaluation_id,
            }
        detail: dict[str, Any] = {
            "status": self.status.value,
            "cell": list(self.cell or ()),
            "fitness": self.fitness,
            "evaluation_id": evaluation_id,
        }
        if self.clipped:
            detail["clipped"] = list(self.clipped)
        if self.placement.displaced is not None:
            detail["displaced"] = self.placement.displaced.program_id
        return EventKind.INSERTED, detail

    def counters(self) -> list[str]:
        """Run counters to bump by one: the status, and each clipped descriptor unless failed."""
        return [f"status.{self.status.value}", *(f"clipped.{n}" for n in self.result().clipped)]

    def result(self) -> AddResult:
        failed = self.placement is None
        return AddResult(
            self.status,
            self.program_id,
            self.cell,
            self.error if failed else None,
            () if failed else self.clipped,
        )


def admit(
    cand: Candidate, *, config: ArchiveConfig, grids: IslandGrids, known: Container[str], clock: int
) -> Refusal | Admission:
    """Decide what adding ``cand`` does, given the run's ``grids``, the ids of the programs
    it already holds (``known``) and its ``clock`` (evaluations stored so far, >= 0)."""
    rec, ev = cand.program, cand.evaluation
    try:
        pid = program_id(rec.code)
    except ProgramSyntaxError as exc:
        return Refusal(AddStatus.FAILED, None, RejectReason.SYNTAX, str(exc))
    if pid in known:
        return Refusal(AddStatus.DUPLICATE, pid, RejectReason.DUPLICATE)

    error = (
        cand.error or (ev.error if ev is not None else None) or (None if ev is not None else "no evaluation")
    )
    if error is None and ev is not None:
        error = _unplaceable(ev.stage, ev.fitness, rec.island, config)
    cell: tuple[int, ...] | None = None
    clipped: tuple[str, ...] = ()
    values: dict[str, float] | None = None
    if ev is not None and (error is None or cand.descriptors):
        try:
            values = (
                {k: float(v) for k, v in cand.descriptors.items()}
                if cand.descriptors is not None
                else compute_descriptors(config.descriptors, ev)
            )
            cell, clipped = cell_of(config.descriptors, values)
        except (DescriptorError, TypeError, ValueError) as exc:
            error = error or f"descriptors: {exc}"
            cell, clipped = None, ()

    after = clock + (1 if ev is not None else 0)
    if error is not None or ev is None or cell is None or values is None or ev.fitness is None:
        return Admission(
            pid,
            error,
            None,
            values,
            cell,
            clipped,
            None,
            after,
            keep_personas=ev is not None and ev.keep_personas,
        )
    placement = grids.decide(EliteView(rec.island, cell, pid, float(ev.fitness), values, None, after))
    elite, displaced = placement.elite, placement.displaced
    orphans = (
        tuple(grids.orphans([displaced], [elite])) if elite is not None and displaced is not None else ()
    )
    keep = ev.keep_personas or (elite is not None and config.keep_elite_personas)
    return Admission(pid, None, float(ev.fitness), values, cell, clipped, placement, after, keep, orphans)


def _unplaceable(stage: str, fitness: float | None, island: int, config: ArchiveConfig) -> str | None:
    """Why an evaluation cannot take a cell (wrong stage, no finite fitness, bad island), or None."""
    if stage != Stage.TRAIN:
        return f"add() needs a train-stage evaluation, got stage {stage!r} (use record_evaluation)"
    if fitness is None or not math.isfinite(float(fitness)):
        return f"evaluation has no finite fitness ({fitness!r})"
    if not 0 <= island < config.islands:
        return f"island {island} out of range [0, {config.islands})"
    return None
