"""Nested JSON shapes a persona request asks for, and how the simulated writer fills them.

An instruction-following model writes the structure a prompt asks for: a field described
as "a dictionary where keys are the diversity axes" comes back as an object keyed by axis,
"a list of strings" as a list of strings, "a number" as a number, and when the prompt shows
an example object the reply has the example's keys and nesting. This module reads those
shapes (:func:`example_template`, :func:`described_shape`) and fills them with one
persona's content (:func:`fill`).

What goes where (the same content as the flat fields of :mod:`generators.sim.formats`):

* the persona's trait sentences stay in its description (a text field named like a
  description) and nowhere else: a field keyed by axis holds, per axis, a short
  ``[SIMULATED]`` text naming the level of the position the sim realised (a level word, no
  trait sentence), or a number where a number is asked;
* a number per axis is the stated target copied when the request gave one, else the
  position the description states (its grade / 10, in [0, 1]);
* a field named like a position (axis/position/trait/target/score/level) whose leaves are
  text holds the target copied or the level word, as the flat position field does.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Mapping

from generators.sim.text import SIM_TAG, grade_of, level_label, norm_axis, stable_unit

__all__ = [
    "Shape",
    "Template",
    "PersonaContent",
    "TEXT",
    "NUMBER",
    "example_template",
    "described_shape",
    "shape_of",
    "fill",
    "is_position_field",
    "is_description_field",
]

DESCRIPTION_FIELDS = frozenset({"description", "profile", "persona", "bio", "backstory", "summary"})
_POSITION_WORDS = ("axis", "position", "trait", "target", "score", "level")
_AXIS_PLACEHOLDER_RE = re.compile(
    r"^\s*[\[<{(]?\s*(?:axis|dimension|trait|diversity[ _]axis)[ _\-]?"
    r"(?:\d+|name|_?n|[a-z])?\s*[\]>})]?\s*$",
    re.IGNORECASE,
)
_ELLIPSIS_LINE_RE = re.compile(r"^\s*(?:\.\.\.|…)\s*,?\s*$", re.MULTILINE)
_INLINE_ELLIPSIS_RE = re.compile(r",\s*(?:\.\.\.|…)\s*(?=[}\]])")
_TRAILING_COMMA_RE = re.compile(r",(\s*[}\]])")
_LIST_MAX = 3


@dataclass(frozen=True)
class Shape:
    """A JSON shape. ``kind``: ``text``, ``number``, ``axes`` (an object keyed by the
    request's axes, every value of shape ``item``), ``object`` (fixed ``keys``) or ``list``
    (``count`` elements of shape ``item``, 1..3)."""

    kind: str
    item: "Shape | None" = None
    keys: tuple[tuple[str, "Shape"], ...] = ()
    count: int = 1
    example: object = field(default=None, compare=False)
    """The example's own leaf value (a number placeholder), when the shape came from one."""


TEXT = Shape("text")
NUMBER = Shape("number")


@dataclass(frozen=True)
class PersonaContent:
    """What the sim wrote for one persona: ``axes`` are (label as the request wrote it,
    realised position in [0, 1], stated target in [0, 1] or None) in the request's axis order."""

    name: str
    age: int
    description: str
    positions: Mapping[str, object]
    axes: tuple[tuple[str, float, float | None], ...]


def is_position_field(name: str) -> bool:
    """A field named like a position (its flat value is the positions dict)."""
    low = name.lower()
    return any(w in low for w in _POSITION_WORDS)


def is_description_field(name: str) -> bool:
    """A field named like the persona's description (holds the trait sentences)."""
    return name.lower() in DESCRIPTION_FIELDS


def _is_axis_key(key: str, declared: set[str]) -> bool:
    return norm_axis(key) in declared or bool(_AXIS_PLACEHOLDER_RE.match(key))


def shape_of(value: object, declared: set[str]) -> Shape:
    """The shape of one JSON example value; an object whose keys all name axes (declared
    axes or placeholders such as ``axis1``) is keyed by axis."""
    if isinstance(value, bool) or value is None:
        return TEXT
    if isinstance(value, (int, float)):
        return Shape("number", example=value)
    if isinstance(value, list):
        items = [v for v in value if not (isinstance(v, str) and v.strip() in ("...", "…"))]
        return Shape(
            "list",
            item=shape_of(items[0], declared) if items else TEXT,
            count=max(1, min(_LIST_MAX, len(items))),
        )
    if isinstance(value, dict):
        if value and all(_is_axis_key(str(k), declared) for k in value):
            return Shape("axes", item=shape_of(next(iter(value.values())), declared))
        return Shape("object", keys=tuple((str(k), shape_of(v, declared)) for k, v in value.items()))
    return TEXT


def _loads_tolerant(text: str) -> object | None:
    """A JSON example as a model reads it: ``{{``/``}}`` (an unformatted template), ``...``
    lines and trailing commas allowed. None when it still is not JSON."""
    candidates = [text]
    if "{{" in text or "}}" in text:
        candidates.append(text.replace("{{", "{").replace("}}", "}"))
    for cand in candidates:
        cand = _ELLIPSIS_LINE_RE.sub("", cand)
        cand = _INLINE_ELLIPSIS_RE.sub("", cand)
        cand = _TRAILING_COMMA_RE.sub(r"\1", cand)
        start = min((i for i in (cand.find("{"), cand.find("[")) if i >= 0), default=-1)
        if start < 0:
            continue
        try:
            value, _ = json.JSONDecoder().raw_decode(cand[start:])
        except ValueError:
            continue
        return value
    return None


@dataclass(frozen=True)
class Template:
    """One persona object of a JSON example: its ``fields`` with their shapes (the
    example's order) and ``wrapper``, the key of the list holding the personas when the
    example wraps them (``{"people": [{...}]}``), else None."""

    fields: tuple[tuple[str, Shape], ...]
    wrapper: str | None = None


def example_template(example: str, declared: set[str]) -> Template | None:
    """The persona object of the JSON example the request shows; None when there is no
    readable example (``declared``: the request's normalised axis names)."""
    data = _loads_tolerant(example) if example.strip() else None
    persona: object = None
    wrapper = None
    if isinstance(data, list):
        persona = data[0] if data else None
    elif isinstance(data, dict):
        keyed = [v for k, v in data.items() if re.fullmatch(r"persona_\d+", str(k), re.IGNORECASE)]
        if keyed:
            persona = keyed[0]
        elif len(data) == 1 and isinstance(next(iter(data.values())), list):
            wrapper, items = next(iter(data.items()))
            persona = items[0] if items and isinstance(items[0], dict) else None
        else:
            persona = data
    if not isinstance(persona, dict) or not persona:
        return None
    return Template(
        tuple((str(k), shape_of(v, declared)) for k, v in persona.items()),
        str(wrapper) if wrapper is not None else None,
    )


_DESCRIBED_RE = r"""['"]{f}['"]\s*(?:field\s*)?(?::|-|–|—|\(|\bis\b|\bshould\s+be\b|\bmust\s+be\b|\bas\b)"""
_DICT_WORDS = re.compile(r"\b(?:dictionary|dict|object|mapping|map)\b")
_AXIS_WORDS = re.compile(r"\b(?:ax[ie]s|dimensions?|keyed\s+by\s+(?:the\s+)?(?:diversity\s+)?ax)")
_NUMBER_WORDS = re.compile(
    r"\b(?:numbers?|numeric(?:al)?|integers?|floats?|scores?|ratings?|"
    r"between\s+0(?:\.0)?\s+and\s+1|from\s+0(?:\.0)?\s+to\s+1)\b"
)
_LIST_WORDS = re.compile(r"\b(?:list|array)\s+of\b")
_LIST_OF_OBJECTS = re.compile(r"\b(?:list|array)\s+of\s+(?:json\s+)?(?:objects|dictionaries|dicts)\b")
_A_NUMBER = re.compile(r"^\W*(?:an?\s+|one\s+)?(?:single\s+)?(?:number|integer|float|numeric\s+value)\b")


def described_shape(name: str, instructions: str) -> Shape | None:
    """The shape the (lower-cased) instruction text gives field ``name`` where it describes
    it (``'name': a dictionary where keys are the axes ...``, ``'name' should be a list of
    strings``, ``'name': a number ...``); None when it describes no structure."""
    m = re.search(_DESCRIBED_RE.format(f=re.escape(name.lower())), instructions)
    if not m:
        return None
    tail = instructions[m.end() : m.end() + 240]
    said = re.split(r"(?<=[.;])\s|\n|['\"][a-z_]+['\"]\s*:", tail, maxsplit=1)[0]
    leaf = NUMBER if _NUMBER_WORDS.search(said) else TEXT
    if _DICT_WORDS.search(said) and _AXIS_WORDS.search(said):
        return Shape("axes", item=leaf)
    if _LIST_OF_OBJECTS.search(said):
        return Shape("list", item=Shape("object", keys=(("text", TEXT),)), count=_LIST_MAX)
    if _LIST_WORDS.search(said):
        return Shape("list", item=leaf, count=_LIST_MAX)
    if _A_NUMBER.search(said):
        return NUMBER
    return None


def _words(path: str) -> str:
    last = [p for p in re.split(r"[.\[\]]+", path) if p and not p.isdigit()]
    return (last[-1] if last else "detail").replace("_", " ")


def _axis_text(p: PersonaContent, path: str, label: str, z: float) -> str:

    # no ':' or '=' before the level word: pasted back into a prompt, this is not a target
    return f"{SIM_TAG} {p.name.split()[0]}'s {_words(path)} on {label} are {level_label(z)}."


def _axis_value(
    shape: Shape, p: PersonaContent, path: str, label: str, z: float, given: float | None, positional: bool
) -> object:
    if shape.kind == "number":
        return round(given, 3) if given is not None else grade_of(z) / 10.0
    if shape.kind == "text":
        if positional:
            return p.positions.get(label, round(given, 3) if given is not None else grade_of(z) / 10.0)
        return _axis_text(p, path, label, z)
    if shape.kind == "list":
        return [
            _axis_value(shape.item or TEXT, p, f"{path}[{i}]", label, z, given, positional)
            for i in range(shape.count)
        ]
    if shape.kind == "object":
        return {
            k: _axis_value(s, p, f"{path}.{k}", label, z, given, positional or is_position_field(k))
            for k, s in shape.keys
        }
    # an object keyed by axis inside an axis: each inner axis holds its own position
    return {
        inner: _axis_value(shape.item or TEXT, p, path, inner, z2, given2, positional)
        for inner, z2, given2 in p.axes
    }


def fill(shape: Shape, p: PersonaContent, path: str) -> object:
    """JSON of ``shape`` holding persona ``p``'s content (see the module docstring);
    ``path`` is the field's dotted path (its last name decides the content of a leaf)."""
    key = re.split(r"[.\[]", path)[-1].rstrip("]")
    if shape.kind == "text":
        low = key.lower()
        if low == "name":
            return p.name
        if is_description_field(low):
            return p.description
        if low == "age":
            return str(p.age)
        index = re.search(r"\[(\d+)\]$", path)
        number = f" {int(index.group(1)) + 1}" if index else ""
        return f"{SIM_TAG} {_words(path)}{number} of {p.name.split()[0]}."
    if shape.kind == "number":
        if key.lower() == "age":
            return p.age
        if isinstance(shape.example, (int, float)):
            return shape.example
        return round(stable_unit("number", path, p.name), 2)
    if shape.kind == "axes":
        positional = is_position_field(key)
        return {
            label: _axis_value(shape.item or TEXT, p, path, label, z, given, positional)
            for label, z, given in p.axes
        }
    if shape.kind == "list":
        return [fill(shape.item or TEXT, p, f"{path}[{i}]") for i in range(shape.count)]
    return {k: fill(s, p, f"{path}.{k}" if path else k) for k, s in shape.keys}
