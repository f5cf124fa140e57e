"""Sim texts cannot be forged: the sim's readers believe a trait sentence only when the sim
wrote it, in this evaluation, as part of one persona (generators.sim.ledger)."""

from __future__ import annotations

import asyncio
import inspect
import pickle
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_respondent_sim import HARBOUR

from generators.context_loader import context_from_dict
from generators.llm import build_client
from generators.positions import positions
from generators.respondent import LLMRespondent, SimRespondent
from generators.sim import SimKnobs, SimLedger, SimLLM, decode_traits
from generators.sim import text as sim_text
from generators.sim.answering import strip_trait_sentences
from generators.sim.request import parse_request
from generators.sim.text import trait_sentence
from generators.sim_binding import bind_evaluation

CTX = context_from_dict({**HARBOUR, "id": "test_harbour_auth"})
DECL = (
    "- union_loyalty: loyalty to the union (low = goes it alone; high = union first)\n"
    "- automation_fear: fear of automation (low = welcomes cranes; high = fears losing the job)"
)
EMPHATIC = "Be extreme, blunt, vivid and concrete; do not soften any position."
_DESC = re.compile(r"^Name: (?P<name>.+)\nDescription: (?P<desc>.+)$", re.MULTILINE)


def _personas(reply: str) -> list[dict[str, str]]:
    return [{"name": m.group("name"), "description": m.group("desc")} for m in _DESC.finditer(reply)]


def _write(sim: SimLLM, rows: list[tuple[float, float]], seed: int = 0) -> list[dict[str, str]]:
    """Personas the sim writes for target rows (union_loyalty, automation_fear)."""
    blocks = "\n".join(
        f"Persona {i + 1}: union_loyalty: {u:.2f}, automation_fear: {f:.2f}" for i, (u, f) in enumerate(rows)
    )
    reply = sim.respond("persona", [{"role": "user", "content": f"{DECL}\n{EMPHATIC}\n{blocks}"}], seed=seed)
    return _personas(reply)


def _forged(name: str, union: float, fear: float) -> dict[str, str]:
    """A persona a program writes itself, with the sim's own sentence function."""
    first = name.split()[0]
    return {
        "name": name,
        "description": " ".join(
            [
                f"[SIMULATED] {name}, 40, works the night shift.",
                trait_sentence("union_loyalty", first, union, "goes it alone", "union first"),
                trait_sentence("automation_fear", first, fear, "welcomes cranes", "fears losing the job"),
            ]
        ),
    }


def _generic(name: str) -> dict[str, str]:
    return {"name": name, "description": f"[SIMULATED] {name}, 40, works the night shift."}


def _Z(personas, ledger: SimLedger | None, seed: int = 0) -> np.ndarray:
    return positions(SimRespondent(ledger=ledger).answer_sync(personas, CTX, seed=seed), CTX).Z


# ---- the ledger's rule ---------------------------------------------------------------------


def test_sim_written_sentences_decode_and_program_written_ones_do_not():
    ledger = SimLedger()
    written = _write(SimLLM(ledger=ledger), [(1.0, 0.0), (0.0, 1.0)])
    assert len(written) == 2
    for p in written:  # the sim's own text reads exactly as the unauthenticated parser reads it
        assert ledger.decode(p["description"]) == decode_traits(p["description"]) != {}
    forged = _forged("Mallory Quist", 0.9, 0.1)
    assert decode_traits(forged["description"]) == {"union loyalty": 0.9, "automation fear": 0.1}
    assert ledger.decode(forged["description"]) == {}


def test_the_same_sentence_reads_when_the_sim_wrote_it_in_this_evaluation():
    ledger = SimLedger()
    p = _write(SimLLM(ledger=ledger), [(1.0, 0.0)])[0]
    first = p["name"].split()[0]
    z = ledger.decode(p["description"])["union loyalty"]
    rebuilt = trait_sentence("union_loyalty", first, z, "goes it alone", "union first")
    assert rebuilt in p["description"]  # the very sentence the sim wrote
    assert ledger.decode(rebuilt) == {"union loyalty": z}
    other = trait_sentence("union_loyalty", first, 1.0 - z, "goes it alone", "union first")
    assert ledger.decode(other) == {}  # same persona, a grade the sim did not write


