"""A seed program in the style of the Concordia space-filling two-stage persona generators
(written by the persona-evolve team; no Concordia code): use it with ``[seeds] programs =
["file:docs/examples/concordia_style/stance_profiles.py"]``.

Stage 1 draws scrambled Sobol targets in [0, 1] per axis, states them per persona and asks,
in batches, for a JSON object ``{"people": [...]}`` whose persona objects nest a ``stance``
object per axis (a numeric ``score`` and a ``reason``), a ``background`` object and a list
of ``quotes``. Stage 2 expands each persona (in parallel) into a long description from
those nested parts. Returns only personas the model wrote: a batch that does not parse is
dropped (a short population), and an expansion that comes back empty keeps the stage-1
description.
"""

import json
import math
import re

from scipy.stats import qmc

# EVOLVE-BLOCK-START
TEMPERATURE = 1.0
MAX_TOKENS = 6000
BATCH_SIZE = 5
INTRO = "You are writing personas for a social simulation."
TARGET_NOTES = [
    "Each person below must sit at the stated positions (0 = low end, 1 = high end).",
    "Be concrete and vivid; do not soften the extremes.",
]
EXPAND_NOTES = [
    "Rewrite the sketch below as a long, detailed description of the same person.",
    "Keep every stance as stated.",
]


def axis_lines(context):
    return [f"- {a.name}: {a.description} (low = {a.low}; high = {a.high})" for a in context.axes]


def draw_targets(k, n, rng):
    sampler = qmc.Sobol(d=k, scramble=True, seed=int(rng.integers(2**31)))
    return [[round(float(t), 2) for t in row] for row in sampler.random_base2(max(0, math.ceil(math.log2(max(n, 1)))))[:n]]


def batch_prompt(context, rows):
    names = [a.name for a in context.axes]
    example = {"people": [{
        "name": "Full Name",
        "background": {"age": 40, "occupation": "what they do", "hometown": "where they grew up"},
        "stance": {names[0]: {"score": 0.25, "reason": "why they sit there"}},
        "quotes": ["something they would say", "another thing they would say"],
        "description": "who they are",
    }]}
    parts = [INTRO, f"Setting: {context.description}", "Axes:", *axis_lines(context), " ".join(TARGET_NOTES)]
    for i, row in enumerate(rows):
        parts.append(f"Persona {i + 1}: " + ", ".join(f"{n} = {t:.2f}" for n, t in zip(names, row)))
    parts.append(f"Write the {len(rows)} personas, one per line of positions, in that order. Return JSON shaped "
                 "like this example, with one stance entry per axis:\nExample output:\n" + json.dumps(example, indent=2))
    parts.append("Return the JSON only.")
    return "\n".join(parts)


def expand_prompt(context, persona):
    background = persona.get("background") if isinstance(persona.get("background"), dict) else {}
    stance = persona.get("stance") if isinstance(persona.get("stance"), dict) else {}
    lines = [f"- {axis}: {entry.get('score')} ({entry.get('reason', '')})"
             for axis, entry in stance.items() if isinstance(entry, dict)]
    quotes = [q for q in persona.get("quotes", []) if isinstance(q, str)] if isinstance(persona.get("quotes"), list) else []
    parts = [INTRO, f"Setting: {context.description}", "Axes:", *axis_lines(context),
             f"{persona['name']}, {background.get('age', '')}, works as {background.get('occupation', '')}.",
             f"Sketch of {persona['name']}: {persona['description']}", "Stances:", *lines,
             "In their words: " + " / ".join(quotes), " ".join(EXPAND_NOTES),
             "Format: 'Name: <full name>' on one line, then 'Description: <the long description>'."]
    return "\n".join(parts)


def generate(context, n, llm, rng):
    targets = draw_targets(len(context.axes), n, rng)
    batches = [targets[i:i + BATCH_SIZE] for i in range(0, n, max(1, BATCH_SIZE))]
    replies = llm.complete_many([batch_prompt(context, rows) for rows in batches], temperature=TEMPERATURE,
                                max_tokens=MAX_TOKENS)
    written = []
    for rows, reply in zip(batches, replies):
        people = json_object(reply).get("people")
        written += [p for p in people if is_persona(p)][:len(rows)] if isinstance(people, list) else []
    replies = llm.complete_many([expand_prompt(context, p) for p in written], temperature=TEMPERATURE,
                                max_tokens=MAX_TOKENS)
    personas = []
    for persona, reply in zip(written, replies):
        long = description_of(reply)
        personas.append({"name": persona["name"], "description": long or persona["description"]})
    return personas
# EVOLVE-BLOCK-END


def is_persona(value):
    """A stage-1 persona: an object with a non-empty name and description."""
    return (isinstance(value, dict) and isinstance(value.get("name"), str) and value["name"].strip()
            and isinstance(value.get("description"), str) and value["description"].strip())


def json_object(text):
    """The JSON object of a reply (code fences and prose around it skipped); {} when none parses."""
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        return {}
    try:
        data = json.loads(text[start:end + 1])
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


_DESC = re.compile(r"^\W*description\s*:\s*", re.IGNORECASE | re.MULTILINE)


def description_of(reply):
    """The text after 'Description:' in a reply, else the reply without a 'Name:' line."""
    m = _DESC.search(reply)
    if m:
        return reply[m.end():].strip()
    lines = [s for s in reply.splitlines() if s.strip() and not s.strip().lower().startswith("name:")]
    return " ".join(s.strip() for s in lines)
