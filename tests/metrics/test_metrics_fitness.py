"""Direction transforms, fitness objectives, aggregation over contexts, metric names."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import metrics
from metrics import HIGHER_IS_BETTER, METRIC_NAMES, aggregate, fitness, to_higher_is_better

SCORES = {
    "coverage": 0.8,
    "convex_hull_volume": 0.4,
    "min_pairwise_distance": 0.1,
    "mean_pairwise_distance": 0.6,
    "dispersion": 0.5,
    "kl_divergence": 1.0,
}


def test_names_and_directions():
    assert METRIC_NAMES == (
        "coverage",
        "convex_hull_volume",
        "min_pairwise_distance",
        "mean_pairwise_distance",
        "dispersion",
        "kl_divergence",
    )
    assert set(HIGHER_IS_BETTER) == set(METRIC_NAMES)
    assert [n for n in METRIC_NAMES if not HIGHER_IS_BETTER[n]] == ["dispersion", "kl_divergence"]


def test_up_metrics_are_unchanged_down_metrics_map_to_one_over_one_plus_x():
    for name in METRIC_NAMES:
        if HIGHER_IS_BETTER[name]:
            assert to_higher_is_better(name, 0.37) == 0.37
    assert to_higher_is_better("dispersion", 0.0) == 1.0
    assert to_higher_is_better("dispersion", 1.0) == 0.5
    assert to_higher_is_better("kl_divergence", 3.0) == 0.25


@given(a=st.floats(0, 1e6), b=st.floats(0, 1e6), name=st.sampled_from(["dispersion", "kl_divergence"]))
def test_down_transform_is_bounded_and_decreasing(a, b, name):
    ta, tb = to_higher_is_better(name, a), to_higher_is_better(name, b)
    assert 0.0 < ta <= 1.0
    if a < b:
        assert ta >= tb  # strictly decreasing in exact arithmetic; >= allows float ties at 1e6
    if a < b and b - a > 1e-9 * (1 + b) ** 2:
        assert ta > tb


def test_transform_nan_and_errors():
    assert math.isnan(to_higher_is_better("dispersion", float("nan")))
    assert math.isnan(to_higher_is_better("coverage", float("nan")))
    with pytest.raises(ValueError, match="must be >= 0"):
        to_higher_is_better("kl_divergence", -0.1)
    with pytest.raises(ValueError, match="did you mean 'dispersion'"):
        to_higher_is_better("dispersoin", 0.1)


def test_fitness_single_metric():
    assert fitness(SCORES) == 0.8  # default objective: coverage
    assert fitness(SCORES, "mean_pairwise_distance") == 0.6
    assert fitness(SCORES, "dispersion") == pytest.approx(1 / 1.5)


def test_fitness_weighted_sum_of_up_is_better_values():
    value = fitness(SCORES, {"coverage": 2.0, "kl_divergence": 1.0})
    assert value == pytest.approx(2 * 0.8 + 1 / 2.0)
    # a lower KL raises fitness
    better = dict(SCORES, kl_divergence=0.1)
    assert fitness(better, {"coverage": 2.0, "kl_divergence": 1.0}) > value


def test_fitness_nan_handling():
    s = dict(SCORES, convex_hull_volume=float("nan"))
    assert math.isnan(fitness(s, "convex_hull_volume"))
    assert math.isnan(fitness(s, {"coverage": 1.0, "convex_hull_volume": 0.5}))
    assert fitness(s, {"coverage": 1.0, "convex_hull_volume": 0.0}) == 0.8  # zero weight ignored


def test_fitness_errors():
    with pytest.raises(ValueError, match="did you mean 'coverage'"):
        fitness(SCORES, "coverge")
    with pytest.raises(ValueError, match="did you mean 'min_pairwise_distance'"):
        fitness(SCORES, {"min_pairwise_dist": 1.0})
    with pytest.raises(ValueError, match="valid names"):
        fitness(SCORES, "zzz")
    with pytest.raises(ValueError, match="not finite"):
        fitness(SCORES, {"coverage": float("inf")})
    with pytest.raises(ValueError, match="non-empty"):
        fitness(SCORES, {})
    with pytest.raises(ValueError, match="has no 'dispersion'"):
        fitness({"coverage": 0.5}, {"coverage": 1.0, "dispersion": 1.0})


def test_fitness_of_evaluate_output(tmp_path, monkeypatch):
    monkeypatch.setenv("PERSONA_EVOLVE_CACHE_DIR", str(tmp_path))
    s = metrics.evaluate(np.random.default_rng(0).random((10, 2)), mc_samples=256)
    assert fitness(s, {n: 1.0 for n in METRIC_NAMES}) == pytest.approx(
        sum(to_higher_is_better(n, s[n]) for n in METRIC_NAMES)
    )


def test_aggregate_statistics():
    a = dict(SCORES)
    b = {k: v + 0.2 for k, v in SCORES.items()}
    agg = aggregate([a, b, dict(a, note="extra keys are ignored")])
    assert agg["n"] == 3
    assert set(agg) == {"mean", "std", "min", "max", "n", "n_valid"}
    for name in METRIC_NAMES:
        values = np.array([a[name], b[name], a[name]])
        assert agg["mean"][name] == pytest.approx(values.mean())
        assert agg["std"][name] == pytest.approx(values.std())
        assert agg["min"][name] == a[name]
        assert agg["max"][name] == pytest.approx(b[name])
        assert agg["n_valid"][name] == 3
    assert fitness(agg["mean"]) == pytest.approx(agg["mean"]["coverage"])


def test_aggregate_is_nan_aware():
    a = dict(SCORES, convex_hull_volume=float("nan"), kl_divergence=float("nan"))
    b = dict(SCORES, convex_hull_volume=float("nan"), kl_divergence=2.0)
    agg = aggregate([a, b])
    assert math.isnan(agg["mean"]["convex_hull_volume"]) and math.isnan(agg["std"]["convex_hull_volume"])
    assert agg["n_valid"]["convex_hull_volume"] == 0
    assert agg["mean"]["kl_divergence"] == 2.0 and agg["std"]["kl_divergence"] == 0.0
    assert agg["n_valid"]["kl_divergence"] == 1
    assert agg["mean"]["coverage"] == 0.8


def test_aggregate_errors():
    with pytest.raises(ValueError, match="at least one"):
        aggregate([])
    with pytest.raises(ValueError, match=r"scores\[1\] has no 'dispersion'"):
        aggregate([SCORES, {k: v for k, v in SCORES.items() if k != "dispersion"}])
