"""Cheap rejections of a proposed program, before it costs an evaluation.

Each check returns a reason key (stored on the ``rejected`` event) and a one-line
message, or None when the program passes.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass


@dataclass(frozen=True)
class Rejection:
    """Why a proposal was not evaluated. ``reason`` is one of: ``diff_failed``, ``no_op``,
    ``duplicate``, ``compile_error``, ``bad_signature``, ``mutator_error``, ``cascade``, ``twin``."""

    reason: str
    message: str


def check_compiles(code: str) -> Rejection | None:
    """The program must parse and compile."""
    try:
        compile(code, "<program>", "exec")
    except SyntaxError as exc:
        where = f" at line {exc.lineno}" if exc.lineno else ""
        return Rejection("compile_error", f"SyntaxError{where}: {exc.msg}")
    except ValueError as exc:  # e.g. null bytes
        return Rejection("compile_error", f"cannot compile: {exc}")
    return None


def check_signature(code: str) -> Rejection | None:
    """A top-level ``def generate(context, n, llm, rng)`` (four positional parameters) must exist."""
    tree = ast.parse(code)
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == "generate":
            if isinstance(node, ast.AsyncFunctionDef):
                return Rejection("bad_signature", "generate must be a plain function, not async")
            args = node.args
            positional = len(args.posonlyargs) + len(args.args)
            required_kwonly = [a for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is None]
            if positional < 4 and not args.vararg or required_kwonly:
                return Rejection("bad_signature", "generate must accept (context, n, llm, rng) positionally")
            return None
    return Rejection("bad_signature", "no top-level function 'generate' defined")


def first_rejection(code: str) -> Rejection | None:
    """Run the syntax and signature checks in order."""
    return check_compiles(code) or check_signature(code)
