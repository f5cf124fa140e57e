"""The racing rule of noise-aware promotion (issue 13, item 2): decisions, intervals, and
the stated confidence held under the null whatever the number of looks."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evolve.common.evaluation_seeds import SeedPlan, crn_seed
from evolve.common.search import VARIANTS, SearchSettings
from evolve.promotion.race_rule import Decision, RaceRule, mean_interval, paired_diffs


def test_ties_are_rejected_and_a_clear_gain_is_accepted():
    rule = RaceRule(confidence=0.9, max_replicates=4)
    assert rule.decide([0.0] * 12, 1)[0] == Decision.REJECTED
    assert "ties" in rule.decide([0.0] * 12, 1)[2]
    assert rule.decide([0.05, 0.06, 0.04, 0.05, 0.07, 0.05], 1)[0] == Decision.ACCEPTED
    assert rule.decide([-0.05, -0.06, -0.04, -0.05], 1)[0] == Decision.REJECTED
    decision, iv, _ = rule.decide([0.02, -0.01, 0.03, -0.02], 1)
    assert decision == Decision.CONTINUE and iv.low < 0 < iv.high
    assert (
        rule.decide([0.02, -0.01, 0.03, -0.02], 4)[0] == Decision.REJECTED
    )  # not established at the last look
    assert rule.decide([-0.02, 0.01, -0.03, 0.02], 2)[0] == Decision.REJECTED  # futile: mean <= 0


@settings(max_examples=200, deadline=None)
@given(
    diffs=st.lists(st.floats(-1, 1, allow_nan=False), min_size=2, max_size=40),
    shift=st.floats(0.001, 1.0),
    looks=st.integers(1, 6),
)
def test_raising_every_difference_never_turns_an_acceptance_into_a_rejection(diffs, shift, looks):
    rule = RaceRule(confidence=0.9, max_replicates=6)
    before = rule.decide(diffs, looks)[0]
    after = rule.decide([d + shift for d in diffs], looks)[0]
    if before == Decision.ACCEPTED:
        assert after == Decision.ACCEPTED
    iv = rule.bounds(diffs)
    assert iv.low <= iv.mean <= iv.high


@pytest.mark.parametrize("confidence", [0.8, 0.9])
def test_a_candidate_no_better_is_accepted_at_most_one_minus_confidence_of_the_time(confidence):
    rng = np.random.default_rng(0)
    rule = RaceRule(confidence=confidence, max_replicates=4)
    trials, accepted = 2000, 0
    for _ in range(trials):
        diffs: list[float] = []
        for look in range(1, 5):
            diffs += list(rng.normal(0.0, 0.05, size=4))  # 4 contexts per replicate, no true gain
            decision = rule.decide(diffs, look)[0]
            if decision != Decision.CONTINUE:
                accepted += decision == Decision.ACCEPTED
                break
    assert accepted / trials <= 1.0 - confidence


def test_a_real_gain_of_a_third_of_the_noise_is_usually_found_in_four_looks():
    rng = np.random.default_rng(1)
    rule = RaceRule(confidence=0.9, max_replicates=4)
    wins = 0
    for _ in range(500):
        diffs: list[float] = []
        for look in range(1, 5):
            diffs += list(rng.normal(0.03, 0.05, size=8))
            decision = rule.decide(diffs, look)[0]
            if decision != Decision.CONTINUE:
                wins += decision == Decision.ACCEPTED
                break
    assert wins / 500 > 0.6


def test_mean_interval_and_paired_differences():
    iv = mean_interval([0.5, 0.6, 0.7], 0.9)
    assert iv.mean == pytest.approx(0.6) and iv.low < 0.6 < iv.high and iv.n == 3
    assert mean_interval([0.4], 0.9).low == mean_interval([0.4], 0.9).high == 0.4
    assert "90 %" in iv.text()
    with pytest.raises(ValueError):
        mean_interval([], 0.9)
    cand = {0: {"a": 0.5, "b": 0.7}, 1: {"a": 0.6}}
    inc = {0: {"a": 0.4, "b": 0.7, "c": 0.1}, 2: {"a": 0.0}}
    assert paired_diffs(cand, inc) == pytest.approx([0.1, 0.0])  # only pairs present in both


def test_seed_plans_pair_programs_or_draw_fresh_seeds():
    paired = SeedPlan(run_seed=7, paired=True, rng=np.random.default_rng(0))
    assert paired.for_replicate(0) == paired.for_replicate(0) and paired.for_replicate(0).replicate == 0
    assert paired.for_replicate(1).seed == crn_seed(7, 1) != crn_seed(7, 0) != crn_seed(8, 0)
    fresh = SeedPlan(run_seed=7, paired=False, rng=np.random.default_rng(0))
    a, b = fresh.for_replicate(0), fresh.for_replicate(0)
    assert a.seed != b.seed and a.replicate is None
    assert all(0 <= crn_seed(s, r) < 2**63 for s in range(3) for r in range(3))
    with pytest.raises(ValueError):
        crn_seed(0, -1)


def test_search_settings_validate_and_variants_add_items_in_turn():
    with pytest.raises(ValueError, match="confidence"):
        SearchSettings(confidence=1.0)
    with pytest.raises(ValueError, match="paired"):
        SearchSettings(paired=False, promotion=True)
    order = list(VARIANTS)
    assert order == [
        "baseline",
        "paired",
        "promotion",
        "selection",
        "prompts",
        "twins",
        "static_twins",
        "reach",
        "adaptive",
        "spend",
        "champion_share",
    ]
    assert not VARIANTS["baseline"].paired and VARIANTS["paired"].paired and not VARIANTS["paired"].promotion
    assert VARIANTS["selection"].selection == "balanced" and not VARIANTS["selection"].truthful_prompts
    assert VARIANTS["prompts"].truthful_prompts and not VARIANTS["prompts"].twins
    assert VARIANTS["twins"].twins and not VARIANTS["twins"].static_twins
    spend_switches = ("static_twins", "reach", "adaptive")
    for name in spend_switches:  # each spend switch alone on top of the issue-13 search
        assert [s for s in spend_switches if getattr(VARIANTS[name], s)] == [name]
        assert dataclasses.replace(VARIANTS[name], **{name: False}) == dataclasses.replace(VARIANTS["twins"])
    assert all(getattr(VARIANTS["spend"], s) for s in spend_switches)
    assert all(VARIANTS[name].champion_share == 0.0 for name in order[:-1])
    assert VARIANTS["champion_share"] == dataclasses.replace(SearchSettings(), champion_share=0.25)
    with pytest.raises(ValueError, match="champion_share"):
        SearchSettings(champion_share=1.5)
    assert math.isclose(RaceRule(confidence=0.9, max_replicates=4).one_sided_level, 0.975)
