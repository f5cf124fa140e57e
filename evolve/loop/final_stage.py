"""The final stage of a run, after the loop stops at a budget cap: robust selection across
the ``[world] validate`` worlds (when set), the summary printed by ``--json`` (champion,
seeds, test scores, races, spend) and the references (noise floor, random) of the
validation and test contexts that the summary and the report print under the scores.
The test evaluations themselves are :meth:`evolve.loop.controller.Controller.evaluate_final`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from evolve.budget.spend import spend_of
from evolve.common.context_sets import ContextSets
from evolve.common.seed_programs import seed_key
from evolve.config import RunConfig, replace_path
from evolve.execution.evaluator import RayEvaluator
from evolve.execution.worker_config import worker_spec
from evolve.loop.controller import Controller


async def _robust_stage(
    config: RunConfig,
    controller: Controller,
    contexts: Any,
    max_in_flight: int,
    gate: Any,
    seed_ids: Mapping[str, str],
    progress: Any,
) -> Any:
    """Robust selection across ``[world] validate`` (:mod:`evolve.promotion.robust`); None when off."""
    others = [w for w in config.world.validate if w != config.world.preset]
    if not others or not contexts.validation:
        return None
    evaluators = {
        w: RayEvaluator(
            spec=worker_spec(replace_path(config, "world.preset", w)),
            contexts=contexts.by_id(),
            max_in_flight=max_in_flight,
            gate=gate,
        )
        for w in others
    }
    progress.note(
        f"robust selection: re-validating the best candidates in {', '.join([config.world.preset] + others)}"
    )
    choice = await controller.robust_select(
        own_world=config.world.preset,
        world_evaluators=evaluators,
        seed_ids=list(seed_ids.values()),
        replicates=config.world.validate_replicates,
    )
    if choice is not None:
        verb = "kept" if choice.chosen == choice.incumbent else "crowned"
        progress.note(
            f"robust selection {verb} {choice.chosen[:12]} (worst-world gain over the best seed "
            f"{choice.worst[choice.chosen]:+.3f})"
        )
    return choice


def _summary(
    archive: Any,
    db: Path,
    champion: Any,
    seed_ids: Mapping[str, str],
    test: Mapping[str, Any],
    controller: Controller,
    simulated: bool,
) -> dict[str, Any]:
    def stage_metrics(pid: str, stage: str) -> Any:
        evs = archive.evaluations(pid, stage=stage)
        return evs[-1].metrics if evs else None

    return {
        "simulated": simulated,
        "db": str(db),
        "evaluations": controller.budget.spent.evaluations,
        "programs": int(archive.counts().get("programs", 0)),
        "stop_reason": controller.stop_reason,
        "champion": None
        if champion is None
        else {
            "id": champion.id,
            "train": stage_metrics(champion.id, "train"),
            "validation": stage_metrics(champion.id, "validation"),
            # fitness over validation contexts x replicates, with its interval (issue 13)
            "validation_interval": (
                controller.champion.as_dict()
                if controller.champion is not None and controller.champion.program_id == champion.id
                else None
            ),
        },
        "seeds": {seed_key(label): stage_metrics(pid, "validation") for label, pid in seed_ids.items()},
        "seed_ids": {seed_key(label): pid for label, pid in seed_ids.items()},
        "test": {
            label: test[label]
            for label in (
                "champion",
                "naive",
                "batch",
                "sobol",
                *sorted(set(test) - {"champion", "naive", "batch", "sobol"}),
            )
            if label in test
        },
        "rejections": dict(controller.stats.rejections),
        "statuses": dict(controller.stats.statuses),
        "races": dict(controller.stats.races),
        "race_evaluations": controller.stats.race_evaluations,
        "failures": controller.stats.failures,
        "spend": spend_of(archive),  # LLM calls by stage and role, every session (issue 22 item 5)
    }


def run_references(config: RunConfig, contexts: ContextSets) -> dict[str, Any]:
    """The noise floor and random reference of the run's validation and test contexts
    (:func:`metrics.mean_references`; no model involved), for the summary and report::

        {"n": int, "mc_samples": int, "random_seeds": int,
         "validation": {"floor": {six}, "random": {six}, "fitness": {"floor", "random"}} | None,
         "test": ... | None}
    """
    from metrics import RANDOM_SEEDS, mean_references

    n, mc = config.evaluation.n, config.evaluation.mc_samples
    objective = config.fitness.as_objective()
    return {
        "n": n,
        "mc_samples": mc,
        "random_seeds": RANDOM_SEEDS,
        **{
            stage: mean_references(
                [(n, c.k) for c in getattr(contexts, stage)], mc_samples=mc, objective=objective
            )
            for stage in ("validation", "test")
        },
    }


REFERENCE_LABELS = {"floor": "floor (n × centre)", "random": "random (uniform)"}


def reference_lines(summary: Mapping[str, Any], stage: str) -> list[str]:
    """Text rows of the references of ``stage`` in the layout of the run summary's metric
    table (label in 22 columns, each metric in 14), to print under the programs' rows."""
    from metrics import METRIC_NAMES

    refs = (summary.get("references") or {}).get(stage)
    if not refs:
        return []
    return [
        f"{REFERENCE_LABELS[kind]:22}"
        + "".join(f"{refs[kind].get(name, float('nan')):>14.4f}" for name in METRIC_NAMES)
        for kind in ("floor", "random")
    ]
