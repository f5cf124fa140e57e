"""Program identity: a hash of the normalised program.

Two programs that differ only in comments, docstrings, blank lines, formatting or quote
style get the same id; any change to the executable AST gives a different id.
"""

from __future__ import annotations

import ast
import functools
import hashlib

#: Length of the hex id (sha256 prefix): 16 hex digits = 64 bits, collision-free in practice.
ID_LENGTH = 16


class ProgramSyntaxError(ValueError):
    """The program text does not parse as Python."""


class CodeMismatch(ValueError):
    """Stored code whose content-addressed id is not the id it is stored under: the
    database was changed outside persona-evolve, so the code is not what was evaluated."""


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                rest = body[1:]
                node.body = rest if rest else [ast.Pass()]
    return tree


def normalise(code: str) -> str:
    """Canonical text of a program: ``ast.dump`` of its docstring-stripped AST.

    Raises ProgramSyntaxError (one line: where and what) if ``code`` does not parse.
    """
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        raise ProgramSyntaxError(f"program does not parse: line {exc.lineno}: {exc.msg}") from None
    except ValueError as exc:  # e.g. null bytes
        raise ProgramSyntaxError(f"program does not parse: {exc}") from None
    return ast.dump(_strip_docstrings(tree), annotate_fields=False, include_attributes=False)


def verify_code(stored_id: str, code: str) -> None:
    """Raise :class:`CodeMismatch` (one line) unless ``code`` hashes to ``stored_id``."""
    try:
        actual = program_id(code)
    except ProgramSyntaxError:
        actual = "unparseable code"
    if actual != stored_id:
        raise CodeMismatch(
            f"program {stored_id}: the stored code does not match its id ({actual}); the archive "
            f"was modified outside persona-evolve, so this code is not what was evaluated"
        )


@functools.lru_cache(maxsize=4096)
def program_id(code: str) -> str:
    """Id of a program: the first 16 hex digits of sha256 of ``normalise(code)``.

    Raises ProgramSyntaxError on a syntax error. Cached (the loop and the archive both ask).
    """
    return hashlib.sha256(normalise(code).encode("utf-8")).hexdigest()[:ID_LENGTH]
