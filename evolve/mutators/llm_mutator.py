"""The LLM mutator: sends the mutation prompt to the ``mutator`` role and returns the
reply text (SEARCH/REPLACE blocks or a fenced full rewrite) for the diff pipeline."""

from __future__ import annotations

from typing import Callable

from evolve.mutators import MutationRequest, Proposal
from generators.llm.completion_client import CompletionClient


class LLMMutator:
    """Implements the :class:`evolve.mutators.Mutator` protocol over an LLM client.

    ``client`` is a :class:`generators.llm.LLMClient` whose ``mutator`` role is a real
    model (the simulated world has no LLM mutator: it uses the offline operator).

    ``pressure`` (set by the run to the controller's count of cheap rejections in a row:
    duplicates, no-ops, edits that do not apply) changes what is asked when proposals keep
    failing: from 2 in a row the prompt says so and asks for a clearly different change,
    and the temperature rises by 0.15 per rejection (from the role's, or 0.7) up to 1.3.
    """

    def __init__(
        self,
        *,
        client: CompletionClient,
        model_label: str,
        temperature: float | None = None,
        max_tokens: int | None = 4096,
        pressure: Callable[[], int] | None = None,
    ) -> None:
        self._client = client
        self._model = model_label
        self._temperature = temperature
        self._max_tokens = max_tokens
        self.pressure: Callable[[], int] = pressure or (lambda: 0)

    def temperature_for(self, in_row: int) -> float | None:
        """The sampling temperature after ``in_row`` cheap rejections in a row."""
        if in_row < 2:
            return self._temperature
        base = 0.7 if self._temperature is None else self._temperature
        return min(1.3, max(base, base + 0.15 * (in_row - 1)))

    async def propose(self, request: MutationRequest) -> Proposal:
        user = request.user
        in_row = int(self.pressure())
        if in_row >= 2:
            user += (
                f"\n\nNote: the last {in_row} proposals were rejected (duplicates of programs already "
                "tried, no change, or edits whose SEARCH text did not match). Propose a clearly different "
                "change, and copy SEARCH lines exactly from the program above."
            )
        completion = await self._client.acomplete(
            "mutator",
            [{"role": "system", "content": request.system}, {"role": "user", "content": user}],
            temperature=self.temperature_for(in_row),
            max_tokens=self._max_tokens,
            seed=request.seed % (2**31),
        )
        return Proposal(
            text=completion.text,
            operator="llm_rewrite" if request.full_rewrite else "llm_diff",
            model=self._model,
            prompt_tokens=completion.prompt_tokens,
            completion_tokens=completion.completion_tokens,
        )
