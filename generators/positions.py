"""From questionnaire answers to positions ``Z`` (N x K in [0, 1]).

Per persona and axis: the mean of the axis's item answers, reverse-coded items flipped
(``v -> min + max - v``), rescaled by ``(mean - min) / (max - min)``. Missing (NaN)
answers are skipped: an axis with some answers is placed from the answered items. A persona
with no answer at all on an axis is **missing** there: its coordinate is NaN (never a
made-up 0.5) and it is counted in ``empty`` / ``empty_by_axis``. How the metrics treat NaN
coordinates (never to the population's advantage) is :mod:`metrics.incomplete`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from generators.context import Context
from generators.respondent import Answers

__all__ = ["PositionResult", "positions"]


@dataclass(frozen=True)
class PositionResult:
    """``Z``: N x K in [0, 1]; ``missing``: NaN answers in all; ``missing_by_axis``: K counts
    of NaN answers; ``empty``: (persona, axis) cells with no answer at all (NaN in ``Z``);
    ``empty_by_axis``: K counts of those. ``Z`` holds values in [0, 1] or NaN."""

    Z: np.ndarray
    missing: int
    missing_by_axis: tuple[int, ...]
    empty: int
    empty_by_axis: tuple[int, ...]


def positions(answers: Answers, context: Context) -> PositionResult:
    """Positions of the population answering ``context`` (see module docstring)."""
    values = np.asarray(answers.values, dtype=float)
    if values.ndim != 2 or values.shape[1] != len(answers.item_axis):
        raise ValueError(
            f"positions: answers are {values.shape}, expected N x {len(answers.item_axis)} items"
        )
    lo, hi = float(answers.scale_min), float(answers.scale_max)
    flipped = np.where(np.asarray(answers.item_reverse, dtype=bool)[None, :], lo + hi - values, values)
    n, k = values.shape[0], context.k
    Z = np.full((n, k), np.nan)
    missing_by_axis, empty_by_axis = [], []
    for j in range(k):
        cols = np.flatnonzero(np.asarray(answers.item_axis) == j)
        block = flipped[:, cols]
        present = ~np.isnan(block)
        counts = present.sum(axis=1)
        sums = np.where(present, block, 0.0).sum(axis=1)
        ok = counts > 0
        Z[ok, j] = (sums[ok] / counts[ok] - lo) / (hi - lo)
        missing_by_axis.append(int((~present).sum()))
        empty_by_axis.append(int((~ok).sum()))
    return PositionResult(
        np.clip(Z, 0.0, 1.0),
        sum(missing_by_axis),
        tuple(missing_by_axis),
        sum(empty_by_axis),
        tuple(empty_by_axis),
    )
