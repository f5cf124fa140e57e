"""What the callers of the LLM layer need from a client: its two async completion calls.

:class:`generators.llm.LLMClient` meets it, and so does
:class:`generators.llm.allowance.AllowanceClient`, which wraps one to enforce an
evaluation's share of the run budget; the persona handler, the LLM respondent and the LLM
mutator take any :class:`CompletionClient`, so tests give them small fakes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, Sequence

if TYPE_CHECKING:
    from .client import Completion


class CompletionClient(Protocol):
    """Chat completions for a role (``persona``, ``respondent``, ``mutator``, ``author``)."""

    async def acomplete(
        self,
        role: str,
        messages: list[dict[str, str]],
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
        seed: int | None = None,
    ) -> Completion:
        """One completion; raises ``LLMError`` or ``BudgetExceeded`` (one line each)."""
        ...

    async def acomplete_many(
        self,
        role: str,
        list_of_messages: Sequence[list[dict[str, str]]],
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
        seed: int | None = None,
    ) -> list[Completion]:
        """Completions in input order; every call runs, then the first failure is raised."""
        ...
