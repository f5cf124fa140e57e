"""The contract of a source-level operator: its settings, its signature, its answer.

An operator takes a parsed :class:`~evolve.mutators.spans.Program`, a ``random.Random``,
the inspirations' :class:`~evolve.mutators.donors.Donors` and :class:`PerturbSettings`,
and returns one :class:`Candidate` (span edits of the program text) or None when it finds
no eligible site. The registry of operators is :mod:`evolve.mutators.ast_ops`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Protocol

from evolve.mutators.donors import Donors
from evolve.mutators.phrase_bank import PHRASES
from evolve.mutators.spans import Program, SpanEdit

__all__ = ["Candidate", "PerturbSettings", "Operator"]


@dataclass(frozen=True)
class Candidate:
    """One proposed change: its operator, non-overlapping span edits and a one-line note."""

    operator: str
    edits: tuple[SpanEdit, ...]
    description: str


@dataclass(frozen=True)
class PerturbSettings:
    """Constant perturbation scales (see :func:`evolve.mutators.literal_ops.perturb_constant`)
    and the vocabulary of instructions ``fragment_crossover`` draws on besides the
    inspirations (``phrases``; empty: inspirations only)."""

    float_sigma: float = 0.3
    int_max_step: int = 3
    phrases: tuple[str, ...] = PHRASES


class Operator(Protocol):
    """One operator: a candidate change of ``prog``, or None when no site is eligible."""

    def __call__(
        self, prog: Program, rng: random.Random, donors: Donors, cfg: PerturbSettings
    ) -> Candidate | None: ...
