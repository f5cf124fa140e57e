"""Seed program "batch": two-stage generation without numeric targets.

Stage 1 writes short persona sketches in batches, each batch told to differ from the
sketches already written. Stage 2 expands every sketch independently (in parallel).
Returns only personas the model wrote: stage 1 stops at the first batch that yields none
(a short population), and a sketch whose expansion does not parse is kept as written.
"""

import re

# EVOLVE-BLOCK-START
TEMPERATURE = 0.9
MAX_TOKENS = 3000
BATCH_SIZE = 10
MAX_SHOWN = 40
INTRO = "You are helping to build a simulated population of people for a study."
STYLE_NOTES = [
    "Make the personas diverse.",
    "Write each description as plain prose in the third person.",
]
DIFFER_NOTES = [
    "Make these new personas clearly different from the personas already written:",
]
EXPAND_NOTES = [
    "Expand the persona sketch below into a fuller persona of the same person.",
    "Keep the same name and the same views.",
]
FORMAT_NOTE = (
    "Format each persona as three lines: 'Persona <number>', then 'Name: <full name>', "
    "then 'Description: <one paragraph>'."
)


def axis_lines(context):
    return [f"- {a.name}: {a.description} (low = {a.low}; high = {a.high})" for a in context.axes]


def sketch_prompt(context, count, written):
    parts = [INTRO, f"Setting: {context.description}", "The people differ along these axes:",
             *axis_lines(context), f"Write {count} new personas for this setting.", " ".join(STYLE_NOTES)]
    if written:
        parts.append(" ".join(DIFFER_NOTES))
        for p in written[-MAX_SHOWN:]:
            parts.append(f"* {p['name']}: {p['description']}")
    parts.append(FORMAT_NOTE)
    return "\n".join(parts)


def expand_prompt(context, persona):
    parts = [INTRO, f"Setting: {context.description}", "Axes:", *axis_lines(context),
             " ".join(EXPAND_NOTES), " ".join(STYLE_NOTES),
             f"Sketch: {persona['name']}: {persona['description']}",
             "Format: 'Name: <full name>' on one line, then 'Description: <one paragraph>'."]
    return "\n".join(parts)


def generate(context, n, llm, rng):
    sketches = []
    while len(sketches) < n:
        count = min(BATCH_SIZE, n - len(sketches))
        reply = llm.complete(sketch_prompt(context, count, sketches), temperature=TEMPERATURE,
                             max_tokens=MAX_TOKENS)
        got = parse_personas(reply)[:count]
        if not got:
            break
        sketches += got
    sketches = sketches[:n]
    replies = llm.complete_many([expand_prompt(context, p) for p in sketches], temperature=TEMPERATURE,
                                max_tokens=MAX_TOKENS)
    personas = []
    for sketch, reply in zip(sketches, replies):
        parsed = parse_personas(reply)
        personas.append(parsed[0] if parsed else sketch)
    return personas
# EVOLVE-BLOCK-END


_HEADER = re.compile(r"\bpersona\s*#?\s*\d+\s*:?\s*$", re.IGNORECASE)
_NAME = re.compile(r"^\W*(?:\d+\s*[.):]\s*)?\W*name\s*:\s*(.+)$", re.IGNORECASE)
_DESC = re.compile(r"^\W*description\s*:\s*(.+)$", re.IGNORECASE)


def parse_personas(text):
    """Persona dicts from a reply with 'Name:' / 'Description:' lines (headers optional).

    Only personas the reply states (a name and a description) are returned: nothing is
    made up for text that does not parse."""
    personas, current = [], None
    for line in text.splitlines():
        s = line.strip()
        if not s:
            continue
        if _HEADER.search(s):
            current = None
            continue
        m = _NAME.match(s)
        if m:
            current = {"name": m.group(1).strip(), "description": ""}
            personas.append(current)
            continue
        m = _DESC.match(s)
        if m:
            if current is None:  # a description without a name line: skipped, never named for it
                continue
            current["description"] = (current["description"] + " " + m.group(1).strip()).strip()
        elif current is not None:
            current["description"] = (current["description"] + " " + s).strip()
    return [p for p in personas if p["name"] and p["description"]]
