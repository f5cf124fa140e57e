"""What the simulated LLM understands of a request (the grammar a program can use).

Lines of the prompt (system and user text joined) are read one by one:

* **Axis declaration** — a line naming an axis followed by its two poles, e.g.
  ``- privacy_need: how much solitude they need (low = thrives on company; high = needs
  long stretches alone)``. The poles are ``low``/``high`` (optionally ``low end``/``low
  pole``) followed by ``:`` or ``=``, separated by ``;`` or ``|``. Declared axes are the
  axes the writer knows about, in order of first mention.
* **Persona target block** — a header ``Persona 3:``, ``#3`` or a numbered line ``3.`` /
  ``3)`` followed (same line or the next lines) by ``<axis>: <value>`` or
  ``<axis> = <value>`` pairs separated by commas, semicolons or new lines. A line of pairs
  without a header starts a block of its own. A value is a number in [0, 1] (outside values
  clip), a percentage (``80%``), ``x/10`` or ``x/100``, or level words (``extremely low``,
  ``very low``, ``low``, ``somewhat low``, ``moderate``, ``somewhat high``, ``high``,
  ``very high``, ``extremely high`` and a few synonyms; see ``LEVELS``). When axes are
  declared, only pairs naming a declared axis count.
* **Targets in other formats** (as an instruction-following model reads them) — a JSON
  object on one line (``Persona 3 traits: {"trust": 0.8, "risk": "very low"}``, an
  ``"axis_position": {...}`` line), ``"axis": value`` lines of a multi-line JSON object,
  bullet lists (``- trust: 80%``), and markdown tables (a header row of axis names, one
  row per persona). JSON keys and table headers are taken whole as axis names.
* **Bare axis declaration** — ``... the following axes: trust in staff, risk appetite.``
  declares axes by name only (no poles).
* **Format examples** — the lines after a line such as ``Example format for the output:``
  up to the end of that JSON example are a format, not targets and not cues.
* **Output format** — a request that mentions JSON is answered with JSON (see
  :mod:`generators.sim.formats`): one object keyed ``persona_1`` ... when the request names
  such keys, a list when it asks for a JSON list/array, with the fields the request quotes
  (``'name'``, ``'axis_position'``, ``'description'``, ...); a JSON request that asks for no
  persona (no targets, no count, no ``persona_N`` key) fills the JSON schema it shows.
  A short question (a gender, a birth year, one of listed options) gets a short answer.
* **Count** — the number of target blocks; else the first ``<number> ... persona(s)``
  phrase (``write 10 diverse personas``, ``two new personas``); else 1.
* **Earlier personas** — persona texts written by the sim pasted into the prompt (each
  starts with ``[SIMULATED]`` and has trait sentences the sim wrote in this evaluation:
  a hand-written imitation is not an earlier persona, see :mod:`generators.sim.ledger`).
  With an expansion cue (``expand``, ``rewrite``, ``flesh out``, ``elaborate``, ``longer``,
  ``more detail``), or when exactly one earlier persona is pasted and the request asks for
  no new personas (writing about that person), the request is an expansion of them; otherwise they are
  personas already written (to differ from when a differ cue such as ``different from``,
  ``unlike``, ``distinct from`` is present).
* **Cues** — counted on the instruction lines only (not on declarations, target lines or
  pasted personas), each distinct cue once: emphasis cues (``extreme``, ``uncompromising``,
  ``blunt``, ``do not soften``, ``concrete``, ``vivid``, ``unmistakable``, ``intense`` ...),
  softening cues (``balanced``, ``realistic``, ``moderate``, ``nuanced``, ``avoid
  extremes``, ``typical``, ``natural`` ...), independence cues (``independent``,
  ``contradictory``, ``unexpected combination`` ...). Negated forms count on the side they
  mean (``avoid extremes`` softens, ``do not soften`` emphasises).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

from generators.sim.formats import detect_format
from generators.sim.text import SIM_TAG, TRAIT_RE, decode_traits, norm_axis
from generators.sim.vocabulary import VOCABULARIES, cue_re

LEVELS: dict[str, float] = {
    "extremely low": 0.02,
    "very very low": 0.04,
    "minimal": 0.03,
    "rock bottom": 0.02,
    "very low": 0.1,
    "quite low": 0.22,
    "low": 0.25,
    "fairly low": 0.32,
    "moderately low": 0.35,
    "somewhat low": 0.38,
    "slightly low": 0.42,
    "below average": 0.4,
    "moderate": 0.5,
    "medium": 0.5,
    "average": 0.5,
    "neutral": 0.5,
    "middle": 0.5,
    "mid": 0.5,
    "slightly high": 0.58,
    "above average": 0.6,
    "somewhat high": 0.62,
    "moderately high": 0.65,
    "fairly high": 0.68,
    "high": 0.75,
    "quite high": 0.78,
    "very high": 0.9,
    "very very high": 0.96,
    "extremely high": 0.98,
    "maximal": 0.97,
}
_LEVEL_ALT = "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in sorted(LEVELS, key=len, reverse=True))
_NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)"

_AXIS_DECL_RE = re.compile(
    r"^\s*(?:[-*•>]+\s*|\d+[.)]\s*)?(?:axis\s*\d*\s*[:.\-]?\s*)?"
    r"[`'\"*]*(?P<name>[A-Za-z][A-Za-z0-9_\- ]{0,60}?)[`'\"*]*"
    r"\s*(?::|\(|—|–| - )"
    r"(?P<rest>.*?\blow(?:\s+(?:end|pole))?\s*[:=].*?\bhigh(?:\s+(?:end|pole))?\s*[:=].*)$",
    re.IGNORECASE,
)
_POLES_RE = re.compile(
    r"\blow(?:\s+(?:end|pole))?\s*[:=]\s*(?P<low>[^;|]+?)\s*[;|]\s*high(?:\s+(?:end|pole))?\s*[:=]\s*(?P<high>[^;|]+?)\s*\)?\s*\.?\s*$",
    re.IGNORECASE,
)
_HEADER_RE = re.compile(
    r"^\s*(?:[-*>]+\s*)?(?:\**persona\s*#?\s*(?P<a>\d+)\**|#\s*(?P<b>\d+)|(?P<c>\d+)\s*[.)])\s*[:.\-–—]?\s*(?P<rest>.*)$",
    re.IGNORECASE,
)
_CHUNK_RE = re.compile(r"[,;|\n]")
_LAST_SEP_RE = re.compile(r"^(?P<left>.*)[:=](?P<val>[^:=]*)$", re.DOTALL)
_AXIS_TAIL_RE = re.compile(r"[^A-Za-z0-9_\- ]")
_VALUE_RE = re.compile(
    rf"^[\s`'\"*]*(?:(?P<num>{_NUM})\s*(?P<unit>%|/\s*100\b|/\s*10\b)?|(?P<level>(?:{_LEVEL_ALT})\b))[\s`'\"*.)]*$",
    re.IGNORECASE,
)
_COUNT_RE = re.compile(
    r"\b(?P<n>\d{1,3}|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty)"
    r"\s+(?:[a-z,\-]+\s+){0,4}?personas?\b",
)
_WORD_NUMBERS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fifteen": 15,
    "twenty": 20,
}


def _count_or_zero(text: str, pattern: re.Pattern[str] | None) -> tuple[int, str]:
    return (0, text) if pattern is None else _count_cues(text, pattern)


_DIFFER = cue_re(
    r"different\s+from",
    r"differ",
    r"distinct\s+from",
    r"unlike",
    r"not\s+resembl",
    r"avoid\s+repeat",
    r"new\s+ground",
    r"no\s+overlap",
    r"dissimilar",
)
_EXPAND = cue_re(r"expand", r"rewrite", r"re-write", r"flesh\s+out", r"elaborat", r"longer", r"more\s+detail")
_NAME_RE = re.compile(
    r"^\s*(?:\(expanded\)\s*)?(?P<name>[A-Z][\w'\-]+(?: [A-Z][\w'\-]+)?), (?P<age>\d{1,3}),"
)


@dataclass(frozen=True)
class AxisDecl:
    """An axis the writer knows: ``name`` as written in the prompt, optional pole phrases."""

    name: str
    low: str | None = None
    high: str | None = None


@dataclass(frozen=True)
class EarlierPersona:
    """A sim-written persona found in the prompt: decoded positions (normalised axis ->
    [0, 1]), the axis names as written, and the name / age if they could be read."""

    traits: dict[str, float]
    axis_names: tuple[str, ...]
    name: str | None
    age: int | None


@dataclass(frozen=True)
class Request:
    """A parsed persona request. ``targets[i]`` maps normalised axis -> target in [0, 1]."""

    axes: tuple[AxisDecl, ...]
    targets: tuple[dict[str, float], ...]
    count: int
    earlier: tuple[EarlierPersona, ...]
    expand: bool
    differ: bool
    emphasis: int
    softening: int
    independence: bool
    instructions: str = field(default="", repr=False)
    output: str = "text"
    """``text`` (name/description blocks), ``json`` (personas as JSON), ``schema`` (fill the
    JSON schema the prompt shows), ``short`` (a short answer to a question)."""
    json_style: str = "object"
    """``persona_keys`` ({"persona_1": {...}}), ``list`` ([{...}]) or ``object`` (one persona)."""
    json_fields: tuple[str, ...] = ()
    schema: str | None = field(default=None, repr=False)
    target_names: tuple[dict[str, str], ...] = field(default=(), repr=False)
    """Per target block: normalised axis -> the axis name as the request wrote it."""
    json_shapes: tuple[tuple[str, Any], ...] = field(default=(), repr=False)
    """JSON fields whose requested shape is nested or numeric (field ->
    :class:`generators.sim.shapes.Shape`)."""
    json_wrapper: str | None = None
    """The key of the list holding the personas when the request's JSON example wraps them."""


