"""The output formats of the simulated writer: what a request asks for, and how the sim
answers in that format (as an instruction-following model does).

* ``text`` — ``[SIMULATED] Persona i`` / ``Name:`` / ``Description:`` blocks (the default);
* ``json`` — personas as JSON: ``{"persona_1": {...}, ...}`` when the request names such
  keys, a list when it asks for a JSON list/array, else one object (one persona) or
  ``{"personas": [...]}``; each persona has the fields the request quotes (``name`` and
  ``description`` always; a field whose name mentions axis/position/trait/target holds the
  persona's positions, its stated targets copied where the request gave them, else level
  labels of what the sim wrote; any other field a short simulated text); nested shapes
  the request asks for (a field described as a dictionary keyed by axis, a list of
  strings, a number; the keys and nesting of the JSON example it shows) come back in that
  shape (:mod:`generators.sim.shapes`);
* ``schema`` — a JSON request that asks for no persona: the first JSON object the prompt
  shows, its keys kept and every string leaf replaced by a short ``[SIMULATED]`` text;
* ``short`` — a short answer to a short question (a gender, a birth year, one of listed
  options), itself marked ``[SIMULATED]`` where it is free text.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from generators.sim.shapes import PersonaContent, Shape, described_shape, example_template, fill
from generators.sim.text import SIM_TAG, norm_axis, stable_unit

if TYPE_CHECKING:
    from generators.sim.knobs import SimKnobs

_FIELD_RE = re.compile(r"""['"](?P<f>[A-Za-z][A-Za-z0-9_]{1,40})['"]""")
_PERSONA_KEY_RE = re.compile(r"\bpersona_(?:\d+|\{)", re.IGNORECASE)
_SHORT_RE = re.compile(
    r"\b(?:gender|year\b[^?\n]{0,40}\bborn|born\b[^?\n]{0,20}\byear|respond with exactly one of)",
    re.IGNORECASE,
)
_OPTIONS_RE = re.compile(
    r"respond with exactly one of the following options and nothing else:\s*(?P<opts>.+)$",
    re.IGNORECASE | re.MULTILINE,
)
_SKIP_FIELDS = {
    "json",
    "persona",
    "personas",
    "value1",
    "value2",
    "value3",
    "value4",
    "axis1",
    "axis2",
    "answers",
}


@dataclass(frozen=True)
class Format:
    output: str
    style: str = "object"
    fields: tuple[str, ...] = ()
    schema: str | None = None
    shapes: tuple[tuple[str, Shape], ...] = ()
    """Fields whose requested shape is not flat text (field -> shape)."""
    wrapper: str | None = None
    """The key of the list holding the personas when the request's example wraps them."""


def _first_json_object(text: str) -> str | None:
    start = text.find("{")
    while start >= 0:
        depth = 0
        for i in range(start, min(len(text), start + 20_000)):
            if text[i] == "{":
                depth += 1
            elif text[i] == "}":
                depth -= 1
                if depth == 0:
                    candidate = text[start : i + 1]
                    try:
                        if isinstance(json.loads(candidate), dict):
                            return candidate
                    except ValueError:
                        break
                    break
        start = text.find("{", start + 1)
    return None


def detect_format(text: str, instr: str, example: str, *, wants_personas: bool, declared: set[str]) -> Format:
    """The format a request asks for (see the module docstring). ``instr`` is the lower-cased
    instruction text, ``example`` the format-example lines, ``declared`` normalised axis names."""
    persona_keys = bool(_PERSONA_KEY_RE.search(text))
    if "json" not in instr and "json" not in example.lower():
        if not wants_personas and _SHORT_RE.search(instr):
            return Format("short")
        return Format("text")
    if not (wants_personas or persona_keys):
        return Format("schema", schema=_first_json_object(text))
    template = example_template(example, declared)
    fields: list[str] = []
    if template is not None:  # the example's persona object: its keys, in its order
        fields = [k for k, _ in template.fields]
    else:
        for m in _FIELD_RE.finditer(instr + "\n" + example.lower()):
            f = m.group("f")
            if f.lower() in _SKIP_FIELDS or re.fullmatch(r"persona_\d+", f) or norm_axis(f) in declared:
                continue
            if f not in fields:
                fields.append(f)
    for need in ("description", "name"):
        if need not in (f.lower() for f in fields):
            fields.insert(0, need)
    if persona_keys:
        style = "persona_keys"
    elif re.search(r"json\s+(?:list|array)|list of (?:json )?objects|array of", instr):
        style = "list"
    else:
        style = "object"
    shown = dict(template.fields) if template is not None else {}
    shapes: list[tuple[str, Shape]] = []
    for f in fields:
        shape = shown.get(f)
        if shape is None or shape.kind == "text":
            shape = described_shape(f, instr) or shape
        if shape is not None and shape.kind != "text":
            shapes.append((f, shape))
    wrapper = template.wrapper if template is not None and not persona_keys else None
    return Format("json", style=style, fields=tuple(fields), shapes=tuple(shapes), wrapper=wrapper)


