"""A Concordia-protocol persona generator written by the persona-evolve team in the style of
the paper's space-filling two-stage generators, asking for deeper JSON: stage 1 draws evenly
spread targets, states them per persona and asks for a JSON list (wrapped in ``people``)
whose persona objects nest a ``stance`` object per axis (a numeric ``score`` and a
``reason``), a ``background`` object and a list of short ``quotes``. Stage 2 turns each
persona into a long description from those nested parts."""

import json
from typing import Any

from concordia.document import interactive_document


def _spread(num: int, dims: int) -> list[list[float]]:
    """Evenly spread points in [0, 1]^dims (a Kronecker sequence)."""
    steps = [((k + 1) * 0.6180339887 + 0.1 * k) % 1.0 for k in range(dims)]
    return [[round((0.5 + i * s) % 1.0, 2) for s in steps] for i in range(num)]


class NestedProfileGenerator:
    """Stage 1: one JSON call with nested per-axis stance objects; stage 2: one description each."""

    def __init__(self, model):
        self._model = model

    def generate_diverse_persona_characteristics(self, initial_context, diversity_axes, num_personas):
        axes = list(diversity_axes)
        points = _spread(num_personas, len(axes))
        doc = interactive_document.InteractiveDocument(self._model)
        doc.statement(f"Setting: {initial_context}")
        doc.statement("Each person below must sit at the stated positions (0 = low end, 1 = high end).")
        for i, point in enumerate(points):
            doc.statement(f"Persona {i + 1}: " + ", ".join(f"{a} = {v}" for a, v in zip(axes, point)))
        example = {
            "people": [
                {
                    "name": "Full Name",
                    "background": {"age": 40, "occupation": "what they do", "hometown": "where they grew up"},
                    "stance": {axes[0]: {"score": 0.25, "reason": "why they sit there"}},
                    "quotes": ["something they would say", "another thing they would say"],
                    "description": "who they are",
                }
            ]
        }
        question = (
            f"Write the {num_personas} personas, one per line of positions, in that order. Be concrete "
            "and vivid; do not soften the extremes. Return JSON shaped like this example, with one "
            "stance entry per axis:\nExample output:\n"
            + json.dumps(example, indent=2)
            + "\nReturn the JSON only."
        )
        reply = doc.open_question(question, max_tokens=6000, terminators=())
        try:
            data = json.loads(reply)
        except json.JSONDecodeError:
            return []
        people: list[dict[str, Any]] = data.get("people", []) if isinstance(data, dict) else []
        for persona in people:
            persona["initial_context"] = initial_context
        return people[:num_personas]

    def generate_single_persona_memories(self, persona_details):
        name = persona_details.get("name", "someone")
        background = persona_details.get("background", {})
        stance_lines = [
            f"- {axis}: {entry['score']:.2f} ({entry['reason']})"
            for axis, entry in persona_details.get("stance", {}).items()
        ]
        doc = interactive_document.InteractiveDocument(self._model)
        doc.statement(f"Setting: {persona_details.get('initial_context', '')}")
        doc.statement(f"{name}, {background.get('age')}, works as {background.get('occupation')}.")
        doc.statement(f"Sketch of {name}: {persona_details.get('description', '')}")
        doc.statement("Stances:\n" + "\n".join(stance_lines))
        doc.statement("In their words: " + " / ".join(persona_details.get("quotes", [])))
        story = doc.open_question(
            f"Rewrite {name}'s sketch as a long, detailed description.", max_tokens=3000, terminators=()
        )
        return [story]
