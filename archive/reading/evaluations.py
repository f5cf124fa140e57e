"""Choosing one of a program's evaluations at a stage."""

from __future__ import annotations

from typing import Sequence

from ..records import EvaluationView


def best_of(evs: Sequence[EvaluationView]) -> EvaluationView | None:
    """The evaluation of ``evs`` with the highest fitness (the latest, by id, among equals;
    a failed one, fitness None, only when there is nothing else), or None when empty."""
    if not evs:
        return None
    return max(evs, key=lambda e: (e.fitness is not None, e.fitness if e.fitness is not None else 0.0, e.id))


def latest_of(evs: Sequence[EvaluationView]) -> EvaluationView | None:
    """The last of ``evs`` (oldest-first order: the most recent), or None when empty."""
    return evs[-1] if evs else None
