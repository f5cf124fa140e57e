"""The simulated LLM: determinism, labelling, and each of the five pathologies."""

from __future__ import annotations

import json

import numpy as np
import pytest

from generators.context_loader import context_from_dict
from generators.drafting import build_draft_prompt
from generators.sim import SIM_TAG, SimLLM, decode_traits, default_point
from generators.sim.knobs import SimKnobs
from generators.sim.request import parse_request
from generators.sim.world import realise, target_shrink

AXES = ["privacy_need", "risk_taking", "rule_following"]
DECL = "\n".join(
    f"- {a}: a trait (low = little {a.replace('_', ' ')}; high = much {a.replace('_', ' ')})" for a in AXES
)
C = np.array([default_point(a, SimKnobs().default_offset) for a in AXES])


def _ask(sim: SimLLM, prompt: str, seed: int = 0) -> np.ndarray:
    """Decoded positions (personas x axes) of a persona request."""
    reply = sim.respond("persona", [{"role": "user", "content": prompt}], seed=seed)
    rows = []
    for line in reply.splitlines():
        if line.startswith("Description:"):
            traits = decode_traits(line)
            rows.append([traits[a.replace("_", " ")] for a in AXES])
    return np.array(rows)


def _targets(rows: np.ndarray) -> str:
    return "\n".join(
        f"Persona {i + 1}: " + ", ".join(f"{a}: {t:.2f}" for a, t in zip(AXES, row))
        for i, row in enumerate(rows)
    )


def test_same_seed_same_text_other_seed_other_realisation():
    sim = SimLLM()
    prompt = f"{DECL}\nWrite 8 personas."
    msgs = [{"role": "user", "content": prompt}]
    assert sim.respond("persona", msgs, seed=3) == sim.respond("persona", msgs, seed=3)
    a, b = _ask(sim, prompt, seed=3), _ask(sim, prompt, seed=4)
    assert a.shape == b.shape == (8, 3)
    assert not np.array_equal(a, b)


def test_everything_written_is_labelled_simulated():
    reply = SimLLM().respond("persona", [{"role": "user", "content": f"{DECL}\nWrite 3 personas."}], seed=0)
    descriptions = [ln for ln in reply.splitlines() if ln.startswith("Description:")]
    assert len(descriptions) == 3 and all(SIM_TAG in d for d in descriptions)
    assert "SIMULATED" in repr(SimLLM())


def test_unknown_role_is_refused():
    with pytest.raises(ValueError, match="unsupported role"):
        SimLLM().respond("mutator", [{"role": "user", "content": "hi"}])


def test_mode_collapse_generic_request_clusters_near_default_point():
    sim = SimLLM()
    Z = np.vstack(
        [_ask(sim, f"{DECL}\nWrite 20 diverse personas for this setting.", seed=s) for s in range(3)]
    )
    assert Z.shape == (60, 3)
    assert np.all(Z.std(axis=0) < 0.08)
    assert np.all(np.abs(Z.mean(axis=0) - C) < 0.08)
    rng = np.random.default_rng(0)
    targeted = _ask(sim, f"{DECL}\n{_targets(rng.random((20, 3)))}", seed=0)
    assert np.all(targeted.std(axis=0) > 2 * Z.std(axis=0))


def _realised_high(prompt_extra: str, knobs: SimKnobs = SimKnobs()) -> float:
    sim = SimLLM(knobs=knobs)
    vals = [
        _ask(
            sim,
            f"{DECL}\n{prompt_extra}\nPersona 1: privacy_need: 1.0, risk_taking: 0.5, rule_following: 0.5",
            seed=s,
        )[0, 0]
        for s in range(40)
    ]
    return float(np.mean(vals))


