"""Reference scores of a context shape, computed in metric space with no model involved.

Every score should be read beside two references for the same (n personas, K axes):

* the **floor** — n identical positions at the centre of the axis cube, (0.5, ..., 0.5).
  A program that writes the same persona n times scores this. It is not 0: with n = 25
  the calibrated coverage radius is large, so one point at the centre covers a sizeable
  share of the cube (about 0.5 at K = 4).
* **random** — n independent uniform positions in [0, 1]^K, the mean of the six metrics
  over :data:`RANDOM_SEEDS` draws (seeds 0..RANDOM_SEEDS-1). A search that does not beat
  this has learnt nothing about spreading personas.

Both are scored by :func:`metrics.evaluate` with the same Monte Carlo points as programs
(``mc_samples``, seed 0), so they depend only on (n, K, mc_samples); they are computed
once per shape and cached in memory. Random draws use their own generator
(``numpy.random.default_rng([RANDOM_SALT, n, K, s])``), independent of the MC points.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Iterable, Mapping

import numpy as np

from ._validate import validate_mc_samples
from .names import METRIC_NAMES
from .scoring import Objective, evaluate, fitness

__all__ = [
    "RANDOM_SEEDS",
    "RANDOM_SALT",
    "References",
    "floor_positions",
    "random_positions",
    "references",
    "mean_references",
]

#: Number of uniform draws averaged for the random reference.
RANDOM_SEEDS = 8
#: Salt of the random reference's generator (keeps it apart from every other stream).
RANDOM_SALT = 0x5EF


@dataclass(frozen=True)
class References:
    """The two references of one shape. ``floor``/``random``: the six metrics (random =
    mean over ``random_seeds`` draws); ``random_std``: their population std over the draws."""

    n: int
    k: int
    mc_samples: int
    floor: Mapping[str, float]
    random: Mapping[str, float]
    random_std: Mapping[str, float]
    random_seeds: int


def _check_shape(n: int, k: int) -> tuple[int, int]:
    if isinstance(n, bool) or isinstance(k, bool) or int(n) != n or int(k) != k or n < 2 or k < 1:
        raise ValueError(f"references need integer n >= 2 and K >= 1; got n={n!r}, K={k!r}")
    return int(n), int(k)


def floor_positions(n: int, k: int) -> np.ndarray:
    """n x k array of 0.5: n identical personas at the centre of the cube."""
    n, k = _check_shape(n, k)
    return np.full((n, k), 0.5)


def random_positions(n: int, k: int, seed: int) -> np.ndarray:
    """n x k uniform positions in [0, 1) for draw ``seed`` of the random reference."""
    n, k = _check_shape(n, k)
    return np.random.default_rng([RANDOM_SALT, n, k, int(seed)]).random((n, k))


@functools.lru_cache(maxsize=256)
def _references(n: int, k: int, mc_samples: int, seeds: int) -> References:
    floor = evaluate(floor_positions(n, k), mc_samples=mc_samples, seed=0)
    draws = [evaluate(random_positions(n, k, s), mc_samples=mc_samples, seed=0) for s in range(seeds)]
    table = np.array([[d[name] for name in METRIC_NAMES] for d in draws])
    with np.errstate(invalid="ignore"):
        mean = table.mean(axis=0)
        std = table.std(axis=0)
    return References(
        n=n,
        k=k,
        mc_samples=mc_samples,
        floor=dict(floor),
        random={name: float(mean[j]) for j, name in enumerate(METRIC_NAMES)},
        random_std={name: float(std[j]) for j, name in enumerate(METRIC_NAMES)},
        random_seeds=seeds,
    )


def references(n: int, k: int, *, mc_samples: int = 10_000, seeds: int = RANDOM_SEEDS) -> References:
    """The floor and random references for n personas on K axes (cached per argument set).

    Cost on first call: 1 + ``seeds`` evaluations (plus the coverage calibration of (n, K)
    if not cached yet). Raises ``ValueError`` for n < 2, K < 1, mc_samples < 1 or seeds < 1.
    """
    n, k = _check_shape(n, k)
    mc_samples = validate_mc_samples(mc_samples)
    if isinstance(seeds, bool) or int(seeds) != seeds or seeds < 1:
        raise ValueError(f"seeds must be an integer >= 1; got {seeds!r}")
    return _references(n, k, mc_samples, int(seeds))


def mean_references(
    shapes: Iterable[tuple[int, int]],
    *,
    mc_samples: int = 10_000,
    seeds: int = RANDOM_SEEDS,
    objective: Objective | None = None,
) -> dict[str, dict[str, float]] | None:
    """References averaged over contexts, the way a program's scores are averaged.

    ``shapes``: one (n, K) per context (repeats count). Returns ``{"floor": {six},
    "random": {six}}`` with each metric the mean over the contexts (ignoring NaN, NaN if
    all are), or None for no shapes. With ``objective`` (as :func:`metrics.fitness`) the
    result also has ``"fitness": {"floor": f, "random": f}``: the mean over contexts of the
    per-context fitness, a non-finite one counting 0 (as the evolution loop counts it);
    the random reference's per-context fitness is that of its mean metrics.
    """
    refs = [references(n, k, mc_samples=mc_samples, seeds=seeds) for n, k in shapes]
    if not refs:
        return None
    out: dict[str, dict[str, float]] = {}
    for kind in ("floor", "random"):
        row: dict[str, float] = {}
        for name in METRIC_NAMES:
            vals = [float(getattr(r, kind)[name]) for r in refs]
            vals = [v for v in vals if not math.isnan(v)]
            row[name] = float(np.mean(vals)) if vals else float("nan")
        out[kind] = row
    if objective is not None:
        out["fitness"] = {}
        for kind in ("floor", "random"):
            fits = [fitness(getattr(r, kind), objective) for r in refs]
            out["fitness"][kind] = float(np.mean([f if math.isfinite(f) else 0.0 for f in fits]))
    return out
