"""Per-role token / cost accounting, per-call records, and budget enforcement."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, replace

from .config import ROLES, Budget
from .errors import BudgetExceeded

__all__ = ["RoleUsage", "CallRecord", "Accountant"]


@dataclass(frozen=True)
class RoleUsage:
    """Totals for one role.

    Attributes:
        calls: calls answered or failed, cache hits included.
        cached_calls: calls answered from the response cache (free, no tokens billed).
        prompt_tokens: prompt tokens of non-cached calls (provider-reported; sim: estimated).
        completion_tokens: completion tokens of non-cached calls.
        cost_usd: cost in US dollars of non-cached calls (0 where litellm knows no price).
        errors: calls that ended in an error (after retries).
        retries: extra attempts made after transient errors.
        model: the role's configured model string (``"sim"`` for the simulated world).
    """

    calls: int = 0
    cached_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    errors: int = 0
    retries: int = 0
    model: str = ""

    @property
    def total_tokens(self) -> int:
        """prompt_tokens + completion_tokens."""
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class CallRecord:
    """One call, as stored in the archive's ``llm_calls`` table.

    Attributes:
        role: the calling role.
        model: configured model string (``"sim"`` for the simulated world).
        prompt_tokens: prompt tokens (for cache hits: those of the stored answer).
        completion_tokens: completion tokens (for cache hits: those of the stored answer).
        cost_usd: cost in US dollars actually spent (0 for cache hits, sim and errors).
        latency_s: wall time of the call in seconds, retries and backoff included.
        cached: answered from the response cache.
        error: one-line error message, or None on success.
        cost_known: False when litellm has no price for the model (cost_usd is then 0).
        retries: extra attempts after transient errors.
    """

    role: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    latency_s: float
    cached: bool
    error: str | None = None
    cost_known: bool = True
    retries: int = 0


class Accountant:
    """Thread-safe usage totals, call records and budget checks of one client."""

    def __init__(self, *, budget: Budget | None = None, models: Mapping[str, str] | None = None) -> None:
        self.budget = budget or Budget()
        self._lock = threading.Lock()
        models = models or {}
        self._usage: dict[str, RoleUsage] = {role: RoleUsage(model=models.get(role, "")) for role in ROLES}
        self._records: list[CallRecord] = []
        self._provider_calls = 0  # reserved provider (non-cached) calls, budget's max_calls unit
        self._cost_usd = 0.0
        self._tokens = 0

    def reserve(self) -> None:
        """Claim one provider call against the budget, or raise :class:`BudgetExceeded`."""
        b = self.budget
        with self._lock:
            if b.max_calls is not None and self._provider_calls >= b.max_calls:
                raise BudgetExceeded(
                    f"LLM budget exhausted: {self._provider_calls:,} calls reached (max_calls={b.max_calls})"
                )
            if b.max_cost_usd is not None and self._cost_usd >= b.max_cost_usd:
                raise BudgetExceeded(
                    f"LLM budget exhausted: ${self._cost_usd:,.4f} spent (max_cost_usd={b.max_cost_usd})"
                )
            if b.max_tokens is not None and self._tokens >= b.max_tokens:
                raise BudgetExceeded(
                    f"LLM budget exhausted: {self._tokens:,} tokens used (max_tokens={b.max_tokens})"
                )
            self._provider_calls += 1

    def record(self, rec: CallRecord) -> None:
        """Add one finished call (success, cache hit or error) to the totals and records."""
        with self._lock:
            u = self._usage.get(rec.role, RoleUsage())
            billed = not rec.cached
            self._usage[rec.role] = replace(
                u,
                calls=u.calls + 1,
                cached_calls=u.cached_calls + (1 if rec.cached else 0),
                prompt_tokens=u.prompt_tokens + (rec.prompt_tokens if billed else 0),
                completion_tokens=u.completion_tokens + (rec.completion_tokens if billed else 0),
                cost_usd=u.cost_usd + (rec.cost_usd if billed else 0.0),
                errors=u.errors + (1 if rec.error is not None else 0),
                retries=u.retries + rec.retries,
                model=rec.model,
            )
            if billed:
                self._cost_usd += rec.cost_usd
                self._tokens += rec.prompt_tokens + rec.completion_tokens
            self._records.append(rec)

    def usage(self) -> dict[str, RoleUsage]:
        """Snapshot of the totals per role (every role in ROLES present)."""
        with self._lock:
            return dict(self._usage)

    def drain_records(self) -> list[CallRecord]:
        """Return the call records gathered since the last drain and forget them."""
        with self._lock:
            out, self._records = self._records, []
        return out

    @property
    def spent(self) -> tuple[int, float, int]:
        """(provider calls reserved, cost in USD, tokens) counted against the budget."""
        with self._lock:
            return self._provider_calls, self._cost_usd, self._tokens
