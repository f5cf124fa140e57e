"""One sanitiser for text that came from a program or a model and reaches a person.

Program and persona text is hostile: an ESC sequence can erase a line and print a fake
"OK", a carriage return can overwrite one, a bidi override can make text read backwards,
a C1 control can act as an escape in some terminals. Every boundary where such text
reaches a person (CLI errors and notes, ``inspect``, ``report.md``, the export header,
progress lines, the viewer) passes it through here; stored data keeps the original text.

* :func:`visible` -- for terminals, markdown and HTML: every unsafe character becomes a
  visible escape (``\\x1b``, ``\\u202e``), so nothing hides and nothing acts;
* :func:`json_safe` -- for JSON text already dumped: the same characters as JSON ``\\u``
  escapes, so the data is exact and a terminal showing it is safe;
* :func:`visible_deep` -- :func:`visible` over every string of a JSON-shaped value.

Unsafe: C0 controls but newline and tab, DEL, C1 controls, and the bidi controls (LRM,
RLM, ALM, the embeddings, overrides and isolates).
"""

from __future__ import annotations

import re
from typing import Any

UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
"""The characters :func:`visible` and :func:`json_safe` neutralise."""


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str) -> str:
    """``text`` with every unsafe character replaced by its visible escape (``\\x1b``)."""
    return UNSAFE.sub(_escape, text) if UNSAFE.search(text) else text


def json_safe(dumped: str) -> str:
    """Dumped JSON text with every unsafe character written as a JSON ``\\uXXXX`` escape
    (valid JSON with the same data: such characters can only occur inside strings)."""
    if not UNSAFE.search(dumped):
        return dumped
    return UNSAFE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", dumped)


def visible_deep(value: Any) -> Any:
    """:func:`visible` applied to every string (keys too) of a JSON-shaped value."""
    if isinstance(value, str):
        return visible(value)
    if isinstance(value, dict):
        return {visible_deep(k): visible_deep(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [visible_deep(v) for v in value]
    return value
