"""The sim world follows formats as an instruction-following model does: targets as JSON,
markdown tables, bullets, percentages and level labels; bare axis names; JSON answers when
asked (valid JSON, the requested keys and fields) with the pathologies still measured."""

from __future__ import annotations

import json

import numpy as np

from generators.sim import SimLLM
from generators.sim.request import parse_request
from generators.sim.text import default_point, norm_axis

AXES = ["civic trust", "appetite for change", "thrift"]


def _req(text: str):
    return parse_request([{"role": "user", "content": text}])


def test_targets_in_json_table_bullets_percent_and_levels() -> None:
    text = "\n".join(
        [
            "Build personas on the following axes: civic trust, appetite for change, thrift.",
            'Persona 1 traits: {"civic trust": 0.1, "appetite for change": "very high", "thrift": "80%"}',
            "| Persona | civic trust | appetite for change | thrift |",
            "|---|---|---|---|",
            "| 2 | 0.9 | Very Low | 20% |",
            "Persona 3:",
            "- civic trust: 50%",
            "- appetite for change: low",
            "- thrift: 7/10",
        ]
    )
    req = _req(text)
    assert [norm_axis(a.name) for a in req.axes] == AXES  # bare names declared
    assert req.count == 3
    assert req.targets[0] == {"civic trust": 0.1, "appetite for change": 0.9, "thrift": 0.8}
    assert req.targets[1] == {"civic trust": 0.9, "appetite for change": 0.1, "thrift": 0.2}
    assert req.targets[2] == {"civic trust": 0.5, "appetite for change": 0.25, "thrift": 0.7}


def test_format_examples_are_not_targets() -> None:
    text = "\n".join(
        [
            'Persona 1 traits: {"civic trust": 0.2, "thrift": 0.7}',
            'Persona 2 traits: {"civic trust": 0.8, "thrift": 0.3}',
            "Provide the output as a single JSON object with keys 'persona_1' and 'persona_2', each "
            "with 'name', "
            "'axis_position' and 'description' fields.",
            "Example format for the output:",
            "{",
            '  "persona_1": {',
            '    "name": "[Persona Name 1]",',
            '    "axis_position": {"civic trust": 0.2, "thrift": 0.7},',
            '    "description": "[Detailed description 1]"',
            "  }",
            "}",
            "Make sure the entire output is just the JSON object.",
        ]
    )
    req = _req(text)
    assert req.count == 2 and req.output == "json" and req.json_style == "persona_keys"
    assert {"name", "axis_position", "description"} <= set(req.json_fields)


def _paper_prompt(targets: list[dict[str, float]], emphatic: bool) -> str:
    lines = [f"The shared context is: a harbour town. Diversity axes: {', '.join(AXES)}."]
    lines += [f"Persona {i + 1} traits: {json.dumps(t)}" for i, t in enumerate(targets)]
    lines.append(
        ("Make every position unmistakable, concrete and vivid; do not soften extremes. " if emphatic else "")
        + f"Provide the output as a single JSON object with keys 'persona_1' to "
        f"'persona_{len(targets)}', each with 'name', 'axis_position' and 'description' fields."
    )
    return "\n".join(lines)


def _positions(sim: SimLLM, reply: str) -> np.ndarray:
    data = json.loads(reply)
    rows = []
    for persona in data.values():
        traits = sim.ledger.decode(persona["description"])
        rows.append([traits[norm_axis(a)] for a in AXES])
    return np.array(rows)


def test_json_answer_has_the_requested_keys_and_fields() -> None:
    sim = SimLLM()
    targets = [
        {a: float(v) for a, v in zip(AXES, row)}
        for row in [[0.0, 1.0, 0.5], [1.0, 0.0, 0.2], [0.5, 0.5, 0.9]]
    ]
    reply = sim.respond("persona", [{"role": "user", "content": _paper_prompt(targets, True)}], seed=3)
    data = json.loads(reply)  # valid JSON
    assert list(data) == ["persona_1", "persona_2", "persona_3"]
    for persona, target in zip(data.values(), targets):
        assert set(persona) == {"name", "axis_position", "description"}
        assert persona["axis_position"] == {a: round(v, 3) for a, v in target.items()}  # copied as asked
        assert persona["description"].startswith("[SIMULATED]")


def test_json_requests_keep_softened_extremes_and_collapse() -> None:
    sim = SimLLM()
    extreme = [{a: 0.0 for a in AXES}, {a: 1.0 for a in AXES}]
    plain = _positions(
        sim, sim.respond("persona", [{"role": "user", "content": _paper_prompt(extreme, False)}], seed=1)
    )
    loud = _positions(
        sim, sim.respond("persona", [{"role": "user", "content": _paper_prompt(extreme, True)}], seed=1)
    )
    spread_plain = float(np.mean(plain[1] - plain[0]))
    spread_loud = float(np.mean(loud[1] - loud[0]))
    assert spread_plain < 0.8  # softened toward the centre
    assert spread_loud > spread_plain  # emphasis still helps
    # mode collapse: "be diverse" in JSON with no per-persona targets
    ask = (
        f"Write 8 diverse personas on these axes: {', '.join(AXES)}. Provide the output as a JSON list of "
        "objects with 'name' and 'description' fields."
    )
    people = json.loads(sim.respond("persona", [{"role": "user", "content": ask}], seed=2))
    assert isinstance(people, list) and len(people) == 8
    z = np.array([[sim.ledger.decode(p["description"])[norm_axis(a)] for a in AXES] for p in people])
    centre = np.array([default_point(a, sim.knobs.default_offset) for a in AXES])
    assert float(np.abs(z - centre).max()) <= 0.2


def test_schema_and_short_answers() -> None:
    sim = SimLLM()
    schema = {"civic trust": {"explanation": "...", "low_archetype": "...", "high_archetype": "..."}}
    ask = (
        "For each axis give an explanation and two archetypes. Provide the output as a single JSON object "
        f"using the following schema:\n{json.dumps(schema)}"
    )
    data = json.loads(sim.respond("persona", [{"role": "user", "content": ask}], seed=0))
    assert set(data) == {"civic trust"} and set(data["civic trust"]) == {
        "explanation",
        "low_archetype",
        "high_archetype",
    }
    year = sim.respond(
        "persona", [{"role": "user", "content": "Question: What year was Ana born? Answer:"}], seed=0
    )
    assert year.isdigit() and 1900 < int(year) < 2010
    pick = sim.respond(
        "persona",
        [
            {
                "role": "user",
                "content": "Which one?\nRespond with exactly one of the "
                "following options and nothing else: (a), (b), (c)",
            }
        ],
        seed=0,
    )
    assert pick in ("(a)", "(b)", "(c)")
