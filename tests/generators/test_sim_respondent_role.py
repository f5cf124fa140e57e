"""The sim's ``respondent`` role behind an LLMRespondent (issue 10's cost bench reads
through it): told what each statement measures, it answers as SimRespondent does; answers
given in one call share a response-style offset."""

from __future__ import annotations

import asyncio
import dataclasses

import numpy as np

from generators.positions import positions
from generators.respondent import LLMRespondent, SimRespondent
from generators.sim import SimKnobs, SimLLM
from generators.sim.answering import statement_key, statement_text_key
from tests.generators.test_respondent_sim import CTX, QUIET, _persona


class _SimClient:
    """The respondent role answered by one SimLLM, as the LLM client would route it."""

    def __init__(self, sim: SimLLM) -> None:
        self.sim = sim

    async def acomplete_many(self, role, list_of_messages, *, temperature=None, max_tokens=None, seed=None):
        texts = [
            self.sim.respond(role, list(m), seed=None if seed is None else seed + i)
            for i, m in enumerate(list_of_messages)
        ]
        return [dataclasses.make_dataclass("C", ["text"])(t) for t in texts]


def _people(count: int, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    return [_persona(f"P{i} Doe", float(u), float(f)) for i, (u, f) in enumerate(rng.random((count, 2)))]


def _sim(people: list[dict], knobs: SimKnobs, *, key: bool) -> SimLLM:
    sim = SimLLM(knobs=knobs, statements=statement_key(CTX.axes) if key else None)
    for p in people:  # the sim wrote these: its ledger vouches for them
        sim.ledger.register(p["description"])
    return sim


def _answer(sim: SimLLM, people: list[dict], mode: str, seed: int = 0):
    return asyncio.run(LLMRespondent(client=_SimClient(sim), mode=mode).answer(people, CTX, seed=seed))


def test_statement_keys_ignore_case_spacing_and_quotes():
    key = statement_key(CTX.axes)
    assert key[statement_text_key('  "The union   SPEAKS for me."  ')] == ("union loyalty", False)
    assert key[statement_text_key("Machines make the work safer.")] == ("automation fear", True)


def test_told_what_statements_measure_the_role_answers_exactly_as_the_sim_respondent():
    people = _people(30, seed=1)
    quiet = dataclasses.replace(QUIET, call_halo_sd=0.0)
    via_llm = _answer(_sim(people, quiet, key=True), people, "item")
    direct = SimRespondent(knobs=quiet, ledger=_sim(people, quiet, key=True).ledger).answer_sync(
        people, CTX, seed=0
    )
    np.testing.assert_array_equal(via_llm.values, direct.values)


def test_without_a_statement_key_the_crude_reader_misses_reverse_items():
    people = _people(40, seed=2)
    stated = np.array([[float(v) for v in _decoded(p)] for p in people])
    keyed = positions(_answer(_sim(people, QUIET, key=True), people, "item"), CTX).Z
    crude = positions(_answer(_sim(people, QUIET, key=False), people, "item"), CTX).Z
    r_keyed = [np.corrcoef(stated[:, k], keyed[:, k])[0, 1] for k in range(2)]
    assert min(r_keyed) > 0.95
    # the items the crude reader cannot place are answered as vague text (the same near-centre
    # answer whatever the persona states), so the stated position comes through diluted
    slope_keyed = [np.polyfit(stated[:, k], keyed[:, k], 1)[0] for k in range(2)]
    slope_crude = [np.polyfit(stated[:, k], np.nan_to_num(crude[:, k], nan=0.5), 1)[0] for k in range(2)]
    assert min(slope_keyed) > 0.9
    assert max(slope_crude) < min(slope_keyed) - 0.25


def _decoded(persona: dict) -> tuple[float, float]:
    from generators.sim.text import decode_traits

    traits = decode_traits(persona["description"])
    return traits["union loyalty"], traits["automation fear"]


def test_answers_given_in_one_call_lean_together():
    people = _people(60, seed=3)
    spread = {}
    for halo in (0.0, 1.0):
        knobs = dataclasses.replace(SimKnobs(), call_halo_sd=halo)
        values = _answer(_sim(people, knobs, key=True), people, "questionnaire").values
        direct = SimRespondent(knobs=knobs, ledger=_sim(people, knobs, key=True).ledger).answer_sync(
            people, CTX, seed=0
        )
        # keyed on forward/reverse: a shared offset moves forward and reverse items the same way
        spread[halo] = float(np.var((values - direct.values).mean(axis=1)))
    assert spread[1.0] > 4 * spread[0.0]
    single = [
        _answer(
            _sim(people[:5], dataclasses.replace(SimKnobs(), call_halo_sd=h), key=True), people[:5], "item"
        ).values
        for h in (0.0, 3.0)
    ]
    np.testing.assert_array_equal(single[0], single[1])  # one statement per call: no halo at all
