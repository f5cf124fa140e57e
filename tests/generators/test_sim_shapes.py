"""The sim writes the nested JSON shapes a persona request asks for (objects keyed by axis,
lists of objects, lists of strings, numbers, the example's keys and nesting), filled with the
persona's content: its positions flow into them, and its trait sentences stay in the
description only (no new place for them)."""

from __future__ import annotations

import json
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generators.sim import SimLLM
from generators.sim.request import parse_request
from generators.sim.shapes import described_shape, example_template
from generators.sim.text import TRAIT_RE, grade_of, norm_axis

AXES = ["civic trust", "appetite for change", "thrift"]
_FIELD_WORDS = ("axis", "position", "trait", "target", "score", "level", "persona", "name", "age")


def _ask(body: str, seed: int = 0) -> tuple[SimLLM, object]:
    sim = SimLLM()
    reply = sim.respond("persona", [{"role": "user", "content": body}], seed=seed)
    return sim, json.loads(reply)


def test_a_dictionary_keyed_by_axis_comes_back_as_one() -> None:
    body = (
        f"Write 3 personas on these axes: {', '.join(AXES)}. Provide the output as a single JSON object "
        "with keys 'persona_1' to 'persona_3', each with 'name', 'specific_attitudes', 'stance_scores' "
        "and 'description' fields.\n"
        f"- 'specific_attitudes': a dictionary where keys are the diversity axes ({', '.join(AXES)}) "
        "and values are one concrete opinion each.\n"
        "- 'stance_scores': a dictionary mapping each axis to a number between 0 and 1.\n"
        "- 'description': who they are."
    )
    sim, data = _ask(body)
    assert list(data) == ["persona_1", "persona_2", "persona_3"]
    for persona in data.values():
        attitudes, scores = persona["specific_attitudes"], persona["stance_scores"]
        assert [norm_axis(k) for k in attitudes] == AXES and all(
            isinstance(v, str) for v in attitudes.values()
        )
        assert [norm_axis(k) for k in scores] == AXES
        stated = sim.ledger.decode(persona["description"])
        for axis, value in scores.items():  # the position the description states, as a number
            assert isinstance(value, float) and value == stated[norm_axis(axis)]
        for text in attitudes.values():  # a level word, never a trait sentence
            assert not TRAIT_RE.search(text) and text.startswith("[SIMULATED]")


def test_stated_targets_are_copied_into_numeric_axis_objects() -> None:
    targets = [
        {"civic trust": 0.1, "appetite for change": 0.9, "thrift": 0.4},
        {"civic trust": 0.8, "appetite for change": 0.2, "thrift": 0.7},
    ]
    lines = [
        f"Persona {i + 1}: " + ", ".join(f"{a} = {v}" for a, v in t.items()) for i, t in enumerate(targets)
    ]
    example = {
        "personas": [
            {
                "name": "N",
                "stance": {"civic trust": {"score": 0.5, "why": "..."}},
                "quotes": ["q1", "q2"],
                "description": "D",
            }
        ]
    }
    body = "\n".join(
        [f"The axes: {', '.join(AXES)}."]
        + lines
        + [
            "Write these personas as JSON. Example output:",
            json.dumps(example, indent=2),
            "Return the JSON only.",
        ]
    )
    sim, data = _ask(body)
    people = data["personas"]
    assert len(people) == 2
    for person, target in zip(people, targets):
        assert {norm_axis(k): v["score"] for k, v in person["stance"].items()} == target
        assert all(isinstance(v["why"], str) for v in person["stance"].values())
        assert len(person["quotes"]) == 2 and len(set(person["quotes"])) == 2
        assert all(isinstance(q, str) for q in person["quotes"])


def test_lists_of_strings_and_numbers_from_the_description() -> None:
    assert described_shape("hobbies", "- 'hobbies': a list of short phrases.").kind == "list"
    assert described_shape("income", "'income' should be a number in euros").kind == "number"
    axes = described_shape("views", "'views': an object keyed by axis, each a score from 0 to 1.")
    assert axes.kind == "axes" and axes.item.kind == "number"
    assert described_shape("motive", "- 'motive': one sentence on why.") is None


