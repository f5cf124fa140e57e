"""Operators on statements: ``swap_statements`` and ``delete_statement``.

Both edit whole lines of statements that own their lines inside an EVOLVE-BLOCK, and use
:mod:`evolve.mutators.scopes` to keep every name a later statement reads bound.
"""

from __future__ import annotations

import ast
import random
from collections.abc import Iterable

from evolve.mutators.donors import Donors
from evolve.mutators.operator_api import Candidate, PerturbSettings
from evolve.mutators.scopes import (
    BUILTINS,
    bound_names,
    mutated_names,
    read_before_rebound,
    receiver,
    scope_bindings,
    used_names,
)
from evolve.mutators.spans import Program, SpanEdit

__all__ = ["swap_statements", "delete_statement"]

_JUMPS = (ast.Return, ast.Raise, ast.Break, ast.Continue, ast.Global, ast.Nonlocal)
_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)


def _has_call(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Call) for n in ast.walk(node))


def _stmt_lists(tree: ast.AST) -> Iterable[tuple[ast.AST, list[ast.stmt]]]:
    for node in ast.walk(tree):
        for fld in ("body", "orelse", "finalbody"):
            val = getattr(node, fld, None)
            if isinstance(val, list) and val and all(isinstance(s, ast.stmt) for s in val):
                yield node, val


def _swappable(prog: Program, s: ast.stmt) -> bool:
    return (
        not isinstance(s, _JUMPS + _DEFS)
        and not prog.is_docstring(s)
        and prog.inside(s)
        and prog.owns_lines(s)
    )


def _independent(a: ast.stmt, b: ast.stmt) -> bool:
    """No name bound or mutated by one statement is read or bound by the other. Two
    method-call statements on the same receiver (``x.append(p)``; ``x.append(q)``) may
    still swap: that only reorders what they add."""
    ba, bb = bound_names(a), bound_names(b)
    ua, ub = used_names(a), used_names(b)
    ma, mb = mutated_names(a), mutated_names(b)
    conflicts = (ba & (ub | bb)) | (bb & ua) | (ma & ub) | (mb & ua)
    if isinstance(a, ast.Expr) and isinstance(b, ast.Expr):
        ra, rb = receiver(a.value), receiver(b.value)
        if ra is not None and ra == rb:
            conflicts.discard(ra)
    return not conflicts


def swap_statements(
    prog: Program, rng: random.Random, donors: Donors, cfg: PerturbSettings
) -> Candidate | None:
    """Swap two adjacent statements of one block that are independent.

    Independent: neither binds or mutates a name the other reads or binds (a store into
    ``x[...]``/``x.attr`` binds ``x``, a method call ``x.m()`` mutates ``x``); two method
    calls on the same receiver, e.g. two ``lines.append``, may swap: that reorders a
    prompt. At least one must contain a call, since swapping two pure assignments never
    changes behaviour. Never returns, raises, jumps, definitions or imports.
    """
    pairs = []
    for _, body in _stmt_lists(prog.tree):
        for a, b in zip(body, body[1:]):
            if not (_swappable(prog, a) and _swappable(prog, b)):
                continue
            if a.end_lineno >= b.lineno:  # type: ignore[operator]
                continue
            if not (_has_call(a) or _has_call(b)):
                continue
            if _independent(a, b):
                pairs.append((a, b))
    if not pairs:
        return None
    a, b = rng.choice(pairs)
    a0, a1 = prog.full_lines(a.lineno, a.end_lineno)  # type: ignore[arg-type]
    b0, b1 = prog.full_lines(b.lineno, b.end_lineno)  # type: ignore[arg-type]
    ta, mid, tb = prog.code[a0:a1], prog.code[a1:b0], prog.code[b0:b1]
    if not tb.endswith("\n"):
        return None
    return Candidate(
        "swap_statements",
        (SpanEdit(a0, b1, tb + mid + ta),),
        f"swap_statements: lines {a.lineno}-{a.end_lineno} <-> {b.lineno}-{b.end_lineno}",
    )


def _deletable(prog: Program, s: ast.stmt) -> bool:
    """No name that ``s`` binds is read elsewhere in its scope without another binding."""
    bound = bound_names(s)
    if not bound:
        return True
    scope: ast.AST = prog.tree
    for _, par in prog.ancestors(s):
        if isinstance(par, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            scope = par
            break
    inner = {id(n) for n in ast.walk(s)}
    loads = {
        n.id
        for n in ast.walk(scope)
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and id(n) not in inner
    }
    others = scope_bindings(prog.tree, s) | BUILTINS
    if scope is not prog.tree:
        others |= scope_bindings(scope, s)  # parameters included
    if any(b in loads and b not in others for b in bound):
        return False
    return not any(read_before_rebound(prog, scope, s, b) for b in bound)


def delete_statement(
    prog: Program, rng: random.Random, donors: Donors, cfg: PerturbSettings
) -> Candidate | None:
    """Delete a statement from a block of 2+ statements.

    Never a function's final return, a definition, import, ``global``/``nonlocal`` or
    docstring; and only when no name it binds is read elsewhere in its scope without being
    bound elsewhere too (in that scope, at module level, or as a builtin), nor read after it
    before being bound again.
    """
    sites = []
    for owner, body in _stmt_lists(prog.tree):
        real = [s for s in body if not prog.is_docstring(s)]
        if len(real) < 2:
            continue
        for s in real:
            if (
                isinstance(s, _DEFS + (ast.Global, ast.Nonlocal))
                or not prog.inside(s)
                or not prog.owns_lines(s)
            ):
                continue
            is_fn = isinstance(owner, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(s, ast.Return) and is_fn and s is body[-1]:
                continue
            if _deletable(prog, s):
                sites.append(s)
    if not sites:
        return None
    s = rng.choice(sites)
    start, end = prog.full_lines(s.lineno, s.end_lineno)  # type: ignore[arg-type]
    return Candidate(
        "delete_statement",
        (SpanEdit(start, end, ""),),
        f"delete_statement: lines {s.lineno}-{s.end_lineno}: {prog.lines[s.lineno - 1].strip()[:60]!r}",
    )
