"""Run configuration: frozen dataclasses, loaded from TOML, overridden by flags.

Every section is a frozen dataclass; :func:`load_config` builds a :class:`RunConfig`
from a TOML file and rejects unknown or mistyped keys with a message that names the
key and suggests the closest valid one. :func:`config_to_dict` gives the plain form
that is printed by ``run --print-config`` and stored with the run in the archive.
The ``[search]`` table is :class:`evolve.common.search.SearchSettings` itself (its defaults and
its own checks, reported as ``search.<key>``).
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import tomli_w

from evolve.common.search import SearchSettingError, SearchSettings
from generators.sim.worlds import UnknownWorld, get_world

ROLES: tuple[str, ...] = ("mutator", "persona", "respondent", "author")


class ConfigError(ValueError):
    """A configuration problem; the message names the key (``section.key``) and the fix."""


@dataclass(frozen=True)
class RoleModel:
    """The model for one role. ``model`` is a litellm model string or ``"sim"``.

    ``api_key_env`` names the environment variable holding the key (keys never live in
    the config). ``temperature`` in [0, 2]; ``timeout_s`` in seconds.
    """

    model: str = "sim"
    api_base: str | None = None
    api_key_env: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    timeout_s: float = 60.0


@dataclass(frozen=True)
class ModelsConfig:
    mutator: RoleModel = field(default_factory=RoleModel)
    persona: RoleModel = field(default_factory=RoleModel)
    respondent: RoleModel = field(default_factory=RoleModel)
    author: RoleModel = field(default_factory=RoleModel)

    def uses_sim(self) -> bool:
        """True when any role runs on the simulated world."""
        return any(getattr(self, role).model == "sim" for role in ROLES)


@dataclass(frozen=True)
class ContextsConfig:
    """Which contexts each stage uses: split names, directories, files or shipped ids."""

    train: tuple[str, ...] = ("train",)
    validation: tuple[str, ...] = ("validation",)
    test: tuple[str, ...] = ("test",)


@dataclass(frozen=True)
class EvaluationConfig:
    """How one program is evaluated.

    ``n``: personas per context. ``mc_samples``: Monte Carlo points of the metrics.
    ``timeout_s``: wall limit of one sandboxed evaluation (all its contexts), seconds.
    ``memory_mb``: address-space limit of the sandbox. ``disk_mb``: size of the sandbox's
    working directory (a tmpfs that vanishes with it), MiB. ``max_completion_tokens``: the
    most a program may ask of one completion (a larger ``max_tokens`` is lowered to it).
    ``parallel``: contexts generated
    concurrently inside one sandbox. ``respondent_mode`` (real respondent models only; the
    sim respondent makes no calls): ``questionnaire`` (default) one call per persona for
    the whole questionnaire as JSON, invalid or missing items re-asked one by one;
    ``axis`` one call per axis; ``item`` one call per item (most independent, about 12x the
    calls). ``respondent_per_axis = true`` is the older spelling of ``axis``. ``weak_sandbox``: evaluate
    LLM-written programs even where the kernel lacks an isolation layer (PID/network
    namespaces, Landlock, seccomp); off by default, and every output of such a run says so.
    """

    n: int = 25
    mc_samples: int = 10_000
    timeout_s: float = 120.0
    memory_mb: int = 2048
    disk_mb: int = 64
    max_completion_tokens: int = 4096
    parallel: int = 4
    respondent_per_axis: bool = False
    respondent_mode: str = "questionnaire"
    weak_sandbox: bool = False

    @property
    def effective_respondent_mode(self) -> str:
        """``axis`` when ``respondent_per_axis`` is set, else ``respondent_mode``."""
        return "axis" if self.respondent_per_axis else self.respondent_mode


@dataclass(frozen=True)
class CascadeConfig:
    """Which train contexts a candidate is scored on.

    ``screen_contexts``: a candidate's train fitness (what the archive compares) is its mean
    over a fixed screening set of this many train contexts, drawn once per run from the run
    seed, stratified by axis count; every program (seeds included) is scored on the same
    set, and promotion races use it too, so comparisons stay paired; an island's best is
    then checked on the validation contexts. 0 = every train context. Unset: 8 when the persona or
    respondent role is a real model (about 13 % of the dollars of one call per item on 30
    contexts, ranking programs at Spearman 0.94; ``scripts/bench_cost.py``), every train
    context when both are ``sim`` (free).

    A candidate is evaluated on ``smoke_contexts`` of those contexts first and goes on to
    the rest only if its smoke fitness is at least ``threshold`` times the best
    smoke-context fitness among its island's elites (``threshold`` in [0, 1.5]; 0 = off).
    """

    smoke_contexts: int = 2
    threshold: float = 0.9
    screen_contexts: int | None = None


@dataclass(frozen=True)
class IslandsConfig:
    """Islands of the MAP-Elites archive; intervals count full evaluations."""

    count: int = 3
    migration_interval: int = 30
    migration_count: int = 1
    stagnation: int = 120
    reset_fraction: float = 0.34


@dataclass(frozen=True)
class DescriptorConfig:
    """One axis of the MAP-Elites grid: a descriptor of :data:`metrics.descriptors.DESCRIPTORS`
    in ``bins`` bins. ``low``/``high`` both given: fixed bins over that range; both left
    out: the range is calibrated from the run's first evaluations and frozen
    (:mod:`archive.calibration`). ``log``: log-spaced bins (default: the descriptor's own scale)."""

    name: str
    bins: int = 6
    low: float | None = None
    high: float | None = None
    log: bool | None = None


DEFAULT_DESCRIPTORS: tuple[DescriptorConfig, ...] = (
    DescriptorConfig(name="outer_share", bins=8),
    DescriptorConfig(name="axis_correlation", bins=8),
)
"""Chosen by measurement (``scripts/bench_archive_value.py --measure``, README "The
MAP-Elites archive"): over the programs sim runs evaluate these two fill most calibrated
bins while neither restates fitness nor the other; cost and strategy descriptors barely
move under mutation (the cost front, ``inspect front``, serves cost). Ranges from data."""


@dataclass(frozen=True)
class ArchiveSettings:
    """The ``[archive]`` table: the grid's descriptors (``[[archive.descriptors]]``) and
    ``calibrate_after``, the evaluations (all stages, seeds included) whose descriptor
    values set the ranges of descriptors declared without one."""

    descriptors: tuple[DescriptorConfig, ...] = DEFAULT_DESCRIPTORS
    calibrate_after: int = 20


@dataclass(frozen=True)
class FitnessConfig:
    """Objective: a metric name, or weights per metric (lower-is-better metrics are turned)."""

    objective: str = "coverage"
    weights: Mapping[str, float] | None = None

    def as_objective(self) -> str | dict[str, float]:
        return dict(self.weights) if self.weights else self.objective


@dataclass(frozen=True)
class MutationConfig:
    """``full_rewrite_rate`` in [0, 1]: share of proposals asked as whole-program rewrites.
    ``parent_strategy``: uniform | fitness | curiosity | mixed."""

    full_rewrite_rate: float = 0.1
    inspirations: int = 2
    parent_strategy: str = "mixed"


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


@dataclass(frozen=True)
class RayConfig:
    """``address``: None = a local Ray; else ``ray://`` or ``host:port`` of a cluster.
    ``pass_env``: names of environment variables forwarded to workers (API keys)."""

    address: str | None = None
    num_cpus: int = 2
    object_store_mb: int = 200
    max_in_flight: int | None = None
    pass_env: tuple[str, ...] = ()


@dataclass(frozen=True)
class SeedsConfig:
    """The programs a run starts from (evaluated first, then mutated like any other).

    ``programs``: any mix of shipped seeds (``seed:naive``, ``seed:batch``, ``seed:sobol``)
    and Concordia persona generator classes (``concordia:FILE.py`` or
    ``concordia:FILE.py:ClassName``, wrapped as evolvable programs; they need Python >= 3.12
    with gdm-concordia, see ``scripts/concordia_env``) and generator files of the user's own
    (``file:PATH.py`` or a bare path ending in ``.py``; relative to the config file's folder,
    read once at run start and stored in the archive; see :mod:`evolve.common.seed_programs`)."""

    programs: tuple[str, ...] = ("seed:naive", "seed:batch", "seed:sobol")


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
    validate: tuple[str, ...] = ()
    validate_replicates: int = 2


@dataclass(frozen=True)
class RunConfig:
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
    real = any(getattr(config.models, role).model != "sim" for role in ("persona", "respondent"))
    screen = REAL_MODEL_SCREEN_CONTEXTS if real else 0
    return dataclasses.replace(config, cascade=dataclasses.replace(config.cascade, screen_contexts=screen))


def _suggest(key: str, valid: typing.Iterable[str]) -> str:
    match = difflib.get_close_matches(key, list(valid), n=1, cutoff=0.5)
    return f" (did you mean '{match[0]}'?)" if match else ""


def _build(cls: type, data: Any, where: str) -> Any:
    """Build dataclass ``cls`` from a mapping, checking keys and types."""
    if isinstance(data, cls):
        return data
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where or 'config'}: expected a table, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{where}.{key}" if where else key
        if key not in fields:
            raise ConfigError(f"{path}: unknown key{_suggest(key, fields)}")
        kwargs[key] = _coerce(hints[key], value, path)
    try:
        return cls(**kwargs)
    except SearchSettingError as exc:  # the dataclass's own check, naming its field
        raise ConfigError(f"{where}.{exc.key}: {exc.reason}") from None
    except TypeError as exc:
        raise ConfigError(f"{where or 'config'}: {exc}") from None


