"""Where prompt text sits in a program, and the span edits that change it in place.

Sites are inside EVOLVE-BLOCKs only: prompt strings (3+ words; not docstrings, dict keys,
subscripts or comparison operands), f-strings with 3+ word text, and list/tuple literals
of strings. The edits keep a list's layout (one element per line or inline) and a
string's spacing style when a sentence is appended.
"""

from __future__ import annotations

import ast

from evolve.mutators.spans import Program, SpanEdit
from evolve.mutators.text_literals import closing_delim, plain_strings, word_count

__all__ = [
    "string_list_sites",
    "prompt_string_sites",
    "fstring_sites",
    "list_layout",
    "insert_element",
    "append_sentence",
]


def string_list_sites(prog: Program) -> list[ast.List | ast.Tuple]:
    out = []
    for node in ast.walk(prog.tree):
        if isinstance(node, (ast.List, ast.Tuple)) and isinstance(node.ctx, ast.Load) and node.elts:
            if not prog.inside(node):
                continue
            if all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts):
                if any(word_count(e.value) >= 3 for e in node.elts):  # type: ignore[attr-defined]
                    out.append(node)
    return out


def prompt_string_sites(prog: Program) -> list[ast.Constant]:
    out = []
    for node in plain_strings(prog):
        if word_count(str(node.value)) < 3 or not prog.inside(node) or prog.is_docstring(node):
            continue
        par = prog.parent.get(id(node))
        if isinstance(par, ast.Dict) and any(k is node for k in par.keys):
            continue
        if isinstance(par, (ast.Subscript, ast.Compare)):
            continue
        out.append(node)
    return out


def fstring_sites(prog: Program) -> list[ast.JoinedStr]:
    out = []
    for node in ast.walk(prog.tree):
        if isinstance(node, ast.JoinedStr) and prog.inside(node):
            if isinstance(prog.parent.get(id(node)), ast.FormattedValue):
                continue  # a format spec
            if any(isinstance(p, ast.Constant) and word_count(str(p.value)) >= 3 for p in node.values):
                out.append(node)
    return out


def list_layout(prog: Program, node: ast.List | ast.Tuple) -> str:
    """Separator between elements: ",\\n<indent>" for one-element-per-line lists, else ", "."""
    rows = {e.lineno for e in node.elts}
    first = node.elts[0]
    line = prog.lines[first.lineno - 1]
    col = prog.start(first) - prog.line_start(first.lineno)
    if node.lineno != node.end_lineno and len(rows) == len(node.elts) and not line[:col].strip():
        return ",\n" + line[:col]
    return ", "


def insert_element(prog: Program, node: ast.List | ast.Tuple, k: int, literal: str) -> SpanEdit:
    sep = list_layout(prog, node)
    if k < len(node.elts):
        at = prog.start(node.elts[k])
        return SpanEdit(at, at, literal + sep)
    at = prog.end(node.elts[-1])
    return SpanEdit(at, at, sep + literal)


def append_sentence(prog: Program, node: ast.Constant | ast.JoinedStr, sentence: str) -> SpanEdit:
    seg = prog.segment(node)
    delim = closing_delim(seg)
    at = prog.end(node) - len(delim)
    prev = prog.code[at - 1]
    if prev in " \t":
        text = sentence + " "
    elif prev == "\n":
        text = sentence + "\n"
    elif prog.code[at - 2 : at] == "\\n":
        text = sentence + "\\n"
    else:
        text = " " + sentence
    return SpanEdit(at, at, text)