def test_a_sentence_from_another_evaluation_does_not_read():
    sim_a = SimLLM(ledger=SimLedger())
    p = _write(sim_a, [(1.0, 0.0)])[0]
    assert sim_a.ledger.decode(p["description"])
    assert SimLedger().decode(p["description"]) == {}
    # an identical sim (same knobs, same prompt, same seed) in another evaluation
    twin = SimLLM(ledger=SimLedger())
    assert _write(twin, [(1.0, 0.0)])[0] == p  # deterministic text ...
    fresh = SimLedger()
    assert fresh.decode(p["description"]) == {}  # ... but only its own ledger believes it


def test_pass_through_with_text_around_reordered_or_rewrapped_still_reads():
    ledger = SimLedger()
    p = _write(SimLLM(ledger=ledger), [(0.9, 0.2)])[0]
    want = ledger.decode(p["description"])
    sentences = re.findall(r"When it comes to [^.]+\.", p["description"])
    variants = [
        f"Profile of a dock worker. {p['description']} (edited by the program)",
        "\n".join(reversed(sentences)),
        p["description"].replace(". ", ".\n\n"),
        p["description"] + " " + _forged("Mallory Quist", 0.0, 1.0)["description"],
    ]
    for text in variants:
        assert ledger.decode(text) == want


def test_stitching_sentences_of_several_sim_personas_gains_nothing():
    ledger = SimLedger()
    a, b = _write(SimLLM(ledger=ledger), [(1.0, 1.0), (0.0, 0.0)])
    ua = re.search(r"When it comes to union_loyalty[^.]+\.", a["description"]).group(0)
    fb = re.search(r"When it comes to automation_fear[^.]+\.", b["description"]).group(0)
    got = ledger.decode(f"{ua} {fb}")
    assert got == {"union loyalty": ledger.decode(a["description"])["union loyalty"]}


def test_respondent_answers_a_forgery_as_it_answers_generic_text():
    ledger = SimLedger()
    _write(SimLLM(ledger=ledger), [(1.0, 0.0)] * 3)
    names = [f"Mallory Quist{i}" for i in range(12)]
    forged = [_forged(nm, float(i % 2), float((i + 1) % 2)) for i, nm in enumerate(names)]
    generic = [_generic(nm) for nm in names]
    np.testing.assert_array_equal(_Z(forged, ledger), _Z(generic, ledger))
    assert _Z(forged, None)[:, 0].std() > 0.3  # the unauthenticated reader would have believed it


def test_expanding_a_forged_earlier_persona_launders_nothing():
    ledger = SimLedger()
    sim = SimLLM(ledger=ledger)
    real = _write(sim, [(1.0, 0.0)])[0]
    forged = _forged("Mallory Quist", 0.0, 1.0)
    for persona, expected in ((real, 1), (forged, 0)):
        msgs = [
            {
                "role": "user",
                "content": f"{DECL}\nExpand this persona. {EMPHATIC}\n"
                f"Sketch: {persona['name']}: {persona['description']}",
            }
        ]
        req = parse_request(msgs, decode=ledger.decode)
        assert len(req.earlier) == expected and req.expand is bool(expected)
    msgs = [
        {
            "role": "user",
            "content": f"{DECL}\nExpand this persona. {EMPHATIC}\n"
            f"Sketch: {forged['name']}: {forged['description']}",
        }
    ]
    out = _personas(sim.respond("persona", msgs, seed=0))
    assert all(abs(v - 0.5) < 0.3 for p in out for v in ledger.decode(p["description"]).values())


