"""The sections of the run configuration that say how programs are evaluated and searched:
one frozen dataclass per TOML table (the rest, and :class:`RunConfig`, in
:mod:`evolve.config.run_sections`).

Types and ranges are declared on the fields (``Annotated[..., Field(...)]``) and checked by
pydantic when a config is read (:mod:`evolve.config.loading`); checks that span fields
live in :mod:`evolve.config.rules`. A role's model is :class:`generators.llm.ModelConfig`,
a grid axis :class:`archive.records.DescriptorSpec` and the ``[search]`` table
:class:`evolve.common.search.SearchSettings`: one type per concept, shared with the layer that uses it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, ConfigDict, Field, with_config

from archive.records import (
    DEFAULT_BINS,
    DEFAULT_DESCRIPTORS,
    DescriptorSpec,
    declared_spec,
)
from evolve.config.errors import suggest
from generators.llm.config import ROLES, ModelConfig
from metrics.descriptors import DESCRIPTORS

__all__ = [
    "ROLES",
    "STRICT_KEYS",
    "ArchiveSettings",
    "AtLeast1",
    "CascadeConfig",
    "ContextsConfig",
    "EvaluationConfig",
    "FitnessConfig",
    "IslandsConfig",
    "ModelsConfig",
    "MutationConfig",
    "Names",
]


def _listed(value: Any) -> Any:
    """A lone string or table where a list is expected is a list of one; lists become tuples."""
    if isinstance(value, (str, Mapping)):
        return (value,)
    return tuple(value) if isinstance(value, list) else value


def _model(value: Any) -> Any:
    """``persona = "openai/gpt-4o-mini"`` is short for ``persona = {model = "openai/gpt-4o-mini"}``."""
    return {"model": value} if isinstance(value, str) else value


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _declared(value: Any) -> Any:
    """A descriptor as a config declares it (``name``, ``bins``, optional ``low``/``high``/
    ``log``) completed to every field of :class:`DescriptorSpec` by :func:`declared_spec`.
    A stored spec (it has ``calibrate``) and entries of the wrong types pass unchanged, for
    pydantic to check and name."""
    if not isinstance(value, Mapping) or "calibrate" in value or not isinstance(value.get("name"), str):
        return value
    if value["name"] not in DESCRIPTORS:
        raise ValueError(
            f"unknown descriptor {value['name']!r}{suggest(value['name'], DESCRIPTORS)} "
            f"(known: {', '.join(DESCRIPTORS)})"
        )
    low, high, log = value.get("low"), value.get("high"), value.get("log")
    if not all(v is None or _number(v) for v in (low, high)) or not (log is None or isinstance(log, bool)):
        return value
    spec = declared_spec(value["name"], low=low, high=high, log=log)
    return {
        **value,
        "low": spec.low,
        "high": spec.high,
        "log": spec.log,
        "calibrate": spec.calibrate,
        "bins": value.get("bins", DEFAULT_BINS),
    }


Names = Annotated[tuple[str, ...], BeforeValidator(_listed)]
Role = Annotated[ModelConfig, BeforeValidator(_model)]
Declared = Annotated[DescriptorSpec, BeforeValidator(_declared)]
AtLeast1 = Annotated[int, Field(ge=1)]
STRICT_KEYS = ConfigDict(extra="forbid")
"""Unknown keys are errors, in every section and in the dataclasses nested in one."""


@with_config(STRICT_KEYS)
@dataclass(frozen=True)
class ModelsConfig:
    """The model of each role (``"sim"``: the simulated world). A role is a table
    (:class:`generators.llm.ModelConfig`'s fields) or just the model string."""

    mutator: Role = field(default_factory=ModelConfig)
    persona: Role = field(default_factory=ModelConfig)
    respondent: Role = field(default_factory=ModelConfig)
    author: Role = field(default_factory=ModelConfig)

    def uses_sim(self) -> bool:
        """True when any role runs on the simulated world."""
        return any(getattr(self, role).is_sim for role in ROLES)


@with_config(STRICT_KEYS)
@dataclass(frozen=True)
class ContextsConfig:
    """Which contexts each stage uses: split names, directories, files or shipped ids."""

    train: Names = ("train",)
    validation: Names = ("validation",)
    test: Names = ("test",)


@with_config(STRICT_KEYS)
@dataclass(frozen=True)
class EvaluationConfig:
    """How one program is evaluated.

    ``n`` (>= 2): personas per context. ``mc_samples`` (>= 100): Monte Carlo points of the
    metrics. ``timeout_s`` (finite, > 0): wall limit of one sandboxed evaluation (all its
    contexts), seconds. ``memory_mb`` (>= 64): address-space limit of the sandbox. ``disk_mb``:
    size of the sandbox's working directory (a tmpfs that vanishes with it), MiB.
    ``max_completion_tokens``: the most a program may ask of one completion (a larger
    ``max_tokens`` is lowered to it). ``parallel``: contexts generated concurrently inside one
    sandbox. ``respondent_mode`` (real respondent models only; the sim respondent makes no
    calls): ``questionnaire`` (default) one call per persona for the whole questionnaire as
    JSON, invalid or missing items re-asked one by one; ``axis`` one call per axis; ``item``
    one call per item (most independent, about 12x the calls). ``respondent_per_axis = true``
    is the older spelling of ``axis``. ``weak_sandbox``: evaluate LLM-written programs even
    where the kernel lacks an isolation layer (PID/network namespaces, Landlock, seccomp); off
    by default, and every output of such a run says so.
    """

    n: Annotated[int, Field(ge=2)] = 25
    mc_samples: Annotated[int, Field(ge=100)] = 10_000
    timeout_s: Annotated[float, Field(gt=0, allow_inf_nan=False)] = 120.0
    memory_mb: Annotated[int, Field(ge=64)] = 2048
    disk_mb: AtLeast1 = 64
    max_completion_tokens: AtLeast1 = 4096
    parallel: AtLeast1 = 4
    respondent_per_axis: bool = False
    respondent_mode: Literal["questionnaire", "axis", "item"] = "questionnaire"
    weak_sandbox: bool = False

    @property
    def effective_respondent_mode(self) -> str:
        """``axis`` when ``respondent_per_axis`` is set, else ``respondent_mode``."""
        return "axis" if self.respondent_per_axis else self.respondent_mode


@with_config(STRICT_KEYS)
@dataclass(frozen=True)
class CascadeConfig:
    """Which train contexts a candidate is scored on.

    ``screen_contexts`` (>= 0): a candidate's train fitness (what the archive compares) is its
    mean over a fixed screening set of this many train contexts, drawn once per run from the
    run seed, stratified by axis count; every program (seeds included) is scored on the same
    set, and promotion races use it too, so comparisons stay paired; an island's best is then
    checked on the validation contexts. 0 = every train context. Unset: 8 when the persona or
    respondent role is a real model (about 13 % of the dollars of one call per item on 30
    contexts, ranking programs at Spearman 0.94; ``scripts/bench_cost.py``), every train
    context when both are ``sim`` (free).

    A candidate is evaluated on ``smoke_contexts`` of those contexts first and goes on to
    the rest only if its smoke fitness is at least ``threshold`` times the best
    smoke-context fitness among its island's elites (``threshold`` in [0, 1.5]; 0 = off).
    """

    smoke_contexts: Annotated[int, Field(ge=0)] = 2
    threshold: Annotated[float, Field(ge=0.0, le=1.5)] = 0.9
    screen_contexts: Annotated[int, Field(ge=0)] | None = None


@with_config(STRICT_KEYS)
@dataclass(frozen=True)
class IslandsConfig:
    """Islands of the MAP-Elites archive; intervals count full evaluations."""

    count: AtLeast1 = 3
    migration_interval: AtLeast1 = 30
    migration_count: Annotated[int, Field(ge=0)] = 1
    stagnation: AtLeast1 = 120
    reset_fraction: Annotated[float, Field(ge=0.0, le=1.0)] = 0.34


@with_config(STRICT_KEYS)
@dataclass(frozen=True)
class ArchiveSettings:
    """The ``[archive]`` table: the grid's descriptors (``[[archive.descriptors]]``, each
    ``name``, ``bins`` and optionally a fixed ``low``/``high`` and ``log``; see
    :func:`archive.records.declared_spec`; default :data:`archive.records.DEFAULT_DESCRIPTORS`)
    and ``calibrate_after``, the evaluations (all stages, seeds included) whose descriptor
    values set the ranges of descriptors declared without one."""

    descriptors: Annotated[tuple[Declared, ...], BeforeValidator(_listed)] = DEFAULT_DESCRIPTORS
    calibrate_after: Annotated[int, Field(ge=0)] = 20


@with_config(STRICT_KEYS)
@dataclass(frozen=True)
class FitnessConfig:
    """Objective: a metric name, or weights per metric (lower-is-better metrics are turned)."""

    objective: str = "coverage"
    weights: Mapping[str, float] | None = None

    def as_objective(self) -> str | dict[str, float]:
        return dict(self.weights) if self.weights else self.objective


@with_config(STRICT_KEYS)
@dataclass(frozen=True)
class MutationConfig:
    """``full_rewrite_rate`` in [0, 1]: share of proposals asked as whole-program rewrites.
    ``parent_strategy``: uniform | fitness | curiosity | mixed."""

    full_rewrite_rate: Annotated[float, Field(ge=0.0, le=1.0)] = 0.1
    inspirations: Annotated[int, Field(ge=0)] = 2
    parent_strategy: Literal["uniform", "fitness", "curiosity", "mixed"] = "mixed"
