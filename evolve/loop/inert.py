"""Static twins: an edit that provably changes nothing a program does (issue 22, item 5).

A behavioural twin (:mod:`evolve.loop.twins`) is found after the smoke stage, i.e. after the
persona and respondent calls of one context. Some edits can be seen to change nothing
before any call: a constant that no code that runs ever reads (``LEVEL_WORDS`` while
``USE_LEVEL_WORDS = False`` makes the code reading it unreachable), two module constants
swapped, a docstring reworded. :func:`inert_edit` calls a child *inert* when a canonical
form of its module equals its parent's:

* bare constant expressions (docstrings) are dropped;
* ``if FLAG:`` / ``if not FLAG:`` on a module constant is replaced by the branch taken, and
  the statements after a ``return`` / ``raise`` / ``break`` / ``continue`` of a block are
  dropped (they never run);
* the leading run of module statements that run no code of the program (imports,
  constants bound to a literal, undecorated ``def`` with literal defaults: the *prelude*)
  is put in a fixed order (imports as written, then the rest by name), and prelude
  constants and functions that nothing left reads are dropped (``generate`` is kept:
  the harness calls it).

Sound under these conditions, checked on both programs (otherwise there is no verdict):
only names bound exactly once in the module (at prelude level) are folded, reordered or
dropped; no reflection that could read a module global by another route (``globals``,
``vars``, ``eval``, ``exec``, ``getattr`` ..., dunder names or attributes, frame
attributes, modules such as ``sys`` or ``inspect``, star imports). The harness reads only ``generate``
from a program's module. Equal canonical forms then mean the two modules run the same
statements on the same values: same calls to the persona model, same personas, same
placements at the same seeds. A child that differs in anything that can run is never
called inert (false negatives are fine: the smoke-stage twin check still runs).
"""

from __future__ import annotations

import ast
import copy
from typing import Iterable

__all__ = ["inert_edit", "canonical_form"]

REFLECTIVE_NAMES = frozenset(
    {
        "globals",
        "locals",
        "vars",
        "eval",
        "exec",
        "compile",
        "__import__",
        "getattr",
        "setattr",
        "delattr",
        "hasattr",
        "dir",
        "breakpoint",
        "super",
        "open",
        "input",
        "memoryview",
    }
)
"""Builtins that could read (or write) a module global by name, or read the source."""

REFLECTIVE_MODULES = frozenset(
    {
        "sys",
        "inspect",
        "importlib",
        "gc",
        "ctypes",
        "builtins",
        "traceback",
        "types",
        "pickle",
        "marshal",
        "dis",
        "code",
        "codeop",
        "pdb",
        "runpy",
        "__main__",
        "linecache",
        "tokenize",
        "ast",
        "copyreg",
        "operator",
        "functools",
    }
)
"""Modules that reach frames, globals or the program's source (``operator.attrgetter``
and ``functools`` are left out as well: conservative)."""

_FRAME_PREFIXES = ("f_", "gi_", "cr_", "ag_", "tb_", "co_")

_TERMINAL = (ast.Return, ast.Raise, ast.Break, ast.Continue)


def _literal(node: ast.AST) -> bool:
    """True for a constant, or a tuple / list / set / dict of literals, or +x / -x / not x."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return all(_literal(e) for e in node.elts)
    if isinstance(node, ast.Dict):
        return all(k is not None and _literal(k) for k in node.keys) and all(_literal(v) for v in node.values)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd, ast.Not)):
        return _literal(node.operand)
    return False


def _reflective(tree: ast.Module) -> bool:
    """True when the module uses anything that could reach its globals other than by name."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and (node.id in REFLECTIVE_NAMES or node.id.startswith("__")):
            return True
        if isinstance(node, ast.Attribute) and (
            node.attr.startswith("__") or node.attr.startswith(_FRAME_PREFIXES)
        ):
            return True
        if isinstance(node, ast.Import) and any(
            a.name.split(".")[0] in REFLECTIVE_MODULES for a in node.names
        ):
            return True
        if isinstance(node, ast.ImportFrom) and (
            node.level
            or (node.module or "").split(".")[0] in REFLECTIVE_MODULES
            or any(a.name == "*" for a in node.names)
        ):
            return True  # a star import binds names nobody can list
        if isinstance(node, (ast.Global, ast.Nonlocal)):
            return True
    return False


