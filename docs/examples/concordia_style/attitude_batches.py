"""A seed program in the style of the Concordia two-stage persona generators (written by the
persona-evolve team; no Concordia code): use it with ``[seeds] programs =
["file:docs/examples/concordia_style/attitude_batches.py"]``.

Stage 1 asks for personas in JSON batches: one object keyed ``persona_1``, ``persona_2`` ...
per batch, each persona with level labels per axis (``axis_position``), a
``core_motivation`` and ``specific_attitudes``, an object keyed by axis with one concrete
opinion each; a later batch sees the personas written so far and is told to differ from
them. No numeric targets. Stage 2 expands each persona (in parallel) into a long
description, one paragraph per attitude. Returns only personas the model wrote: a batch
that does not parse ends stage 1 (a short population), and an expansion that comes back
empty keeps the stage-1 description.
"""

import json
import re

# EVOLVE-BLOCK-START
TEMPERATURE = 1.0
MAX_TOKENS = 4000
BATCH_SIZE = 5
MAX_SHOWN = 30
LABELS = "'Very Low', 'Low', 'Medium', 'High', 'Very High'"
INTRO = "You are writing personas for a social simulation."
STYLE_NOTES = [
    "The personas should be diverse on every axis.",
]
DIFFER_NOTE = "Personas written so far (the new ones must differ from them):"
EXPAND_NOTES = [
    "Expand the profile below into a long description of the same person, one paragraph per attitude.",
    "Keep every position as stated.",
]


def axis_lines(context):
    return [f"- {a.name}: {a.description} (low = {a.low}; high = {a.high})" for a in context.axes]


def batch_prompt(context, size, written):
    names = [a.name for a in context.axes]
    example = {"persona_1": {"name": "[Name]",
                             "axis_position": {n: "[Label]" for n in names},
                             "core_motivation": "[Why they hold these views]",
                             "specific_attitudes": {n: "[Opinion]" for n in names},
                             "description": "[Background and character]"}}
    parts = [INTRO, f"Setting: {context.description}", "Diversity axes:", *axis_lines(context),
             " ".join(STYLE_NOTES)]
    if written:
        parts.append(DIFFER_NOTE)
        parts += [f"- {p['name']}: {p['description']}" for p in written[-MAX_SHOWN:]]
    parts.append(
        f"Write {size} new personas. Give 'axis_position' as labels such as {LABELS}. "
        "Answer with one JSON object whose keys are 'persona_1', 'persona_2' and so on; each persona has "
        "the fields 'name', 'axis_position', 'core_motivation', 'specific_attitudes' (a dictionary whose "
        "keys are the axes and whose values are one concrete opinion each) and 'description'.")
    parts.append("Example format for the output:\n" + json.dumps(example, indent=2))
    parts.append("Return the JSON object only.")
    return "\n".join(parts)


def expand_prompt(context, persona):
    attitudes = persona.get("specific_attitudes")
    lines = [f"- {axis}: {opinion}" for axis, opinion in attitudes.items()] if isinstance(attitudes, dict) else []
    parts = [INTRO, f"Setting: {context.description}", "Diversity axes:", *axis_lines(context),
             f"Profile of {persona['name']}: {persona['description']}",
             f"Motivation: {persona.get('core_motivation', '')}", "Attitudes:", *lines, " ".join(EXPAND_NOTES),
             "Format: 'Name: <full name>' on one line, then 'Description: <the long description>'."]
    return "\n".join(parts)


def generate(context, n, llm, rng):
    written = []
    while len(written) < n:
        size = min(BATCH_SIZE, n - len(written))
        reply = llm.complete(batch_prompt(context, size, written), temperature=TEMPERATURE, max_tokens=MAX_TOKENS)
        batch = [p for p in json_object(reply).values() if is_persona(p)][:size]
        if not batch:
            break
        written += batch
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
