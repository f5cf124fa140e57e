"""The six metrics of one population, fitness from them, and aggregation over contexts."""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np
from scipy.spatial import cKDTree

from ._validate import validate_mc_samples, validate_positions, validate_seed
from .calibration import calibrate
from .coverage import coverage_from_distances, dispersion_from_distances, mc_points, nearest_distances
from .distribution import kl_divergence
from .geometry import convex_hull_volume, mean_pairwise_distance, min_pairwise_distance
from .names import HIGHER_IS_BETTER, METRIC_NAMES, check_metric_name

__all__ = ["evaluate", "to_higher_is_better", "fitness", "aggregate", "Objective"]

Objective = str | Mapping[str, float]


def evaluate(Z: object, *, mc_samples: int = 10_000, seed: int = 0) -> dict[str, float]:
    """The six diversity metrics of a population ``Z`` (N personas × K axes, values in [0, 1]).

    Returns a dict with exactly the keys of :data:`METRIC_NAMES`, in that order:

    * ``coverage`` [0, 1], up: share of ``mc_samples`` uniform MC points (seeded by ``seed``)
      whose nearest persona is closer than the calibrated radius (see
      :mod:`metrics.calibration`; a scrambled Sobol set of N points scores ~0.99).
    * ``convex_hull_volume`` [0, 1], up: volume of the convex hull of Z. 0.0 when N <= K or
      Z is degenerate; max - min for K = 1. **NaN when not computed**: for K > 8, or for
      N above ``HULL_MAX_POINTS[K]`` (K=4: 20,000; 5: 5,000; 6: 1,000; 7: 250; 8: 100)
      because Qhull is impractical there; :func:`metrics.hull_skipped` gives the reason.
    * ``min_pairwise_distance`` [0, sqrt(K)], up: smallest Euclidean distance between two
      personas (0 for duplicates).
    * ``mean_pairwise_distance`` [0, sqrt(K)], up: mean Euclidean distance over all pairs.
    * ``dispersion`` [0, sqrt(K)], down: largest distance from an MC point to its nearest
      persona (estimated radius of the largest empty ball).
    * ``kl_divergence`` [0, ~log 10] nats, down: mean over axes of KL(10-bin histogram ||
      uniform) with 1e-6 smoothing.

    Deterministic for a given (Z, mc_samples, seed). The first call for a given
    (N, K, mc_samples, seed) calibrates the coverage radius (cached in memory and on disk);
    later calls reuse it and the MC points. Works for any K >= 1.

    Raises ``ValueError`` (naming the offending cell or argument) when Z is not 2-D, is
    empty, has N < 2, contains a non-finite value or a value outside [0, 1], or when
    ``mc_samples`` < 1 or ``seed`` < 0.
    """
    Zf = validate_positions(Z, min_rows=2)
    mc_samples = validate_mc_samples(mc_samples)
    seed = validate_seed(seed)
    n, k = Zf.shape
    cal = calibrate(n, k, mc_samples=mc_samples, seed=seed)
    tree = cKDTree(Zf)
    nearest = nearest_distances(Zf, mc_points(mc_samples, k, seed), tree=tree)
    return {
        "coverage": coverage_from_distances(nearest, cal.radius),
        "convex_hull_volume": convex_hull_volume(Zf),
        "min_pairwise_distance": min_pairwise_distance(Zf, tree=tree),
        "mean_pairwise_distance": mean_pairwise_distance(Zf),
        "dispersion": dispersion_from_distances(nearest),
        "kl_divergence": kl_divergence(Zf),
    }


def to_higher_is_better(name: str, value: float) -> float:
    """``value`` of metric ``name`` on a scale where larger is better.

    Metrics where higher is already better are returned unchanged. The two lower-is-better
    metrics (``dispersion``, ``kl_divergence``, both >= 0) map through ``1 / (1 + value)``:
    bounded in (0, 1], 1 at value 0, strictly decreasing, needs no knowledge of K. NaN maps
    to NaN. Raises ``ValueError`` for an unknown name (with the closest valid one) or a
    negative value of a lower-is-better metric.
    """
    check_metric_name(name)
    v = float(value)
    if HIGHER_IS_BETTER[name] or math.isnan(v):
        return v
    if v < 0:
        raise ValueError(f"{name} = {v!r} must be >= 0")
    return 1.0 / (1.0 + v)