def _bindings(tree: ast.Module) -> dict[str, int]:
    """How many times each name is bound anywhere in the module (every binding form)."""
    count: dict[str, int] = {}

    def bump(name: str) -> None:
        count[name] = count.get(name, 0) + 1

    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            bump(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bump(node.name)
        elif isinstance(node, ast.arg):
            bump(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                bump((alias.asname or alias.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bump(node.name)
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            bump(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            bump(node.rest)
    return count


def _constant_def(stmt: ast.stmt) -> str | None:
    """The name of ``NAME = <literal>`` (one plain target), else None."""
    if (
        isinstance(stmt, ast.Assign)
        and len(stmt.targets) == 1
        and isinstance(stmt.targets[0], ast.Name)
        and _literal(stmt.value)
    ):
        return stmt.targets[0].id
    if (
        isinstance(stmt, ast.AnnAssign)
        and isinstance(stmt.target, ast.Name)
        and stmt.value is not None
        and _literal(stmt.value)
        and _literal_annotation(stmt.annotation)
    ):
        return stmt.target.id
    return None


def _literal_annotation(node: ast.AST) -> bool:
    return isinstance(node, (ast.Name, ast.Constant)) or (
        isinstance(node, ast.Attribute) and _literal_annotation(node.value)
    )


def _plain_def(stmt: ast.stmt) -> str | None:
    """The name of an undecorated ``def`` whose defaults and annotations run no code, else None."""
    if not isinstance(stmt, ast.FunctionDef) or stmt.decorator_list or stmt.returns is not None:
        return None
    args = stmt.args
    defaults = [*args.defaults, *(d for d in args.kw_defaults if d is not None)]
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs, *(a for a in (args.vararg, args.kwarg) if a)]
    if any(not _literal(d) for d in defaults) or any(a.annotation is not None for a in every):
        return None
    return stmt.name


def _is_docstring(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)


class _Folder(ast.NodeTransformer):
    """Folds ``if`` on module flags and drops unreachable and bare-constant statements."""

    def __init__(self, flags: dict[str, object]) -> None:
        self.flags = flags

    def _truth(self, test: ast.expr) -> bool | None:
        if isinstance(test, ast.Name) and test.id in self.flags:
            return bool(self.flags[test.id])
        if isinstance(test, ast.Constant):
            return bool(test.value)
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            inner = self._truth(test.operand)
            return None if inner is None else not inner
        return None

    def block(self, stmts: Iterable[ast.stmt]) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        for stmt in stmts:
            if _is_docstring(stmt):
                continue
            if isinstance(stmt, ast.If):
                truth = self._truth(stmt.test)
                if truth is not None:
                    taken = self.block(stmt.body if truth else stmt.orelse)
                    out.extend(taken)
                    if taken and isinstance(taken[-1], _TERMINAL):
                        return out
                    continue
            new = self.visit(stmt)
            out.append(new)
            if isinstance(new, _TERMINAL):
                return out
        return out

    def generic_visit(self, node: ast.AST) -> ast.AST:
        for field in ("body", "orelse", "finalbody"):
            value = getattr(node, field, None)
            if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
                folded = self.block(value)
                setattr(node, field, folded or [ast.Pass()])
        for field, value in ast.iter_fields(node):
            if (
                field in ("body", "orelse", "finalbody")
                and isinstance(value, list)
                and value
                and isinstance(value[0], ast.stmt)
            ):
                continue
            if isinstance(value, list):
                setattr(node, field, [self.visit(v) if isinstance(v, ast.AST) else v for v in value])
            elif isinstance(value, ast.AST):
                setattr(node, field, self.visit(value))
        return node


def _loads(nodes: Iterable[ast.AST]) -> set[str]:
    return {
        n.id
        for node in nodes
        for n in ast.walk(node)
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
    }


def canonical_form(code: str) -> str | None:
    """The canonical form of a program's module (an ``ast.dump`` without positions), or
    None when the module is out of the analysis' reach (it does not parse, or it uses
    reflection). Two programs with the same canonical form run the same statements on the
    same values."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return None
    if _reflective(tree):
        return None
    bound = _bindings(tree)
    body = [s for s in tree.body if not _is_docstring(s)]
    prelude: list[ast.stmt] = []
    for stmt in body:
        name = _constant_def(stmt) or _plain_def(stmt)
        if isinstance(stmt, (ast.Import, ast.ImportFrom)) or (name is not None and bound.get(name) == 1):
            prelude.append(stmt)
        else:
            break
    rest = body[len(prelude) :]
    flags: dict[str, object] = {}
    for stmt in prelude:
        name = _constant_def(stmt)
        value = getattr(stmt, "value", None)  # an Assign or AnnAssign when name is set
        if (
            name is not None
            and isinstance(value, ast.Constant)
            and isinstance(value.value, (bool, int, str, type(None)))
        ):
            flags[name] = value.value
    folder = _Folder(flags)
    prelude = [folder.visit(copy.deepcopy(s)) for s in prelude]
    rest = folder.block(copy.deepcopy(rest))
    imports = [s for s in prelude if isinstance(s, (ast.Import, ast.ImportFrom))]
    named = {
        str(_constant_def(s) or _plain_def(s)): s
        for s in prelude
        if not isinstance(s, (ast.Import, ast.ImportFrom))
    }
    # drop what nothing left reads, to a fixed point (a dead function may be a constant's only reader)
    while True:
        live = _loads([*imports, *named.values(), *rest]) | {"generate"}
        dead = [n for n in named if n not in live]
        if not dead:
            break
        for n in dead:
            del named[n]
    module = ast.Module(body=[*imports, *(named[n] for n in sorted(named)), *rest], type_ignores=[])
    return ast.dump(module, annotate_fields=False, include_attributes=False)


def inert_edit(parent_code: str, child_code: str) -> str | None:
    """A one-line reason when ``child_code`` provably does what ``parent_code`` does (equal
    canonical forms, :func:`canonical_form`), else None (different, or out of reach)."""
    parent, child = canonical_form(parent_code), canonical_form(child_code)
    if parent is None or child is None or parent != child:
        return None
    return (
        "the edit changes only code that never runs or never matters (a constant nothing reads, "
        "an unreachable branch, the order of module constants, a docstring): it cannot change any persona"
    )
