"""The screening set (issue 10, item 7): candidates scored on a fixed, stratified subset of
the train contexts, the same for every program (races included)."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evolve.common.context_sets import ContextSets, stratified_pick
from evolve.config import (
    REAL_MODEL_SCREEN_CONTEXTS,
    ConfigError,
    RunConfig,
    config_from_dict,
    replace_path,
    resolve_screen,
)
from generators.context_loader import resolve_contexts
from generators.llm import ModelConfig


@settings(max_examples=200, deadline=None)
@given(
    groups=st.lists(st.integers(2, 6), min_size=1, max_size=40),
    size=st.integers(0, 45),
    seed=st.integers(0, 2**32 - 1),
)
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
    assert a.all_train_ids == tuple(c.id for c in train) and a.screened
    dims = Counter(len(c.axes) for c in train)
    chosen = Counter(len(c.axes) for c in a.train)
    assert all(abs(chosen[k] - 8 * v / len(train)) < 1 for k, v in dims.items())
    assert set(a.by_id()) == {c.id for c in train}


@pytest.mark.parametrize("screen", [0, 30, 99])
def test_a_screen_of_zero_or_at_least_the_train_set_keeps_every_train_context(screen):
    train = resolve_contexts(["train"])
    sets = ContextSets.build(train, [], [], smoke=2, seed=0, screen=screen)
    assert sets.train_ids == sets.all_train_ids == tuple(c.id for c in train) and not sets.screened


def test_the_screen_defaults_to_a_subset_only_when_a_scoring_role_is_a_real_model():
    assert resolve_screen(RunConfig()).cascade.screen_contexts == 0  # every role sim: free, so all contexts
    real_persona = replace_path(RunConfig(), "models.persona", ModelConfig(model="openai/gpt-4o-mini"))
    assert resolve_screen(real_persona).cascade.screen_contexts == REAL_MODEL_SCREEN_CONTEXTS
    real_mutator = replace_path(RunConfig(), "models.mutator", ModelConfig(model="openai/gpt-4o-mini"))
    assert resolve_screen(real_mutator).cascade.screen_contexts == 0  # the mutator does not score
    given_one = replace_path(real_persona, "cascade.screen_contexts", 12)
    assert resolve_screen(given_one).cascade.screen_contexts == 12


def test_a_negative_screen_is_a_one_line_config_error():
    with pytest.raises(ConfigError, match=r"cascade\.screen_contexts: must be >= 0"):
        config_from_dict({"cascade": {"screen_contexts": -1}})
    with pytest.raises(ConfigError, match=r"cascade\.screen_contexts: expected an integer"):
        config_from_dict({"cascade": {"screen_contexts": "eight"}})


def test_print_config_shows_the_screen_in_force(capsys):
    from evolve.cli import main

    assert main(["run", "--model", "openai/gpt-4o-mini", "--print-config"]) == 0
    assert f"screen_contexts = {REAL_MODEL_SCREEN_CONTEXTS}" in capsys.readouterr().out
    assert main(["run", "--print-config"]) == 0
    assert "screen_contexts = 0" in capsys.readouterr().out


@pytest.mark.ray
def test_a_screened_run_scores_on_its_screening_set_says_so_and_resumes_only_with_it(
    ray_session, tmp_path, capsys
):
    import sqlite3

    from test_run_real_path import BASE

    from evolve.cli import main

    cfg = tmp_path / "run.toml"
    four = BASE.replace(
        'train = ["esports_community", "online_dating_users"]',
        'train = ["esports_community", "online_dating_users", "hospital_night_shift", "mars_habitat_crew"]',
    )
    cfg.write_text(
        four.replace("[cascade]\n", "[cascade]\nscreen_contexts = 2\n") + "[budget]\nevaluations = 2\n"
    )
    db = tmp_path / "archive.db"
    assert main(["run", "--config", str(cfg), "--db", str(db)]) == 0
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        per_eval = conn.execute(
            "SELECT e.id, COUNT(c.id) FROM evaluations e JOIN context_results c "
            "ON c.evaluation_id = e.id WHERE e.stage = 'train' GROUP BY e.id"
        ).fetchall()
        contexts = {
            cid
            for (cid,) in conn.execute(
                "SELECT DISTINCT c.context_id FROM evaluations e JOIN context_results c "
                "ON c.evaluation_id = e.id WHERE e.stage = 'train'"
            )
        }
    assert per_eval and all(count == 2 for _, count in per_eval) and len(contexts) == 2
    report = (tmp_path / "report.md").read_text()
    assert "a screening set of 2 train contexts" in report
    capsys.readouterr()
    assert main(["inspect", "--db", str(db), "summary"]) == 0
    assert "train fitness on a screening set of 2 train contexts" in capsys.readouterr().out
    assert main(["inspect", "--db", str(db), "summary", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["config"]["screen_contexts"] == 2
    cfg.write_text(four + "[budget]\nevaluations = 3\n")  # no screen given: every train context (sim roles)
    assert main(["run", "--config", str(cfg), "--db", str(db), "--resume"]) == 1
    err = capsys.readouterr().err
    assert "cascade.screen_contexts stored 2, given 0" in err and len(err.strip().splitlines()) == 1
