"""The population, cost and strategy descriptors on small hand-made populations."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from metrics.descriptors import (
    DESCRIPTORS,
    ContextSample,
    axis_correlation,
    centre_distance,
    outer_share,
    program_descriptors,
    tail_share,
)

unit = st.floats(0.0, 1.0, allow_nan=False)
likert = st.integers(0, 100).map(lambda i: i / 100)  # positions are means of Likert answers, rescaled
grid_pops = st.integers(1, 12).flatmap(
    lambda n: st.integers(1, 5).flatmap(lambda k: arrays(np.float64, (n, k), elements=likert))
)
pops = st.integers(1, 12).flatmap(
    lambda n: st.integers(1, 5).flatmap(lambda k: arrays(np.float64, (n, k), elements=unit))
)


def test_centre_distance_by_hand():
    assert centre_distance([[0.5, 0.5], [0.5, 0.5]]) == 0.0
    assert centre_distance([[0.0, 1.0], [1.0, 1.0]]) == pytest.approx(1.0)
    # one persona at a corner, one at the centre: half
    assert centre_distance([[0.0, 0.0, 0.0], [0.5, 0.5, 0.5]]) == pytest.approx(0.5)
    # one axis at its pole of two: distance 0.5 of the corner's sqrt(2)/2
    assert centre_distance([[1.0, 0.5]]) == pytest.approx(0.5 / (math.sqrt(2) / 2))
    assert centre_distance([[np.nan, 1.0]]) == centre_distance([[0.5, 1.0]])  # NaN = centre


def test_outer_share_by_hand():
    Z = [[0.15, 0.5], [0.5, 0.85], [0.5, 0.5], [0.25, 0.75]]
    assert outer_share(Z) == 0.5
    assert tail_share(Z) == 0.0


def test_axis_correlation_by_hand():
    x = np.linspace(0, 1, 9)
    assert axis_correlation(np.c_[x, x]) == pytest.approx(1.0)
    assert axis_correlation(np.c_[x, 1 - x]) == pytest.approx(1.0)
    sym = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)  # independent by construction
    assert axis_correlation(sym) == pytest.approx(0.0)
    assert axis_correlation(np.c_[x, np.full(9, 0.3)]) == 0.0  # a constant axis
    assert axis_correlation(x[:, None]) == 0.0  # one axis
    # pairs: (0,1) r = 1, (0,2) and (1,2) r = 0 on the symmetric design
    Z = np.array([[0, 0, 0], [0, 0, 1], [1, 1, 0], [1, 1, 1]], dtype=float)
    assert axis_correlation(Z) == pytest.approx(1 / 3)


@settings(max_examples=80, deadline=None)
@given(pops)
def test_population_descriptors_are_shares_and_ignore_row_order(Z):
    perm = np.random.default_rng(0).permutation(Z.shape[0])
    for fn in (tail_share, outer_share, centre_distance, axis_correlation):
        v = fn(Z)
        assert 0.0 <= v <= 1.0 + 1e-12
        assert fn(Z[perm]) == pytest.approx(v)
    assert outer_share(Z) >= tail_share(Z)  # [0.2, 0.8] is inside [0.1, 0.9]


@settings(max_examples=60, deadline=None)
@given(grid_pops, st.floats(0.0, 1.0))
def test_pulling_towards_the_centre_shrinks_the_distance(Z, t):
    pulled = 0.5 + t * (Z - 0.5)
    assert centre_distance(pulled) == pytest.approx(t * centre_distance(Z), abs=1e-9)
    flipped = 1.0 - Z  # mirror every axis: same distance, same |r|
    assert centre_distance(flipped) == pytest.approx(centre_distance(Z))
    assert axis_correlation(flipped) == pytest.approx(axis_correlation(Z), abs=1e-9)


def test_program_descriptors_from_context_samples():
    a = ContextSample(
        positions=np.array([[0.5, 0.5], [0.0, 1.0]]),
        asked=4,
        returned=2,
        tokens=400,
        calls=2,
        prompts=1,
        text_chars=100.0,
    )
    b = ContextSample(
        positions=np.array([[0.5, 0.5]]),
        asked=4,
        returned=4,
        tokens=200,
        calls=0,
        prompts=0,
        text_chars=300.0,
    )
    got = program_descriptors([a, b])
    assert got["llm_tokens_per_persona"] == pytest.approx((100 + 50) / 2)
    assert got["calls_per_context"] == 1.0
    assert got["personas_per_call"] == pytest.approx((2 / 2 + 4 / 1) / 2)  # no call: the personas returned
    assert got["prompt_templates"] == 0.5
    assert got["text_length"] == 200.0
    assert got["centre_distance"] == pytest.approx((0.5 + 0.0) / 2)
    assert got["tail_share"] == pytest.approx((0.5 + 0.0) / 2)
    assert set(got) == set(DESCRIPTORS)


def test_program_descriptors_leave_out_what_the_samples_do_not_allow():
    stored = ContextSample(positions=np.array([[0.2, 0.9]]), asked=1, returned=1, tokens=10)
    got = program_descriptors([stored])
    assert {"calls_per_context", "personas_per_call", "prompt_templates", "text_length"}.isdisjoint(got)
    assert got["outer_share"] == 1.0 and got["llm_tokens_per_persona"] == 10.0
    unplaced = ContextSample(positions=None, asked=3, returned=0, tokens=0, calls=1, prompts=1)
    got = program_descriptors([unplaced])
    assert "centre_distance" not in got and got["calls_per_context"] == 1.0
    with pytest.raises(KeyError):
        program_descriptors([stored], names=["nope"])
