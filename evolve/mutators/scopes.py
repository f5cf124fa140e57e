"""Name analysis of Python statements: which names a node binds, reads or mutates, and
whether a name is read again before it is rebound within its scope.

Conservative by design: a store into ``x[...]`` or ``x.attr`` counts as binding ``x``, and
a method call ``x.m()`` as mutating ``x``. Used to decide which statements can be swapped,
deleted or transplanted without breaking the program.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Iterable

from evolve.mutators.spans import Program

__all__ = [
    "BUILTINS",
    "binds_here",
    "bound_names",
    "used_names",
    "receiver",
    "mutated_names",
    "walk_scope",
    "scope_bindings",
    "read_before_rebound",
]

#: names always bound (the builtins)
BUILTINS = frozenset(dir(builtins))
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


def binds_here(n: ast.AST) -> set[str]:
    """Names bound by this node itself (not its children)."""
    if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del)):
        return {n.id}
    if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {n.name}
    if isinstance(n, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in n.names}
    if isinstance(n, ast.arg):
        return {n.arg}
    if isinstance(n, ast.ExceptHandler) and n.name:
        return {n.name}
    if isinstance(n, (ast.Subscript, ast.Attribute)) and isinstance(n.ctx, (ast.Store, ast.Del)):
        base: ast.AST = n
        while isinstance(base, (ast.Subscript, ast.Attribute)):
            base = base.value
        if isinstance(base, ast.Name):
            return {base.id}
    return set()


def bound_names(node: ast.AST) -> set[str]:
    """Names a statement binds or mutates by store (``x =``, ``x[i] =``, ``x.a =``, defs, imports)."""
    out: set[str] = set()
    for n in ast.walk(node):
        out |= binds_here(n)
    return out


def used_names(node: ast.AST) -> set[str]:
    """Names read (``Load`` context) anywhere in ``node``."""
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def receiver(node: ast.AST) -> str | None:
    """``x`` when ``node`` is a call ``x.method(...)`` (or ``x.a.method(...)``)."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        base: ast.AST = node.func.value
        while isinstance(base, (ast.Attribute, ast.Subscript)):
            base = base.value
        if isinstance(base, ast.Name):
            return base.id
    return None


def mutated_names(node: ast.AST) -> set[str]:
    """Receivers of method calls in a statement (``lines.append(...)`` may mutate ``lines``)."""
    return {r for n in ast.walk(node) if (r := receiver(n)) is not None}


def walk_scope(root: ast.AST, skip: ast.AST) -> Iterable[ast.AST]:
    """Nodes of ``root``'s own scope (nested defs yielded but not entered), minus ``skip``'s subtree."""
    stack = list(ast.iter_child_nodes(root))
    while stack:
        n = stack.pop()
        if n is skip:
            continue
        yield n
        if not isinstance(n, _SCOPES):
            stack.extend(ast.iter_child_nodes(n))


def scope_bindings(root: ast.AST, skip: ast.AST) -> set[str]:
    """Names bound in ``root``'s own scope outside ``skip``'s subtree."""
    out: set[str] = set()
    for n in walk_scope(root, skip):
        out |= binds_here(n)
    return out


def _stmt_of(prog: Program, node: ast.AST) -> ast.AST:
    for _, par in prog.ancestors(node):
        if isinstance(par, ast.stmt):
            return par
    return node


def read_before_rebound(prog: Program, scope: ast.AST, s: ast.stmt, name: str) -> bool:
    """Whether, after ``s`` in its scope (by text order), ``name`` is read before it is
    bound again. A store counts at the end of its statement (``x = x + 1`` reads first);
    ``x += 1``, ``x[i] = v`` and ``x.m()`` read ``x``."""
    after = (s.end_lineno, s.end_col_offset)
    events = []
    for n in walk_scope(scope, s):
        if not (isinstance(n, ast.Name) and n.id == name):
            continue
        stmt = _stmt_of(prog, n)
        if isinstance(n.ctx, ast.Load) or isinstance(stmt, ast.AugAssign):
            events.append(((n.lineno, n.col_offset), True))
        else:
            events.append(((stmt.end_lineno, stmt.end_col_offset), False))  # type: ignore[attr-defined]
    later = sorted(e for e in events if e[0] > after)
    return bool(later) and later[0][1]
