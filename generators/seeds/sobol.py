"""Seed program "sobol": space-filling targets, then two-stage generation.

Stage 1 draws scrambled Sobol target positions on the K axes (0 = low pole, 1 = high
pole) and writes short personas for them in small batches. Stage 2 expands every persona
independently (in parallel), restating its targets. Returns only personas the model
wrote: a target whose sketch did not parse is dropped (a short population), and a sketch
whose expansion does not parse is kept as written.
"""

import math
import re

from scipy.stats import qmc

# EVOLVE-BLOCK-START
TEMPERATURE = 0.9
MAX_TOKENS = 3000
BATCH_SIZE = 5
SPREAD = 1.0
USE_LEVEL_WORDS = False
RESTATE_TARGETS = True
LEVEL_WORDS = [
    (0.1, "very low"),
    (0.3, "low"),
    (0.45, "somewhat low"),
    (0.55, "moderate"),
    (0.7, "somewhat high"),
    (0.9, "high"),
    (1.01, "very high"),
]
INTRO = "You are helping to build a simulated population of people for a study."
STYLE_NOTES = [
    "Write each description as plain prose in the third person.",
]
TARGET_NOTES = [
    "Each persona must match its target position on every axis (0 = low end, 1 = high end).",
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


def spread(t):
    return min(1.0, max(0.0, 0.5 + (t - 0.5) * SPREAD))


def level(t):
    if not USE_LEVEL_WORDS:
        return f"{t:.2f}"
    for bound, word in LEVEL_WORDS:
        if t < bound:
            return word
    return LEVEL_WORDS[-1][1]


def target_text(context, row):
    return ", ".join(f"{a.name}: {level(t)}" for a, t in zip(context.axes, row))


def draw_targets(k, n, rng):
    sampler = qmc.Sobol(d=k, scramble=True, seed=int(rng.integers(2**31)))
    points = sampler.random_base2(max(0, math.ceil(math.log2(max(n, 1)))))[:n]
    return [[spread(float(t)) for t in row] for row in points]


def sketch_prompt(context, rows):
    parts = [INTRO, f"Setting: {context.description}", "Axes (0 = low end, 1 = high end):",
             *axis_lines(context), f"Write {len(rows)} personas, one for each target block below.",
             " ".join(TARGET_NOTES), " ".join(STYLE_NOTES)]
    for i, row in enumerate(rows):
        parts.append(f"Persona {i + 1}: {target_text(context, row)}")
    parts.append(FORMAT_NOTE)
    return "\n".join(parts)


def expand_prompt(context, persona, row):
    parts = [INTRO, f"Setting: {context.description}", "Axes (0 = low end, 1 = high end):",
             *axis_lines(context), " ".join(EXPAND_NOTES), " ".join(STYLE_NOTES),
             f"Sketch: {persona['name']}: {persona['description']}"]
    if RESTATE_TARGETS:
        parts.append(f"Targets: {target_text(context, row)}")
    parts.append("Format: 'Name: <full name>' on one line, then 'Description: <one paragraph>'.")
    return "\n".join(parts)


def generate(context, n, llm, rng):
    targets = draw_targets(len(context.axes), n, rng)
    batches = [targets[i:i + BATCH_SIZE] for i in range(0, n, max(1, BATCH_SIZE))]
    replies = llm.complete_many([sketch_prompt(context, rows) for rows in batches],
                                temperature=TEMPERATURE, max_tokens=MAX_TOKENS)
    sketches, kept = [], []
    for rows, reply in zip(batches, replies):
        got = parse_personas(reply)
        for sketch, row in zip(got, rows):
            sketches.append(sketch)
            kept.append(row)
    replies = llm.complete_many([expand_prompt(context, p, row) for p, row in zip(sketches, kept)],
                                temperature=TEMPERATURE, max_tokens=MAX_TOKENS)
    personas = []
    for sketch, row, reply in zip(sketches, kept, replies):
        parsed = parse_personas(reply)
        persona = parsed[0] if parsed else dict(sketch)
        persona["targets"] = [round(t, 3) for t in row]
        personas.append(persona)
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
