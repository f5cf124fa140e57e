"""LLMRespondent with a fake client: robust parsing, retry then missing, per-axis mode."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from fakes import FunctionClient

from generators.context_loader import context_from_dict
from generators.positions import positions
from generators.respondent import RESPONDENT_SYSTEM, LLMRespondent, parse_answer, parse_numbered

CTX = context_from_dict(
    {
        "id": "test_library",
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
PERSONAS = [
    {"name": "Ada", "description": "Quiet reader.", "targets": [0.1, 0.9]},
    {"name": "Bo", "description": "Loud gamer."},
]


@pytest.mark.parametrize(
    "reply,expected",
    [
        ("4", 4),
        ("4 - agree", 4),
        ("**5**", 5),
        ("I'd say 3", 3),
        ("Answer: 2.", 2),
        ("On a scale of 1-5, I'd give it 4", 4),
        ("4 out of 5", 4),
        ("agree", None),
        ("7", None),
        ("0", None),
        ("3.5", None),
        ("", None),
        ("-2", None),
    ],
)
def test_parse_answer(reply, expected):
    assert parse_answer(reply, 1, 5) == expected


def test_parse_numbered():
    assert parse_numbered("1. 4\n2) **2**\n3: strongly agree\n9. 5", 3, 1, 5) == [4, 2, None]


def test_every_item_one_call_in_character_and_hidden_fields_unseen():
    client = FunctionClient(lambda m, seed, n: "3")
    answers = asyncio.run(LLMRespondent(client=client).answer(PERSONAS, CTX, seed=7))
    assert answers.values.shape == (2, 5) and not np.isnan(answers.values).any()
    role, msgs, _ = client.calls[0]
    assert role == "respondent" and len(msgs) == 10
    assert msgs[0][0] == {"role": "system", "content": RESPONDENT_SYSTEM}
    assert msgs[0][1]["role"] == "user" and "Quiet reader." in msgs[0][1]["content"]
    assert all("0.1" not in str(m) and "targets" not in str(m) for m in msgs)
    assert "Noise ruins my day." in msgs[0][1]["content"] and "from 1" in msgs[0][1]["content"]


def test_invalid_reply_is_retried_with_new_seed_then_missing():
    def reply(messages, seed, call):
        text = messages[1]["content"]
        if "e-books" in text:
            return "agree"  # never a number: missing after retries
        if "lively" in text and call == 1:
            return "definitely 9"  # out of range first, valid on retry
        return "**4**"

    client = FunctionClient(reply)
    answers = asyncio.run(LLMRespondent(client=client, max_retries=2).answer(PERSONAS, CTX, seed=1))
    assert len(client.calls) == 3
    assert len({seed for _, _, seed in client.calls}) == 3
    assert [len(m) for _, m, _ in client.calls] == [10, 4, 2]  # 2 bad + 2 out of range, then 2 bad
    col_ebooks, col_lively = 2, 1
    assert np.isnan(answers.values[:, col_ebooks]).all()
    assert (answers.values[:, col_lively] == 4).all()
    assert answers.missing == 2
    res = positions(answers, CTX)
    assert res.missing == 2 and res.missing_by_axis == (0, 2) and res.empty == 0


def test_per_axis_mode_one_call_per_axis_numbered_list():
    def reply(messages, seed, call):
        n = messages[1]["content"].count("\n")
        return "\n".join(f"{i + 1}. 5" for i in range(n))

    client = FunctionClient(reply)
    answers = asyncio.run(LLMRespondent(client=client, per_axis=True).answer(PERSONAS, CTX, seed=0))
    assert len(client.calls) == 1 and len(client.calls[0][1]) == 4  # 2 personas x 2 axes
    np.testing.assert_array_equal(answers.values, np.full((2, 5), 5.0))
    np.testing.assert_allclose(positions(answers, CTX).Z, [[0.5, 2 / 3]] * 2)
