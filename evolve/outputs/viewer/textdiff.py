"""Unified diffs of program texts as typed lines, for rendering (escaping is the
template's job)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass


@dataclass(frozen=True)
class DiffLine:
    """One line of a unified diff: ``kind`` is ``add``, ``del``, ``hunk``, ``file`` or
    ``ctx``; ``text`` without its trailing newline."""

    kind: str
    text: str


@dataclass(frozen=True)
class TextDiff:
    """A unified diff (3 lines of context). ``identical``: the texts are equal."""

    lines: tuple[DiffLine, ...]
    added: int
    removed: int

    @property
    def identical(self) -> bool:
        return not self.lines


def unified(a: str, b: str, *, name_a: str, name_b: str) -> TextDiff:
    """The unified diff from text ``a`` to text ``b``."""
    raw = list(
        difflib.unified_diff(a.splitlines(), b.splitlines(), fromfile=name_a, tofile=name_b, lineterm="")
    )
    lines = []
    for i, line in enumerate(raw):
        if i < 2 and (line.startswith("---") or line.startswith("+++")):
            kind = "file"
        elif line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+"):
            kind = "add"
        elif line.startswith("-"):
            kind = "del"
        else:
            kind = "ctx"
        lines.append(DiffLine(kind, line))
    return TextDiff(
        tuple(lines), sum(1 for x in lines if x.kind == "add"), sum(1 for x in lines if x.kind == "del")
    )
