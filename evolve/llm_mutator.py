"""The LLM mutator: sends the mutation prompt to the ``mutator`` role and returns the
reply text (SEARCH/REPLACE blocks or a fenced full rewrite) for the diff pipeline."""

from __future__ import annotations

from typing import Any

from evolve.mutators import MutationRequest, Proposal
from evolve.prompts import SYSTEM_PROMPT


class LLMMutator:
    """Implements the :class:`evolve.mutators.Mutator` protocol over an LLM client.

    ``client`` is a :class:`generators.llm.LLMClient` whose ``mutator`` role is a real
    model (the simulated world has no LLM mutator: it uses the offline operator).
    """

    def __init__(self, *, client: Any, model_label: str, temperature: float | None = None,
                 max_tokens: int | None = 4096) -> None:
        self._client = client
        self._model = model_label
        self._temperature = temperature
        self._max_tokens = max_tokens

    async def propose(self, request: MutationRequest) -> Proposal:
        prompt = request.prompt
        if prompt.startswith(SYSTEM_PROMPT):
            user = prompt[len(SYSTEM_PROMPT):].lstrip()
        else:
            user = prompt
        completion = await self._client.acomplete(
            "mutator",
            [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}],
            temperature=self._temperature,
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
