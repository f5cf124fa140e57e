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

from evolve.config import RoleModel
from generators.context import Context
from generators.evaluation import ContextOutcome, EvalSettings, evaluate_program


@dataclass(frozen=True)
class WorkerSpec:
    """Everything a worker needs besides program and contexts (hashable: cached per process)."""

    persona: RoleModel = field(default_factory=RoleModel)
    respondent: RoleModel = field(default_factory=RoleModel)
    settings: EvalSettings = field(default_factory=EvalSettings)
    respondent_per_axis: bool = False
    cache_path: str | None = None
    max_concurrency: int = 32


@dataclass(frozen=True)
class TaskResult:
    """What one evaluation task returns to the driver."""

    contexts: list[ContextOutcome]
    calls: list[dict[str, Any]]
    wall_s: float
    sandbox_s: float
    respondent_s: float
    metrics_s: float
    node: str = ""


_STATE: dict[WorkerSpec, tuple[Any, Any]] = {}


def _model_config(role: RoleModel) -> Any:
    from generators.llm import ModelConfig

    return ModelConfig(
        model=role.model,
        api_base=role.api_base,
        api_key_env=role.api_key_env,
        temperature=role.temperature,
        max_tokens=role.max_tokens,
        timeout_s=role.timeout_s,
    )


def build_worker_state(spec: WorkerSpec) -> tuple[Any, Any]:
    """(client, respondent) for ``spec``, built once per process."""
    if spec not in _STATE:
        from generators.llm import build_client
        from generators.respondent import LLMRespondent, SimRespondent

        client = build_client(
            {"persona": _model_config(spec.persona), "respondent": _model_config(spec.respondent)},
            cache_path=spec.cache_path,
            max_concurrency=spec.max_concurrency,
        )
        if spec.respondent.model == "sim":
            respondent = SimRespondent()
        else:
            respondent = LLMRespondent(client=client, per_axis=spec.respondent_per_axis)
        _STATE[spec] = (client, respondent)
    return _STATE[spec]


def run_evaluation(
    spec: WorkerSpec, code: str, contexts: Mapping[str, Context], context_ids: Sequence[str], seed: int
) -> TaskResult:
    """Evaluate ``code`` on the named contexts in this process (the body of the Ray task)."""
    client, respondent = build_worker_state(spec)
    t0 = time.perf_counter()
    outcome = asyncio.run(
        evaluate_program(
            code,
            [contexts[cid] for cid in context_ids],
            client=client,
            respondent=respondent,
            settings=spec.settings,
            seed=seed,
        )
    )
    calls = [rec if isinstance(rec, dict) else dataclasses.asdict(rec) for rec in client.drain_records()]
    return TaskResult(
        contexts=outcome.contexts,
        calls=calls,
        wall_s=time.perf_counter() - t0,
        sandbox_s=outcome.sandbox_s,
        respondent_s=outcome.respondent_s,
        metrics_s=outcome.metrics_s,
        node=_node_id(),
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
