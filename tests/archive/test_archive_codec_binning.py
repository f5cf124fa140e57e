import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from archive.binning import DescriptorError, bin_edges, bin_index, cell_of
from archive.codec import decode_positions, encode_positions
from archive.records import DescriptorSpec


@settings(max_examples=60, deadline=None)
@given(
    arrays(
        np.float64,
        st.tuples(st.integers(1, 30), st.integers(1, 6)),
        elements=st.floats(0, 1) | st.just(float("nan")),
    )
)
def test_positions_roundtrip_within_resolution(z):
    blob, n, k = encode_positions(z)
    assert len(blob) == 2 * n * k
    back = decode_positions(blob, n, k)
    assert back.shape == z.shape
    assert np.array_equal(np.isnan(back), np.isnan(z))
    ok = ~np.isnan(z)
    assert np.all(np.abs(back[ok] - z[ok]) <= 0.5 / 65534 + 1e-12)


def test_positions_exact_at_ends_and_clipped():
    back = decode_positions(*encode_positions(np.array([[0.0, 1.0, 1.5, -0.2]])))
    assert back.tolist() == [[0.0, 1.0, 1.0, 0.0]]


def test_linear_bins_and_edges():
    s = DescriptorSpec("tail_share", 0.0, 1.0, 10)
    assert np.allclose(bin_edges(s), np.linspace(0, 1, 11))
    assert bin_index(s, 0.0) == (0, False)
    assert bin_index(s, 0.1) == (1, False)
    assert bin_index(s, 0.95) == (9, False)
    assert bin_index(s, 1.0) == (9, False)  # high belongs to the last bin, not clipped
    assert bin_index(s, 1.2) == (9, True)
    assert bin_index(s, -0.5) == (0, True)


def test_log_bins():
    s = DescriptorSpec("llm_tokens_per_persona", 10, 10_000, 8, log=True)
    edges = bin_edges(s)
    assert np.allclose(edges, np.geomspace(10, 10_000, 9))
    assert bin_index(s, 10) == (0, False)
    assert bin_index(s, 99) == (2, False)  # 10^(3/8*... ) edges: 10, 23.7, 56.2, 133
    assert bin_index(s, 5) == (0, True)
    assert bin_index(s, 0) == (0, True)
    assert bin_index(s, 1e6) == (7, True)


def test_bad_values_and_specs():
    s = DescriptorSpec("d", 0, 1, 4)
    with pytest.raises(DescriptorError, match="not finite"):
        bin_index(s, float("nan"))
    with pytest.raises(DescriptorError, match="missing"):
        cell_of([s], {"other": 0.3})
    with pytest.raises(ValueError, match="log bins need low > 0"):
        DescriptorSpec("x", 0, 1, 3, log=True)
    with pytest.raises(ValueError, match="bins must be"):
        DescriptorSpec("x", 0, 1, 0)


@settings(max_examples=100, deadline=None)
@given(
    st.floats(-10, 10, allow_nan=False),
    st.floats(-10, 10, allow_nan=False),
    st.integers(1, 20),
    st.booleans(),
)
def test_binning_monotone_and_in_range(a, b, bins, log):
    s = DescriptorSpec("d", 0.5, 7.5, bins, log=log)
    ia, ca = bin_index(s, a)
    ib, cb = bin_index(s, b)
    assert 0 <= ia < bins and 0 <= ib < bins
    if a <= b:
        assert ia <= ib
    assert ca == (a < 0.5 or a > 7.5)
    if not ca:
        e = bin_edges(s)
        assert e[ia] <= a + 1e-12 and (a <= e[ia + 1] + 1e-12)
    assert math.isfinite(a)


def test_metric_names_match_metrics_package():
    metrics = pytest.importorskip("metrics")
    from archive import METRIC_NAMES

    assert tuple(metrics.METRIC_NAMES) == METRIC_NAMES
