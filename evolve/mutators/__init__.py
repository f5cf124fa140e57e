"""Mutators: turn a parent program (plus inspirations and a directive) into a proposed change.

The interface (:class:`Mutator`, :class:`MutationRequest`, :class:`Proposal`) is defined in
:mod:`evolve.mutators.base` and re-exported here; :class:`OfflineMutator` is the
genetic-programming mutator of the simulated world (no LLM).
"""

from evolve.mutators.base import MutationRequest, Mutator, Proposal
from evolve.mutators.offline import (
    OPERATORS,
    PHRASE_OPERATORS,
    OfflineMutation,
    OfflineMutator,
    OfflineMutatorConfig,
)
from evolve.mutators.phrase_bank import PHRASES

__all__ = [
    "Mutator",
    "MutationRequest",
    "Proposal",
    "OfflineMutator",
    "OfflineMutatorConfig",
    "OfflineMutation",
    "OPERATORS",
    "PHRASE_OPERATORS",
    "PHRASES",
]