def test_softened_extremes_and_emphasis_or_softening_cues():
    plain = _realised_high("Write this persona.")
    emphatic = _realised_high(
        "Write this persona. Be vivid and concrete, blunt and uncompromising; do not soften."
    )
    soft = _realised_high("Write this persona. Keep it balanced, realistic and nuanced.")
    assert plain < 0.9  # a target of 1.0 comes out shrunk toward the centre
    assert emphatic > plain + 0.04
    assert soft < plain - 0.04


def test_emphasis_has_diminishing_returns():
    knobs = SimKnobs()
    cues = ["vivid", "concrete", "blunt", "uncompromising", "intense", "radical", "unapologetic"]
    shrinks = [
        target_shrink(parse_request([{"role": "user", "content": " ".join(cues[:k])}]), knobs)
        for k in range(len(cues) + 1)
    ]
    steps = np.diff(shrinks)
    assert shrinks[0] == pytest.approx(knobs.shrink_base)
    assert np.all(steps > 0) and np.all(np.diff(steps) < 0)
    assert shrinks[-1] < knobs.shrink_max


def test_run_to_run_noise_follows_noise_knob():
    prompt = f"{DECL}\nPersona 1: privacy_need: 0.8, risk_taking: 0.2, rule_following: 0.6"
    noisy = np.array([_ask(SimLLM(), prompt, seed=s)[0] for s in range(30)])
    quiet = np.array([_ask(SimLLM(knobs=SimKnobs(noise_sd=0.0)), prompt, seed=s)[0] for s in range(30)])
    assert noisy.std(axis=0).max() > 0.02
    assert quiet.std(axis=0).max() == 0.0


def _leak_corr(extra: str, knobs: SimKnobs) -> float:
    """How much the target of partner axis 1 moves the realised position on axis 0, relative
    to axis 0's own target (least squares over independent random targets, one per call)."""
    rng = np.random.default_rng(1)
    sim = SimLLM(knobs=knobs)
    T = rng.random((300, 3))
    Z = np.vstack([_ask(sim, f"{DECL}\n{extra}\n{_targets(T[i : i + 1])}", seed=i) for i in range(len(T))])
    X = np.column_stack([np.ones(len(T)), T])
    coef = np.linalg.lstsq(X, Z[:, 0], rcond=None)[0]
    return float(abs(coef[2]) / abs(coef[1]))


def test_cross_axis_leakage_correlates_independent_targets():
    base = SimKnobs(noise_sd=0.0)
    leaky = _leak_corr("Write this persona.", base)
    halved = _leak_corr("Write this persona. The axes are independent.", base)
    none = _leak_corr("Write this persona.", SimKnobs(noise_sd=0.0, leak=0.0))
    assert leaky == pytest.approx(0.2 / 0.8, abs=0.06)  # default leak 0.2
    assert halved == pytest.approx(0.1 / 0.9, abs=0.05)
    assert none < 0.04


def test_batch_anchoring_pulls_personas_of_one_call_together():
    knobs = SimKnobs(noise_sd=0.0)
    sim = SimLLM(knobs=knobs)
    T = np.random.default_rng(2).random((10, 3))
    together = _ask(sim, f"{DECL}\n{_targets(T)}", seed=0)
    alone = np.vstack([_ask(sim, f"{DECL}\n{_targets(T[i : i + 1])}", seed=0) for i in range(10)])
    assert together.std(axis=0).mean() < 0.85 * alone.std(axis=0).mean()
    unanchored = _ask(SimLLM(knobs=SimKnobs(noise_sd=0.0, anchor=0.0)), f"{DECL}\n{_targets(T)}", seed=0)
    np.testing.assert_allclose(unanchored, alone)


