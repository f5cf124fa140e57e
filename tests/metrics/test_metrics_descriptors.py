"""Behaviour descriptors: tail_share, llm_tokens_per_persona and the DESCRIPTORS registry."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from metrics import DESCRIPTORS, llm_tokens_per_persona, tail_share


def test_tail_share_examples():
    Z = np.array([[0.5, 0.5], [0.05, 0.5], [0.5, 0.95], [0.1, 0.9]])  # bounds themselves are inside
    assert tail_share(Z) == 0.5
    assert tail_share(Z, low=0.2, high=0.8) == 0.75
    assert tail_share([[0.0]]) == 1.0  # a single persona is fine
    assert tail_share(np.full((5, 3), 0.5)) == 0.0


@settings(max_examples=50, deadline=None)
@given(
    Z=st.integers(1, 20).flatmap(
        lambda n: st.integers(1, 6).flatmap(lambda k: arrays(np.float64, (n, k), elements=st.floats(0, 1)))
    )
)
def test_tail_share_matches_definition(Z):
    expected = sum(any(v < 0.1 or v > 0.9 for v in row) for row in Z.tolist()) / len(Z)
    assert tail_share(Z) == pytest.approx(expected)


def test_tail_share_errors():
    with pytest.raises(ValueError, match="low < high"):
        tail_share([[0.5]], low=0.9, high=0.1)
    with pytest.raises(ValueError, match=r"Z\[0, 0\] = 1.5 is outside"):
        tail_share([[1.5]])
    with pytest.raises(ValueError, match="empty"):
        tail_share(np.zeros((0, 2)))


def test_llm_tokens_per_persona():
    assert llm_tokens_per_persona(5000, 25) == 200.0
    assert llm_tokens_per_persona(0, 3) == 0.0
    for bad in ((-1, 5), (float("nan"), 5), (10, 0), (10, 2.5), (10, True)):
        with pytest.raises(ValueError):
            llm_tokens_per_persona(*bad)


def test_registry_entries_are_callable_with_declared_ranges():
    assert {
        "tail_share",
        "llm_tokens_per_persona",
        "outer_share",
        "centre_distance",
        "axis_correlation",
        "calls_per_context",
        "personas_per_call",
        "prompt_templates",
        "text_length",
    } == set(DESCRIPTORS)
    assert DESCRIPTORS["tail_share"]([[0.0, 0.5], [0.5, 0.5]]) == 0.5
    assert DESCRIPTORS["llm_tokens_per_persona"](100, 4) == 25.0
    for name, d in DESCRIPTORS.items():
        assert d.name == name and d.low < d.high and d.description
        assert d.kind in ("population", "cost", "strategy", "text")


def test_descriptor_binning_is_stable_and_clipped():
    ts, tok = DESCRIPTORS["tail_share"], DESCRIPTORS["llm_tokens_per_persona"]
    assert [ts.bin(v, 10) for v in (0.0, 0.05, 0.1, 0.55, 0.999, 1.0, 7.0, -1.0)] == [0, 0, 1, 5, 9, 9, 9, 0]
    assert tok.log and not ts.log
    # log bins on [1, 1e6] with 6 bins: one decade per bin
    assert [tok.bin(v, 6) for v in (0.0, 1.0, 9.9, 10.0, 1e3, 1e6, 1e9)] == [0, 0, 0, 1, 3, 5, 5]
    with pytest.raises(ValueError):
        ts.bin(float("nan"), 10)
    with pytest.raises(ValueError):
        ts.bin(0.5, 0)
