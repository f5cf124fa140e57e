"""Errors of the sandbox and the formatting of failures into short readable text.

Stdlib only: imported inside the sandbox child (as ``sandbox_errors``) and by the
parent (through :mod:`generators.sandbox.errors`).

Every failure of a generator program becomes two strings:

* ``error``: one line for the user (``"ZeroDivisionError at line 7: division by zero"``),
  at most :data:`ERROR_CAP` characters;
* ``detail``: the useful part of the traceback for the mutator's feedback: the frames in
  the program's own code (line numbers match the program text), the innermost library
  frame if the error was raised outside the program, and the exception line; at most
  :data:`DETAIL_CAP` characters.
"""

from __future__ import annotations

import traceback
from typing import Sequence

PROGRAM_FILENAME = "<generator>"
"""The filename the program text is compiled under (tracebacks name it)."""

ERROR_CAP = 300
DETAIL_CAP = 2000


def one_line(text: str, limit: int = ERROR_CAP) -> str:
    """Collapse whitespace runs to single spaces and cut to ``limit`` characters."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def cap_detail(text: str, limit: int = DETAIL_CAP) -> str:
    """Keep at most ``limit`` characters, cutting from the top (the end matters most)."""
    if len(text) <= limit:
        return text
    return "...\n" + text[-(limit - 4) :]


def _exception_line(exc: BaseException) -> str:
    name = type(exc).__name__
    message = str(exc) if not isinstance(exc, MemoryError) else (str(exc) or "out of memory")
    return f"{name}: {message}" if message else name


def format_syntax_error(exc: SyntaxError, code_lines: Sequence[str]) -> tuple[str, str]:
    """``("SyntaxError at line 12: invalid syntax", detail)`` for a compile failure."""
    line_no = exc.lineno or 0
    kind = type(exc).__name__
    error = one_line(f"{kind} at line {line_no}: {exc.msg}")
    parts = [f'  File "{PROGRAM_FILENAME}", line {line_no}']
    if 1 <= line_no <= len(code_lines):
        source = code_lines[line_no - 1].rstrip("\n")
        parts.append("    " + source.strip())
        if exc.offset:
            indent = len(source) - len(source.lstrip())
            parts.append("    " + " " * max(0, exc.offset - 1 - indent) + "^")
    parts.append(f"{kind}: {exc.msg}")
    return error, cap_detail("\n".join(parts))


def format_program_exception(
    exc: BaseException, code_lines: Sequence[str], *, context: str = ""
) -> tuple[str, str]:
    """Summarise an exception raised while running the program.

    Returns ``(error, detail)``; ``error`` names the innermost program line, e.g.
    ``"KeyError at line 9: 'x'"`` (``context`` is appended to the line number, e.g.
    ``" (loading the program)"``).
    """
    frames = traceback.extract_tb(exc.__traceback__)
    own = [f for f in frames if f.filename == PROGRAM_FILENAME]
    lines: list[str] = []
    for frame in own:
        lines.append(f'  File "{PROGRAM_FILENAME}", line {frame.lineno}, in {frame.name}')
        if frame.lineno and 1 <= frame.lineno <= len(code_lines):
            lines.append("    " + code_lines[frame.lineno - 1].strip())
    if frames and frames[-1].filename != PROGRAM_FILENAME:
        last = frames[-1]
        lines.append(f"  (raised in {last.filename}, line {last.lineno}, in {last.name})")
    exc_line = _exception_line(exc)
    lines.append(exc_line)
    where = f" at line {own[-1].lineno}" if own else ""
    error = one_line(f"{type(exc).__name__}{where}{context}: {str(exc) or exc_line}")
    return error, cap_detail("\n".join(lines))


def format_stack_snapshot(frames: Sequence[traceback.FrameSummary], code_lines: Sequence[str]) -> str:
    """The program frames of a live stack (used to say where a timed-out job was)."""
    out: list[str] = []
    for frame in frames:
        if frame.filename != PROGRAM_FILENAME:
            continue
        out.append(f'  File "{PROGRAM_FILENAME}", line {frame.lineno}, in {frame.name}')
        if frame.lineno and 1 <= frame.lineno <= len(code_lines):
            out.append("    " + code_lines[frame.lineno - 1].strip())
    return "\n".join(out)
