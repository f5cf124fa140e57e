"""The mutator interface: what the controller asks for and what a mutator answers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

__all__ = ["MutationRequest", "Proposal", "Mutator"]


@dataclass(frozen=True)
class MutationRequest:
    """One request for a child program.

    ``inspirations`` are ``(program_id, code)`` pairs from the archive; ``directive`` is a
    short instruction of the controller (e.g. "simplify", "improve the phrasing");
    ``system`` and ``user`` are the two messages of the prompt for LLM mutators (the
    offline mutator ignores them);
    ``seed`` makes the answer deterministic where the mutator allows it;
    ``full_rewrite`` asks for a whole fenced program instead of SEARCH/REPLACE blocks.
    """

    parent_code: str
    parent_id: str
    inspirations: Sequence[tuple[str, str]]
    directive: str
    system: str
    user: str
    seed: int
    full_rewrite: bool = False


@dataclass(frozen=True)
class Proposal:
    """A mutator's answer.

    ``text`` is what goes through the diff pipeline: SEARCH/REPLACE blocks or a fenced
    full rewrite; empty when the mutator found nothing to propose (``note`` says why;
    the loop counts it as a no-op rejection). ``operator`` names the kind of change
    ("llm_diff", "perturb_constant", ...); ``model`` the LLM that wrote it (None or a
    label for offline mutators); token counts are 0 for offline mutators.
    """

    text: str
    operator: str
    model: str | None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    note: str = ""


@runtime_checkable
class Mutator(Protocol):
    """Anything that turns a :class:`MutationRequest` into a :class:`Proposal`."""

    async def propose(self, request: MutationRequest) -> Proposal:
        """Propose one change to ``request.parent_code``."""
        ...
