"""A Concordia-protocol persona generator written by the persona-evolve team in the style of
the paper's batched two-stage generators: stage 1 asks for personas in batches, one JSON
object keyed ``persona_1`` ... per batch, each persona with level labels per axis, a core
motivation and ``specific_attitudes``, a dictionary keyed by axis (the shape a real model
writes; a string there breaks stage 2); later batches see the earlier personas (name and
description) and are told to differ from them. Stage 2 expands each persona into a long description built
from its attitudes, one paragraph per axis."""

import json
from typing import Any

from concordia.document import interactive_document

LABELS = "'Very Low', 'Low', 'Medium', 'High', 'Very High'"


class AttitudeBatchGenerator:
    """Stage 1 in JSON batches with nested attitude objects; stage 2 a long description."""

    def __init__(self, model):
        self._model = model

    def _ask(
        self, initial_context: str, axes: list[str], size: int, found: list[dict[str, Any]]
    ) -> list[dict]:
        axes_text = ", ".join(axes)
        doc = interactive_document.InteractiveDocument(self._model)
        doc.statement(f"Setting: {initial_context}")
        doc.statement(f"We need people who differ along these axes: {axes_text}.")
        if found:
            doc.statement(
                "Personas written so far:\n"
                + "\n".join(f"- {p.get('name')}: {p.get('description', '')}" for p in found)
            )
        question = (
            f"Write {size} new personas"
            + (", different from the ones written so far" if found else "")
            + f". Give 'axis_position' as labels such as {LABELS}.\n"
            "Answer with one JSON object whose keys are 'persona_1', 'persona_2' and so on. Each persona "
            "has the fields 'name', 'axis_position', 'core_motivation', 'specific_attitudes' and "
            "'description'.\n"
            "- 'core_motivation': one sentence on why they hold these views.\n"
            f"- 'specific_attitudes': a dictionary whose keys are the axes ({axes_text}) and whose values "
            "are one concrete opinion each.\n"
            "- 'description': their background and character.\n"
            "Example format for the output:\n"
            "{{\n"
            '  "persona_1": {{\n'
            '    "name": "[Name]",\n'
            '    "axis_position": {{"axis1": "High", "axis2": "Very Low"}},\n'
            '    "core_motivation": "[Why]",\n'
            '    "specific_attitudes": {{"axis1": "[Opinion]", "axis2": "[Opinion]"}},\n'
            '    "description": "[Background and character]"\n'
            "  }},\n"
            "  ...\n"
            "}}\n"
            "Return the JSON object only."
        )
        reply = doc.open_question(question, max_tokens=4000, terminators=())
        try:
            data = json.loads(reply.strip().removeprefix("```json").removesuffix("```"))
        except json.JSONDecodeError:
            return []
        return [p for p in data.values() if isinstance(p, dict)] if isinstance(data, dict) else []

    def generate_diverse_persona_characteristics(self, initial_context, diversity_axes, num_personas):
        axes = list(diversity_axes)
        found: list[dict[str, Any]] = []
        for _ in range(2 * num_personas):
            if len(found) >= num_personas:
                break
            batch = self._ask(initial_context, axes, min(4, num_personas - len(found)), found)
            if not batch:
                break
            found += batch[: num_personas - len(found)]
        for persona in found:
            persona["initial_context"] = initial_context
        return found

    def generate_single_persona_memories(self, persona_details):
        name = persona_details.get("name", "someone")
        attitudes = persona_details.get("specific_attitudes", {})
        lines = [f"- {axis}: {opinion}" for axis, opinion in attitudes.items()]  # needs the dictionary
        doc = interactive_document.InteractiveDocument(self._model)
        doc.statement(f"Setting: {persona_details.get('initial_context', '')}")
        doc.statement(f"Profile of {name}: {persona_details.get('description', '')}")
        doc.statement(f"Motivation: {persona_details.get('core_motivation', '')}")
        doc.statement("Attitudes:\n" + "\n".join(lines))
        story = doc.open_question(
            f"Expand the profile of {name} into a long description, one paragraph per attitude, "
            "keeping every position as stated.",
            max_tokens=3000,
            terminators=(),
        )
        return [story]
