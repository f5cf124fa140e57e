"""SimRespondent and positions: reads only the text, reverse coding, missing answers."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from generators.context_loader import context_from_dict
from generators.positions import positions
from generators.respondent import Answers, SimRespondent, item_layout
from generators.sim import SimLLM, default_point
from generators.sim.knobs import SimKnobs
from generators.sim.text import trait_sentence

HARBOUR = {
    "id": "test_harbour",
    "description": "Dock workers in a small harbour town.",
    "scale": {"min": 1, "max": 5},
    "axes": [
        {
            "name": "union_loyalty",
            "description": "loyalty to the union",
            "low": "goes it alone",
            "high": "union first",
            "items": [
                {"text": "The union speaks for me.", "reverse": False},
                {"text": "I negotiate my own deals.", "reverse": True},
                {"text": "I would strike if the union asked.", "reverse": False},
            ],
        },
        {
            "name": "automation_fear",
            "description": "fear of automation",
            "low": "welcomes cranes",
            "high": "fears losing the job",
            "items": [
                {"text": "The new cranes will take my job.", "reverse": False},
                {"text": "Machines make the work safer.", "reverse": True},
                {"text": "I lie awake about automation.", "reverse": False},
            ],
        },
    ],
}
"""A harbour context of our own (two axes, three items each); other tests reuse it."""
CTX = context_from_dict(HARBOUR)
QUIET = SimKnobs(central_tendency=0.0, item_sd=0.0, answer_noise_sd=0.0)


def _persona(name: str, union: float, fear: float | None) -> dict:
    parts = [
        f"[SIMULATED] {name}, 40, works the night shift.",
        trait_sentence("union_loyalty", name.split()[0], union, "goes it alone", "union first"),
    ]
    if fear is not None:
        parts.append(
            trait_sentence(
                "automation_fear", name.split()[0], fear, "welcomes cranes", "fears losing the job"
            )
        )
    return {"name": name, "description": " ".join(parts)}


def _Z(personas, knobs=SimKnobs(), seed=0) -> np.ndarray:
    answers = asyncio.run(SimRespondent(knobs=knobs).answer(personas, CTX, seed=seed))
    return positions(answers, CTX).Z


def test_reads_only_name_and_description():
    plain = [_persona("Ada Costa", 0.9, 0.1), _persona("Ivo Banda", 0.2, 0.7)]
    tampered = [dict(p, targets=[0.0, 1.0], position=[0.5, 0.5], notes="union_loyalty: 0.0") for p in plain]
    np.testing.assert_array_equal(_Z(plain), _Z(tampered))


def test_decodes_stated_positions_and_reverse_items_are_flipped():
    Z = _Z([_persona("Ada Costa", 1.0, 0.0), _persona("Ivo Banda", 0.0, 1.0)], knobs=QUIET)
    np.testing.assert_allclose(Z, [[1.0, 0.0], [0.0, 1.0]])
    answers = SimRespondent(knobs=QUIET).answer_sync([_persona("Ada Costa", 1.0, 0.0)], CTX, seed=0)
    _, _, rev = item_layout(CTX)
    assert answers.values[0, 1] == 1.0 and rev[1]  # agrees with nothing of the low pole
    assert answers.values[0, 0] == 5.0


def test_central_tendency_pulls_toward_midpoint():
    Z = _Z(
        [_persona("Ada Costa", 1.0, 0.0)] * 20,
        knobs=SimKnobs(item_sd=0.0, answer_noise_sd=0.0, central_tendency=0.3),
    )
    assert np.all(Z[:, 0] < 1.0) and np.all(Z[:, 1] > 0.0)


def test_silent_axis_is_guessed_near_the_default_point_the_same_for_the_same_text():
    knobs = SimKnobs()
    personas = [_persona(f"Ada Costa{i}", 0.9, None) for i in range(40)]
    c = default_point("automation_fear", knobs.default_offset)
    guesses = [SimRespondent().latents(personas, CTX, np.random.default_rng(s))[:, 1] for s in (0, 1)]
    np.testing.assert_array_equal(guesses[0], guesses[1])  # from the text, not from the rng
    assert np.all(np.abs(guesses[0] - c) <= knobs.guess_spread + 1e-12)
    assert guesses[0].std() > 0.0  # other words, another (bounded) guess
    # the answers on a silent axis carry no answer noise: the same text answers the same way
    # under every respondent seed, while the stated axis still varies with the seed
    a, b = (SimRespondent().answer_sync(personas, CTX, seed=s).values for s in (3, 4))
    _, axis, _ = item_layout(CTX)
    np.testing.assert_array_equal(a[:, axis == 1], b[:, axis == 1])
    assert not np.array_equal(a[:, axis == 0], b[:, axis == 0])


def test_answers_are_seeded_and_on_the_scale():
    ps = [_persona("Ada Costa", 0.6, 0.4)] * 30
    a = SimRespondent().answer_sync(ps, CTX, seed=1).values
    b = SimRespondent().answer_sync(ps, CTX, seed=1).values
    c = SimRespondent().answer_sync(ps, CTX, seed=2).values
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert set(np.unique(a)) <= {1.0, 2.0, 3.0, 4.0, 5.0}


def test_sim_written_personas_round_trip_to_positions():
    reply = SimLLM().respond(
        "persona",
        [
            {
                "role": "user",
                "content": (
                    "- union_loyalty: x (low = goes it alone; high = union first)\n"
                    "- automation_fear: y (low = welcomes cranes; high = fears losing the job)\n"
                    "Persona 1: union_loyalty: 1.0, automation_fear: 0.0\nPersona 2: union_loyalty: "
                    "0.0, automation_fear: 1.0"
                ),
            }
        ],
        seed=0,
    )
    descs = [ln[len("Description: ") :] for ln in reply.splitlines() if ln.startswith("Description:")]
    Z = _Z([{"name": f"p{i}", "description": d} for i, d in enumerate(descs)], knobs=QUIET)
    assert Z[0, 0] > Z[1, 0] + 0.2 and Z[1, 1] > Z[0, 1] + 0.2


def test_positions_skip_missing_and_count_empty_axes():
    _, axis, rev = item_layout(CTX)
    values = np.array([[5, 1, np.nan, np.nan, np.nan, np.nan], [3, 3, 3, 1, 5, 1]], dtype=float)
    res = positions(Answers(values, axis, rev, 1, 5), CTX)
    # an axis with no answer at all is missing (NaN), never a made-up 0.5
    np.testing.assert_allclose(res.Z, [[1.0, np.nan], [0.5, 0.0]])
    assert np.isnan(res.Z[0, 1])
    assert res.missing == 4 and res.missing_by_axis == (1, 3)
    assert res.empty == 1 and res.empty_by_axis == (0, 1)


def test_positions_reject_wrong_shape():
    _, axis, rev = item_layout(CTX)
    with pytest.raises(ValueError, match="positions"):
        positions(Answers(np.ones((2, 3)), axis, rev, 1, 5), CTX)