def test_an_unformatted_template_example_is_read_as_a_model_reads_it() -> None:
    example = (
        '{{\n  "persona_1": {{\n    "name": "[Name]",\n    "attitudes": {{"axis1": "[x]", "axis2": "[y]"}},\n'
        '    "tags": ["a", "b", "c", "d"]\n  }},\n  ...\n}}'
    )
    template = example_template(example, set())
    assert template is not None
    shapes = dict(template.fields)
    assert shapes["attitudes"].kind == "axes" and shapes["tags"].kind == "list" and shapes["tags"].count == 3


def test_trait_sentences_are_only_in_the_description() -> None:
    body = (
        f"Write 4 personas on these axes: {', '.join(AXES)}. Give a JSON list of objects.\n"
        "Example format for the output:\n"
        '[{"name": "N", "axis_position": {"axis1": "High"}, "attitudes": {"axis1": "[opinion]"}, '
        '"profile": {"job": "J", "summary": "S"}, "notes": ["n"], "description": "D"}]'
    )
    sim, data = _ask(body, seed=5)
    assert isinstance(data, list) and len(data) == 4
    for person in data:
        whole = json.dumps(person)
        outside = whole.replace(json.dumps(person["description"])[1:-1], "")
        outside = outside.replace(json.dumps(person["profile"]["summary"])[1:-1], "")
        assert TRAIT_RE.search(person["description"]) and not TRAIT_RE.search(outside)
        # a nested description-like field holds the same description (one persona's sentences)
        assert person["profile"]["summary"] == person["description"]


# ---- any requested shape comes back valid JSON of that shape ------------------------------

_key = st.from_regex(r"f[a-z]{1,8}", fullmatch=True).filter(lambda k: not any(w in k for w in _FIELD_WORDS))
_leaf = st.one_of(st.just("[text]"), st.integers(0, 99), st.floats(0, 1).map(lambda x: round(x, 2)))


def _values(depth: int) -> st.SearchStrategy:
    if depth == 0:
        return _leaf
    inner = _values(depth - 1)
    homogeneous = st.tuples(inner, st.integers(1, 4)).map(lambda t: [t[0]] * t[1])
    by_axis = inner.map(lambda v: {a: v for a in AXES[:2]})
    return st.one_of(_leaf, homogeneous, by_axis, st.dictionaries(_key, inner, min_size=1, max_size=3))


def _same_shape(example: object, reply: object) -> bool:
    if isinstance(example, str):
        return isinstance(reply, str)
    if isinstance(example, (int, float)):
        return isinstance(reply, (int, float)) and not isinstance(reply, bool)
    if isinstance(example, list):
        return (
            isinstance(reply, list)
            and len(reply) == min(3, len(example))
            and all(_same_shape(example[0], r) for r in reply)
        )
    assert isinstance(example, dict)
    if not isinstance(reply, dict):
        return False
    if all(norm_axis(k) in AXES for k in example):  # keyed by axis: every axis of the request
        first = next(iter(example.values()))
        return [norm_axis(k) for k in reply] == AXES and all(_same_shape(first, v) for v in reply.values())
    return list(reply) == list(example) and all(_same_shape(example[k], reply[k]) for k in example)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    template=st.dictionaries(_key, _values(2), min_size=1, max_size=4),
    count=st.integers(1, 4),
    seed=st.integers(0, 10),
)
def test_any_example_shape_comes_back_in_that_shape(template: dict, count: int, seed: int) -> None:
    example = {f"persona_{i + 1}": template for i in range(min(count, 2))}
    body = (
        f"Write {count} personas on these axes: {', '.join(AXES)}. Provide the output as a single JSON "
        f"object with keys 'persona_1' to 'persona_{count}'.\nExample format for the output:\n"
        + json.dumps(example, indent=2)
        + "\nOutput only the JSON object."
    )
    assert parse_request([{"role": "user", "content": body}]).count == count
    sim, data = _ask(body, seed=seed)
    assert list(data) == [f"persona_{i + 1}" for i in range(count)]
    for persona in data.values():
        assert set(persona) - set(template) == {"name", "description"}  # always named and described
        assert all(_same_shape(template[k], persona[k]) for k in template), (template, persona)
        stated = sim.ledger.decode(persona["description"])
        assert sorted(stated) == sorted(AXES)  # the description still carries every position
        grades = {grade_of(v) for v in stated.values()}
        assert grades <= set(range(11))
        assert not re.search(r"When it comes to", json.dumps({k: persona[k] for k in template}))