def _coerce(hint: Any, value: Any, path: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        non_none = [a for a in args if a is not type(None)]
        errors = []
        for arg in non_none:
            try:
                return _coerce(arg, value, path)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0])
    if hint is RoleModel and isinstance(value, str):
        return RoleModel(model=value)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _build(hint, value, path)
    if origin is tuple:
        items = [value] if isinstance(value, (str, Mapping)) else value
        if not isinstance(items, (list, tuple)):
            raise ConfigError(f"{path}: expected a list, got {type(value).__name__}")
        return tuple(_coerce(args[0], v, f"{path}[{i}]") for i, v in enumerate(items))
    if origin in (Mapping, dict) or hint is Mapping:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{path}: expected a table, got {type(value).__name__}")
        return {str(k): _coerce(args[1], v, f"{path}.{k}") for k, v in value.items()}
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{path}: expected true/false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{path}: expected an integer, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{path}: expected a number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{path}: expected a string, got {value!r}")
        return value
    return value


def config_from_dict(data: Mapping[str, Any]) -> RunConfig:
    """Build and check a :class:`RunConfig` from a plain mapping (TOML-shaped). A top-level
    ``descriptors`` list (the form before the ``[archive]`` table, as runs stored then
    hold it) is read as ``archive.descriptors``."""
    data = _legacy_descriptors(data)
    config = _build(RunConfig, data, "")
    validate_config(config)
    return config