@settings(max_examples=60, deadline=None)
@given(
    grades=st.lists(st.tuples(st.integers(0, 10), st.integers(0, 10)), min_size=1, max_size=4),
    picks=st.lists(
        st.tuples(st.integers(-1, 3), st.integers(0, 1), st.integers(0, 10)), min_size=1, max_size=8
    ),
)
def test_decoded_positions_always_come_from_one_registered_persona(grades, picks):
    """Any mix of registered sentences (of several personas) and forged ones decodes to a
    subset of one registered persona's positions, and never to a forged value."""
    axes = ("union_loyalty", "automation_fear")
    names = ["Ada", "Bilal", "Carmen", "Dmitri"]
    ledger = SimLedger()
    stated = []
    for i, row in enumerate(grades):
        stated.append({a: g / 10 for a, g in zip(axes, row)})
        ledger.register(" ".join(trait_sentence(a, names[i], g / 10, "lo", "hi") for a, g in zip(axes, row)))
    parts = []
    for who, axis, grade in picks:
        if 0 <= who < len(grades):
            parts.append(trait_sentence(axes[axis], names[who], stated[who][axes[axis]], "lo", "hi"))
        else:
            parts.append(trait_sentence(axes[axis], "Mallory", grade / 10, "lo", "hi"))
    got = ledger.decode(" Filler words. ".join(parts))
    assert any(all(stated[i][k.replace(" ", "_")] == v for k, v in got.items()) for i in range(len(grades)))
    first = next((w for w, _, _ in picks if 0 <= w < len(grades)), None)
    assert bool(got) == (first is not None)


def test_ledger_is_bounded_and_never_pickled():
    ledger = SimLedger(max_sentences=1)
    ledger.register(
        trait_sentence("a", "Ada", 1.0, None, None) + " " + trait_sentence("b", "Ada", 0.0, None, None)
    )
    assert len(ledger) == 1 and ledger.decode(trait_sentence("b", "Ada", 0.0, None, None)) == {}
    with pytest.raises(TypeError, match="never leaves"):
        pickle.dumps(SimLedger())
    sim = SimLLM()
    p = _write(sim, [(1.0, 0.0)])[0]
    copy = pickle.loads(pickle.dumps(sim))  # a copy shipped to another process ...
    assert (
        copy.knobs == sim.knobs and copy.ledger.decode(p["description"]) == {}
    )  # ... knows nothing written here
    with pytest.raises(ValueError):
        SimLedger(max_sentences=0)


# ---- wiring: client view, cache, LLM respondent on the sim, the evaluation -------------------


def test_bind_evaluation_shares_one_fresh_ledger_and_the_clients_accounting(tmp_path):
    client = build_client({"persona": "sim", "respondent": "sim"}, cache_path=tmp_path / "cache.sqlite")
    bound, resp = bind_evaluation(client, SimRespondent(knobs=SimKnobs(item_sd=0.1)))
    assert bound is not client and bound.sim_backend.ledger is resp.ledger
    assert resp.knobs == SimKnobs(item_sd=0.1)
    bound2, resp2 = bind_evaluation(client, SimRespondent())
    assert resp2.ledger is not resp.ledger and bound2.sim_backend.ledger is resp2.ledger
    prompt = f"{DECL}\n{EMPHATIC}\nPersona 1: union_loyalty: 1.0, automation_fear: 0.0"
    p = _personas(bound.complete("persona", prompt, seed=1))[0]
    assert resp.ledger.decode(p["description"]) and resp2.ledger.decode(p["description"]) == {}
    assert client.usage()["persona"].calls == 1  # the view's calls are the client's
    assert len(client.cache) == 0  # sim replies are never cached, so a cache cannot replay them
    other = object()
    assert bind_evaluation(other, other) == (other, other)


def test_llm_respondent_on_the_sim_reads_only_this_evaluations_text():
    client = build_client({"persona": "sim", "respondent": "sim"})
    bound, resp = bind_evaluation(client, LLMRespondent(client=client))
    assert resp.client is bound
    prompt = f"{DECL}\n{EMPHATIC}\n" + "\n".join(
        f"Persona {i + 1}: union_loyalty: 1.0, automation_fear: 0.0" for i in range(6)
    )
    real = _personas(bound.complete("persona", prompt, seed=2))
    forged = [_forged(f"Mallory Quist{i}", 1.0, 0.0) for i in range(6)]
    z_real = positions(asyncio.run(resp.answer(real, CTX, seed=0)), CTX).Z
    z_forged = positions(asyncio.run(resp.answer(forged, CTX, seed=0)), CTX).Z
    # the sim's respondent role is a crude reader (statement -> axis by word overlap), but a
    # forged pole reads as no statement at all, while the sim-written pole reads as a pole
    contrast_real = (z_real[:, 0] - z_real[:, 1]).mean()  # high union, low fear
    contrast_forged = (z_forged[:, 0] - z_forged[:, 1]).mean()
    assert contrast_real > 0.25 and abs(contrast_forged) < 0.15
    assert abs(z_forged.mean() - 0.5) < 0.2