def test_expansion_keeps_name_and_drifts_toward_centre():
    knobs = SimKnobs(expand_noise_sd=0.0)
    sim = SimLLM(knobs=knobs)
    first = sim.respond(
        "persona",
        [
            {
                "role": "user",
                "content": f"{DECL}\nPersona 1: privacy_need: 0.0, risk_taking: 1.0, rule_following: 0.0",
            }
        ],
        seed=1,
    )
    desc = next(ln for ln in first.splitlines() if ln.startswith("Description:"))
    name = next(ln for ln in first.splitlines() if ln.startswith("Name:"))[len("Name: ") :]
    before = decode_traits(desc)
    second = sim.respond(
        "persona", [{"role": "user", "content": f"Expand this persona into a longer one.\n{desc}"}], seed=2
    )
    assert f"Name: {name}" in second and "(expanded)" in second
    after = decode_traits(second)
    assert set(after) == set(before)
    dist_before = sum(abs(before[a.replace("_", " ")] - c) for a, c in zip(AXES, C))
    dist_after = sum(abs(after[a.replace("_", " ")] - c) for a, c in zip(AXES, C))
    assert dist_after <= dist_before  # text grades round, so a small drift may not show

    def drift(extra: str) -> float:  # latent distance from c kept by a rewrite, as a share
        req = parse_request([{"role": "user", "content": f"Expand this persona. {extra}\n{desc}"}])
        Z = realise(req, knobs, np.random.default_rng(0)).Z[0]
        return float(np.abs(Z - C).sum() / dist_before)

    plain, emphatic = drift(""), drift("Be vivid, concrete and blunt; do not soften.")
    soft = drift("Keep it balanced, realistic and nuanced.")
    assert soft < plain < emphatic < 1.0
    assert plain == pytest.approx(knobs.expand_shrink, abs=1e-9)
    assert emphatic > 0.97  # emphatic rewrites keep nearly all of the distance


def test_differ_from_earlier_personas_spreads_untargeted_positions():
    sim = SimLLM()
    earlier = sim.respond("persona", [{"role": "user", "content": f"{DECL}\nWrite 10 personas."}], seed=0)
    shown = "\n".join(ln for ln in earlier.splitlines() if ln.startswith("Description:"))
    prompt = f"{DECL}\nWrite 10 new personas, clearly different from these:\n{shown}"
    spread = np.vstack([_ask(sim, prompt, seed=s) for s in range(3)]).std(axis=0).mean()
    collapsed = (
        np.vstack([_ask(sim, f"{DECL}\nWrite 10 new personas.", seed=s) for s in range(3)]).std(axis=0).mean()
    )
    assert spread > 1.5 * collapsed


def test_author_role_drafts_valid_labelled_template():
    prompt = build_draft_prompt("Passengers stuck at a ferry terminal during a strike.", 4)
    reply = SimLLM().respond("author", [{"role": "user", "content": prompt}], seed=0)
    ctx = context_from_dict(json.loads(reply))
    assert ctx.k == 4 and (ctx.scale_min, ctx.scale_max) == (1, 5)
    assert ctx.description.startswith("[SIMULATED TEMPLATE]")
    assert all(len(a.items) == 3 and sum(i.reverse for i in a.items) == 1 for a in ctx.axes)


def test_respondent_role_answers_one_integer_on_the_scale():
    sim = SimLLM()
    desc = next(
        ln
        for ln in sim.respond(
            "persona", [{"role": "user", "content": f"{DECL}\nPersona 1: privacy_need: 1.0"}], seed=0
        ).splitlines()
        if ln.startswith("Description:")
    )
    msgs = [
        {"role": "system", "content": desc},
        {
            "role": "user",
            "content": (
                'Statement: "I need my privacy."\nAnswer with exactly one integer from 1 (strongly '
                "disagree) to 7 (strongly agree)."
            ),
        },
    ]
    reply = sim.respond("respondent", msgs, seed=0)
    assert reply.strip().isdigit() and 1 <= int(reply) <= 7


