"""What the controller needs from its collaborators, as small ``typing.Protocol``s.

:class:`evolve.loop.controller.Controller` depends on these, not on Ray or SQLite: the run
gives it a :class:`evolve.execution.evaluator.RayEvaluator`, an :class:`archive.Archive` and the
monotonic clock; tests give it small fakes (an evaluator that scores programs by a
formula, an in-memory archive, a clock they advance).
"""

from __future__ import annotations

import time
from typing import Any, Mapping, Protocol, Sequence, runtime_checkable

import numpy as np

from archive.records import (
    AddResult,
    Candidate,
    EliteView,
    EvaluationRecord,
    EvaluationView,
    GridView,
    ProgramRecord,
    ProgramView,
)
from archive.selection import ParentStrategy
from evolve.execution.evaluator import EvaluationFailure
from evolve.execution.workers import TaskResult


@runtime_checkable
class Evaluator(Protocol):
    """Runs evaluations; at most ``max_in_flight`` at once, ``in_flight`` now."""

    max_in_flight: int
    in_flight: int

    async def evaluate(
        self, code: str, context_ids: Sequence[str], *, seed: int
    ) -> TaskResult | EvaluationFailure:
        """Evaluate ``code`` on the contexts (ids); every context's seeds derive from
        ``seed`` and its id (:func:`generators.evaluation.evaluate_program`). A failure that
        produced nothing comes back as an :class:`EvaluationFailure`; raising is allowed
        too (the controller records it against the program and goes on)."""
        ...


@runtime_checkable
class ArchiveStore(Protocol):
    """The archive as the controller uses it (the run's only writer)."""

    def counts(self) -> Mapping[str, Any]: ...
    def has_program(self, program_id: str) -> bool: ...
    def get_program(self, program_id: str) -> ProgramView: ...
    def add(self, batch: Sequence[Candidate]) -> list[AddResult]: ...
    def record_program(self, program: ProgramRecord) -> str: ...
    def record_evaluation(self, program_id: str, evaluation: EvaluationRecord) -> None: ...
    def record_event(
        self,
        kind: str,
        *,
        program_id: str | None = None,
        island: int | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> None: ...
    def record_llm_calls(self, calls: Sequence[Mapping[str, Any]]) -> None: ...
    def evaluations(self, program_id: str, stage: str | None = None) -> Sequence[EvaluationView]: ...
    def events(
        self, program_id: str | None = None, kind: str | None = None, *, limit: int | None = None
    ) -> list[dict[str, Any]]: ...
    def seed_islands(self, program_ids: Sequence[str]) -> int: ...
    def sample_parent(
        self, island: int, rng: np.random.Generator, *, strategy: str | ParentStrategy = "uniform"
    ) -> ProgramView | None: ...
    def sample_inspirations(
        self, island: int, rng: np.random.Generator, *, k: int = 3, exclude: str | None = None
    ) -> list[ProgramView]: ...
    def top(self, k: int = 10, *, stage: str = "train") -> list[ProgramView]: ...
    def grid(self, island: int | None = None) -> GridView: ...
    def qd_stats(self, island: int | None = None) -> dict[str, Any]: ...
    def maybe_migrate(self, evals_done: int | None = None) -> int: ...
    def maybe_reset(self, evals_done: int | None = None) -> list[int]: ...
    def restore_elite(self, elite: EliteView, *, holder: str) -> bool: ...


@runtime_checkable
class Clock(Protocol):
    """Seconds from an arbitrary origin that never go back."""

    def monotonic(self) -> float: ...


class MonotonicClock:
    """The real clock (:func:`time.monotonic`)."""

    def monotonic(self) -> float:
        return time.monotonic()
