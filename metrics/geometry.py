"""Convex hull volume and pairwise distances.

Hull policy (explicit, never a silent 0)
----------------------------------------
Qhull's cost grows with the number of hull facets, which explodes with K (roughly
N ** floor(K/2) in the worst case). Measured on one core, worst case over uniform,
boundary-heavy and sphere-like populations: K=6, N=1000 ~0.8 s; K=7, N=300 ~0.9 s;
K=8, N=100 ~0.5 s, N=200 ~3 s, N=1000 > 20 s; K=9, N=50 ~0.3 s. So:

* K = 1: the hull is the interval [min, max]; volume = max - min (always computed).
* N <= K: volume 0.0 by definition (N points span at most an (N-1)-flat).
* K > :data:`HULL_MAX_DIM` (8): not computed, volume = ``float('nan')``.
* 2 <= K <= 8 and N > ``HULL_MAX_POINTS[K]``: not computed, volume = ``float('nan')``.
  Limits: K=2, 3: none; K=4: 20,000; K=5: 5,000; K=6: 1,000; K=7: 250; K=8: 100.
* Otherwise Qhull; a degenerate set (all points in a lower-dimensional flat, e.g. one axis
  constant) raises ``QhullError`` and gives 0.0.

:func:`hull_skipped` returns the reason string when the hull is not computed (None when it
is), so callers can tell a skipped hull from a flat one.

Pairwise distances never build an N × N matrix for large N: the minimum comes from one
KD-tree query (k=2), the mean from exact sums over row blocks of bounded size.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Mapping

import numpy as np
from scipy.spatial import ConvexHull, QhullError, cKDTree
from scipy.spatial.distance import cdist, pdist

__all__ = [
    "HULL_MAX_DIM",
    "HULL_MAX_POINTS",
    "hull_skipped",
    "convex_hull_volume",
    "min_pairwise_distance",
    "mean_pairwise_distance",
]

#: Largest K for which the convex hull volume is computed (K > 8 gives NaN).
HULL_MAX_DIM = 8

#: Largest N for which the hull is computed, per K (None = no limit). Beyond: NaN.
HULL_MAX_POINTS: Mapping[int, int | None] = MappingProxyType(
    {1: None, 2: None, 3: None, 4: 20_000, 5: 5_000, 6: 1_000, 7: 250, 8: 100}
)

#: Below this many pairs the mean distance uses one pdist call; above, row blocks.
_PDIST_MAX_PAIRS = 1 << 21
#: Target number of distances held in memory at once by the blocked mean (~16 MB).
_BLOCK_ELEMENTS = 1 << 21


def hull_skipped(n: int, k: int) -> str | None:
    """Why the hull volume of n points in k dimensions is not computed (then the metric is
    NaN), or None when it is computed (including the exact-zero case n <= k)."""
    if k == 1 or n <= k:
        return None
    if k > HULL_MAX_DIM:
        return f"convex hull not computed for K={k} > {HULL_MAX_DIM} (Qhull impractical)"
    limit = HULL_MAX_POINTS[k]
    if limit is not None and n > limit:
        return f"convex hull not computed for N={n} > {limit} at K={k} (Qhull impractical)"
    return None


def convex_hull_volume(Z: np.ndarray) -> float:
    """Volume of the convex hull of the rows of ``Z`` (N × K in [0, 1]); the unit cube has 1.

    Range [0, 1]. 0.0 when N <= K or the points are degenerate; ``max - min`` for K = 1;
    ``float('nan')`` when the size policy skips Qhull (see :func:`hull_skipped`).
    """
    n, k = Z.shape
    if k == 1:
        return float(Z[:, 0].max() - Z[:, 0].min())
    if n <= k:
        return 0.0
    if hull_skipped(n, k) is not None:
        return float("nan")
    try:
        return float(ConvexHull(Z).volume)
    except QhullError:
        return 0.0


def min_pairwise_distance(Z: np.ndarray, *, tree: cKDTree | None = None) -> float:
    """Smallest Euclidean distance between two rows of ``Z`` (0 for duplicates); needs N >= 2.

    ``tree`` may be a prebuilt ``cKDTree(Z)``. Memory O(N).
    """
    if tree is None:
        tree = cKDTree(Z)
    dist, _ = tree.query(Z, k=2)
    return float(dist[:, 1].min())


def mean_pairwise_distance(Z: np.ndarray) -> float:
    """Mean Euclidean distance over all N(N-1)/2 unordered pairs of rows; needs N >= 2.

    Exact. Small N: one ``pdist``. Large N: blocks of rows against the rows after them,
    at most ~2M distances (~16 MB) in memory at a time.
    """
    n = Z.shape[0]
    pairs = n * (n - 1) // 2
    if pairs <= _PDIST_MAX_PAIRS:
        return float(pdist(Z).mean())
    block = max(1, _BLOCK_ELEMENTS // n)
    total = 0.0
    for start in range(0, n - 1, block):
        stop = min(start + block, n)
        d = cdist(Z[start:stop], Z[start:])  # rows start..stop-1 vs columns start..n-1
        width = stop - start
        total += float(np.triu(d[:, :width], 1).sum()) + float(d[:, width:].sum())
    return total / pairs
