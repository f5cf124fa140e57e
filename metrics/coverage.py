"""Monte Carlo points, nearest-persona distances, coverage and dispersion.

The Monte Carlo (MC) points are ``mc_samples`` uniform points in [0, 1]^K drawn with
``numpy.random.default_rng(seed).random((mc_samples, K))``; they are generated once per
(mc_samples, K, seed) and kept in memory (read-only). One KD-tree query of the MC points
against the personas gives every MC point's distance to its nearest persona; both
``coverage`` and ``dispersion`` are read off that one vector.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy.spatial import cKDTree

__all__ = ["mc_points", "nearest_distances", "coverage_from_distances", "dispersion_from_distances"]


@functools.lru_cache(maxsize=64)
def mc_points(mc_samples: int, k: int, seed: int) -> np.ndarray:
    """The (mc_samples, k) uniform MC points for ``seed``; cached, read-only, deterministic."""
    pts = np.random.default_rng(seed).random((mc_samples, k))
    pts.setflags(write=False)
    return pts


def nearest_distances(points: np.ndarray, queries: np.ndarray, *, tree: cKDTree | None = None) -> np.ndarray:
    """Euclidean distance from each row of ``queries`` to its nearest row of ``points``.

    ``tree`` may be a prebuilt ``cKDTree(points)`` to reuse. Returns shape (len(queries),).
    """
    if tree is None:
        tree = cKDTree(points)
    dist, _ = tree.query(queries, k=1)
    return np.asarray(dist, dtype=np.float64)


def coverage_from_distances(nearest: np.ndarray, radius: float) -> float:
    """Share in [0, 1] of MC points whose nearest persona is strictly closer than ``radius``."""
    return float(np.count_nonzero(nearest < radius)) / nearest.shape[0]


def dispersion_from_distances(nearest: np.ndarray) -> float:
    """Largest nearest-persona distance over the MC points (estimated radius of the largest
    empty ball), in the units of Z; range [0, sqrt(K)]."""
    return float(nearest.max())