def _weights(objective: Objective) -> dict[str, float]:
    if isinstance(objective, str):
        return {check_metric_name(objective): 1.0}
    if not isinstance(objective, Mapping) or not objective:
        raise ValueError(
            f"objective must be a metric name or a non-empty {{metric: weight}} dict; got {objective!r}"
        )
    weights: dict[str, float] = {}
    for name, w in objective.items():
        check_metric_name(name)
        wf = float(w)
        if not math.isfinite(wf):
            raise ValueError(f"objective weight for {name!r} = {wf!r} is not finite")
        weights[name] = wf
    return weights


def fitness(scores: Mapping[str, float], objective: Objective = "coverage") -> float:
    """Scalar fitness (higher is better) of one score dict under ``objective``.

    ``objective`` is a metric name (fitness = that metric turned higher-is-better by
    :func:`to_higher_is_better`) or a dict ``{metric: weight}`` (fitness = sum of
    ``weight * to_higher_is_better(metric, scores[metric])``; weights are used as given, not
    renormalised; zero-weight metrics are ignored, even when NaN).

    NaN: if a metric with a non-zero weight is NaN (e.g. ``convex_hull_volume`` skipped at
    high K), the fitness is NaN — the caller decides what a non-finite fitness means.
    Raises ``ValueError`` for an unknown metric name (suggesting the closest valid one), a
    non-finite weight, or a metric missing from ``scores``.
    """
    total = 0.0
    for name, w in _weights(objective).items():
        if w == 0.0:
            continue
        if name not in scores:
            raise ValueError(f"scores has no {name!r} (has {', '.join(map(repr, scores)) or 'nothing'})")
        total += w * to_higher_is_better(name, scores[name])
    return total


def aggregate(scores: Sequence[Mapping[str, float]]) -> dict[str, object]:
    """Summary over contexts of a list of score dicts (as returned by :func:`evaluate`).

    Returns ``{"mean": {...}, "std": {...}, "min": {...}, "max": {...}, "n": int,
    "n_valid": {...}}``: per metric of :data:`METRIC_NAMES`, the mean, population standard
    deviation (ddof=0), minimum and maximum over the dicts, ignoring NaN; ``n`` is the number
    of dicts, ``n_valid[metric]`` the number of non-NaN values. A metric NaN in every dict
    gets NaN statistics. Keys other than the six metrics are ignored. Raises ``ValueError``
    for an empty list or a dict missing a metric.
    """
    if len(scores) == 0:
        raise ValueError("aggregate needs at least one score dict")
    table = np.empty((len(scores), len(METRIC_NAMES)), dtype=np.float64)
    for i, s in enumerate(scores):
        for j, name in enumerate(METRIC_NAMES):
            if name not in s:
                raise ValueError(f"scores[{i}] has no {name!r}")
            table[i, j] = float(s[name])
    valid = ~np.isnan(table)
    n_valid = valid.sum(axis=0)
    out: dict[str, object] = {"mean": {}, "std": {}, "min": {}, "max": {}, "n": len(scores), "n_valid": {}}
    for j, name in enumerate(METRIC_NAMES):
        col = table[valid[:, j], j]
        nan = float("nan")
        out["mean"][name] = float(col.mean()) if col.size else nan  # type: ignore[index]
        out["std"][name] = float(col.std()) if col.size else nan  # type: ignore[index]
        out["min"][name] = float(col.min()) if col.size else nan  # type: ignore[index]
        out["max"][name] = float(col.max()) if col.size else nan  # type: ignore[index]
        out["n_valid"][name] = int(n_valid[j])  # type: ignore[index]
    return out
