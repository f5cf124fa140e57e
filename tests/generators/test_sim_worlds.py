"""Named simulated worlds: each changes only what it says, and each change does what it says."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generators.context_loader import load_split
from generators.respondent import SimRespondent
from generators.seeds import load_seed
from generators.sim import SimKnobs, SimLLM
from generators.sim.formats import with_format_habits
from generators.sim.request import parse_request
from generators.sim.text import decode_traits
from generators.sim.worlds import DEFAULT_WORLD, WORLDS, UnknownWorld, get_world
from generators.sim_calibration import score_program

AXES = (
    "- trust_in_staff: how much they trust staff (low = suspicious; high = trusting)\n"
    "- patience: how long they wait calmly (low = snaps at once; high = endlessly patient)\n"
)


def _write(knobs: SimKnobs, cues: str, seed: int) -> dict[str, float]:
    """The positions the sim writes for one persona targeted near the high poles."""
    prompt = (
        f"Write 1 persona for an airline rebooking desk. {cues}\nAxes:\n{AXES}"
        "Persona 1: trust_in_staff: 0.95, patience: 0.05\n"
    )
    reply = SimLLM(knobs=knobs).respond("persona", [{"role": "user", "content": prompt}], seed=seed)
    return decode_traits(reply)


def _mean_distance_from_target(knobs: SimKnobs, cues: str) -> float:
    gaps = []
    for seed in range(12):
        got = _write(knobs, cues, seed)
        gaps.append(abs(got["trust in staff"] - 0.95) + abs(got["patience"] - 0.05))
    return float(np.mean(gaps))


DEFAULT_CUES = "Make them extreme, vivid, blunt and uncompromising; do not soften."
ALTERNATE_CUES = "Make them forceful, stark, pronounced and emphatic; do not tone down."


def test_every_world_differs_from_the_default_in_exactly_the_knobs_it_names():
    default = SimKnobs()
    for world in WORLDS.values():
        differ = {
            f.name
            for f in dataclasses.fields(SimKnobs)
            if getattr(world.knobs, f.name) != getattr(default, f.name)
        }
        assert differ == set(world.changes), world.name
        assert (world.name == DEFAULT_WORLD) == (not differ)
        assert world.summary and "\n" not in world.summary


def test_an_unknown_world_is_one_line_with_the_closest_name():
    with pytest.raises(UnknownWorld, match="did you mean 'literal'") as info:
        get_world("literall")
    assert "\n" not in str(info.value)


def _cues(world: str, cues: str) -> tuple[int, int, bool]:
    prompt = f"Write 1 persona. {cues}\nAxes:\n{AXES}Persona 1: trust_in_staff: 0.95, patience: 0.05\n"
    req = parse_request(
        [{"role": "user", "content": prompt}], vocabulary=get_world(world).knobs.cue_vocabulary
    )
    return req.emphasis, req.softening, req.independence


SOFT_CUES = "Keep them balanced, realistic and nuanced; independent traits."
ALTERNATE_SOFT = "Keep them even-handed, measured and understated; decoupled traits."


@pytest.mark.parametrize(
    "world, moved_by, ignores",
    [
        ("default", (DEFAULT_CUES, SOFT_CUES), (ALTERNATE_CUES, ALTERNATE_SOFT)),
        ("other-words", (ALTERNATE_CUES, ALTERNATE_SOFT), (DEFAULT_CUES, SOFT_CUES)),
        ("literal", (), (DEFAULT_CUES, SOFT_CUES, ALTERNATE_CUES, ALTERNATE_SOFT)),
    ],
)
def test_each_world_reads_only_its_own_vocabulary(world, moved_by, ignores):
    for cues in moved_by:
        assert _cues(world, cues) != (0, 0, False), (world, cues)
    for cues in ignores:
        assert _cues(world, cues) == (0, 0, False), (world, cues)


@pytest.mark.parametrize("world, cues", [("default", DEFAULT_CUES), ("other-words", ALTERNATE_CUES)])
def test_a_world_own_emphasis_words_pull_the_written_positions_toward_the_targets(world, cues):
    knobs = get_world(world).knobs
    assert _mean_distance_from_target(knobs, cues) < _mean_distance_from_target(knobs, "") - 0.05


def test_the_collapsed_world_softens_targets_more():
    assert (
        _mean_distance_from_target(get_world("collapsed").knobs, "")
        > _mean_distance_from_target(get_world("default").knobs, "") + 0.05
    )


def _answers(world: str) -> tuple[np.ndarray, object]:
    context = load_split("test")[0]
    personas = [
        {"name": f"p{i}", "description": "A person who says little about themselves."} for i in range(40)
    ]
    answers = SimRespondent(knobs=get_world(world).knobs).answer_sync(personas, context, seed=3)
    return answers.values, context


def test_the_yea_sayer_agrees_more_whatever_the_keying():
    default, context = _answers("default")
    yea, _ = _answers("yea-sayer")
    assert yea.mean() > default.mean() + 0.2
    assert yea.min() >= context.scale_min and yea.max() <= context.scale_max


def test_the_extreme_responder_answers_farther_from_the_middle():
    default, context = _answers("default")
    extreme, _ = _answers("extreme-responder")
    mid = (context.scale_min + context.scale_max) / 2
    assert np.abs(extreme - mid).mean() > np.abs(default - mid).mean() + 0.3


def test_the_chatty_world_wraps_json_replies_and_nothing_else():
    knobs = get_world("chatty").knobs
    reply = json.dumps({"personas": [{"name": "a", "description": "b"}]})
    wrapped = [with_format_habits(reply, knobs, seed) for seed in range(60)]
    fenced = sum("```json" in w for w in wrapped)
    chatter = sum(not w.startswith(("{", "```")) for w in wrapped)
    assert 0.5 * 60 < fenced < 0.9 * 60 and 0.3 * 60 < chatter < 0.7 * 60
    assert all(reply in w for w in wrapped)
    assert (
        with_format_habits("3", knobs, 1) == "3"
        and with_format_habits("plain text", knobs, 2) == "plain text"
    )


@settings(max_examples=60, deadline=None)
@given(reply=st.text(max_size=200), seed=st.integers(0, 2**32 - 1))
def test_the_default_world_sends_every_reply_unchanged(reply: str, seed: int):
    assert with_format_habits(reply, SimKnobs(), seed) == reply


def test_seed_programs_rank_the_same_in_every_world():
    """naive < batch < sobol holds in every world (each world moves the scores, not the
    order of what structure buys)."""
    contexts = load_split("test")[:4]
    codes = {name: load_seed(name) for name in ("naive", "batch", "sobol")}
    for world in WORLDS.values():
        cov = {
            name: float(
                np.mean(
                    [
                        r["coverage"]
                        for r in score_program(code, contexts, seeds=(0,), knobs=world.knobs, mc_samples=3000)
                    ]
                )
            )
            for name, code in codes.items()
        }
        assert cov["naive"] < cov["batch"] < cov["sobol"], (world.name, cov)


def test_a_worker_builds_its_sim_roles_in_the_world_of_its_spec():
    from evolve.execution.workers import WorkerSpec, build_worker_state

    client, respondent = build_worker_state(WorkerSpec(world="yea-sayer"))
    assert respondent.knobs == get_world("yea-sayer").knobs
    assert client.sim_backend.knobs == get_world("yea-sayer").knobs
    _, default_respondent = build_worker_state(WorkerSpec())
    assert default_respondent.knobs == SimKnobs()
