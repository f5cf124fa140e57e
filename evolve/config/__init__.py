"""Run configuration: frozen dataclasses, loaded from TOML, overridden by flags.

Every section is a frozen dataclass (:mod:`evolve.config.sections`, :mod:`evolve.config.run_sections`);
:func:`load_config` builds a :class:`RunConfig` from a TOML file, pydantic checking types and ranges and
:mod:`evolve.config.rules` what spans fields, and rejects unknown or mistyped keys with one
line that names the key and suggests the closest valid one (:mod:`evolve.config.errors`).
:func:`config_to_dict` gives the plain form that is printed by ``run --print-config`` and
stored with the run in the archive (:mod:`evolve.config.writing`). The ``[search]`` table
is :class:`evolve.common.search.SearchSettings` itself (its defaults and its own checks, reported
as ``search.<key>``), a role's model :class:`generators.llm.ModelConfig` and a grid axis
:class:`archive.records.DescriptorSpec`.
"""

from evolve.config.errors import ConfigError
from evolve.config.loading import (
    config_from_dict,
    load_config,
    replace_path,
    validate_config,
    with_seed_paths,
)
from evolve.config.run_sections import (
    DEFAULT_BUDGET,
    REAL_MODEL_SCREEN_CONTEXTS,
    BudgetConfig,
    RayConfig,
    RunConfig,
    SeedsConfig,
    WorldConfig,
    resolve_screen,
)
from evolve.config.sections import (
    ROLES,
    ArchiveSettings,
    CascadeConfig,
    ContextsConfig,
    EvaluationConfig,
    FitnessConfig,
    IslandsConfig,
    ModelsConfig,
    MutationConfig,
)
from evolve.config.writing import config_to_dict, to_toml

__all__ = [
    "DEFAULT_BUDGET",
    "REAL_MODEL_SCREEN_CONTEXTS",
    "ROLES",
    "ArchiveSettings",
    "BudgetConfig",
    "CascadeConfig",
    "ConfigError",
    "ContextsConfig",
    "EvaluationConfig",
    "FitnessConfig",
    "IslandsConfig",
    "ModelsConfig",
    "MutationConfig",
    "RayConfig",
    "RunConfig",
    "SeedsConfig",
    "WorldConfig",
    "config_from_dict",
    "config_to_dict",
    "load_config",
    "replace_path",
    "resolve_screen",
    "to_toml",
    "validate_config",
    "with_seed_paths",
]
