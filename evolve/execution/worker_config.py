"""The :class:`~evolve.execution.workers.WorkerSpec` of a run config: what every evaluation
worker needs (persona and respondent models, evaluation settings, sandbox limits, response
cache, simulated world). Moved out of ``evolve/loop/run.py`` so the promotion's world
re-scoring builds the same spec without importing the run.
"""

from __future__ import annotations

from pathlib import Path

from evolve.config import RunConfig
from evolve.execution.workers import WorkerSpec
from generators.evaluation import EvalSettings
from generators.sandbox import SandboxLimits


def worker_spec(config: RunConfig) -> WorkerSpec:
    ev = config.evaluation
    cache = None
    if not (config.models.persona.model == "sim" and config.models.respondent.model == "sim"):
        cache = str(Path.home() / ".cache" / "persona-evolve" / "responses.sqlite")
    return WorkerSpec(
        persona=config.models.persona,
        respondent=config.models.respondent,
        settings=EvalSettings(
            n=ev.n,
            mc_samples=ev.mc_samples,
            limits=SandboxLimits(
                wall_timeout_s=ev.timeout_s,
                cpu_time_s=int(ev.timeout_s) + 5,
                memory_mb=ev.memory_mb,
                disk_mb=ev.disk_mb,
                max_completion_tokens=ev.max_completion_tokens,
                allow_weak_isolation=ev.weak_sandbox,
            ),
            parallel=ev.parallel,
        ),
        respondent_per_axis=ev.respondent_per_axis,
        respondent_mode=ev.effective_respondent_mode,
        cache_path=cache,
        world=config.world.preset,
    )
