"""metrics.references: the floor (n copies of the centre) and the random reference."""

from __future__ import annotations

import math

import numpy as np
import pytest

import metrics
from metrics import METRIC_NAMES
from metrics.references import RANDOM_SEEDS, floor_positions, mean_references, random_positions, references

MC = 1000


@pytest.fixture(autouse=True, scope="module")
def _isolated_cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PERSONA_EVOLVE_CACHE_DIR", str(tmp_path_factory.mktemp("calibration")))
        yield


def test_floor_is_n_copies_of_the_centre_scored_like_a_program():
    ref = references(12, 3, mc_samples=MC)
    assert np.array_equal(floor_positions(12, 3), np.full((12, 3), 0.5))
    assert dict(ref.floor) == metrics.evaluate(np.full((12, 3), 0.5), mc_samples=MC)
    assert ref.floor["min_pairwise_distance"] == 0.0 and ref.floor["mean_pairwise_distance"] == 0.0
    assert ref.floor["convex_hull_volume"] == 0.0
    assert math.log(10) - 1e-3 < ref.floor["kl_divergence"] < math.log(10)  # all in one bin
    assert 0.0 < ref.floor["coverage"] < 1.0  # not 0: the calibrated radius is large


def test_random_is_the_mean_over_the_stated_number_of_draws():
    ref = references(12, 3, mc_samples=MC)
    assert ref.random_seeds == RANDOM_SEEDS == 8
    draws = [metrics.evaluate(random_positions(12, 3, s), mc_samples=MC) for s in range(RANDOM_SEEDS)]
    for name in METRIC_NAMES:
        vals = [d[name] for d in draws]
        assert ref.random[name] == pytest.approx(np.mean(vals))
        assert ref.random_std[name] == pytest.approx(np.std(vals))
    assert len({random_positions(12, 3, s).tobytes() for s in range(RANDOM_SEEDS)}) == RANDOM_SEEDS


def test_random_beats_the_floor_on_every_metric():
    for k in (1, 2, 4):
        ref = references(10, k, mc_samples=MC)
        assert ref.random["coverage"] > ref.floor["coverage"]
        assert ref.random["mean_pairwise_distance"] > ref.floor["mean_pairwise_distance"]
        assert ref.random["dispersion"] < ref.floor["dispersion"]
        assert ref.random["kl_divergence"] < ref.floor["kl_divergence"]


def test_cached_per_shape_and_deterministic():
    a = references(9, 2, mc_samples=MC)
    assert references(9, 2, mc_samples=MC) is a
    from metrics.references import _references

    _references.cache_clear()
    b = references(9, 2, mc_samples=MC)
    assert b is not a and b == a


def test_mean_references_average_over_contexts_like_programs():
    got = mean_references([(10, 2), (10, 3), (10, 3)], mc_samples=MC)
    r2, r3 = references(10, 2, mc_samples=MC), references(10, 3, mc_samples=MC)
    for kind in ("floor", "random"):
        for name in METRIC_NAMES:
            want = (getattr(r2, kind)[name] + 2 * getattr(r3, kind)[name]) / 3
            assert got[kind][name] == pytest.approx(want)
    assert mean_references([], mc_samples=MC) is None


@pytest.mark.parametrize(
    ("n", "k", "kw"), [(1, 2, {}), (5, 0, {}), (5, 2, {"seeds": 0}), (5, 2, {"mc_samples": 0})]
)
def test_bad_arguments(n, k, kw):
    with pytest.raises(ValueError):
        references(n, k, **{"mc_samples": MC, **kw})


def test_mean_references_fitness_is_the_mean_of_per_context_fitness():
    got = mean_references([(10, 2), (10, 3)], mc_samples=MC, objective="coverage")
    r2, r3 = references(10, 2, mc_samples=MC), references(10, 3, mc_samples=MC)
    assert got["fitness"]["floor"] == pytest.approx((r2.floor["coverage"] + r3.floor["coverage"]) / 2)
    weighted = mean_references([(10, 2)], mc_samples=MC, objective={"coverage": 1.0, "dispersion": 2.0})
    assert weighted["fitness"]["random"] == pytest.approx(
        metrics.fitness(r2.random, {"coverage": 1.0, "dispersion": 2.0})
    )
    assert "fitness" not in mean_references([(10, 2)], mc_samples=MC)
