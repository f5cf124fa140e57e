"""Run budgets: evaluations, LLM calls, dollars, minutes; the first cap reached stops.

Counts include what earlier sessions of the same run spent (restored from the archive
on resume) and, for the decision to start new work, the work already in flight.

Inside an evaluation the budget holds too: :class:`AllowanceGate` grants every evaluation
its share of the calls and dollars left (an :class:`~generators.llm.allowance.Allowance`
the worker stops at), and keeps back a reserve for the closing test stage so that the
evolution phase stops early enough for the report to be made within the caps.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any


@dataclass
class Spend:
    """What a run has spent so far: full evaluations, LLM calls, US dollars, seconds."""

    evaluations: int = 0
    llm_calls: int = 0
    dollars: float = 0.0
    seconds: float = 0.0


class RunBudget:
    """Tracks spend against caps (None = no cap).

    ``prior`` is the spend of earlier sessions of this run; ``seconds`` of the current
    session are measured from :meth:`start`.
    """

    def __init__(
        self,
        *,
        evaluations: int | None,
        llm_calls: int | None,
        dollars: float | None,
        minutes: float | None,
        prior: Spend | None = None,
    ) -> None:
        self.caps = {
            "evaluations": evaluations,
            "llm_calls": llm_calls,
            "dollars": dollars,
            "minutes": minutes,
        }
        self.spent = prior or Spend()
        self._prior_seconds = self.spent.seconds
        self._t0: float | None = None
        self.reserve_calls = 0.0
        """Calls kept back for the closing test stage (set by :class:`AllowanceGate`)."""
        self.reserve_dollars = 0.0
        """US dollars kept back for the closing test stage."""
        self.ran_out: str | None = None
        """The cap ("llm_calls" or "dollars") the allowance gate found spent (see :meth:`run_out`)."""

    def start(self) -> None:
        self._t0 = time.monotonic()

    @property
    def seconds(self) -> float:
        """Seconds spent by this run, earlier sessions included."""
        live = 0.0 if self._t0 is None else time.monotonic() - self._t0
        return self._prior_seconds + live

    def add_calls(self, calls: int, dollars: float) -> None:
        self.spent.llm_calls += calls
        self.spent.dollars += dollars

    def add_evaluation(self) -> None:
        self.spent.evaluations += 1

    def run_out(self, cap: str) -> None:
        """Declare ``cap`` ("llm_calls" or "dollars") spent: the allowance gate had nothing
        left to grant an evaluation (what remains is the test stage's reserve, or too
        little to share), so the run stops at it like at any other cap."""
        if cap not in ("llm_calls", "dollars"):
            raise ValueError(f"run_out: not an LLM cap: {cap!r}")
        self.ran_out = cap

    def llm_cap(self) -> str | None:
        """The first LLM cap set ("llm_calls", then "dollars"), or None."""
        return next((cap for cap in ("llm_calls", "dollars") if self.caps[cap] is not None), None)

    def _reason(self, cap: str) -> str:
        value = self.caps[cap]
        return (
            f"dollars ({value:.2f})"
            if cap == "dollars"
            else f"{cap} ({value:g})"
            if cap == "minutes"
            else f"{cap} ({value})"
        )

    def exhausted(self, *, in_flight: int = 0) -> str | None:
        """The name of the first cap that is reached, counting ``in_flight`` evaluations
        as already spent; None while there is room for one more."""
        caps = self.caps
        if caps["evaluations"] is not None and self.spent.evaluations + in_flight >= caps["evaluations"]:
            return self._reason("evaluations")
        if caps["llm_calls"] is not None and (
            self.ran_out == "llm_calls" or self.spent.llm_calls + self.reserve_calls >= caps["llm_calls"]
        ):
            return self._reason("llm_calls")
        if caps["dollars"] is not None and (
            self.ran_out == "dollars" or self.spent.dollars + self.reserve_dollars >= caps["dollars"]
        ):
            return self._reason("dollars")
        if caps["minutes"] is not None and self.seconds >= caps["minutes"] * 60.0:
            return self._reason("minutes")
        return None

    def binding(self) -> tuple[str, float]:
        """(name of the cap closest to being reached, share of it spent in [0, 1]);
        ``("", 0.0)`` when no cap is set. Shares: evaluations done / cap, calls (plus the
        reserve for the test stage) / cap, dollars likewise, seconds / (minutes x 60)."""
        shares = []
        c = self.caps
        if c["evaluations"] is not None:
            shares.append(("evaluations", self.spent.evaluations / c["evaluations"]))
        if c["llm_calls"] is not None:
            shares.append(("llm_calls", (self.spent.llm_calls + self.reserve_calls) / c["llm_calls"]))
        if c["dollars"] is not None:
            shares.append(("dollars", (self.spent.dollars + self.reserve_dollars) / c["dollars"]))
        if c["minutes"] is not None:
            shares.append(("minutes", self.seconds / (c["minutes"] * 60.0)))
        if not shares:
            return "", 0.0
        name, share = max(shares, key=lambda t: t[1])
        return name, min(1.0, max(0.0, float(share)))

    def remaining_text(self) -> str:
        """A short human summary of the tightest cap, e.g. ``2m10s left`` or ``37 evals left``."""
        parts = []
        if self.caps["minutes"] is not None:
            left = max(0.0, self.caps["minutes"] * 60.0 - self.seconds)
            parts.append(f"{int(left // 60)}m{int(left % 60):02d}s left")
        if self.caps["evaluations"] is not None:
            parts.append(f"{max(0, self.caps['evaluations'] - self.spent.evaluations)} evals left")
        if self.caps["dollars"] is not None:
            parts.append(f"${max(0.0, self.caps['dollars'] - self.spent.dollars):.2f} left")
        if self.caps["llm_calls"] is not None:
            parts.append(f"{max(0, self.caps['llm_calls'] - self.spent.llm_calls)} calls left")
        return ", ".join(parts)


CHEAP_REJECTIONS = frozenset(
    {"duplicate", "no_op", "diff_failed", "compile_error", "bad_signature", "mutator_error", "twin"}
)
"""Rejections that cost a mutator call (a twin also its smoke stage) but no evaluation; a
run of them backs off."""


def rejection_backoff_s(in_row: int) -> float:
    """Seconds to wait before the next proposal after ``in_row`` cheap rejections in a
    row: 0 for the first 4, then 0.25 s doubling per further rejection, at most 30 s."""
    if in_row < 5:
        return 0.0
    return min(30.0, 0.25 * 2.0 ** (in_row - 5))


class AllowanceGate:
    """Grants each evaluation its share of the LLM budget left, and accounts for it.

    Share = (cap - spent - granted to evaluations in flight) / free evaluation slots, per
    unit (calls, dollars) with a cap; so evaluations running at once can never spend more
    than is left between them. ``final_contexts`` (test contexts x programs evaluated at
    the end) sizes the reserve kept back for the test stage: the mean calls and dollars per
    context of the evaluations seen so far, times ``final_contexts``.
    """

    def __init__(self, budget: RunBudget, *, slots: int, final_contexts: int = 0) -> None:
        self.budget = budget
        self.slots = max(1, int(slots))
        self.final_contexts = max(0, int(final_contexts))
        self._granted_calls = 0
        self._granted_dollars = 0.0
        self._seen_contexts = 0
        self._seen_calls = 0
        self._seen_dollars = 0.0
        self.final_stage = False
        """True once the run is in its closing test stage: the reserve is then spendable."""

    @property
    def capped(self) -> bool:
        return self.budget.caps["llm_calls"] is not None or self.budget.caps["dollars"] is not None

    def grant(self, *, in_flight: int, contexts: int = 0) -> Any:
        """The :class:`Allowance` of an evaluation on ``contexts`` contexts starting now, with
        ``in_flight`` evaluations running (this one included); None when no call or dollar
        cap is set. Each capped unit gets its share of what is left; once the mean cost per
        context is known (and before the closing test stage), an evaluation whose expected
        cost (that mean x ``contexts``) exceeds its share gets that expected cost if what is
        left covers it, and nothing (0: not started, see :meth:`empty_cap`) if not -- an
        evaluation the run cannot afford is not started only to be cut."""
        from generators.llm.allowance import Allowance

        if not self.capped:
            return None
        free = max(1, self.slots - max(0, in_flight - 1))
        calls = dollars = None
        cap_calls, cap_dollars = self.budget.caps["llm_calls"], self.budget.caps["dollars"]
        if cap_calls is not None:
            reserve = 0.0 if self.final_stage else self.budget.reserve_calls
            left = cap_calls - self.budget.spent.llm_calls - self._granted_calls - reserve
            need = self._expected(self._seen_calls, contexts)
            calls = max(0, int(math.floor(self._fit(left, left / free, need))))
            self._granted_calls += calls
        if cap_dollars is not None:
            reserve_d = 0.0 if self.final_stage else self.budget.reserve_dollars
            left_d = cap_dollars - self.budget.spent.dollars - self._granted_dollars - reserve_d
            need_d = self._expected(self._seen_dollars, contexts)
            dollars = max(0.0, self._fit(left_d, left_d / free, need_d))
            self._granted_dollars += dollars
        return Allowance(calls=calls, dollars=dollars)

    def _expected(self, seen: float, contexts: int) -> float | None:
        """Expected spend of an evaluation on ``contexts`` contexts (the mean per context so
        far); None before any evaluation was seen, in the test stage, or for 0 contexts."""
        if self.final_stage or contexts <= 0 or self._seen_contexts == 0:
            return None
        return seen / self._seen_contexts * contexts

    @staticmethod
    def _fit(left: float, share: float, need: float | None) -> float:
        """The grant: the share, raised to ``need`` when ``left`` covers it, 0 when it does not."""
        if need is None or share >= need:
            return share
        return need if left >= need else 0.0

    def empty(self, allowance: Any) -> bool:
        """True when ``allowance`` leaves no call or no dollar to spend."""
        return self.empty_cap(allowance) is not None

    @staticmethod
    def empty_cap(allowance: Any) -> str | None:
        """The cap ("llm_calls", "dollars") that left ``allowance`` nothing, or None."""
        if allowance is None:
            return None
        if allowance.calls == 0:
            return "llm_calls"
        if allowance.dollars == 0.0:
            return "dollars"
        return None

    def release(self, allowance: Any, *, calls: int | None, dollars: float | None, contexts: int) -> None:
        """An evaluation ended. ``calls`` / ``dollars``: what it spent (None = unknown, e.g.
        its worker was killed: it is then charged its whole allowance, so the budget stays
        an upper bound). The caller records known calls itself; this only adds the charge
        for unknown ones and updates the reserve."""
        if allowance is not None:
            self._granted_calls -= allowance.calls or 0
            self._granted_dollars -= allowance.dollars or 0.0
            if calls is None:
                self.budget.add_calls(int(allowance.calls or 0), float(allowance.dollars or 0.0))
        if calls is not None and contexts > 0:
            self._seen_contexts += contexts
            self._seen_calls += calls
            self._seen_dollars += dollars or 0.0
            per_ctx_calls = self._seen_calls / self._seen_contexts
            per_ctx_dollars = self._seen_dollars / self._seen_contexts
            self.budget.reserve_calls = per_ctx_calls * self.final_contexts
            self.budget.reserve_dollars = per_ctx_dollars * self.final_contexts
