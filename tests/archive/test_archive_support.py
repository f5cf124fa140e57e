"""archive.support: holes are exactly the complement of the reached cells (property tests
against brute force over the grid), depths and 2-D projections."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from archive.exemplars import cells_of
from archive.support import MAX_CELLS, hole_cells, hole_depth, pair_reached, reached_mask


@st.composite
def populations(draw: st.DrawFn) -> tuple[np.ndarray, int]:
    k = draw(st.integers(1, 4))
    bins = draw(st.integers(1, 5))
    n = draw(st.integers(0, 30))
    z = draw(arrays(np.float64, (n, k), elements=st.floats(0.0, 1.0)))
    return z, bins


@settings(max_examples=200, deadline=None)
@given(populations())
def test_holes_are_the_complement_of_the_reached_cells(pop: tuple[np.ndarray, int]) -> None:
    z, bins = pop
    k = z.shape[1]
    cells = cells_of(z, bins)
    reached = {tuple(int(x) for x in c) for c in cells}
    holes = [tuple(int(x) for x in h) for h in hole_cells(reached_mask(cells, bins, k))]
    every = set(itertools.product(range(bins), repeat=k))
    assert len(holes) == len(set(holes))
    assert set(holes) == every - reached
    assert holes == sorted(holes)  # C order: the first axis varies slowest


@settings(max_examples=150, deadline=None)
@given(populations())
def test_depth_is_the_chessboard_distance_to_the_nearest_reached_cell(pop: tuple[np.ndarray, int]) -> None:
    z, bins = pop
    k = z.shape[1]
    cells = cells_of(z, bins)
    mask = reached_mask(cells, bins, k)
    holes = hole_cells(mask)
    depth = hole_depth(mask)
    assert len(depth) == len(holes)
    reached = np.argwhere(mask)
    for h, d in zip(holes, depth):
        expected = int(np.abs(reached - h).max(axis=1).min()) if len(reached) else 0
        assert int(d) == expected


@settings(max_examples=100, deadline=None)
@given(populations())
def test_pairs_are_the_2d_projections(pop: tuple[np.ndarray, int]) -> None:
    z, bins = pop
    k = z.shape[1]
    cells = cells_of(z, bins)
    pairs = pair_reached(cells, bins, k)
    assert set(pairs) == set(itertools.combinations(range(k), 2))
    for (i, j), grid in pairs.items():
        assert {tuple(x) for x in np.argwhere(grid).tolist()} == {(int(c[i]), int(c[j])) for c in cells}


def test_grid_too_large_or_bad_cells_are_refused() -> None:
    with pytest.raises(ValueError, match="use fewer bins"):
        reached_mask(np.zeros((1, 8), dtype=int), 20, 8)
    assert 20**8 > MAX_CELLS
    with pytest.raises(ValueError, match="out of"):
        reached_mask(np.array([[3]]), 3, 1)