_TAIL_CTX = context_from_dict(
    {
        "id": "test_tails",
        "description": "People in a shared building.",
        "scale": {"min": 1, "max": 5},
        "axes": [
            {
                "name": a,
                "description": f"how much {a.replace('_', ' ')}",
                "low": f"little {a}",
                "high": f"much {a}",
                "items": [
                    {"text": f"I show a lot of {a.replace('_', ' ')} ({i}).", "reverse": i == 1}
                    for i in range(3)
                ],
            }
            for a in AXES
        ],
    }
)
_EMPHATIC = (
    "Be vivid and concrete; do not soften the positions. Extreme, uncompromising positions are welcome."
)
_PLAIN = "Write in a natural, realistic voice."


def _two_stage_extremes(notes: str, n: int = 60) -> np.ndarray:
    """Positions (after SimRespondent) of personas asked, one per call, for a pole on axis 0
    (0.0 or 1.0, alternating) and random other axes, expanded in a second call that
    restates the targets; ``notes`` go into both prompts."""
    from generators.positions import positions
    from generators.respondent import SimRespondent

    sim, rng, personas = SimLLM(), np.random.default_rng(5), []
    for i in range(n):
        row = np.array([float(i % 2), *rng.random(2)])
        first = sim.respond(
            "persona", [{"role": "user", "content": f"{DECL}\n{notes}\n{_targets(row[None])}"}], seed=2 * i
        )
        desc = next(ln for ln in first.splitlines() if ln.startswith("Description:"))
        targets = "Targets: " + ", ".join(f"{a}: {t:.2f}" for a, t in zip(AXES, row))
        second = sim.respond(
            "persona",
            [
                {
                    "role": "user",
                    "content": (
                        f"{DECL}\nExpand the persona sketch below into a fuller persona. {notes}\n"
                        f"Sketch: {desc}\n{targets}"
                    ),
                }
            ],
            seed=2 * i + 1,
        )
        lines = second.splitlines()
        personas.append(
            {
                "name": next(ln for ln in lines if ln.startswith("Name:"))[6:],
                "description": next(ln for ln in lines if ln.startswith("Description:"))[13:],
            }
        )
    return positions(SimRespondent().answer_sync(personas, _TAIL_CTX, seed=0), _TAIL_CTX).Z


def test_emphatic_extreme_requests_reach_the_tails_and_plain_ones_do_not():
    emphatic, plain = _two_stage_extremes(_EMPHATIC), _two_stage_extremes(_PLAIN)
    poles = np.arange(len(emphatic)) % 2

    def tail(Z):  # share of personas outside [0.1, 0.9] on the axis asked to be extreme
        return float(np.mean((Z[:, 0] < 0.1) | (Z[:, 0] > 0.9)))

    def pole_gap(Z):  # mean distance from the requested pole, in [0, 1]
        return float(np.mean(np.abs(Z[:, 0] - poles)))

    assert tail(emphatic) >= 0.5
    assert tail(plain) <= 0.05
    assert pole_gap(emphatic) < 0.12 < pole_gap(plain)


def test_emphatic_writer_keeps_extreme_targets_near_the_pole_but_still_leaks():
    sim = SimLLM(knobs=SimKnobs(noise_sd=0.0))

    def high(extra: str, partner: float) -> float:  # written position of a privacy_need target of 1.0
        prompt = f"{DECL}\n{extra}\nPersona 1: privacy_need: 1.0, risk_taking: {partner}, rule_following: 0.5"
        return float(_ask(sim, prompt, seed=0)[0, 0])

    c_risk = C[1]
    assert high(_EMPHATIC, c_risk) == 1.0  # "extremely and uncompromisingly" at the pole
    assert high(_PLAIN, c_risk) <= 0.8
    # identity-congruent leakage survives emphasis: partner targets still move the axis
    # (privacy_need leaks from risk_taking with sign +1 in this hash), less with independence cues
    assert {high(_EMPHATIC, 0.0), high(_EMPHATIC, 1.0)} != {1.0}
    assert high(_EMPHATIC + " The axes are independent.", 0.0) >= high(_EMPHATIC, 0.0)
    assert _leak_corr(_EMPHATIC, SimKnobs(noise_sd=0.0)) > 0.1