def _fill_schema(value: object, path: str, rng: np.random.Generator) -> object:
    if isinstance(value, dict):
        return {k: _fill_schema(v, f"{path}.{k}", rng) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill_schema(v, f"{path}[{i}]", rng) for i, v in enumerate(value)]
    if isinstance(value, str):
        return f"{SIM_TAG} a generic answer for {path.lstrip('.') or 'this'}."
    return value


def schema_reply(schema: str | None, rng: np.random.Generator) -> str:
    """JSON text filling ``schema`` (its keys kept, string leaves replaced)."""
    if schema:
        try:
            return json.dumps(_fill_schema(json.loads(schema), "", rng), ensure_ascii=False)
        except ValueError:
            pass
    return json.dumps({"answer": f"{SIM_TAG} a generic answer."})


def short_reply(text: str, rng: np.random.Generator) -> str:
    """A short answer to a short question."""
    m = _OPTIONS_RE.search(text)
    if m:
        options = [o.strip() for o in m.group("opts").split(",") if o.strip()]
        if options:
            return options[int(stable_unit("option", text) * len(options))]
    low = text.lower()
    if "gender" in low:
        return ("female", "male", "non-binary")[int(rng.integers(3))]
    if "year" in low and "born" in low:
        return str(int(rng.integers(1945, 2005)))
    return f"{SIM_TAG} a short answer."


def persona_objects(
    personas: list[PersonaContent], fields: tuple[str, ...], shapes: tuple[tuple[str, Shape], ...] = ()
) -> list[dict[str, object]]:
    """Persona dicts restricted to / extended with the requested fields; a field of
    ``shapes`` in its requested shape (:func:`generators.sim.shapes.fill`), any other as a
    flat value (name, description, the positions dict, age, or a short simulated text)."""
    shaped = dict(shapes)
    out = []
    for person in personas:
        p = {
            "name": person.name,
            "description": person.description,
            "positions": dict(person.positions),
            "age": person.age,
        }
        obj: dict[str, object] = {}
        for f in fields:
            lf = f.lower()
            if f in shaped:
                obj[f] = fill(shaped[f], person, f)
            elif lf == "name":
                obj[f] = p["name"]
            elif lf in ("description", "profile", "persona", "bio", "backstory", "summary"):
                obj[f] = p["description"]
            elif any(w in lf for w in ("axis", "position", "trait", "target", "score")):
                obj[f] = p["positions"]
            elif lf == "age":
                obj[f] = p["age"]
            else:
                obj[f] = f"{SIM_TAG} {f.replace('_', ' ')} of {str(p['name']).split()[0]}."
        out.append(obj)
    return out


def json_reply(objects: list[dict[str, object]], style: str, wrapper: str | None = None) -> str:
    """The JSON text of persona objects in the requested style (``wrapper``: the key of
    the list holding them, as the request's example shows; ``personas`` by default)."""
    if wrapper is not None and style != "persona_keys":
        return json.dumps({wrapper: objects}, ensure_ascii=False, indent=1)
    if style == "persona_keys":
        return json.dumps(
            {f"persona_{i + 1}": o for i, o in enumerate(objects)}, ensure_ascii=False, indent=1
        )
    if style == "list":
        return json.dumps(objects, ensure_ascii=False, indent=1)
    if len(objects) == 1:
        return json.dumps(objects[0], ensure_ascii=False, indent=1)
    return json.dumps({"personas": objects}, ensure_ascii=False, indent=1)


_CHATTER_BEFORE = (
    "Here is the JSON you asked for:",
    "Sure! Below is the requested output.",
    "Certainly. Here it is:",
)
_CHATTER_AFTER = (
    "Let me know if you would like any changes.",
    "I hope this helps!",
    "Each entry follows the requested format.",
)


def with_format_habits(reply: str, knobs: "SimKnobs", seed: int) -> str:
    """``reply`` as a model with ``knobs``' format habits sends it: a JSON reply (one that
    starts with ``{`` or ``[``) inside a markdown code fence with probability
    ``json_fence``, with a sentence of prose before and after with probability
    ``json_chatter``. Other replies, and every reply when both are 0 (the default
    world), are returned unchanged. Deterministic given ``seed``."""
    if not (knobs.json_fence or knobs.json_chatter) or not reply.lstrip().startswith(("{", "[")):
        return reply
    rng = np.random.default_rng(seed)
    fence, chatter, pick = rng.random(), rng.random(), int(rng.integers(0, 3))
    if fence < knobs.json_fence:
        reply = f"```json\n{reply}\n```"
    if chatter < knobs.json_chatter:
        reply = f"{_CHATTER_BEFORE[pick]}\n\n{reply}\n\n{_CHATTER_AFTER[pick]}"
    return reply
