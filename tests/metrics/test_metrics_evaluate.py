"""metrics.evaluate: the six metrics, their properties, closed forms, the hull policy."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.spatial.distance import pdist
from scipy.stats import qmc

import metrics
from metrics import geometry
from metrics.calibration import calibrate, sobol_points
from metrics.distribution import per_axis_kl

SMALL_MC = 256


@pytest.fixture(autouse=True, scope="module")
def _isolated_cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PERSONA_EVOLVE_CACHE_DIR", str(tmp_path_factory.mktemp("calibration")))
        yield


@st.composite
def populations(draw, max_n: int = 30, max_k: int = 5):
    n = draw(st.integers(2, max_n))
    k = draw(st.integers(1, max_k))
    return draw(arrays(np.float64, (n, k), elements=st.floats(0.0, 1.0)))


def test_returns_exactly_the_six_metrics_in_order_as_floats():
    Z = np.random.default_rng(0).random((25, 3))
    scores = metrics.evaluate(Z, mc_samples=SMALL_MC)
    assert tuple(scores) == metrics.METRIC_NAMES
    assert all(type(v) is float for v in scores.values())


def test_deterministic_for_a_seed_and_seed_changes_mc_estimates():
    Z = np.random.default_rng(1).random((25, 3))
    a = metrics.evaluate(Z, mc_samples=2000, seed=3)
    b = metrics.evaluate(Z.tolist(), mc_samples=2000, seed=3)
    c = metrics.evaluate(Z, mc_samples=2000, seed=4)
    assert a == b
    assert (a["coverage"], a["dispersion"]) != (c["coverage"], c["dispersion"])
    # seed-free metrics do not depend on the seed
    for name in ("convex_hull_volume", "min_pairwise_distance", "mean_pairwise_distance", "kl_divergence"):
        assert a[name] == c[name]


@settings(max_examples=30, deadline=None)
@given(Z=populations(), data=st.data())
def test_permutation_invariance(Z, data):
    perm = data.draw(st.permutations(range(Z.shape[0])))
    a = metrics.evaluate(Z, mc_samples=SMALL_MC)
    b = metrics.evaluate(Z[list(perm)], mc_samples=SMALL_MC)
    assert a["coverage"] == b["coverage"]
    assert a["dispersion"] == b["dispersion"]
    assert a["min_pairwise_distance"] == b["min_pairwise_distance"]
    assert a["kl_divergence"] == b["kl_divergence"]
    assert b["mean_pairwise_distance"] == pytest.approx(a["mean_pairwise_distance"], rel=1e-12, abs=1e-15)
    assert b["convex_hull_volume"] == pytest.approx(a["convex_hull_volume"], rel=1e-9, abs=1e-12)


@settings(max_examples=30, deadline=None)
@given(Z=populations(), row=st.integers(0, 10**6))
def test_duplicated_point_gives_min_pairwise_zero(Z, row):
    dup = np.vstack([Z, Z[row % Z.shape[0]]])
    assert metrics.evaluate(dup, mc_samples=SMALL_MC)["min_pairwise_distance"] == 0.0


@settings(max_examples=30, deadline=None)
@given(Z=populations())
def test_ranges(Z):
    n, k = Z.shape
    s = metrics.evaluate(Z, mc_samples=SMALL_MC)
    assert 0.0 <= s["coverage"] <= 1.0
    assert 0.0 <= s["convex_hull_volume"] <= 1.0 + 1e-9
    assert 0.0 <= s["min_pairwise_distance"] <= s["mean_pairwise_distance"] + 1e-12
    assert s["mean_pairwise_distance"] <= math.sqrt(k) + 1e-12
    assert 0.0 <= s["dispersion"] <= math.sqrt(k)
    assert 0.0 <= s["kl_divergence"] <= math.log(10)


@pytest.mark.parametrize(("n", "k"), [(25, 3), (50, 4), (25, 6)])
def test_fresh_sobol_scramble_scores_about_099_coverage(n, k):
    """Calibration uses scrambles 0..15; new scrambles (100..107) land near 0.99."""
    covs = [metrics.evaluate(sobol_points(n, k, s))["coverage"] for s in range(100, 108)]
    assert float(np.median(covs)) == pytest.approx(0.99, abs=0.01)
    assert all(abs(c - 0.99) < 0.03 for c in covs)


def test_sobol_points_equal_sobol_random_n():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kw = {"rng": np.random.default_rng(7)}
        try:
            expected = qmc.Sobol(3, scramble=True, **kw).random(25)
        except TypeError:  # scipy without the rng keyword
            expected = qmc.Sobol(3, scramble=True, seed=np.random.default_rng(7)).random(25)
    np.testing.assert_array_equal(sobol_points(25, 3, 7), expected)


@settings(max_examples=15, deadline=None)
@given(k=st.integers(2, 5), centre=st.floats(0.1, 0.9), seed=st.integers(0, 1000))
def test_tight_cluster_is_worse_than_sobol(k, centre, seed):
    n = 32
    cluster = centre + 0.02 * (np.random.default_rng(seed).random((n, k)) - 0.5)
    spread = sobol_points(n, k, 1000 + seed)
    c = metrics.evaluate(cluster, mc_samples=2000)
    s = metrics.evaluate(spread, mc_samples=2000)
    assert c["coverage"] < s["coverage"]
    assert c["dispersion"] > s["dispersion"]
    assert c["kl_divergence"] > s["kl_divergence"]


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 6])
def test_unit_cube_vertices_have_hull_volume_one(k):
    vertices = np.array(np.meshgrid(*[[0.0, 1.0]] * k, indexing="ij")).reshape(k, -1).T
    assert vertices.shape == (2**k, k)
    assert metrics.evaluate(vertices, mc_samples=SMALL_MC)["convex_hull_volume"] == pytest.approx(1.0)


def test_two_points_closed_forms():
    a, b = [0.1, 0.2, 0.3], [0.4, 0.6, 0.3]
    s = metrics.evaluate([a, b], mc_samples=SMALL_MC)
    assert s["min_pairwise_distance"] == pytest.approx(0.5)
    assert s["mean_pairwise_distance"] == pytest.approx(0.5)
    assert s["convex_hull_volume"] == 0.0  # N <= K


def test_three_points_mean_distance():
    Z = [[0.0, 0.0], [0.3, 0.4], [0.0, 1.0]]
    s = metrics.evaluate(Z, mc_samples=SMALL_MC)
    assert s["mean_pairwise_distance"] == pytest.approx((0.5 + 1.0 + math.hypot(0.3, 0.6)) / 3)
    assert s["min_pairwise_distance"] == pytest.approx(0.5)
    assert s["convex_hull_volume"] == pytest.approx(0.5 * 1.0 * 0.3)  # triangle: base 1, height 0.3


def _kl_one_bin() -> float:
    eps, b = 1e-6, 10
    total = 1 + b * eps
    p_full, p_empty = (1 + eps) / total, eps / total
    return p_full * math.log(p_full * b) + (b - 1) * p_empty * math.log(p_empty * b)


def test_kl_all_points_in_one_bin_is_log10_minus_smoothing():
    Z = np.full((25, 3), 0.42) + np.linspace(0, 0.05, 25)[:, None]  # all in bin 4
    kl = metrics.evaluate(Z, mc_samples=SMALL_MC)["kl_divergence"]
    assert kl == pytest.approx(_kl_one_bin(), rel=1e-12)
    assert math.log(10) - 1e-3 < kl < math.log(10)


def test_kl_one_point_per_bin_is_zero_and_edges_are_binned():
    centres = (np.arange(10) + 0.5) / 10
    assert metrics.evaluate(centres[:, None], mc_samples=SMALL_MC)["kl_divergence"] == pytest.approx(
        0.0, abs=1e-12
    )
    edges = np.array([[0.0], [1.0]])  # 0 -> first bin, 1 -> last bin
    p = np.array([0.5 + 1e-6] + [1e-6] * 8 + [0.5 + 1e-6])
    p /= p.sum()
    assert per_axis_kl(edges)[0] == pytest.approx(float(np.sum(p * np.log(p * 10))))


def test_kl_is_mean_over_axes():
    Z = np.column_stack([np.full(10, 0.05), (np.arange(10) + 0.5) / 10])  # axis 0 one bin, axis 1 even
    assert metrics.evaluate(Z, mc_samples=SMALL_MC)["kl_divergence"] == pytest.approx(_kl_one_bin() / 2)


def test_k1_closed_forms():
    Z = np.array([[0.25], [0.75]])
    s = metrics.evaluate(Z)
    assert s["convex_hull_volume"] == 0.5
    assert s["min_pairwise_distance"] == s["mean_pairwise_distance"] == 0.5
    assert s["dispersion"] == pytest.approx(0.25, abs=1e-3)  # farthest MC points: 0, 0.5, 1
    r = calibrate(2, 1).radius
    covered = min(r, 0.25) * 4  # two intervals of half-width r around 0.25 and 0.75, clipped
    assert s["coverage"] == pytest.approx(covered, abs=0.02)  # MC error at M=10,000


def test_k1_hull_of_identical_values_is_zero():
    assert metrics.evaluate([[0.3], [0.3], [0.3]], mc_samples=SMALL_MC)["convex_hull_volume"] == 0.0


def test_degenerate_hull_is_zero_not_nan():
    collinear = np.column_stack([np.linspace(0, 1, 10), np.linspace(0, 1, 10)])
    flat = np.column_stack([np.random.default_rng(0).random((10, 2)), np.full(10, 0.5)])
    for Z in (collinear, flat):
        assert metrics.evaluate(Z, mc_samples=SMALL_MC)["convex_hull_volume"] == 0.0


def test_hull_policy_is_explicit():
    assert metrics.HULL_MAX_DIM == 8
    assert metrics.hull_skipped(25, 6) is None
    assert metrics.hull_skipped(5, 12) is None  # N <= K: exact 0, not skipped
    assert "K=9" in metrics.hull_skipped(25, 9)
    limit = metrics.HULL_MAX_POINTS[8]
    assert metrics.hull_skipped(limit, 8) is None
    assert "N=" in metrics.hull_skipped(limit + 1, 8)
    assert metrics.hull_skipped(10**6, 2) is None
    rng = np.random.default_rng(0)
    assert math.isnan(geometry.convex_hull_volume(rng.random((limit + 1, 8))))
    assert math.isnan(geometry.convex_hull_volume(rng.random((30, 9))))
    assert geometry.convex_hull_volume(rng.random((9, 9))) == 0.0


@pytest.mark.parametrize("k", [9, 12])
def test_high_k_works_and_hull_is_nan(k):
    Z = np.random.default_rng(k).random((20, k))
    s = metrics.evaluate(Z, mc_samples=1000)
    assert math.isnan(s["convex_hull_volume"])
    assert all(math.isfinite(v) for name, v in s.items() if name != "convex_hull_volume")


def test_blocked_mean_pairwise_matches_pdist(monkeypatch):
    Z = np.random.default_rng(5).random((137, 3))
    monkeypatch.setattr(geometry, "_PDIST_MAX_PAIRS", 10)
    monkeypatch.setattr(geometry, "_BLOCK_ELEMENTS", 1000)  # blocks of 7 rows
    assert geometry.mean_pairwise_distance(Z) == pytest.approx(float(pdist(Z).mean()), rel=1e-12)


def test_large_population_uses_no_n_by_n_matrix():
    import tracemalloc

    Z = np.random.default_rng(0).random((6000, 2))
    tracemalloc.start()
    geometry.mean_pairwise_distance(Z)
    geometry.min_pairwise_distance(Z)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 6000 * 6000 * 8 / 4  # a full matrix would be 288 MB


BAD_INPUTS = [
    (np.array([0.1, 0.2]), r"2-D"),
    (np.zeros((2, 2, 2)), r"2-D"),
    (np.zeros((0, 3)), r"empty"),
    (np.zeros((3, 0)), r"empty"),
    (np.array([[0.5, 0.5]]), r"1 persona"),
    (np.array([[0.1, 0.2], [0.3, np.nan]]), r"Z\[1, 1\] = nan is not finite"),
    (np.array([[0.1, np.inf], [0.3, 0.4]]), r"Z\[0, 1\] = inf is not finite"),
    (np.array([[0.1, 0.2]] * 3 + [[0.3, 1.2]]), r"Z\[3, 1\] = 1.2 is outside \[0, 1\]"),
    (np.array([[-0.5, 0.2], [0.3, 0.4]]), r"Z\[0, 0\] = -0.5 is outside \[0, 1\]"),
    (np.array([["a", "b"], ["c", "d"]]), r"numeric"),
    ([[0.1, 0.2], [0.3]], r"numeric|2-D"),
]


@pytest.mark.parametrize(("Z", "pattern"), BAD_INPUTS)
def test_bad_input_raises_value_error_naming_the_problem(Z, pattern):
    with pytest.raises(ValueError, match=pattern):
        metrics.evaluate(Z, mc_samples=SMALL_MC)


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"mc_samples": 0}, "mc_samples"),
        ({"mc_samples": 10.5}, "mc_samples"),
        ({"mc_samples": True}, "mc_samples"),
        ({"seed": -1}, "seed"),
        ({"seed": "0"}, "seed"),
    ],
)
def test_bad_arguments_raise(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        metrics.evaluate(np.random.default_rng(0).random((5, 2)), **kwargs)
