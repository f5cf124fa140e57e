"""A Concordia-protocol persona generator written by the persona-evolve team in the style of
the Persona Generators paper: stage 1 draws space-filling targets (quasi-Monte Carlo), asks
for every persona in one JSON object with per-persona ``axis_position`` targets; stage 2
writes one paragraph per persona from its profile."""

import json
import logging
from collections.abc import Sequence
from typing import Any

from concordia.contrib.persona_generators import quasi_monte_carlo as qmc
from concordia.document import interactive_document
from concordia.language_model import language_model


class SpaceFillingJsonGenerator:
    """Stage 1 in JSON with Sobol targets; stage 2 one profile paragraph per persona."""

    def __init__(self, model: language_model.LanguageModel):
        self._model = model

    def generate_diverse_persona_characteristics(
        self,
        initial_context: str,
        diversity_axes: Sequence[str],
        num_personas: int,
        questionnaire=None,
    ) -> list[dict[str, Any]]:
        axes = list(diversity_axes)
        targets = qmc.generate_sobol_points({a: (0.0, 1.0) for a in axes}, axes, num_personas)
        targets = [{a: round(float(p[a]), 2) for a in axes} for p in targets]
        doc = interactive_document.InteractiveDocument(self._model)
        doc.statement(f"Setting of the study: {initial_context}")
        doc.statement("We need people who sit at these exact positions (0 = low end, 1 = high end):")
        doc.statement("\n".join(f"Persona {i + 1} traits: {json.dumps(t)}" for i, t in enumerate(targets)))
        schema = {
            f"persona_{i + 1}": {
                "name": "[full name]",
                "axis_position": t,
                "description": "[vivid, concrete description matching the traits]",
            }
            for i, t in enumerate(targets[:2])
        }
        question = (
            f"Write {num_personas} personas, one per trait block. Make each position unmistakable and "
            "concrete; do not soften extreme values. Provide the output as a single JSON object whose keys "
            f"are 'persona_1' to 'persona_{num_personas}', each with 'name', 'axis_position' and "
            "'description' fields.\nExample format for the output:\n"
            + json.dumps(schema, indent=2)[:-2]
            + ",\n  ...\n}\n"
            "Output only the JSON object."
        )
        for _ in range(2):
            reply = doc.copy().open_question(
                question,
                max_tokens=4000 * num_personas,
                terminators=(),
                temperature=1.0,
                top_p=0.95,
                top_k=64,
            )
            text = reply.strip().removeprefix("```json").removesuffix("```").strip()
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                logging.warning("stage 1 reply is not JSON: %s", exc)
                continue
            if isinstance(data, dict) and all(isinstance(v, dict) for v in data.values()):
                personas = list(data.values())[:num_personas]
                for p in personas:
                    p["initial_context"] = initial_context
                return personas
        return []

    def generate_single_persona_memories(self, persona_details: dict[str, Any]) -> list[str]:
        name = persona_details.get("name", "Unknown")
        doc = interactive_document.InteractiveDocument(self._model)
        doc.statement(f"Shared context: {persona_details.get('initial_context', '')}")
        doc.statement(f"Profile of {name}: {persona_details.get('description', '')}")
        doc.statement(f"Positions on the axes: {json.dumps(persona_details.get('axis_position', {}))}")
        paragraph = doc.open_question(
            f"Expand the profile of {name} into one vivid, concrete paragraph about how they act, "
            "keeping every position exactly as stated.",
            max_tokens=1500,
            terminators=(),
            temperature=1.0,
        )
        return [paragraph]