FORGER = (
    inspect.getsource(sim_text.grade_of)
    + inspect.getsource(sim_text.trait_sentence).replace("str | None", "object")
    + f"\nGRADE_WORDS = {sim_text.GRADE_WORDS!r}\n"
    + """

def generate(context, n, llm, rng):
    out = []
    for i in range(n):
        name = f"Ada Forge{i}"
        parts = [f"[SIMULATED] {name}, 40, lives here."]
        for j, a in enumerate(context.axes):
            parts.append(trait_sentence(a.name, "Ada", ((i * 0.618 + j * 0.381) % 1.0), a.low, a.high))
        out.append({"name": name, "description": " ".join(parts)})
    return out
"""
)

GENERIC = """
def generate(context, n, llm, rng):
    return [{"name": f"Ada Forge{i}", "description": f"[SIMULATED] Ada Forge{i}, 40, lives here."}
            for i in range(n)]
"""

PASS_THROUGH = (
    """
import re

def generate(context, n, llm, rng):
    decl = "\\n".join(f"- {a.name}: {a.description} (low = {a.low}; high = {a.high})" for a in context.axes)
    prompts = []
    for i in range(n):
"""
    '        row = ", ".join(f"{a.name}: {((i * 0.618 + j * 0.381) '
    '% 1.0):.2f}" for j, a in enumerate(context.axes))'
    """
        prompts.append(f"{decl}\\nBe extreme, blunt, vivid and concrete.\\nPersona 1: {row}")
    out = []
    for reply in llm.complete_many(prompts):
        name = re.search(r"^Name: (.+)$", reply, re.M).group(1)
        desc = re.search(r"^Description: (.+)$", reply, re.M).group(1)
        out.append({"name": name, "description": "Profile: " + desc + " (kept as written)"})
    return out
"""
)


def _evaluate(code: str, seed: int = 3):
    from generators.evaluation import EvalSettings, evaluate_program

    client = build_client({"persona": "sim", "respondent": "sim"})
    outcome = asyncio.run(
        evaluate_program(
            code,
            [CTX],
            client=client,
            respondent=SimRespondent(),
            settings=EvalSettings(n=8, mc_samples=2000, parallel=1),
            seed=seed,
        )
    )
    ctx = outcome.contexts[0]
    assert ctx.error is None, f"{ctx.error}\n{ctx.detail}"
    return ctx


def test_in_an_evaluation_forged_text_scores_as_generic_text_and_sim_text_reads():
    forged, generic, honest = _evaluate(FORGER), _evaluate(GENERIC), _evaluate(PASS_THROUGH)
    assert decode_traits(forged.personas[0]["description"])  # the forgery is well formed
    np.testing.assert_array_equal(forged.positions, generic.positions)
    trusting = positions(SimRespondent().answer_sync(honest.personas, CTX, seed=0), CTX).Z
    # sim text read through the ledger spreads as widely as read with no check at all, and
    # far wider than the forgery, which reads as generic text (n = 8: measured 0.19-0.22 vs 0.07)
    assert abs(honest.positions[:, 0].std() - trusting[:, 0].std()) < 0.05
    assert honest.positions[:, 0].std() > 2 * forged.positions[:, 0].std()
    assert honest.metrics["coverage"] > forged.metrics["coverage"] + 0.1

    # sim text copied from that evaluation into a new program reads in none other: exactly as
    # the same texts with every trait sentence taken out (vague text)
    def replaying(personas) -> str:
        return (
            "PERSONAS = "
            + repr(personas)
            + "\n\ndef generate(context, n, llm, rng):\n    return PERSONAS[:n]\n"
        )

    replay = _evaluate(replaying(honest.personas))
    assert decode_traits(replay.personas[0]["description"])
    stripped = _evaluate(
        replaying(
            [
                {"name": p["name"], "description": strip_trait_sentences(p["description"])}
                for p in honest.personas
            ]
        )
    )
    assert not decode_traits(stripped.personas[0]["description"])
    np.testing.assert_array_equal(replay.positions, stripped.positions)
