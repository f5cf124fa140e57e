"""A batch-based Concordia-protocol persona generator written by the persona-evolve team:
stage 1 asks for personas in batches of at most five (plain "be diverse" requests, JSON out,
each batch told to differ from the personas so far); stage 2 asks two short questions and a
paragraph per persona, split on a delimiter."""

import json
from typing import Any

from concordia.document import interactive_document


class BatchedGenerator:
    """Two-stage generator with no numeric targets."""

    def __init__(self, model):
        self._model = model

    def generate_diverse_persona_characteristics(self, initial_context, diversity_axes, num_personas):
        found: list[dict[str, Any]] = []
        axes = ", ".join(diversity_axes)
        while len(found) < num_personas:
            size = min(5, num_personas - len(found))
            doc = interactive_document.InteractiveDocument(self._model)
            doc.statement(f"Context: {initial_context}")
            doc.statement(f"The personas should be diverse on these axes: {axes}.")
            if found:
                doc.statement(
                    "Personas already written, make the new ones different from them:\n"
                    + "\n".join(f"- {p.get('name')}: {p.get('description', '')}" for p in found)
                )
            reply = doc.open_question(
                f"Write {size} new diverse personas. Provide the output as a JSON list of objects with "
                "'name' and 'description' fields and nothing else.",
                max_tokens=3000,
                terminators=(),
            )
            try:
                batch = json.loads(reply)
            except json.JSONDecodeError:
                break
            if not isinstance(batch, list) or not batch:
                break
            found += [p for p in batch if isinstance(p, dict)][:size]
        return found

    def generate_single_persona_memories(self, persona_details):
        name = persona_details.get("name", "someone")
        doc = interactive_document.InteractiveDocument(self._model)
        doc.statement(f"Character: {name}. {persona_details.get('description', '')}")
        gender = doc.open_question(f"What is {name}'s gender?")
        year = doc.open_question(f"What year was {name} born? Answer with the year only.")
        story = doc.open_question(
            f"Rewrite the character sketch of {name} ({gender}, born {year}) with more detail as two "
            "episodes separated by '***'.",
            max_tokens=2000,
            terminators=(),
        )
        return [part.strip() for part in story.split("***") if part.strip()]
