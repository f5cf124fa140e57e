"""Checks that span fields or look names up elsewhere (worlds, metrics, seeds), run on a
config whose types and ranges pydantic has already checked. Each raises one
:class:`ConfigError` line naming the key."""

from __future__ import annotations

import dataclasses
import math

from evolve.config.errors import ConfigError, suggest
from evolve.config.run_sections import RunConfig, SeedsConfig
from evolve.config.sections import ROLES, ArchiveSettings, FitnessConfig, ModelsConfig

_BUDGET_CAPS = ("evaluations", "llm_calls", "dollars", "minutes")


def check_rules(config: RunConfig) -> None:
    """Raise :class:`ConfigError` for the first rule ``config`` breaks."""
    _check_models(config.models)
    _check_world(config)
    _check_budget(config)
    _check_archive(config.archive)
    _check_objective(config.fitness)
    _check_seeds(config.seeds)


def _check_models(models: ModelsConfig) -> None:
    for role in ROLES:
        extra = getattr(models, role).extra
        if "api_key" in extra:
            raise ConfigError(
                f"models.{role}.extra.api_key: keys never live in the config; name the environment "
                f"variable holding it in models.{role}.api_key_env"
            )


def _check_world(config: RunConfig) -> None:
    from generators.sim.worlds import UnknownWorld, get_world

    for where, name in (
        ("world.preset", config.world.preset),
        *((f"world.validate[{i}]", n) for i, n in enumerate(config.world.validate)),
    ):
        try:
            get_world(name)
        except UnknownWorld as exc:
            raise ConfigError(f"{where}: {exc}") from None
    if config.world.validate and not (config.models.persona.is_sim or config.models.respondent.is_sim):
        raise ConfigError(
            "world.validate: robust selection across simulated worlds needs the persona or "
            "respondent role on 'sim' (both are real models here)"
        )


def _check_budget(config: RunConfig) -> None:
    for name in _BUDGET_CAPS:
        cap = getattr(config.budget, name)
        if cap is not None and not (math.isfinite(cap) and cap > 0):
            raise ConfigError(
                f"budget.{name}: must be a finite number > 0, got {cap!r} (or left out for no cap)"
            )
    if all(cap is None for cap in dataclasses.astuple(config.budget)):
        raise ConfigError("budget: set at least one cap (evaluations, llm_calls, dollars or minutes)")


def _check_archive(archive: ArchiveSettings) -> None:
    names = [d.name for d in archive.descriptors]
    if not names:
        raise ConfigError(
            "archive.descriptors: list at least one descriptor (one with bins = 1 turns the grid off)"
        )
    if len(set(names)) != len(names):
        raise ConfigError(f"archive.descriptors: duplicate names {names}")


def _check_objective(fitness: FitnessConfig) -> None:
    from metrics import METRIC_NAMES

    names = list(fitness.weights) if fitness.weights else [fitness.objective]
    for name in names:
        if name not in METRIC_NAMES:
            raise ConfigError(f"fitness: unknown metric '{name}'{suggest(name, METRIC_NAMES)}")


def _check_seeds(seeds: SeedsConfig) -> None:
    from evolve.common.seed_programs import is_file_ref
    from generators.seeds import SEED_NAMES

    if not seeds.programs:
        raise ConfigError("seeds.programs: list at least one seed program")
    for ref in seeds.programs:
        if ref.startswith("seed:"):
            name = ref.split(":", 1)[1]
            if name not in SEED_NAMES:
                raise ConfigError(f"seeds.programs: unknown seed {ref!r}{suggest(name, SEED_NAMES)}")
        elif not ref.startswith("concordia:") and not is_file_ref(ref):
            raise ConfigError(
                f"seeds.programs: {ref!r} is neither seed:NAME, concordia:FILE.py[:Class] "
                f"nor a generator file (file:PATH.py or PATH.py)"
            )
    if len(set(seeds.programs)) != len(seeds.programs):
        raise ConfigError(f"seeds.programs: duplicate entries {list(seeds.programs)}")
