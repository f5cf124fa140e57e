"""Drafting a context with an LLM client: prompt shape, JSON extraction, retries."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fakes import ScriptedClient

from generators.context_loader import ContextError
from generators.drafting import AUTHOR_SYSTEM, build_draft_prompt, draft_context, extract_json_object


def ctx_json(k: int = 3, ident: str = "chess_club") -> dict[str, Any]:
    return {
        "id": ident,
        "description": "Members of a city chess club.",
        "scale": {"min": 1, "max": 5},
        "axes": [
            {
                "name": f"axis_{i}",
                "description": f"trait {i}",
                "low": f"low {i}",
                "high": f"high {i}",
                "items": [
                    {"text": f"Statement {i}a.", "reverse": False},
                    {"text": f"Statement {i}b.", "reverse": True},
                    {"text": f"Statement {i}c.", "reverse": False},
                ],
            }
            for i in range(k)
        ],
    }


def test_prompt_has_description_and_axes_lines() -> None:
    prompt = build_draft_prompt("Fans at a\n  chess   tournament ", 4)
    lines = prompt.splitlines()
    assert "DESCRIPTION: Fans at a chess tournament" in lines
    assert "AXES: 4" in lines
    assert "exactly 4 diversity axes" in prompt


@pytest.mark.parametrize("axes", [1, 7, 0])
def test_prompt_rejects_bad_axes(axes: int) -> None:
    with pytest.raises(ContextError, match="axes must be an integer in 2..6"):
        build_draft_prompt("x", axes)


def test_prompt_rejects_empty_description() -> None:
    with pytest.raises(ContextError, match="description must be a non-empty string"):
        build_draft_prompt("  \n ", 3)


@pytest.mark.parametrize(
    "reply",
    [
        '```json\n{"a": 1}\n```',
        'Here you go:\n```\n{"a": 1}\n```\nHope it helps!',
        'Sure! {"a": 1} is the context.',
        'Note {not json} then {"a": 1}',
        '```python\nx = {}\n```\n```json\n{"a": 1}\n```',
    ],
)
def test_extract_json_object_tolerates_fences_and_prose(reply: str) -> None:
    assert extract_json_object(reply) == {"a": 1}


def test_extract_json_object_keeps_braces_inside_strings() -> None:
    assert extract_json_object('{"t": "a } b {", "n": [1, {"x": 2}]}') == {"t": "a } b {", "n": [1, {"x": 2}]}


def test_extract_json_object_errors() -> None:
    with pytest.raises(ContextError, match=r"^r: \$: reply contains no JSON object$"):
        extract_json_object("no braces here", source="r")
    with pytest.raises(ContextError, match=r"reply is not valid JSON \(line 1:2"):
        extract_json_object("{oops", source="r")


def test_draft_retries_with_errors_fed_back() -> None:
    bad = ctx_json()
    del bad["axes"][1]["high"]
    client = ScriptedClient(
        [
            "I cannot write JSON today.",
            json.dumps(bad),
            "Here is the fixed version:\n```json\n" + json.dumps(ctx_json()) + "\n```",
        ]
    )
    ctx = draft_context("Members of a chess club", axes=3, client=client, model_label="fake")
    assert ctx.id == "chess_club" and ctx.k == 3
    assert ctx.source == "<draft:fake>" and ctx.split is None
    assert len(client.calls) == 3
    assert all(role == "author" and system == AUTHOR_SYSTEM for role, _, system in client.calls)
    first, second, third = (prompt for _, prompt, _ in client.calls)
    assert "problems" not in first
    for prompt in (first, second, third):
        assert "DESCRIPTION: Members of a chess club" in prompt.splitlines()
        assert "AXES: 3" in prompt.splitlines()
    assert "- <draft:fake attempt 1>: $: reply contains no JSON object" in second
    assert "I cannot write JSON today." in second
    assert "- <draft:fake attempt 2>: $.axes[1].high: missing field" in third


def test_draft_rejects_wrong_number_of_axes_then_accepts() -> None:
    client = ScriptedClient([json.dumps(ctx_json(k=2)), json.dumps(ctx_json(k=4))])
    ctx = draft_context("chess", axes=4, client=client, model_label="fake")
    assert ctx.k == 4
    assert "$.axes: expected 4 axes as requested, got 2" in client.calls[1][1]


def test_draft_fails_after_two_retries_with_all_problems() -> None:
    bad = ctx_json()
    bad["scale"] = {"min": 5, "max": 5}
    bad["axes"][0]["lwo"] = bad["axes"][0].pop("low")
    client = ScriptedClient([json.dumps(bad)])
    with pytest.raises(ContextError) as info:
        draft_context("chess", axes=3, client=client, model_label="fake")
    assert len(client.calls) == 3
    assert sorted(info.value.problems) == sorted(
        [
            "<draft:fake attempt 3>: $.scale: min (5) must be < max (5)",
            "<draft:fake attempt 3>: $.axes[0].lwo: unknown field (did you mean 'low'?)",
            "<draft:fake attempt 3>: $.axes[0].low: missing field",
        ]
    )


def test_draft_retries_parameter() -> None:
    client = ScriptedClient(["nothing"])
    with pytest.raises(ContextError):
        draft_context("chess", axes=3, client=client, model_label="fake", retries=0)
    assert len(client.calls) == 1


def test_client_errors_propagate() -> None:
    class Boom:
        def complete(self, role: str, prompt: str, *, system: str | None = None) -> str:
            raise RuntimeError("network down")

    with pytest.raises(RuntimeError, match="network down"):
        draft_context("chess", axes=3, client=Boom(), model_label="fake")
