"""Whole-questionnaire respondent mode: one JSON call per persona, validated; gaps re-asked one by one."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from generators.context_loader import context_from_dict
from generators.respondent import LLMRespondent, parse_json_answers
from generators.sim import SimLLM

CTX = context_from_dict(
    {
        "id": "test_library_q",
        "description": "Regulars of a public library.",
        "scale": {"min": 1, "max": 5},
        "axes": [
            {
                "name": "quiet_need",
                "description": "need for silence",
                "low": "likes bustle",
                "high": "needs silence",
                "items": [
                    {"text": "Noise ruins my day.", "reverse": False},
                    {"text": "I like a lively room.", "reverse": True},
                    {"text": "I read in silence.", "reverse": False},
                ],
            },
            {
                "name": "tech_use",
                "description": "use of digital services",
                "low": "paper only",
                "high": "all digital",
                "items": [
                    {"text": "I read e-books.", "reverse": False},
                    {"text": "I prefer the card catalogue.", "reverse": True},
                    {"text": "I book rooms online.", "reverse": False},
                ],
            },
        ],
    }
)
PERSONAS = [{"name": "Ada", "description": "Quiet reader."}, {"name": "Bo", "description": "Loud gamer."}]


@dataclass
class _C:
    text: str


class ScriptClient:
    def __init__(self, reply):
        self.reply = reply
        self.calls: list[list[dict]] = []

    async def acomplete_many(self, role, list_of_messages, **kw):
        assert role == "respondent"
        self.calls.extend(list_of_messages)
        return [_C(self.reply(m)) for m in list_of_messages]


def test_one_call_per_persona_when_the_json_is_valid():
    client = ScriptClient(lambda m: json.dumps({"answers": {str(i + 1): 1 + i % 5 for i in range(6)}}))
    answers = asyncio.run(LLMRespondent(client=client, mode="questionnaire").answer(PERSONAS, CTX, seed=3))
    assert len(client.calls) == len(PERSONAS)
    assert answers.missing == 0
    assert answers.values[0].tolist() == [1, 2, 3, 4, 5, 1]
    assert (
        "JSON" in client.calls[0][-1]["content"]
        and "6. I book rooms online." in client.calls[0][-1]["content"]
    )


def test_invalid_and_missing_items_are_reasked_one_by_one():
    def reply(messages):
        user = messages[-1]["content"]
        if "JSON" in user:  # item 2 out of range, item 4 a string, item 6 absent
            return '```json\n{"answers": {"1": 4, "2": 9, "3": 3, "4": "five", "5": 2}}\n```'
        return "2"

    client = ScriptClient(reply)
    answers = asyncio.run(LLMRespondent(client=client, mode="questionnaire").answer(PERSONAS, CTX, seed=1))
    singles = [m for m in client.calls if "JSON" not in m[-1]["content"]]
    assert len(singles) == 3 * len(PERSONAS)  # items 2, 4 and 6 for each persona
    assert all('Statement: "' in m[-1]["content"] for m in singles)
    assert answers.values[0].tolist() == [4, 2, 3, 2, 2, 2]


def test_not_json_falls_back_to_items_and_then_missing():
    client = ScriptClient(lambda m: "I would rather not say.")
    answers = asyncio.run(
        LLMRespondent(client=client, mode="questionnaire", max_retries=1).answer(PERSONAS, CTX, seed=0)
    )
    assert answers.missing == 12
    assert len(client.calls) == 2 + 2 * 12  # one JSON call each, then every item twice


def test_sim_answers_the_whole_questionnaire_as_json():
    sim = SimLLM()
    text = sim.respond(
        "respondent",
        [
            {"role": "system", "content": "You are Ada. Quiet."},
            {
                "role": "user",
                "content": "For each numbered statement below, say how much "
                "you agree with one integer from 1 (strongly disagree) to 5 (strongly agree). "
                "Reply with JSON only.\n1. Noise ruins my day.\n2. I read e-books.",
            },
        ],
        seed=1,
    )
    parsed = parse_json_answers(text, 2, 1, 5)
    assert all(v is not None for v in parsed)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.text(max_size=3),
        st.one_of(
            st.integers(-3, 9), st.floats(allow_nan=True), st.booleans(), st.text(max_size=2), st.none()
        ),
        max_size=10,
    ),
    st.booleans(),
)
def test_parse_json_answers_only_accepts_integers_on_the_scale(data, wrap):
    reply = json.dumps({"answers": data} if wrap else data)
    out = parse_json_answers(reply, 6, 1, 5)
    assert len(out) == 6
    for i, v in enumerate(out):
        if v is not None:
            assert isinstance(v, int) and 1 <= v <= 5
            raws = [
                data[k]
                for k in data
                if k.strip().isascii() and k.strip().isdigit() and int(k.strip()) == i + 1
            ]
            assert any(
                not isinstance(r, bool) and isinstance(r, (int, float)) and float(r) == v for r in raws
            )


def test_parse_json_answers_survives_deep_nesting_and_garbage():
    assert parse_json_answers("[" * 100_000 + "]" * 100_000, 3, 1, 5) == [None] * 3
    assert parse_json_answers("{" * 50_000, 3, 1, 5) == [None] * 3
    assert parse_json_answers('{"answers": [5, 1, 3]}', 3, 1, 5) == [5, 1, 3]
    assert np.isnan(float("nan"))  # sanity: NaN in JSON answers is never accepted
    assert parse_json_answers('{"1": NaN, "2": 4.0, "3": 4.5}', 3, 1, 5) == [None, 4, None]
