"""metrics.evaluate_incomplete: NaN coordinates and short populations never raise a score."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import metrics
from metrics import HIGHER_IS_BETTER, METRIC_NAMES
from metrics.distribution import per_axis_kl
from metrics.incomplete import worst_case_kl

MC = 256
TOL = 1e-9


@pytest.fixture(autouse=True, scope="module")
def _isolated_cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PERSONA_EVOLVE_CACHE_DIR", str(tmp_path_factory.mktemp("calibration")))
        yield


def no_better(short: dict[str, float], full: dict[str, float]) -> list[str]:
    """Names of the metrics where ``short`` is better than ``full`` (beyond TOL)."""
    bad = []
    for name in METRIC_NAMES:
        a, b = short[name], full[name]
        if math.isnan(a) or math.isnan(b):
            assert math.isnan(a) == math.isnan(b), name  # the hull policy is decided on n for both
            continue
        if (a > b + TOL) if HIGHER_IS_BETTER[name] else (a < b - TOL):
            bad.append(f"{name}: {a} vs {b}")
    return bad


unit = st.floats(0.0, 1.0)


@st.composite
def short_and_fill(draw, max_n: int = 10, max_k: int = 4):
    """(S, X): S is k x K placed personas, X the n - k personas a completion adds."""
    n = draw(st.integers(2, max_n))
    K = draw(st.integers(1, max_k))
    k = draw(st.integers(1, n))
    S = draw(arrays(np.float64, (k, K), elements=unit))
    X = draw(arrays(np.float64, (n - k, K), elements=unit))
    return S, X


@settings(max_examples=60, deadline=None)
@given(pair=short_and_fill())
def test_a_short_population_is_never_better_than_any_completion_of_it(pair):
    S, X = pair
    n = len(S) + len(X)
    short = metrics.evaluate_incomplete(S, n=n, mc_samples=MC)
    full = metrics.evaluate(np.vstack([S, X]), mc_samples=MC)
    assert no_better(short, full) == []


@settings(max_examples=60, deadline=None)
@given(pair=short_and_fill(), data=st.data())
def test_nan_cells_are_never_better_than_the_values_they_hide(pair, data):
    S, X = pair
    Z = np.vstack([S, X])
    mask = data.draw(arrays(np.bool_, Z.shape))
    assume(not mask.all(axis=1).all() and (~mask.any(axis=1)).any())  # at least one row stays placed
    holed = np.where(mask, np.nan, Z)
    got = metrics.evaluate_incomplete(holed, n=len(Z), mc_samples=MC)
    assert no_better(got, metrics.evaluate(Z, mc_samples=MC)) == []
    # and more holes (or fewer rows) never help either
    more = holed.copy()
    i, j = data.draw(st.integers(0, len(Z) - 1)), data.draw(st.integers(0, Z.shape[1] - 1))
    more[i, j] = np.nan
    if (~np.isnan(more).any(axis=1)).any():
        assert no_better(metrics.evaluate_incomplete(more, n=len(Z), mc_samples=MC), got) == []
    keep = data.draw(st.integers(1, len(Z)))
    fewer = holed[:keep]
    if (~np.isnan(fewer).any(axis=1)).any():
        assert no_better(metrics.evaluate_incomplete(fewer, n=len(Z), mc_samples=MC), got) == []


@settings(max_examples=40, deadline=None)
@given(pair=short_and_fill(), w=st.lists(st.floats(0.0, 3.0), min_size=6, max_size=6))
def test_short_fitness_never_beats_the_padded_population(pair, w):
    S, X = pair
    n = len(S) + len(X)
    short = metrics.evaluate_incomplete(S, n=n, mc_samples=MC)
    full = metrics.evaluate(np.vstack([S, X]), mc_samples=MC)
    objective = {name: wi for name, wi in zip(METRIC_NAMES, w) if name != "convex_hull_volume"}
    assume(any(objective.values()))
    assert metrics.fitness(short, objective) <= metrics.fitness(full, objective) + 1e-9
    assert metrics.fitness(short, "coverage") <= metrics.fitness(full, "coverage")


@settings(max_examples=40, deadline=None)
@given(
    Z=st.integers(2, 12).flatmap(
        lambda n: st.integers(1, 4).flatmap(lambda k: arrays(np.float64, (n, k), elements=unit))
    )
)
def test_a_complete_population_scores_exactly_as_evaluate(Z):
    assert metrics.evaluate_incomplete(Z, mc_samples=MC) == metrics.evaluate(Z, mc_samples=MC)
    assert metrics.evaluate_incomplete(Z, n=len(Z), mc_samples=MC) == metrics.evaluate(Z, mc_samples=MC)


def test_worst_case_kl_is_the_maximum_over_every_filling():
    """Brute force on one axis: 3 known values, 2 missing cells, all 10 x 10 bin choices."""
    known = np.array([[0.05], [0.55], [0.57]])
    Z = np.vstack([known, [[np.nan]]])
    centres = (np.arange(10) + 0.5) / 10
    brute = max(
        float(per_axis_kl(np.vstack([known, [[a]], [[b]]]))[0])
        for a, b in itertools.product(centres, centres)
    )
    assert worst_case_kl(Z, 5) == pytest.approx(brute, abs=1e-12)
    # all missing cells go to the fullest bin (0.5-0.6 here)
    assert worst_case_kl(Z, 5) == pytest.approx(
        float(per_axis_kl(np.array([[0.05], [0.55], [0.57], [0.55], [0.55]]))[0])
    )


def test_the_documented_per_metric_rules_on_a_known_case():
    S = np.array([[0.1, 0.1], [0.9, 0.1], [0.5, 0.9]])
    got = metrics.evaluate_incomplete(S, n=6, mc_samples=2000)
    own = metrics.evaluate(S, mc_samples=2000)
    assert got["min_pairwise_distance"] == 0.0
    assert got["mean_pairwise_distance"] == pytest.approx(own["mean_pairwise_distance"] * 3 / 15)
    assert got["convex_hull_volume"] == pytest.approx(own["convex_hull_volume"])
    assert got["dispersion"] == own["dispersion"]
    # coverage uses the radius calibrated for n = 6 (smaller than for 3), so it is lower
    assert got["coverage"] < own["coverage"]
    r6 = metrics.calibrate(6, 2, mc_samples=2000).radius
    from metrics.coverage import mc_points, nearest_distances

    near = nearest_distances(S, mc_points(2000, 2, 0))
    assert got["coverage"] == float(np.mean(near < r6))


def test_completeness_counts():
    Z = np.array([[0.1, np.nan], [0.2, 0.3], [np.nan, np.nan]])
    c = metrics.completeness(Z, 5)
    assert (c.asked, c.returned, c.placed, c.missing_cells, c.complete) == (5, 3, 1, 3, False)
    assert metrics.completeness(np.zeros((4, 2))).complete


@pytest.mark.parametrize(
    ("Z", "n", "message"),
    [
        (np.full((2, 2), np.nan), 3, "no persona has a position on every axis"),
        (np.zeros((4, 2)), 3, "4 personas but only n = 3"),
        (np.zeros((1, 2)), 1, "need at least 2"),
        (np.array([[0.1, np.inf], [0.2, 0.2]]), 3, "not finite"),
        (np.array([[0.1, 1.5], [0.2, 0.2]]), 3, "outside"),
    ],
)
def test_errors_are_one_clear_line(Z, n, message):
    with pytest.raises(ValueError, match=message):
        metrics.evaluate_incomplete(Z, n=n, mc_samples=MC)


def test_plain_evaluate_still_refuses_nan():
    with pytest.raises(ValueError, match="not finite"):
        metrics.evaluate(np.array([[0.1, np.nan], [0.2, 0.2]]), mc_samples=MC)


def test_tail_share_ignores_nan_cells():
    from metrics.descriptors import tail_share

    Z = np.array([[0.05, np.nan], [0.5, np.nan], [np.nan, np.nan], [0.5, 0.95]])
    assert tail_share(Z) == 0.5


def test_scoring_the_k_personas_alone_would_reward_a_short_population():
    """Why the rule exists: two opposite corners alone beat every completion to n = 4 on
    min and mean distance; the rule scores them below a completion."""
    S = np.array([[0.0, 0.0], [1.0, 1.0]])
    full = metrics.evaluate(np.vstack([S, [[0.5, 0.5], [0.4, 0.6]]]), mc_samples=MC)
    naive = metrics.evaluate(S, mc_samples=MC)
    assert naive["min_pairwise_distance"] > full["min_pairwise_distance"]
    assert naive["mean_pairwise_distance"] > full["mean_pairwise_distance"]
    assert no_better(metrics.evaluate_incomplete(S, n=4, mc_samples=MC), full) == []