def _value(m: re.Match[str]) -> float:
    if m.group("level") is not None:
        return LEVELS[" ".join(m.group("level").lower().split())]
    x = float(m.group("num"))
    unit = (m.group("unit") or "").replace(" ", "")
    if unit == "%" or unit == "/100":
        x /= 100.0
    elif unit == "/10":
        x /= 10.0
    return min(1.0, max(0.0, x))


def _pairs(text: str, declared: dict[str, AxisDecl]) -> dict[str, float]:
    out: dict[str, float] = {}
    for chunk in _CHUNK_RE.split(text):
        m = _LAST_SEP_RE.match(chunk)
        if not m:
            continue
        v = _VALUE_RE.match(m.group("val"))
        if not v:
            continue
        raw = norm_axis(_AXIS_TAIL_RE.split(m.group("left").rstrip(" \t\"'`*"))[-1])
        if not raw:
            continue
        key = None
        if declared:
            if raw in declared:
                key = raw
            else:  # a longer capture ending with a declared name ("targets privacy need")
                best = [d for d in declared if raw.endswith(" " + d)]
                key = max(best, key=len) if best else None
        else:
            key = raw.split()[-1]
            if key in ("low", "high", "persona", "name", "age", "n", "end"):
                key = None
        if key is not None and key not in out:
            out[key] = _value(v)
    return out


