"""The sections of the run configuration that say what a run spends, where it runs, what it
starts from and in which world; and :class:`RunConfig`, every section together."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from pydantic import with_config

from evolve.common.search import SearchSettings
from evolve.config.sections import (
    STRICT_KEYS,
    ArchiveSettings,
    AtLeast1,
    CascadeConfig,
    ContextsConfig,
    EvaluationConfig,
    FitnessConfig,
    IslandsConfig,
    ModelsConfig,
    MutationConfig,
    Names,
)

__all__ = [
    "DEFAULT_BUDGET",
    "REAL_MODEL_SCREEN_CONTEXTS",
    "BudgetConfig",
    "RayConfig",
    "RunConfig",
    "SeedsConfig",
    "WorldConfig",
    "resolve_screen",
]


@with_config(STRICT_KEYS)
@dataclass(frozen=True)
class BudgetConfig:
    """The first cap reached stops the run cleanly. None = no cap.

    ``evaluations`` counts full-stage (train) evaluations of proposed programs;
    ``minutes`` is the wall time of the evolution phase. A run given no budget at all
    uses :data:`DEFAULT_BUDGET` (4 minutes); a ``[budget]`` table replaces it whole.
    """

    evaluations: int | None = None
    llm_calls: int | None = None
    dollars: float | None = None
    minutes: float | None = None


DEFAULT_BUDGET = BudgetConfig(minutes=4.0)


@with_config(STRICT_KEYS)
@dataclass(frozen=True)
class RayConfig:
    """``address``: None = a local Ray; else ``ray://`` or ``host:port`` of a cluster.
    ``pass_env``: names of environment variables forwarded to workers (API keys)."""

    address: str | None = None
    num_cpus: AtLeast1 = 2
    object_store_mb: AtLeast1 = 200
    max_in_flight: AtLeast1 | None = None
    pass_env: Names = ()


@with_config(STRICT_KEYS)
@dataclass(frozen=True)
class SeedsConfig:
    """The programs a run starts from (evaluated first, then mutated like any other).

    ``programs``: any mix of shipped seeds (``seed:naive``, ``seed:batch``, ``seed:sobol``)
    and Concordia persona generator classes (``concordia:FILE.py`` or
    ``concordia:FILE.py:ClassName``, wrapped as evolvable programs; they need Python >= 3.12
    with gdm-concordia, see ``scripts/concordia_env``) and generator files of the user's own
    (``file:PATH.py`` or a bare path ending in ``.py``; relative to the config file's folder,
    read once at run start and stored in the archive; see :mod:`evolve.common.seed_programs`)."""

    programs: Names = ("seed:naive", "seed:batch", "seed:sobol")


@with_config(STRICT_KEYS)
@dataclass(frozen=True)
class WorldConfig:
    """The simulated world that roles on ``sim`` run in: ``preset`` names one of
    :data:`generators.sim.worlds.WORLDS` (``persona-evolve worlds`` lists them; ``default``
    is the calibrated sim). Roles on a real model are not affected. ``validate``: other
    worlds the final stage re-validates the best candidates in, crowning the one whose
    worst world is best (robust selection, :mod:`evolve.promotion.robust`; empty: off); needs the
    persona or respondent role on ``sim``. ``validate_replicates`` (>= 1): replicate seeds
    each candidate is validated on in every world; the champion is replaced only when a
    challenger's worst-world advantage is confident at ``search.confidence`` over those
    (replicate, context) pairs."""

    preset: str = "default"
    validate: Names = ()
    validate_replicates: AtLeast1 = 2


@with_config(STRICT_KEYS)
@dataclass(frozen=True)
class RunConfig:
    """The whole run: ``seed`` (run seed), ``db`` (archive path; None = a fresh
    ``runs/<timestamp>/archive.db``), ``out_dir`` (report folder; None = the database's) and
    one section per TOML table."""

    seed: int = 0
    db: str | None = None
    out_dir: str | None = None
    models: ModelsConfig = field(default_factory=ModelsConfig)
    contexts: ContextsConfig = field(default_factory=ContextsConfig)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    cascade: CascadeConfig = field(default_factory=CascadeConfig)
    islands: IslandsConfig = field(default_factory=IslandsConfig)
    archive: ArchiveSettings = field(default_factory=ArchiveSettings)
    fitness: FitnessConfig = field(default_factory=FitnessConfig)
    mutation: MutationConfig = field(default_factory=MutationConfig)
    budget: BudgetConfig = DEFAULT_BUDGET
    ray: RayConfig = field(default_factory=RayConfig)
    seeds: SeedsConfig = field(default_factory=SeedsConfig)
    search: SearchSettings = field(default_factory=SearchSettings)
    world: WorldConfig = field(default_factory=WorldConfig)


REAL_MODEL_SCREEN_CONTEXTS = 8
"""Train contexts per candidate when ``cascade.screen_contexts`` is unset and the persona or
respondent role is a real model (see :class:`CascadeConfig`)."""


def resolve_screen(config: RunConfig) -> RunConfig:
    """``config`` with ``cascade.screen_contexts`` set: unchanged when given, else
    :data:`REAL_MODEL_SCREEN_CONTEXTS` when the persona or respondent role is a real model,
    else 0 (every train context; the sim is free)."""
    if config.cascade.screen_contexts is not None:
        return config
    real = any(not getattr(config.models, role).is_sim for role in ("persona", "respondent"))
    screen = REAL_MODEL_SCREEN_CONTEXTS if real else 0
    return dataclasses.replace(config, cascade=dataclasses.replace(config.cascade, screen_contexts=screen))
