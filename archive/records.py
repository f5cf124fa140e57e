"""Plain value types exchanged with the archive (no SQLAlchemy in here).

Everything is a frozen dataclass so the evolution loop can build, hash and pass these
around freely; the archive converts them to rows and back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from metrics.descriptors import DESCRIPTORS
from metrics.names import METRIC_NAMES as METRIC_NAMES  # re-exported; each metric gets its own column

from .vocab import Outcome, Stage

#: Evaluation stages in cascade order (the values of :class:`archive.vocab.Stage`).
STAGES: tuple[str, ...] = tuple(s.value for s in Stage)


@dataclass(frozen=True)
class MutationInfo:
    """How a program was produced from its parent (operator name, LLM model, tokens)."""

    operator: str
    model: str | None = None
    directive: str | None = None
    diff: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass(frozen=True)
class ProgramRecord:
    """A generator program as proposed by the loop. ``label`` e.g. ``"seed:sobol"``."""

    code: str
    parent_id: str | None
    island: int
    generation: int
    mutation: MutationInfo | None = None
    label: str | None = None


@dataclass(frozen=True)
class ContextResult:
    """One context of one evaluation.

    ``positions`` is the N×K matrix Z in [0, 1] (NaN allowed for unanswered axes);
    ``personas`` are the full persona dicts (row i of ``positions`` is persona i): all
    stored when the evaluation is kept (``EvaluationRecord.keep_personas``,
    ``ArchiveConfig.keep_elite_personas``), otherwise only the exemplars of regions no
    persona of the context had reached (``ArchiveConfig.exemplars_per_cell``).
    ``tokens`` counts LLM tokens spent on this context; ``wall_s`` is seconds.
    ``metrics`` may hold keys beyond the six (stored in ``metrics_extra``): for an
    incomplete population, ``personas_asked``, ``personas_returned``, ``personas_placed``
    (see docs/SCORING.md); positions then have ``personas_returned`` rows.
    """

    context_id: str
    metrics: Mapping[str, float] | None
    positions: np.ndarray | None
    personas: Sequence[Mapping[str, Any]] | None = None
    error: str | None = None
    tokens: int = 0
    missing_answers: int = 0
    wall_s: float = 0.0


@dataclass(frozen=True)
class EvaluationRecord:
    """One evaluation of a program at one cascade ``stage`` ("smoke"|"train"|"validation"|"test").

    ``fitness`` is the scalar the archive ranks by (higher is better); ``metrics`` are the
    per-context means. ``keep_personas`` asks the archive to store the persona texts.
    ``seed``: the evaluation's base seed (None: not recorded); ``replicate``: the
    common-random-numbers replicate it belongs to (None: a fresh, unpaired draw).
    """

    stage: str
    contexts: Sequence[ContextResult]
    fitness: float | None
    metrics: Mapping[str, float] | None
    error: str | None = None
    wall_s: float = 0.0
    keep_personas: bool = False
    seed: int | None = None
    replicate: int | None = None


@dataclass(frozen=True)
class Candidate:
    """A program plus its train-stage evaluation and behaviour descriptors, for ``Archive.add``.

    ``descriptors`` maps descriptor name -> raw value (the archive bins them); when None the
    archive computes the default descriptors from the evaluation. ``error`` marks a
    candidate that failed before or during evaluation.
    """

    program: ProgramRecord
    evaluation: EvaluationRecord | None
    descriptors: Mapping[str, float] | None
    error: str | None = None


#: Outcome of adding one candidate: the StrEnum :class:`archive.vocab.Outcome` (one
#: vocabulary for the writer, the reader and the event log).
AddStatus = Outcome


@dataclass(frozen=True)
class AddResult:
    """Status of one candidate; ``cell`` is the grid cell (bin index per descriptor)."""

    status: AddStatus
    program_id: str | None
    cell: tuple[int, ...] | None
    error: str | None = None
    clipped: tuple[str, ...] = ()


@dataclass(frozen=True)
class DescriptorSpec:
    """One axis of the MAP-Elites grid: descriptor ``name`` in ``bins`` equal bins over
    [low, high] (log-spaced if ``log``).

    Values outside the range go to the edge bin and are counted as clipped. ``calibrate``:
    [low, high] is provisional until the run calibrates it from data
    (``archive.calibration``); once ``ArchiveConfig.calibrated_at`` is set it is frozen.
    A run config declares one with :func:`declared_spec` (range given = fixed bins, no
    range = calibrated); the same type is the ``[[archive.descriptors]]`` entry of
    ``evolve.config`` and the stored form of the archive.
    """

    name: str
    low: float
    high: float
    bins: int
    log: bool = False
    calibrate: bool = False

    def __post_init__(self) -> None:
        if self.bins < 1:
            raise ValueError(f"descriptor {self.name!r}: bins must be >= 1, got {self.bins}")
        if not (math.isfinite(self.low) and math.isfinite(self.high) and self.low < self.high):
            raise ValueError(
                f"descriptor {self.name!r}: need finite low < high, got [{self.low}, {self.high}]"
            )
        if self.log and self.low <= 0:
            raise ValueError(f"descriptor {self.name!r}: log bins need low > 0, got {self.low}")


DEFAULT_BINS = 6
"""Bins of a descriptor declared without ``bins``."""


def declared_spec(
    name: str,
    *,
    bins: int = DEFAULT_BINS,
    low: float | None = None,
    high: float | None = None,
    log: bool | None = None,
) -> DescriptorSpec:
    """The spec of a descriptor of :data:`metrics.descriptors.DESCRIPTORS` as a config
    declares it: ``low``/``high`` both given = fixed bins over that range; both None =
    calibrated from data (the registry's provisional range until then). ``log`` None = the
    descriptor's own scale. Raises ``ValueError`` (one line) for an unknown name, half a
    range or a bad range."""
    if name not in DESCRIPTORS:
        raise ValueError(f"unknown descriptor {name!r} (known: {', '.join(DESCRIPTORS)})")
    d = DESCRIPTORS[name]
    if (low is None) != (high is None):
        raise ValueError(
            f"descriptor {name!r}: give both low and high (fixed bins) or neither (bins from data)"
        )
    is_log = d.log if log is None else bool(log)
    if low is None or high is None:
        lo, hi = d.low, d.high
        if is_log and lo <= 0:
            lo = 1e-3
        return DescriptorSpec(name, float(lo), float(hi), bins, is_log, calibrate=True)
    return DescriptorSpec(name, float(low), float(high), bins, is_log)


DEFAULT_DESCRIPTORS: tuple[DescriptorSpec, ...] = (
    declared_spec("outer_share", bins=8),
    declared_spec("axis_correlation", bins=8),
)
"""The grid of a run (and of an archive) that declares none: ``outer_share`` x
``axis_correlation``, 8 x 8, ranges calibrated from the run's first evaluations. Chosen by
measurement (``scripts/bench_archive_value.py --measure``, README "The MAP-Elites
archive"): over the programs sim runs evaluate these two fill most calibrated bins while
neither restates fitness nor the other; cost and strategy descriptors barely move under
mutation (the cost front, ``inspect front``, serves cost)."""


@dataclass(frozen=True)
class ArchiveConfig:
    """MAP-Elites/island settings; stored with the run and fixed for its life.

    Intervals are counted in evaluations (rows of the ``evaluations`` table of the run).
    ``curiosity_half_life``: evaluations after which a cell's "recently improved" weight halves.
    ``keep_elite_personas``: store persona texts of programs while they are elites (pruned
    when they leave every grid, unless their evaluation asked to keep them).
    ``calibrate_after``/``calibrated_at``: descriptors declared with ``calibrate`` get their
    range from the values of the first ``calibrate_after`` evaluations (``archive.calibration``);
    ``calibrated_at`` is the evaluation count when that happened (None: not yet), after which
    the bins are frozen for the run and stored with it.
    ``exemplars_per_cell``: persona texts kept for good per (context, region), the first
    to land in each region of the context's axis cube (``archive.exemplars``), so every
    region ``inspect rare`` lists has an example; 0 turns exemplars off.
    """

    islands: int = 4
    descriptors: tuple[DescriptorSpec, ...] = DEFAULT_DESCRIPTORS
    migration_interval: int = 50
    migration_count: int = 1
    stagnation_evals: int = 200
    reset_fraction: float = 0.25
    curiosity_half_life: float = 50.0
    keep_elite_personas: bool = True
    exemplars_per_cell: int = 1
    calibrate_after: int = 0
    calibrated_at: int | None = None

    def __post_init__(self) -> None:
        if self.islands < 1:
            raise ValueError(f"ArchiveConfig.islands must be >= 1, got {self.islands}")
        if not self.descriptors:
            raise ValueError("ArchiveConfig.descriptors must not be empty")
        names = [d.name for d in self.descriptors]
        if len(set(names)) != len(names):
            raise ValueError(f"ArchiveConfig.descriptors: duplicate names in {names}")
        if not 0.0 <= self.reset_fraction <= 1.0:
            raise ValueError(f"ArchiveConfig.reset_fraction must be in [0, 1], got {self.reset_fraction}")
        if self.migration_interval < 1 or self.migration_count < 0 or self.stagnation_evals < 1:
            raise ValueError(
                "ArchiveConfig: migration_interval >= 1, migration_count >= 0, stagnation_evals >= 1"
            )
        if self.exemplars_per_cell < 0:
            raise ValueError(f"ArchiveConfig.exemplars_per_cell must be >= 0, got {self.exemplars_per_cell}")
        if self.calibrate_after < 0:
            raise ValueError(f"ArchiveConfig.calibrate_after must be >= 0, got {self.calibrate_after}")

    @property
    def shape(self) -> tuple[int, ...]:
        """Grid shape: number of bins per descriptor."""
        return tuple(d.bins for d in self.descriptors)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (stored in ``runs.archive_config``)."""
        return {
            "islands": self.islands,
            "descriptors": [
                {
                    "name": d.name,
                    "low": d.low,
                    "high": d.high,
                    "bins": d.bins,
                    "log": d.log,
                    "calibrate": d.calibrate,
                }
                for d in self.descriptors
            ],
            "migration_interval": self.migration_interval,
            "migration_count": self.migration_count,
            "stagnation_evals": self.stagnation_evals,
            "reset_fraction": self.reset_fraction,
            "curiosity_half_life": self.curiosity_half_life,
            "keep_elite_personas": self.keep_elite_personas,
            "exemplars_per_cell": self.exemplars_per_cell,
            "calibrate_after": self.calibrate_after,
            "calibrated_at": self.calibrated_at,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "ArchiveConfig":
        """Inverse of ``to_dict`` (unknown keys are an error; keys added later, such as
        ``calibrate_after``, take their defaults when an older archive lacks them)."""
        d = dict(data)
        d["descriptors"] = tuple(DescriptorSpec(**x) for x in d.get("descriptors", ()))
        return cls(**d)


# ----------------------------------------------------------------------------- read views


@dataclass(frozen=True)
class ProgramView:
    """A program as read back from the archive.

    ``island``/``cell``: where it sits when the view comes from a grid (parent sampling,
    top, grid); otherwise the island it was proposed on and its cell there if it is an
    elite. ``fitness``/``metrics``: of its best train-stage evaluation in this run (None if
    never evaluated). ``descriptors``: raw descriptor values recorded when it was added.
    """

    id: str
    code: str
    parent_id: str | None
    island: int
    generation: int
    label: str | None
    mutation: MutationInfo | None
    fitness: float | None
    metrics: dict[str, float] | None
    descriptors: dict[str, float] | None
    cell: tuple[int, ...] | None


@dataclass(frozen=True)
class EliteView:
    """One occupied cell. ``migrant_from`` is the source island of a migrant, else None.
    ``improved_at``: evaluation count of the run when this elite took the cell."""

    island: int
    cell: tuple[int, ...]
    program_id: str
    fitness: float
    descriptors: dict[str, float]
    migrant_from: int | None
    improved_at: int


@dataclass(frozen=True)
class GridView:
    """The elite grid of one island (or of all islands when ``island`` is None)."""

    island: int | None
    descriptors: tuple[DescriptorSpec, ...]
    elites: tuple[EliteView, ...]

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(d.bins for d in self.descriptors)

    def fitness_array(self, island: int | None = None) -> np.ndarray:
        """Fitness per cell (NaN = empty); with several islands, the best over them."""
        arr = np.full(self.shape, np.nan)
        for e in self.elites:
            if island is not None and e.island != island:
                continue
            cur = arr[e.cell]
            if np.isnan(cur) or e.fitness > cur:
                arr[e.cell] = e.fitness
        return arr


@dataclass(frozen=True)
class ContextView:
    """Stored result of one context; ``positions`` decoded to float64 N×K (NaN kept)."""

    context_id: str
    metrics: dict[str, float] | None
    positions: np.ndarray | None
    error: str | None
    tokens: int
    missing_answers: int
    wall_s: float


@dataclass(frozen=True)
class EvaluationView:
    """A stored evaluation with its per-context results."""

    id: int
    program_id: str
    stage: str
    fitness: float | None
    metrics: dict[str, float] | None
    error: str | None
    wall_s: float
    tokens: int
    keep_personas: bool
    created_at: float
    contexts: tuple[ContextView, ...] = field(default=())


@dataclass(frozen=True)
class PersonaView:
    """A stored persona: its full dict and its position (length-K array in [0, 1]);
    ``exemplar`` is its region key when kept as that region's exemplar, else None."""

    program_id: str
    evaluation_id: int
    stage: str
    context_id: str
    index: int
    persona: dict[str, Any]
    position: np.ndarray | None
    exemplar: str | None = None
