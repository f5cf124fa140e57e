"""Character-span editing of program source: span edits and the parsed :class:`Program`.

A :class:`Program` maps AST positions (1-based lines, UTF-8 byte columns) to character
offsets of the text, knows which lines lie inside an EVOLVE-BLOCK and each node's parent,
so operators can rewrite a few spans and leave comments and formatting elsewhere intact.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass

from evolve.proposals.diffs import evolve_regions

__all__ = ["SpanEdit", "Program", "apply_span_edits"]


@dataclass(frozen=True)
class SpanEdit:
    """Replace characters ``[start, end)`` of the program text with ``text``."""

    start: int
    end: int
    text: str


def apply_span_edits(text: str, edits: Iterable[SpanEdit]) -> str:
    """Apply non-overlapping span edits to ``text``."""
    out = text
    for e in sorted(edits, key=lambda e: e.start, reverse=True):
        out = out[: e.start] + e.text + out[e.end :]
    return out


class Program:
    """A parsed program with its text, positions and EVOLVE-BLOCK lines."""

    def __init__(self, code: str) -> None:
        self.code = code
        self.tree = ast.parse(code)
        self.lines = code.split("\n")
        self.line_starts: list[int] = []
        pos = 0
        for ln in self.lines:
            self.line_starts.append(pos)
            pos += len(ln) + 1
        self.editable: frozenset[int] = frozenset(
            n for start, end in evolve_regions(code) for n in range(start + 1, end)
        )
        self.parent: dict[int, ast.AST] = {}
        for node in ast.walk(self.tree):
            for child in ast.iter_child_nodes(node):
                self.parent[id(child)] = node
        self.docstrings: set[int] = set()
        for node in ast.walk(self.tree):
            if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                body = node.body
                if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                    if isinstance(body[0].value.value, str):
                        self.docstrings.add(id(body[0]))
                        self.docstrings.add(id(body[0].value))

    # positions -------------------------------------------------------------
    def offset(self, lineno: int, col: int) -> int:
        """Character offset of AST position (1-based line, UTF-8 byte column)."""
        line = self.lines[lineno - 1]
        chars = len(line.encode("utf-8")[:col].decode("utf-8", errors="ignore"))
        return self.line_starts[lineno - 1] + chars

    def start(self, node: ast.AST) -> int:
        return self.offset(node.lineno, node.col_offset)  # type: ignore[attr-defined]

    def end(self, node: ast.AST) -> int:
        return self.offset(node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]

    def segment(self, node: ast.AST) -> str:
        return self.code[self.start(node) : self.end(node)]

    def line_start(self, lineno: int) -> int:
        return self.line_starts[lineno - 1]

    def inside(self, node: ast.AST) -> bool:
        """True when every line of ``node`` is an editable EVOLVE-BLOCK line."""
        lo, hi = getattr(node, "lineno", None), getattr(node, "end_lineno", None)
        if lo is None or hi is None:
            return False
        return all(n in self.editable for n in range(lo, hi + 1))

    def owns_lines(self, node: ast.stmt) -> bool:
        """True when the statement starts its first line and ends its last (comments aside)."""
        first = self.lines[node.lineno - 1]
        pre = first[: len(first.encode("utf-8")[: node.col_offset].decode("utf-8", errors="ignore"))]
        last = self.lines[(node.end_lineno or node.lineno) - 1]
        cut = len(last.encode("utf-8")[: node.end_col_offset].decode("utf-8", errors="ignore"))
        post = last[cut:].strip()
        return not pre.strip() and (not post or post.startswith("#"))

    def full_lines(self, first: int, last: int) -> tuple[int, int]:
        """Character span of lines ``first..last`` (1-based), trailing newline included."""
        end = self.line_starts[last] if last < len(self.lines) else len(self.code)
        return self.line_starts[first - 1], end

    def ancestors(self, node: ast.AST) -> Iterable[tuple[ast.AST, ast.AST]]:
        """(child, parent) pairs walking up from ``node``."""
        child = node
        while id(child) in self.parent:
            par = self.parent[id(child)]
            yield child, par
            child = par

    def is_docstring(self, node: ast.AST) -> bool:
        return id(node) in self.docstrings
