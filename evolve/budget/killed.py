"""Killed evaluations: charge the run for LLM calls that could not be counted (issue 10).

An evaluation task the driver kills at its deadline (:mod:`evolve.execution.evaluator`) returns no
call records: whatever it spent is lost. So that the run's spend stays an upper bound,
it is charged instead, per unit (calls, US dollars):

* its allowance, where it had one (the :class:`~evolve.budget.caps.AllowanceGate` has already
  charged it: a run with a call or dollar cap);
* else an upper-bound estimate of one evaluation on the contexts it was given
  (:func:`evolve.budget.estimate.evaluation_upper_bound`: the costliest seed's persona cost,
  every retry at its maximum), charged here.

Each kill is recorded as an ``evaluation_killed`` event whose detail says the figures are
estimated, not counted (``"estimated": true``); ``inspect summary`` and ``report.md`` say
so, and a resumed run restores the charge (:mod:`archive.runhistory`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

from evolve.config import RunConfig


@dataclass(frozen=True, kw_only=True)
class KilledCharge:
    """What one killed evaluation is charged. ``calls`` and ``dollars`` (US): the upper
    bounds counted against the budget in total; ``basis`` says per unit where each came
    from (``allowance``: already charged by the gate; ``estimate``: charged by
    :func:`charge_killed`; ``none``: no figure). ``prompt_tokens`` / ``completion_tokens``
    are estimated; ``unpriced``: models with no known price (their dollars count as 0);
    ``error``: why no estimate could be made ("" when it was)."""

    calls: int
    dollars: float
    prompt_tokens: int
    completion_tokens: int
    basis: dict[str, str]
    unpriced: tuple[str, ...] = ()
    error: str = ""

    @property
    def charged_here(self) -> tuple[int, float]:
        """(calls, US dollars) :func:`charge_killed` adds to the budget: the units no
        allowance covered."""
        return (
            self.calls if self.basis["calls"] == "estimate" else 0,
            self.dollars if self.basis["dollars"] == "estimate" else 0.0,
        )

    def detail(self, *, contexts: Sequence[str], error: str) -> dict[str, Any]:
        """The ``evaluation_killed`` event's detail (JSON-ready)."""
        return {
            "estimated": True,
            "contexts": list(contexts),
            "error": error[:500],
            "calls": self.calls,
            "dollars": self.dollars,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "basis": dict(self.basis),
            "unpriced": list(self.unpriced),
            **({"estimate_error": self.error} if self.error else {}),
        }


def killed_charge(config: RunConfig, contexts: Sequence[Any], allowance: Any = None) -> KilledCharge:
    """The charge for an evaluation on ``contexts`` (Context objects) killed while holding
    ``allowance`` (None: none): per unit its allowance where set, else the upper-bound
    estimate of :func:`evolve.budget.estimate.evaluation_upper_bound`, rounded up to whole calls."""
    from evolve.budget.estimate import evaluation_upper_bound

    error = ""
    try:
        roles = evaluation_upper_bound(config, contexts)
    except Exception as exc:  # noqa: BLE001 - a kill is recorded whatever the estimate does
        roles, error = [], (f"{type(exc).__name__}: {exc}".splitlines() or ["estimate failed"])[0][:300]
    est_calls = int(math.ceil(sum(r.calls for r in roles)))
    est_dollars = float(sum(r.dollars or 0.0 for r in roles))
    allowed_calls = getattr(allowance, "calls", None)
    allowed_dollars = getattr(allowance, "dollars", None)
    estimated = "estimate" if not error else "none"
    return KilledCharge(
        calls=int(allowed_calls) if allowed_calls is not None else est_calls,
        dollars=float(allowed_dollars) if allowed_dollars is not None else est_dollars,
        prompt_tokens=int(math.ceil(sum(r.prompt_tokens for r in roles))),
        completion_tokens=int(math.ceil(sum(r.completion_tokens for r in roles))),
        basis={
            "calls": "allowance" if allowed_calls is not None else estimated,
            "dollars": "allowance" if allowed_dollars is not None else estimated,
        },
        unpriced=tuple(sorted({r.model for r in roles if r.dollars is None})),
        error=error,
    )


def charge_killed(
    failure: Any,
    *,
    config: RunConfig,
    contexts: Sequence[Any],
    budget: Any,
    archive: Any,
    program: str | None,
) -> KilledCharge:
    """Charge ``budget`` (a :class:`~evolve.budget.caps.RunBudget`) for the killed evaluation
    ``failure`` (an :class:`~evolve.execution.evaluator.EvaluationFailure` with ``killed``) on
    ``contexts`` (Context objects) and record it on ``archive`` as an
    ``evaluation_killed`` event against ``program``; returns the charge."""
    charge = killed_charge(config, contexts, getattr(failure, "allowance", None))
    calls, dollars = charge.charged_here
    if calls or dollars:
        budget.add_calls(calls, dollars)
    archive.record_event(
        "evaluation_killed",
        program_id=program,
        detail=charge.detail(contexts=[c.id for c in contexts], error=str(failure.error)),
    )
    return charge
