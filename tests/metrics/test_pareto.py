"""metrics.pareto: the front is exactly the non-dominated set (property test against the
definition, brute force)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metrics.pareto import dominated, pareto_front

# few distinct values so that ties on either coordinate (and exact copies) are common
values = st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.7, 1.0, 3.0])
points = st.lists(st.tuples(values, values), max_size=40)


def brute_non_dominated(score: list[float], cost: list[float]) -> set[int]:
    out = set()
    for i in range(len(score)):
        beaten = any(
            score[j] >= score[i] and cost[j] <= cost[i] and (score[j] > score[i] or cost[j] < cost[i])
            for j in range(len(score))
            if j != i
        )
        if not beaten:
            out.add(i)
    return out


@settings(max_examples=300, deadline=None)
@given(points)
def test_front_is_exactly_the_non_dominated_set(pts: list[tuple[float, float]]) -> None:
    score = [p[0] for p in pts]
    cost = [p[1] for p in pts]
    front = pareto_front(score, cost)
    assert len(set(front.tolist())) == len(front)
    assert set(front.tolist()) == brute_non_dominated(score, cost)
    assert set(np.flatnonzero(~dominated(score, cost)).tolist()) == set(front.tolist())


@settings(max_examples=200, deadline=None)
@given(points)
def test_front_runs_cheapest_first_and_coverage_rises(pts: list[tuple[float, float]]) -> None:
    score = np.array([p[0] for p in pts])
    cost = np.array([p[1] for p in pts])
    front = pareto_front(score, cost)
    assert np.all(np.diff(cost[front]) >= 0)
    # along the front, a strictly higher cost always buys a strictly higher score
    for a, b in zip(front[:-1], front[1:]):
        if cost[b] > cost[a]:
            assert score[b] > score[a]
        else:
            assert score[b] == score[a]


def test_bad_input_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        pareto_front([0.1, 0.2], [1.0])
    with pytest.raises(ValueError, match="finite"):
        pareto_front([0.1, float("nan")], [1.0, 2.0])
    assert pareto_front([], []).size == 0
