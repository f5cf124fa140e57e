"""Use of a run's budget caps, matching the run's own accounting."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from ..runhistory import killed_charges
from ..vocab import BudgetCap
from .events import ProposalEvaluation, finite_float
from .runs import RoleSpend


@dataclass(frozen=True)
class BudgetUse:
    """One cap of the run's budget: ``limit`` (None = no cap) and ``used`` in the cap's
    unit (evaluations: proposal evaluations; llm_calls: uncached calls; dollars; minutes
    of evolution as last logged)."""

    cap: BudgetCap
    limit: float | None
    used: float

    @property
    def fraction(self) -> float | None:
        """used / limit in [0, 1] (None without a cap)."""
        if self.limit is None or self.limit <= 0:
            return None
        return max(0.0, min(1.0, self.used / self.limit))


def budget_use(
    caps: Mapping[str, Any],
    proposals: Sequence[ProposalEvaluation],
    spend: Sequence[RoleSpend],
    killed: Sequence[Mapping[str, Any]],
) -> tuple[BudgetUse, ...]:
    """One :class:`BudgetUse` per cap of :class:`BudgetCap`, in its order. ``caps``: cap ->
    limit in force (missing or not a finite number = no cap); ``proposals``: the run's
    proposal evaluations; ``spend``: its LLM spend per role; ``killed``: details of its
    ``evaluation_killed`` events. Used: evaluations = proposal evaluations; llm_calls =
    uncached calls plus the upper bounds charged for killed evaluations (US dollars
    likewise); minutes = the largest evolution time logged with an evaluation / 60."""
    killed_calls, killed_dollars = killed_charges(killed)
    used = {
        BudgetCap.EVALUATIONS: float(len(proposals)),
        BudgetCap.LLM_CALLS: float(sum(s.calls - s.cached for s in spend) + killed_calls),
        BudgetCap.DOLLARS: float(sum(s.cost_usd for s in spend) + killed_dollars),
        BudgetCap.MINUTES: max((p.elapsed_s or 0.0 for p in proposals), default=0.0) / 60.0,
    }
    return tuple(BudgetUse(cap, finite_float(caps.get(cap.value)), used[cap]) for cap in BudgetCap)
