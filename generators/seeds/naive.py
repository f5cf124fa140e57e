"""Seed program "naive": one request for n diverse personas (one follow-up request for
the rest when the reply holds fewer than n).

The baseline every LLM user tries first. Expected to collapse toward a polite centre.
Returns the personas that parsed, at most n: when replies hold fewer, the population is
short (the evaluator records k of n and scores it so that it never gains), never padded.
"""

import re

# EVOLVE-BLOCK-START
TEMPERATURE = 1.0
MAX_TOKENS = 6000
INTRO = "You are helping to build a simulated population of people for a study."
STYLE_NOTES = [
    "Make the personas diverse.",
    "Write each description as plain prose in the third person.",
]
FORMAT_NOTE = (
    "Format each persona as three lines: 'Persona <number>', then 'Name: <full name>', "
    "then 'Description: <one paragraph>'."
)


def axis_lines(context):
    return [f"- {a.name}: {a.description} (low = {a.low}; high = {a.high})" for a in context.axes]


def build_prompt(context, n):
    parts = [
        INTRO,
        f"Setting: {context.description}",
        "The people differ along these axes:",
        *axis_lines(context),
        f"Write {n} diverse personas for this setting.",
        " ".join(STYLE_NOTES),
        FORMAT_NOTE,
    ]
    return "\n".join(parts)


def generate(context, n, llm, rng):
    reply = llm.complete(build_prompt(context, n), temperature=TEMPERATURE, max_tokens=MAX_TOKENS)
    personas = parse_personas(reply)
    if len(personas) < n:
        more = llm.complete(build_prompt(context, n - len(personas)), temperature=TEMPERATURE,
                            max_tokens=MAX_TOKENS)
        personas += parse_personas(more)
    return personas[:n]
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

