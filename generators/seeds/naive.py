"""Seed program "naive": one request for n diverse personas, parsed into exactly n.

The baseline every LLM user tries first. Expected to collapse toward a polite centre.
"""

import re

# EVOLVE-BLOCK-START
TEMPERATURE = 1.0
MAX_TOKENS = 6000
INTRO = "You are helping to build a simulated population of people for a study."
STYLE_NOTES = [
    "Make the personas diverse.",
    "Write in a natural, realistic voice.",
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
    return fit_to_n(personas, n)
# EVOLVE-BLOCK-END


_HEADER = re.compile(r"\bpersona\s*#?\s*\d+\s*:?\s*$", re.IGNORECASE)
_NAME = re.compile(r"^\W*name\s*:\s*(.+)$", re.IGNORECASE)
_DESC = re.compile(r"^\W*description\s*:\s*(.+)$", re.IGNORECASE)


def parse_personas(text):
    """Persona dicts from a reply with 'Name:' / 'Description:' lines (headers optional)."""
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
            if current is None:
                current = {"name": f"Person {len(personas) + 1}", "description": ""}
                personas.append(current)
            current["description"] = (current["description"] + " " + m.group(1).strip()).strip()
        elif current is not None:
            current["description"] = (current["description"] + " " + s).strip()
    return [p for p in personas if p["name"] and p["description"]]


def fit_to_n(personas, n):
    """Exactly n personas: truncate, or pad by repeating the ones there are."""
    out = list(personas[:n])
    if not out:
        out = [{"name": "Unnamed person", "description": "A person in this setting."}]
    i = 0
    while len(out) < n:
        src = out[i % len(personas or out)]
        out.append({"name": f"{src['name']} ({len(out) + 1})", "description": src["description"]})
        i += 1
    return out