def _legacy_descriptors(data: Mapping[str, Any]) -> Mapping[str, Any]:
    if not isinstance(data, Mapping) or "descriptors" not in data:
        return data
    archive = data.get("archive", {})
    if isinstance(archive, Mapping) and "descriptors" in archive:
        raise ConfigError("descriptors: declared both at the top level and in [archive]; keep [[archive.descriptors]]")
    rest = {k: v for k, v in data.items() if k != "descriptors"}
    return {**rest, "archive": {**(archive if isinstance(archive, Mapping) else {}),
                                "descriptors": data["descriptors"]}}


def load_config(path: str | Path) -> RunConfig:
    """Read a TOML file; every error names the file and the key."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except (RecursionError, MemoryError):
        raise ConfigError(f"{path}: invalid TOML: nested too deeply") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        config = config_from_dict(raw)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return with_seed_paths(config, path.parent)


def with_seed_paths(config: RunConfig, base: Path) -> RunConfig:
    """``config`` with every relative generator-file path of ``[seeds] programs`` made
    absolute against ``base`` (a config file's folder, or the current directory)."""
    from evolve.common.seed_programs import resolve_file_ref

    programs = tuple(resolve_file_ref(ref, base) for ref in config.seeds.programs)
    return dataclasses.replace(config, seeds=dataclasses.replace(config.seeds, programs=programs))


def validate_config(config: RunConfig) -> None:
    """Range checks that types alone cannot express."""
    checks: list[tuple[bool, str]] = [
        (config.evaluation.n >= 2, "evaluation.n: must be >= 2"),
        (config.evaluation.mc_samples >= 100, "evaluation.mc_samples: must be >= 100"),
        (config.evaluation.timeout_s > 0, "evaluation.timeout_s: must be > 0"),
        (config.evaluation.parallel >= 1, "evaluation.parallel: must be >= 1"),
        (config.evaluation.memory_mb >= 64, "evaluation.memory_mb: must be >= 64"),
        (config.evaluation.disk_mb >= 1, "evaluation.disk_mb: must be >= 1"),
        (config.evaluation.max_completion_tokens >= 1, "evaluation.max_completion_tokens: must be >= 1"),
        (config.cascade.smoke_contexts >= 0, "cascade.smoke_contexts: must be >= 0"),
        (config.cascade.screen_contexts is None or config.cascade.screen_contexts >= 0,
         "cascade.screen_contexts: must be >= 0 (0 = every train context)"),
        (0.0 <= config.cascade.threshold <= 1.5, "cascade.threshold: must be in [0, 1.5]"),
        (config.islands.count >= 1, "islands.count: must be >= 1"),
        (config.islands.migration_interval >= 1, "islands.migration_interval: must be >= 1"),
        (0.0 <= config.mutation.full_rewrite_rate <= 1.0,
         "mutation.full_rewrite_rate: must be in [0, 1]"),
        (config.mutation.parent_strategy in ("uniform", "fitness", "curiosity", "mixed"),
         "mutation.parent_strategy: must be uniform, fitness, curiosity or mixed"),
        (config.ray.num_cpus >= 1, "ray.num_cpus: must be >= 1"),
        (config.evaluation.respondent_mode in ("item", "axis", "questionnaire"),
         "evaluation.respondent_mode: must be item, axis or questionnaire"),
        (math.isfinite(config.evaluation.timeout_s), "evaluation.timeout_s: must be a finite number of seconds"),
    ]
    for ok, message in checks:
        if not ok:
            raise ConfigError(message)
    try:
        get_world(config.world.preset)
    except UnknownWorld as exc:
        raise ConfigError(f"world.preset: {exc}") from None
    for i, name in enumerate(config.world.validate):
        try:
            get_world(name)
        except UnknownWorld as exc:
            raise ConfigError(f"world.validate[{i}]: {exc}") from None
    if config.world.validate_replicates < 1:
        raise ConfigError(f"world.validate_replicates: must be >= 1, got {config.world.validate_replicates!r}")
    if config.world.validate and all(getattr(config.models, r).model != "sim" for r in ("persona", "respondent")):
        raise ConfigError("world.validate: robust selection across simulated worlds needs the persona or "
                          "respondent role on 'sim' (both are real models here)")
    for name, cap in (("evaluations", config.budget.evaluations), ("llm_calls", config.budget.llm_calls),
                      ("dollars", config.budget.dollars), ("minutes", config.budget.minutes)):
        if cap is not None and not (math.isfinite(cap) and cap > 0):
            raise ConfigError(f"budget.{name}: must be a finite number > 0, got {cap!r} (or left out for no cap)")
    if all(cap is None for cap in dataclasses.astuple(config.budget)):
        raise ConfigError("budget: set at least one cap (evaluations, llm_calls, dollars or minutes)")
    _check_archive(config.archive)
    _check_objective(config.fitness)
    _check_seeds(config.seeds)


def _check_archive(archive: ArchiveSettings) -> None:
    from metrics.descriptors import DESCRIPTORS

    names = [d.name for d in archive.descriptors]
    if not names:
        raise ConfigError("archive.descriptors: list at least one descriptor (one with bins = 1 turns the grid off)")
    if len(set(names)) != len(names):
        raise ConfigError(f"archive.descriptors: duplicate names {names}")
    if archive.calibrate_after < 0:
        raise ConfigError(f"archive.calibrate_after: must be >= 0, got {archive.calibrate_after}")
    for d in archive.descriptors:
        where = f"archive.descriptors.{d.name}"
        if d.name not in DESCRIPTORS:
            raise ConfigError(f"archive.descriptors: unknown descriptor '{d.name}'{_suggest(d.name, DESCRIPTORS)}"
                              f" (known: {', '.join(DESCRIPTORS)})")
        if d.bins < 1:
            raise ConfigError(f"{where}: bins must be >= 1, got {d.bins}")
        if (d.low is None) != (d.high is None):
            raise ConfigError(f"{where}: give both low and high (fixed bins) or neither (bins from data)")
        log = DESCRIPTORS[d.name].log if d.log is None else d.log
        if d.low is not None and d.high is not None and (not (math.isfinite(d.low) and math.isfinite(d.high))
                                                         or not d.high > d.low or (log and d.low <= 0)):
            raise ConfigError(f"{where}: need finite high > low, and low > 0 when log; got [{d.low}, {d.high}]")


def _check_seeds(seeds: SeedsConfig) -> None:
    from evolve.common.seed_programs import is_file_ref
    from generators.seeds import SEED_NAMES

    if not seeds.programs:
        raise ConfigError("seeds.programs: list at least one seed program")
    for ref in seeds.programs:
        if ref.startswith("seed:"):
            name = ref.split(":", 1)[1]
            if name not in SEED_NAMES:
                raise ConfigError(f"seeds.programs: unknown seed {ref!r}{_suggest(name, SEED_NAMES)}")
        elif not ref.startswith("concordia:") and not is_file_ref(ref):
            raise ConfigError(f"seeds.programs: {ref!r} is neither seed:NAME, concordia:FILE.py[:Class] "
                              f"nor a generator file (file:PATH.py or PATH.py)")
    if len(set(seeds.programs)) != len(seeds.programs):
        raise ConfigError(f"seeds.programs: duplicate entries {list(seeds.programs)}")


def _check_objective(fitness: FitnessConfig) -> None:
    from metrics import METRIC_NAMES

    names = list(fitness.weights) if fitness.weights else [fitness.objective]
    for name in names:
        if name not in METRIC_NAMES:
            raise ConfigError(f"fitness: unknown metric '{name}'{_suggest(name, METRIC_NAMES)}")


def replace_path(config: RunConfig, dotted: str, value: Any) -> RunConfig:
    """Return a copy with ``section.key`` set to ``value`` (used for command-line flags)."""
    replaced: RunConfig = _replaced(config, dotted, value)
    return replaced


def _replaced(node: Any, dotted: str, value: Any) -> Any:
    """A copy of the dataclass ``node`` with the dotted path under it set to ``value``."""
    head, _, rest = dotted.partition(".")
    return dataclasses.replace(node, **{head: _replaced(getattr(node, head), rest, value) if rest else value})


def config_to_dict(config: Any) -> Any:
    """Plain (JSON/TOML-friendly) form of a config or any part of it."""
    if dataclasses.is_dataclass(config):
        return {f.name: config_to_dict(getattr(config, f.name)) for f in dataclasses.fields(config)}
    if isinstance(config, (tuple, list)):
        return [config_to_dict(v) for v in config]
    if isinstance(config, Mapping):
        return {k: config_to_dict(v) for k, v in config.items()}
    return config


def _without_none(value: Any) -> Any:
    """``value`` with every None left out of its tables and arrays (TOML has no null)."""
    if isinstance(value, Mapping):
        return {key: _without_none(v) for key, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_without_none(v) for v in value if v is not None]
    return value


def to_toml(data: Mapping[str, Any]) -> str:
    """Render the plain config dict as TOML with tomli-w (None values are left out); the text
    reads back with :mod:`tomllib` to the same dict, None values aside."""
    return tomli_w.dumps(_without_none(data))
