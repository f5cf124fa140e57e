"""String literals in program source: word counts, safe sentences, quoting and positions.

A "safe" sentence starts with a capital letter, ends with ``.``, ``!`` or ``?``, has 3+
words and contains no quote, backslash, brace or newline, so it can be inserted into any
string literal (or f-string) without changing how the literal parses.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable

from evolve.mutators.spans import Program

__all__ = [
    "word_count",
    "safe_sentences",
    "str_literal",
    "closing_delim",
    "quote_of",
    "fstring_depth_ok",
    "plain_strings",
    "sentence_spans",
]

_SENTENCE_RE = re.compile(r"[A-Z][^.!?\\\"'{}\n]*[.!?]")


def word_count(s: str) -> int:
    """Number of whitespace-separated words of ``s``."""
    return len(s.split())


def safe_sentences(value: str) -> list[str]:
    """Sentences of 3+ words that are safe to insert in any string literal."""
    return [m.group(0) for m in _SENTENCE_RE.finditer(value) if word_count(m.group(0)) >= 3]


def str_literal(value: str, quote: str = '"') -> str:
    """Python source for a string literal of ``value``, preferring ``quote`` as delimiter."""
    if "\n" in value and '"""' not in value and "\\" not in value and not value.endswith('"'):
        return '"""' + value + '"""'
    r = repr(value)
    if quote == '"' and r[0] == "'" and '"' not in value:
        r = '"' + r[1:-1] + '"'
    return r


def closing_delim(segment: str) -> str:
    """The closing delimiter (``'``, ``"``, ``'''`` or ``\"\"\"``) of a literal's source."""
    return segment[-3:] if segment[-3:] in ('"""', "'''") else segment[-1]


def quote_of(segment: str) -> str:
    """The quote character opening a literal's source (after any prefix); ``"`` if none."""
    m = re.match(r"[A-Za-z]*(['\"])", segment)
    return m.group(1) if m else '"'


def fstring_depth_ok(segment: str, pos: int) -> bool:
    """True when ``pos`` of an f-string's source is outside every ``{...}`` expression."""
    depth, i = 0, 0
    while i < pos:
        c = segment[i]
        if c in "{}" and i + 1 < len(segment) and segment[i + 1] == c and depth == 0:
            i += 2
            continue
        depth += 1 if c == "{" else -1 if c == "}" else 0
        i += 1
    return depth == 0


def plain_strings(prog: Program) -> Iterable[ast.Constant]:
    """String constants of ``prog`` that are not part of an f-string."""
    for node in ast.walk(prog.tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if any(isinstance(p, ast.JoinedStr) for _, p in prog.ancestors(node)):
                continue  # an f-string part, or inside an f-string expression
            yield node


def sentence_spans(prog: Program, node: ast.Constant | ast.JoinedStr) -> list[tuple[int, int, str]]:
    """(start, end, text) of safe 3+ word sentences in a string literal's source."""
    seg = prog.segment(node)
    base = prog.start(node)
    out = []
    for m in _SENTENCE_RE.finditer(seg):
        if word_count(m.group(0)) < 3:
            continue
        if isinstance(node, ast.JoinedStr) and not fstring_depth_ok(seg, m.start()):
            continue
        out.append((base + m.start(), base + m.end(), m.group(0)))
    return out
