"""The support of a context's stored positions on the region grid: reached and unreached cells.

The grid is the one of ``inspect rare`` and of the exemplar texts: ``bins`` regular bins per
axis over [0, 1]^K, a position's cell given by :func:`archive.exemplars.cells_of` (the one
binning rule). A *hole* is a cell no stored position falls in. Pure numpy/scipy on cell
index arrays; nothing here reads the database.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np

__all__ = ["MAX_CELLS", "hole_cells", "hole_depth", "pair_reached", "reached_mask"]

#: Largest grid (bins ** K) these functions build; above it the caller must use fewer bins.
MAX_CELLS = 1_000_000


def reached_mask(cells: np.ndarray, bins: int, k: int) -> np.ndarray:
    """Boolean array of shape ``(bins,) * k``: True at every cell some row of ``cells``
    (N×K ints in [0, bins), from ``cells_of``) falls in. ValueError when ``bins ** k`` exceeds
    :data:`MAX_CELLS`, ``bins < 1``, ``k < 1`` or a cell index is out of range."""
    if bins < 1 or k < 1:
        raise ValueError(f"bins and axes must be >= 1, got bins={bins}, axes={k}")
    if bins**k > MAX_CELLS:
        raise ValueError(f"{bins}^{k} = {bins**k:,} cells is more than {MAX_CELLS:,}; use fewer bins")
    c = np.asarray(cells, dtype=np.int64).reshape(-1, k)
    if c.size and (c.min() < 0 or c.max() >= bins):
        raise ValueError(f"cell index out of [0, {bins}): {int(c.min())}..{int(c.max())}")
    mask = np.zeros((bins,) * k, dtype=bool)
    if len(c):
        mask[tuple(c.T)] = True
    return mask


def hole_cells(mask: np.ndarray) -> np.ndarray:
    """The unreached cells of a :func:`reached_mask`, as an M×K int array in C order (the
    first axis varies slowest)."""
    return np.argwhere(~np.asarray(mask, dtype=bool)).astype(np.int64).reshape(-1, mask.ndim)


def hole_depth(mask: np.ndarray) -> np.ndarray:
    """Per cell of :func:`hole_cells` (same order), its chessboard distance in cells to the
    nearest reached cell: 1 = touches a reached cell (sides or corners), larger = deeper in
    unreached space. 0 for every hole when nothing was reached."""
    m = np.asarray(mask, dtype=bool)
    if not m.any():
        return np.zeros(int((~m).sum()), dtype=np.int64)
    from scipy.ndimage import distance_transform_cdt

    dist = distance_transform_cdt(~m, metric="chessboard")
    return dist[~m].astype(np.int64)


def pair_reached(cells: np.ndarray, bins: int, k: int) -> dict[tuple[int, int], np.ndarray]:
    """For every axis pair (i, j), i < j, the ``bins × bins`` boolean array of the 2-D cells
    (bin on axis i, bin on axis j) some row of ``cells`` projects to."""
    c = np.asarray(cells, dtype=np.int64).reshape(-1, k)
    out: dict[tuple[int, int], np.ndarray] = {}
    for i, j in combinations(range(k), 2):
        m = np.zeros((bins, bins), dtype=bool)
        if len(c):
            m[c[:, i], c[:, j]] = True
        out[(i, j)] = m
    return out