def _earlier(text: str, decode: Callable[[str], dict[str, float]]) -> tuple[EarlierPersona, ...]:
    found = []
    if SIM_TAG not in text:
        return ()
    for segment in text.split(SIM_TAG)[1:]:
        if "When it comes to" not in segment:
            continue
        traits = decode(segment)
        if not traits:
            continue
        names: list[str] = []
        seen: set[str] = set()
        for m in TRAIT_RE.finditer(segment):
            key = norm_axis(m.group("axis"))
            if key in traits and key not in seen:
                seen.add(key)
                names.append(m.group("axis").strip())
        nm = _NAME_RE.match(segment)
        found.append(
            EarlierPersona(
                traits, tuple(names), nm.group("name") if nm else None, int(nm.group("age")) if nm else None
            )
        )
    return tuple(found)


def _count_cues(text: str, pattern: re.Pattern[str]) -> tuple[int, str]:
    """(number of distinct cues of ``pattern`` in ``text``, text with them blanked)."""
    found: set[str | None] = set()

    def hit(m: re.Match[str]) -> str:
        found.add(m.lastgroup)
        return " "

    if not pattern.search(text):
        return 0, text
    text = pattern.sub(hit, text)
    return len(found), text


_BARE_AXES_RE = re.compile(
    r"\baxes\s*(?:\([^)]*\))?\s*:\s*(?P<names>[^:{}=.\n]+?)\s*(?:\.(?=\s|$)|$)", re.IGNORECASE
)
_EXAMPLE_RE = re.compile(r"\b(?:example|sample)\b[^:]{0,60}:\s*$", re.IGNORECASE)
_JSON_SPAN_RE = re.compile(r"\{[^{}]*\}")


