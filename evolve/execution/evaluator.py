"""Submitting evaluations to Ray from the asyncio driver.

:class:`RayEvaluator` puts the run's contexts into Ray's object store once, submits
one task per evaluation and awaits it without blocking the event loop. A task that
fails (a crashed worker after Ray's one retry, an unexpected exception) comes back as
an :class:`EvaluationFailure` instead of raising, so the controller records it and
goes on. The driver holds its own deadline on every task (the sandbox's wall limit
plus :data:`RESPONDENT_ALLOWANCE_S` for scoring): a task past it is force-cancelled
(its worker process is killed, and the sandbox with it) and recorded as a failure, so no
program can hold a slot of the run however it behaves.

With an :class:`~evolve.budget.caps.AllowanceGate`, every task carries its share of the run's
LLM budget (the worker refuses calls beyond it); a task whose calls cannot be counted
(killed, lost with its worker) is charged its whole allowance; an evaluation granted
nothing is not started and comes back as a failure saying so. A killed task comes back
marked ``killed`` with its allowance, so that the controller charges an upper-bound
estimate for whatever no allowance covered (:mod:`evolve.budget.killed`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from evolve.execution.workers import TaskResult, WorkerSpec, remote_evaluate
from generators.context import Context

RESPONDENT_ALLOWANCE_S = 900.0
"""Seconds a task may spend past the sandbox's wall limit (the respondent answering,
metrics) before the driver cancels it."""


@dataclass(frozen=True)
class EvaluationFailure:
    """An evaluation that produced no result; ``error`` is one line. ``killed``: its task
    was killed at the driver's deadline, so its LLM calls were lost uncounted (the
    controller charges an upper bound for them, :mod:`evolve.budget.killed`); ``allowance``: the
    :class:`~generators.llm.allowance.Allowance` it held, which the gate has charged in
    full (None: it had none, e.g. a run without a call or dollar cap)."""

    error: str
    killed: bool = False
    allowance: Any = None
    refused: str | None = None
    """Not started: the allowance gate had nothing of this cap ("llm_calls", "dollars") to grant."""


class RayEvaluator:
    """Runs evaluations as Ray tasks; at most ``max_in_flight`` at once."""

    def __init__(
        self, *, spec: WorkerSpec, contexts: Mapping[str, Context], max_in_flight: int, gate: Any = None
    ) -> None:
        import ray

        self._spec = spec
        self.gate = gate
        self.deadline_s = float(spec.settings.limits.wall_timeout_s) + RESPONDENT_ALLOWANCE_S
        self._contexts_ref = ray.put(dict(contexts))
        self._known = set(contexts)
        self._slots = asyncio.Semaphore(max_in_flight)
        self.max_in_flight = max_in_flight
        self.in_flight = 0

    async def evaluate(
        self, code: str, context_ids: Sequence[str], *, seed: int
    ) -> TaskResult | EvaluationFailure:
        """Evaluate ``code`` on ``context_ids`` (ids of the contexts given at construction)."""
        unknown = [cid for cid in context_ids if cid not in self._known]
        if unknown:
            raise KeyError(f"unknown context ids: {unknown}")
        async with self._slots:
            self.in_flight += 1
            gate = self.gate
            allowance = (
                gate.grant(in_flight=self.in_flight, contexts=len(context_ids)) if gate is not None else None
            )
            spent: tuple[int, float] | None = None
            n_contexts = len(context_ids)
            try:
                refused = gate.empty_cap(allowance) if gate is not None else None
                if refused is not None:
                    spent, n_contexts = (0, 0.0), 0
                    return EvaluationFailure(
                        error="budget: no LLM allowance left for this evaluation; not started",
                        refused=refused,
                    )
                ref = remote_evaluate().remote(
                    self._spec, code, self._contexts_ref, list(context_ids), seed, allowance
                )
                try:
                    result = await asyncio.wait_for(ref, self.deadline_s)  # an ObjectRef is awaitable
                except asyncio.TimeoutError:
                    _cancel(ref)
                    return EvaluationFailure(
                        error=(
                            f"evaluation task exceeded the driver's deadline of {self.deadline_s:.0f} s "
                            "and was killed"
                        ),
                        killed=True,
                        allowance=allowance,
                    )
                billed = [c for c in result.calls if not c.get("cached")]
                spent = (len(billed), float(sum(c.get("cost_usd", 0.0) or 0.0 for c in billed)))
                return result
            except Exception as exc:  # worker death after retry, serialisation, etc.
                text = f"{type(exc).__name__}: {exc}".strip().splitlines()
                return EvaluationFailure(
                    error=f"evaluation task failed: {text[0] if text else type(exc).__name__}"
                )
            finally:
                self.in_flight -= 1
                if gate is not None:
                    gate.release(
                        allowance,
                        calls=None if spent is None else spent[0],
                        dollars=None if spent is None else spent[1],
                        contexts=n_contexts,
                    )


def _cancel(ref: object) -> None:
    import ray

    try:
        ray.cancel(ref, force=True)
    except Exception:  # noqa: BLE001 - already finished or gone
        pass
