"""Run budgets: evaluations, LLM calls, dollars, minutes; the first cap reached stops.

Counts include what earlier sessions of the same run spent (restored from the archive
on resume) and, for the decision to start new work, the work already in flight.
"""

from __future__ import annotations

import time
from dataclasses import dataclass


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
        self.caps = {"evaluations": evaluations, "llm_calls": llm_calls, "dollars": dollars,
                     "minutes": minutes}
        self.spent = prior or Spend()
        self._prior_seconds = self.spent.seconds
        self._t0: float | None = None

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

    def exhausted(self, *, in_flight: int = 0) -> str | None:
        """The name of the first cap that is reached, counting ``in_flight`` evaluations
        as already spent; None while there is room for one more."""
        caps = self.caps
        if caps["evaluations"] is not None and self.spent.evaluations + in_flight >= caps["evaluations"]:
            return f"evaluations ({caps['evaluations']})"
        if caps["llm_calls"] is not None and self.spent.llm_calls >= caps["llm_calls"]:
            return f"llm_calls ({caps['llm_calls']})"
        if caps["dollars"] is not None and self.spent.dollars >= caps["dollars"]:
            return f"dollars ({caps['dollars']:.2f})"
        if caps["minutes"] is not None and self.seconds >= caps["minutes"] * 60.0:
            return f"minutes ({caps['minutes']:g})"
        return None

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
