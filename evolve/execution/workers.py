"""The evaluation task that runs on Ray workers.

The driver sends program text, the ids of the contexts to use (the contexts
themselves travel once, as one object in Ray's store) and a :class:`WorkerSpec`;
the worker builds (once per process) its LLM client and respondent, runs
:func:`generators.evaluation.evaluate_program` and returns plain results plus the
LLM call records. Workers never touch the archive database.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from generators.context import Context
from generators.evaluation import ContextOutcome, EvalSettings, evaluate_program
from generators.llm.allowance import Allowance
from generators.llm.config import ModelConfig


@dataclass(frozen=True)
class WorkerSpec:
    """Everything a worker needs besides program and contexts (hashable: cached per process)."""

    persona: ModelConfig = field(default_factory=ModelConfig)
    respondent: ModelConfig = field(default_factory=ModelConfig)
    settings: EvalSettings = field(default_factory=EvalSettings)
    respondent_per_axis: bool = False
    cache_path: str | None = None
    respondent_mode: str | None = None  # item | axis | questionnaire (None: from respondent_per_axis)
    max_concurrency: int = 32
    world: str = "default"  # the simulated world of the roles on "sim" (generators.sim.worlds)


@dataclass(frozen=True)
class TaskResult:
    """What one evaluation task returns to the driver. ``calls`` are the LLM call records
    of the evaluation (also when it failed); ``budget_cut`` says some of its calls were
    refused by its allowance."""

    contexts: list[ContextOutcome]
    calls: list[dict[str, Any]]
    wall_s: float
    sandbox_s: float
    respondent_s: float
    metrics_s: float
    node: str = ""
    budget_cut: bool = False


_STATE: dict[WorkerSpec, tuple[Any, Any]] = {}


def build_worker_state(spec: WorkerSpec) -> tuple[Any, Any]:
    """(client, respondent) for ``spec``, built once per process."""
    if spec not in _STATE:
        from generators.llm import build_client
        from generators.respondent import LLMRespondent, SimRespondent
        from generators.sim import SimLLM
        from generators.sim.worlds import get_world

        knobs = get_world(spec.world).knobs
        client = build_client(
            {"persona": spec.persona, "respondent": spec.respondent},
            cache_path=spec.cache_path,
            max_concurrency=spec.max_concurrency,
            sim_backend=SimLLM(knobs=knobs),
        )
        respondent: SimRespondent | LLMRespondent
        if spec.respondent.model == "sim":
            respondent = SimRespondent(knobs=knobs)
        else:
            respondent = LLMRespondent(
                client=client, per_axis=spec.respondent_per_axis, mode=spec.respondent_mode
            )
        _STATE[spec] = (client, respondent)
    return _STATE[spec]


def run_evaluation(
    spec: WorkerSpec,
    code: str,
    contexts: Mapping[str, Context],
    context_ids: Sequence[str],
    seed: int,
    allowance: Allowance | None = None,
) -> TaskResult:
    """Evaluate ``code`` on the named contexts in this process (the body of the Ray task).

    ``allowance``: the LLM calls / dollars this evaluation may spend (None: no cap). An
    unexpected exception becomes an error on every context, and the calls made so far are
    returned all the same, so the run accounts for them."""
    client, respondent = build_worker_state(spec)
    t0 = time.perf_counter()
    try:
        outcome = asyncio.run(
            evaluate_program(
                code,
                [contexts[cid] for cid in context_ids],
                client=client,
                respondent=respondent,
                settings=spec.settings,
                seed=seed,
                allowance=allowance,
            )
        )
        outcomes, sandbox_s, respondent_s, metrics_s, cut = (
            outcome.contexts,
            outcome.sandbox_s,
            outcome.respondent_s,
            outcome.metrics_s,
            outcome.budget_cut,
        )
    except Exception as exc:  # noqa: BLE001 - recorded on the program, never lost with its calls
        text = f"{type(exc).__name__}: {exc}".strip().splitlines()
        error = f"evaluation failed in the worker: {text[0] if text else type(exc).__name__}"
        outcomes = [ContextOutcome(cid, None, None, None, error=error) for cid in context_ids]
        sandbox_s = respondent_s = metrics_s = 0.0
        cut = False
    calls = [rec if isinstance(rec, dict) else dataclasses.asdict(rec) for rec in client.drain_records()]
    return TaskResult(
        contexts=outcomes,
        calls=calls,
        wall_s=time.perf_counter() - t0,
        sandbox_s=sandbox_s,
        respondent_s=respondent_s,
        metrics_s=metrics_s,
        node=_node_id(),
        budget_cut=cut,
    )


def _node_id() -> str:
    """The Ray node this task runs on ("" outside Ray)."""
    try:
        import ray

        return ray.get_runtime_context().get_node_id() if ray.is_initialized() else ""
    except Exception:  # noqa: BLE001 - informational only
        return ""


def remote_evaluate():
    """The Ray remote function (created lazily so importing this module needs no Ray).

    ``max_retries=1``: a task lost to a dead worker is retried once by Ray; a second
    loss reaches the driver as an exception and is recorded as a failed evaluation.
    """
    global _REMOTE
    if _REMOTE is None:
        import ray

        _REMOTE = ray.remote(num_cpus=1, max_retries=1)(run_evaluation)
    return _REMOTE


_REMOTE = None