def _json_value(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return min(1.0, max(0.0, float(value)))
    if isinstance(value, str):
        m = _VALUE_RE.match(value)
        return _value(m) if m else None
    return None


def _json_pairs(line: str, declared: dict[str, "AxisDecl"], names: dict[str, str]) -> dict[str, float]:
    """Axis targets stated as a flat JSON object inside ``line`` (keys are whole axis names)."""
    import json

    out: dict[str, float] = {}
    for span in _JSON_SPAN_RE.findall(line):
        try:
            data = json.loads(span)
        except ValueError:
            continue
        if not isinstance(data, dict):
            continue
        for key, value in data.items():
            v = _json_value(value)
            k = norm_axis(str(key))
            if v is None or not k or (declared and k not in declared):
                continue
            if k not in out:
                out[k] = v
                names.setdefault(k, str(key).strip())
    return out


def _table_blocks(
    lines: list[str], declared: dict[str, "AxisDecl"], names: dict[str, str]
) -> list[dict[str, float]]:
    """Target blocks of a markdown table: a header row naming axes, then one row per persona."""
    rows = [[c.strip() for c in ln.strip().strip("|").split("|")] for ln in lines]
    if len(rows) < 2:
        return []
    header = rows[0]
    columns: dict[int, str] = {}
    for i, cell in enumerate(header):
        k = norm_axis(cell.strip("*`"))
        if not k or k in ("persona", "#", "name", "id", "no", "n", "index", "person", "description"):
            continue
        if declared and k not in declared:
            continue
        columns[i] = k
        names.setdefault(k, cell.strip("*` "))
    blocks = []
    for row in rows[1:]:
        if all(set(c) <= set("-: ") for c in row):
            continue
        block = {}
        for i, k in columns.items():
            if i < len(row):
                m = _VALUE_RE.match(row[i])
                if m:
                    block[k] = _value(m)
        if block:
            blocks.append(block)
    return blocks if columns else []


def parse_request(
    messages: list[dict[str, str]],
    *,
    max_personas: int = 60,
    decode: Callable[[str], dict[str, float]] = decode_traits,
    vocabulary: str = "default",
) -> Request:
    """Parse a chat request (all message contents) into a :class:`Request`.

    ``vocabulary`` names the :data:`VOCABULARIES` entry whose cue words count (the
    simulated model family's; structure, targets and the differ/expand cues are read the
    same way by every family).

    ``decode`` reads the positions of earlier personas pasted into the prompt; a pasted
    text it reads nothing from is not an earlier persona. :class:`~generators.sim.llm.SimLLM`
    passes its ledger's authenticated reader (only personas the sim wrote in this
    evaluation); the default reads any trait sentence (parser tests)."""
    text = "\n".join(str(m.get("content", "")) for m in messages)
    declared: dict[str, AxisDecl] = {}
    order: list[AxisDecl] = []
    lines = text.splitlines()
    rest_lines: list[str] = []
    example_lines: list[str] = []
    in_example = False
    for line in lines:
        if in_example:
            stripped = line.strip()
            if stripped and stripped[0] not in "{}[]\"'." and not line[:1].isspace():
                in_example = False
            else:
                example_lines.append(line)
                if line.startswith("}") or line.startswith("]"):
                    in_example = False
                continue
        if _EXAMPLE_RE.search(line):
            in_example = True
            rest_lines.append(line)
            continue
        if SIM_TAG in line or "When it comes to" in line:
            continue
        bare = _BARE_AXES_RE.search(line) if "axes" in line.lower() and "=" not in line else None
        if bare:
            parts = [p.strip(" `'\"*") for p in bare.group("names").split(",")]
            if parts and len(parts) <= 8 and all(0 < len(p) <= 60 for p in parts):
                for part in parts:
                    key = norm_axis(part)
                    if key and key not in declared:
                        declared[key] = AxisDecl(part)
                        order.append(declared[key])
                rest_lines.append(line)
                continue
        m = _AXIS_DECL_RE.match(line) if ("low" in line.lower() and "high" in line.lower()) else None
        if m:
            name = m.group("name").strip()
            key = norm_axis(name)
            poles = _POLES_RE.search(m.group("rest"))
            decl = AxisDecl(
                name,
                poles.group("low").strip() if poles else None,
                poles.group("high").strip() if poles else None,
            )
            if key and key not in declared:
                declared[key] = decl
                order.append(decl)
            continue
        rest_lines.append(line)

    blocks: list[dict[str, float]] = []
    instructions: list[str] = []
    names: dict[str, str] = {}
    in_block = False
    table: list[str] = []

    def flush_table() -> None:
        if table:
            blocks.extend(_table_blocks(table, declared, names))
            table.clear()

    for line in rest_lines:
        if line.lstrip().startswith("|") and line.count("|") >= 2:
            table.append(line)
            in_block = False
            continue
        flush_table()
        jpairs = _json_pairs(line, declared, names) if "{" in line else {}
        if jpairs:
            h = _HEADER_RE.match(line)
            if in_block and blocks and not (h and (h.group("a") or h.group("b") or h.group("c"))):
                for k, v in jpairs.items():
                    blocks[-1].setdefault(k, v)
            else:
                blocks.append(jpairs)
                in_block = True
            continue
        h = _HEADER_RE.match(line)
        if h:
            pairs = _pairs(h.group("rest"), declared)
            if pairs or not h.group("rest").strip() or h.group("a") or h.group("b"):
                blocks.append(pairs)
                in_block = True
                continue
        pairs = _pairs(line, declared) if (":" in line or "=" in line) else {}
        if pairs:
            if in_block and blocks:
                for k, v in pairs.items():
                    blocks[-1].setdefault(k, v)
            else:
                blocks.append(pairs)
                in_block = True
            continue
        if not line.strip():
            continue
        in_block = False
        instructions.append(line)
    flush_table()
    blocks = [b for b in blocks if b]
    # axes named only in targets are known too (after the declared ones)
    for block in blocks:
        for key in block:
            if key not in declared:
                declared[key] = AxisDecl(key.replace(" ", "_"))
                order.append(declared[key])

    instr = "\n".join(instructions).lower()  # cue patterns are lower case
    vocab = VOCABULARIES[vocabulary]
    n_emph_neg, scan = _count_or_zero(instr, vocab.emphatic_negations)
    n_soft, scan = _count_or_zero(scan, vocab.softening)
    n_emph, _ = _count_or_zero(scan, vocab.emphasis)
    earlier = _earlier(text, decode)
    count_match = _COUNT_RE.search(instr)
    differ = bool(_DIFFER.search(instr))
    about_one = len(earlier) == 1 and not blocks and count_match is None and not differ
    expand = bool(earlier) and (bool(_EXPAND.search(instr)) or about_one)
    if blocks:
        count = len(blocks)
    elif expand:
        count = len(earlier)
    elif count_match:
        raw = count_match.group("n").lower()
        count = _WORD_NUMBERS.get(raw) or int(raw)
    else:
        count = 1
    count = max(1, min(count, max_personas))
    fmt = detect_format(
        text,
        instr,
        "\n".join(example_lines),
        wants_personas=bool(blocks) or expand or count_match is not None,
        declared=set(declared),
    )
    return Request(
        axes=tuple(order),
        targets=tuple(blocks[:max_personas]),
        count=count,
        earlier=earlier,
        expand=expand,
        differ=differ,
        emphasis=n_emph + n_emph_neg,
        softening=n_soft,
        independence=vocab.independence is not None and bool(vocab.independence.search(instr)),
        instructions=instr,
        output=fmt.output,
        json_style=fmt.style,
        json_fields=fmt.fields,
        schema=fmt.schema,
        target_names=tuple({k: names.get(k, k) for k in b} for b in blocks[:max_personas]),
        json_shapes=fmt.shapes,
        json_wrapper=fmt.wrapper,
    )
