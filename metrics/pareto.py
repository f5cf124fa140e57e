"""Pareto front of a score to maximise against a cost to minimise (numpy only).

Used for the cost front of a run (validation coverage against LLM tokens per persona), but
nothing here knows about programs: it takes two equal-length arrays and returns indexes.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["dominated", "pareto_front"]


def _pair(score: ArrayLike, cost: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(score, dtype=float).reshape(-1)
    c = np.asarray(cost, dtype=float).reshape(-1)
    if s.shape != c.shape:
        raise ValueError(f"score and cost differ in length: {s.size} vs {c.size}")
    if not (np.isfinite(s).all() and np.isfinite(c).all()):
        raise ValueError("score and cost must be finite numbers (got NaN or inf)")
    return s, c


def pareto_front(score: ArrayLike, cost: ArrayLike) -> np.ndarray:
    """Indexes of the points no other point dominates, cheapest first (ties: higher score
    first, then lower index).

    Point j dominates point i when ``score[j] >= score[i]`` and ``cost[j] <= cost[i]`` with at
    least one of the two strict. Identical points do not dominate each other: all copies of
    a non-dominated point are on the front. ``score`` and ``cost`` are any finite reals of the
    same length (ValueError otherwise); an empty input gives an empty array. O(n log n).
    """
    s, c = _pair(score, cost)
    if s.size == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.lexsort((np.arange(s.size), -s, c))  # by cost, then score high to low, then index
    front: list[int] = []
    best_cheaper = -np.inf  # the highest score among strictly cheaper points
    i = 0
    while i < order.size:
        j = i
        while j < order.size and c[order[j]] == c[order[i]]:
            j += 1
        group = order[i:j]  # one cost level, highest score first
        top = s[group[0]]
        if top > best_cheaper:
            front.extend(int(g) for g in group if s[g] == top)
        best_cheaper = max(best_cheaper, top)
        i = j
    return np.asarray(front, dtype=np.int64)


def dominated(score: ArrayLike, cost: ArrayLike) -> np.ndarray:
    """Boolean mask: True where some other point dominates the point (the complement of
    :func:`pareto_front`). Same inputs and errors."""
    s, _ = _pair(score, cost)
    mask = np.ones(s.size, dtype=bool)
    mask[pareto_front(score, cost)] = False
    return mask
