"""What one candidate carries from step to step, as typed values.

A candidate of the loop (:meth:`evolve.loop.controller.Controller._candidate`) runs these steps,
each a method of the controller that takes the previous step's value and returns the next
one, or None when the candidate stops there (recorded, never silent):

    select (:class:`evolve.loop.parent_policy.ParentPick`) -> prompt (:class:`Prompted`)
    -> propose (:class:`evolve.mutators.Proposal`) -> apply (:class:`Child`)
    -> smoke (the smoke contexts' outcomes) -> train (:class:`Trained`)
    -> admit (:class:`Admitted`) -> promote

:class:`CandidateTrace` says whom a candidate that raises is charged to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from archive.records import AddResult, EliteView, EvaluationRecord, ProgramRecord
from evolve.common.evaluation_seeds import EvalSeed
from evolve.loop.parent_policy import ParentPick
from evolve.mutators import MutationRequest, Proposal
from evolve.proposals.directives import Directive
from generators.evaluation import ContextOutcome


@dataclass
class CandidateTrace:
    """How far a candidate got: its ``island`` and ``parent`` once selected, its ``child``
    id once the edit applied (None before). A candidate that raises is recorded against
    the child if there is one, else the parent."""

    island: int | None = None
    parent: str | None = None
    child: str | None = None


@dataclass(frozen=True)
class Prompted:
    """The select and prompt steps: the ``pick`` (island, parent, source), the drawn
    ``directive``, whether a ``full_rewrite`` is asked for, and the ``request`` sent to the
    mutator (system and user prompts apart)."""

    pick: ParentPick
    directive: Directive
    full_rewrite: bool
    request: MutationRequest


@dataclass(frozen=True)
class Child:
    """An applied edit that passed the cheap checks: its ``code``, content ``id``, the
    ``record`` to store (parent, island, generation, mutation) and the evaluation seed
    ``es`` of its replicate 0 (the same for smoke and train)."""

    code: str
    id: str
    record: ProgramRecord
    proposal: Proposal
    es: EvalSeed


@dataclass(frozen=True)
class Trained:
    """The train step: ``outcomes`` in the order of the train contexts (smoke ones
    included), the stored-form ``evaluation`` (fitness None when every context failed),
    and the Ray ``node`` that ran the rest of the contexts ("" when none was left)."""

    outcomes: Sequence[ContextOutcome]
    evaluation: EvaluationRecord
    node: str


@dataclass(frozen=True)
class Admitted:
    """The admit step: the archive's ``result`` for the child, its ``status`` text, whether
    it ``improved`` a cell (new or better), and the elite it ``displaced`` from that cell
    (read before the add; None for a new cell)."""

    result: AddResult
    status: str
    improved: bool
    displaced: EliteView | None
