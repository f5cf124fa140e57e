"""A per-evaluation LLM allowance: the share of the run's budget one evaluation may spend.

The driver grants each evaluation an :class:`Allowance` (calls and/or US dollars); the
worker wraps its client in an :class:`AllowanceClient` for that evaluation only. Every
call (persona and respondent alike, sim included; cache hits are free) is counted
before it starts; one past the allowance raises :class:`~generators.llm.errors.BudgetExceeded`
instead of reaching the provider, so a sandboxed program sees ``LLMUnavailable`` and the
respondent fails on that context. ``cut`` then says the evaluation was cut by the budget. Dollars are known
only after a call returns, so calls already in flight when the dollar allowance is reached may overshoot it by
at most the client's concurrency.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from typing import Any, Sequence

from .completion_client import CompletionClient
from .errors import BudgetExceeded

__all__ = ["Allowance", "AllowanceClient"]


@dataclass(frozen=True, kw_only=True)
class Allowance:
    """What one evaluation may spend: ``calls`` (provider calls, >= 0) and ``dollars``
    (US dollars, >= 0); None = no cap on that unit."""

    calls: int | None = None
    dollars: float | None = None

    def __post_init__(self) -> None:
        if self.calls is not None and (isinstance(self.calls, bool) or self.calls < 0):
            raise ValueError(f"Allowance.calls must be an integer >= 0, got {self.calls!r}")
        if self.dollars is not None and not (math.isfinite(self.dollars) and self.dollars >= 0):
            raise ValueError(f"Allowance.dollars must be a finite number >= 0, got {self.dollars!r}")

    @property
    def unlimited(self) -> bool:
        return self.calls is None and self.dollars is None

    def describe(self) -> str:
        parts = ([f"{self.calls} calls"] if self.calls is not None else []) + (
            [f"${self.dollars:.4f}"] if self.dollars is not None else []
        )
        return " and ".join(parts) or "no cap"


class AllowanceClient:
    """A view of an :class:`~generators.llm.LLMClient` bounded by an :class:`Allowance`.

    Offers ``acomplete`` / ``acomplete_many`` like the client (everything else is
    delegated). ``calls``: provider calls made or started through this view (cache hits
    refunded); ``dollars``: their cost in USD; ``refused``: calls refused; ``cut``: True
    once any call was refused.
    """

    def __init__(self, client: CompletionClient, allowance: Allowance) -> None:
        self._client = client
        self.allowance = allowance
        self.calls = 0
        self.dollars = 0.0
        self.refused = 0

    @property
    def cut(self) -> bool:
        return self.refused > 0

    def _reserve(self, role: str) -> None:
        a = self.allowance
        over = (a.calls is not None and self.calls >= a.calls) or (
            a.dollars is not None and self.dollars >= a.dollars
        )
        if over:
            self.refused += 1
            raise BudgetExceeded(
                f"run budget: this evaluation's LLM allowance ({a.describe()}) is spent; "
                f"the {role} call was refused"
            )
        self.calls += 1

    async def acomplete(self, role: str, messages: list[dict[str, str]], **params: Any) -> Any:
        self._reserve(role)
        completion = await self._client.acomplete(role, messages, **params)
        if getattr(completion, "cached", False):
            self.calls -= 1
        self.dollars += float(getattr(completion, "cost_usd", 0.0) or 0.0)
        return completion

    async def acomplete_many(
        self, role: str, list_of_messages: Sequence[list[dict[str, str]]], **params: Any
    ) -> list[Any]:
        """Like the client's: all calls run (those past the allowance are refused), then
        the first failure in input order is raised."""
        results = await asyncio.gather(
            *(self.acomplete(role, m, **params) for m in list_of_messages), return_exceptions=True
        )
        for r in results:
            if isinstance(r, BaseException):
                raise r
        return list(results)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)
