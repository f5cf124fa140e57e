"""The screening set (issue 10, item 7): candidates scored on a fixed, stratified subset of
the train contexts, the same for every program; races on every train context."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evolve.config import (REAL_MODEL_SCREEN_CONTEXTS, ConfigError, RoleModel, RunConfig, config_from_dict,
                           replace_path, resolve_screen)
from evolve.contexts import ContextSets, stratified_pick
from generators.context_loader import resolve_contexts


@settings(max_examples=200, deadline=None)
@given(groups=st.lists(st.integers(2, 6), min_size=1, max_size=40), size=st.integers(0, 45), seed=st.integers(0, 2**32 - 1))
def test_a_stratified_pick_gives_each_group_its_share(groups, size, seed):
    picked = stratified_pick(groups, size, np.random.default_rng(seed))
    assert picked == sorted(set(picked)) and all(0 <= i < len(groups) for i in picked)
    assert len(picked) == min(size, len(groups))
    if size < len(groups):
        have, total = Counter(groups[i] for i in picked), Counter(groups)
        for g, count in total.items():  # largest remainder: within one of the exact share
            assert abs(have[g] - size * count / len(groups)) < 1.0


def test_the_screening_set_is_a_stable_subset_and_the_smoke_stage_lies_inside_it():
    train = resolve_contexts(["train"])
    a = ContextSets.build(train, [], [], smoke=2, seed=3, screen=8)
    b = ContextSets.build(train, [], [], smoke=2, seed=3, screen=8)
    other = ContextSets.build(train, [], [], smoke=2, seed=4, screen=8)
    assert a.train_ids == b.train_ids and a.smoke_ids == b.smoke_ids  # stable across resume
    assert a.train_ids != other.train_ids
    assert len(a.train_ids) == 8 and set(a.smoke_ids) <= set(a.train_ids)
    assert a.race_train_ids == tuple(c.id for c in train) and a.screened
    dims = Counter(len(c.axes) for c in train)
    chosen = Counter(len(c.axes) for c in a.train)
    assert all(abs(chosen[k] - 8 * v / len(train)) < 1 for k, v in dims.items())
    assert set(a.by_id()) == {c.id for c in train}


@pytest.mark.parametrize("screen", [0, 30, 99])
def test_a_screen_of_zero_or_at_least_the_train_set_keeps_every_train_context(screen):
    train = resolve_contexts(["train"])
    sets = ContextSets.build(train, [], [], smoke=2, seed=0, screen=screen)
    assert sets.train_ids == sets.race_train_ids == tuple(c.id for c in train) and not sets.screened


def test_the_screen_defaults_to_a_subset_only_when_a_scoring_role_is_a_real_model():
    assert resolve_screen(RunConfig()).cascade.screen_contexts == 0  # every role sim: free, so all contexts
    real_persona = replace_path(RunConfig(), "models.persona", RoleModel(model="openai/gpt-4o-mini"))
    assert resolve_screen(real_persona).cascade.screen_contexts == REAL_MODEL_SCREEN_CONTEXTS
    real_mutator = replace_path(RunConfig(), "models.mutator", RoleModel(model="openai/gpt-4o-mini"))
    assert resolve_screen(real_mutator).cascade.screen_contexts == 0  # the mutator does not score
    given_one = replace_path(real_persona, "cascade.screen_contexts", 12)
    assert resolve_screen(given_one).cascade.screen_contexts == 12


def test_a_negative_screen_is_a_one_line_config_error():
    with pytest.raises(ConfigError, match=r"cascade\.screen_contexts: must be >= 0"):
        config_from_dict({"cascade": {"screen_contexts": -1}})
    with pytest.raises(ConfigError, match=r"cascade\.screen_contexts: expected an integer"):
        config_from_dict({"cascade": {"screen_contexts": "eight"}})
