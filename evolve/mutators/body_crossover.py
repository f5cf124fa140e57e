"""The ``body_crossover`` operator: transplant a function body from an inspiration.

The body of a function defined inside an EVOLVE-BLOCK is replaced by the body of the
same-named function of an inspiration when the bodies differ, the parameter names agree,
every name the donor body reads exists in the parent, and every call it makes to a
module-level function of the parent fits that function's signature. The donor's lines are
re-indented to the parent's indentation; lines inside multi-line strings are kept as is.
"""

from __future__ import annotations

import ast
import random
from collections.abc import Sequence

from evolve.mutators.donors import Donors
from evolve.mutators.operator_api import Candidate, PerturbSettings
from evolve.mutators.scopes import BUILTINS, bound_names, used_names
from evolve.mutators.spans import Program, SpanEdit

__all__ = ["body_crossover"]


def _param_names(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    a = fn.args
    names = [x.arg for x in a.posonlyargs + a.args + a.kwonlyargs]
    names += ["*" + a.vararg.arg] if a.vararg else []
    names += ["**" + a.kwarg.arg] if a.kwarg else []
    return names


def _body_lines(prog: Program, fn: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[int, int] | None:
    """1-based first/last line of the body when it owns its lines, else None."""
    first, last = fn.body[0], fn.body[-1]
    if first.lineno <= fn.lineno or not prog.owns_lines(first) or not prog.owns_lines(last):
        return None
    return first.lineno, last.end_lineno  # type: ignore[return-value]


def _call_fits(call: ast.Call, fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Whether ``call`` binds to ``fn``'s parameters (unknown with ``*x``/``**x``: True)."""
    if any(isinstance(x, ast.Starred) for x in call.args) or any(k.arg is None for k in call.keywords):
        return True
    a = fn.args
    positional = a.posonlyargs + a.args
    if len(call.args) > len(positional) and a.vararg is None:
        return False
    assigned = {p.arg for p in positional[: len(call.args)]}
    by_name = {p.arg for p in a.args + a.kwonlyargs}
    for k in call.keywords:
        if k.arg in assigned or (k.arg not in by_name and a.kwarg is None):
            return False
        assigned.add(k.arg)  # type: ignore[arg-type]
    required = positional[: len(positional) - len(a.defaults)]
    required += [p for p, d in zip(a.kwonlyargs, a.kw_defaults) if d is None]
    return all(p.arg in assigned for p in required)


def _calls_fit(body: Sequence[ast.stmt], funcs: dict[str, ast.FunctionDef | ast.AsyncFunctionDef]) -> bool:
    """Every call of a parent module-level function in ``body`` matches its signature."""
    for stmt in body:
        for n in ast.walk(stmt):
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in funcs:
                if not _call_fits(n, funcs[n.func.id]):
                    return False
    return True


def body_crossover(
    prog: Program, rng: random.Random, donors: Donors, cfg: PerturbSettings
) -> Candidate | None:
    """Replace a function's body by the body of an inspiration's same-named function
    (the conditions are in the module docstring)."""
    parent_bound = bound_names(prog.tree) | BUILTINS
    parent_funcs = {
        f.name: f for f in prog.tree.body if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
    }
    pairs = []
    for fn in ast.walk(prog.tree):
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)) or not prog.inside(fn):
            continue
        span = _body_lines(prog, fn)
        if span is None:
            continue
        own = ast.dump(ast.Module(body=fn.body, type_ignores=[]))
        for pid, dfn, dprog in donors.functions.get(fn.name, []):
            if _param_names(dfn) != _param_names(fn):
                continue
            dspan = _body_lines(dprog, dfn)
            if dspan is None or ast.dump(ast.Module(body=dfn.body, type_ignores=[])) == own:
                continue
            missing = set()
            for stmt in dfn.body:
                missing |= used_names(stmt)
            missing -= parent_bound | {p.lstrip("*") for p in _param_names(dfn)}
            for stmt in dfn.body:
                missing -= bound_names(stmt)
            if missing or not _calls_fit(dfn.body, parent_funcs):
                continue
            pairs.append((fn, span, pid, dprog, dspan))
    if not pairs:
        return None
    fn, span, pid, dprog, dspan = rng.choice(pairs)
    p_ind = prog.lines[span[0] - 1][: len(prog.lines[span[0] - 1]) - len(prog.lines[span[0] - 1].lstrip())]
    d_first = dprog.lines[dspan[0] - 1]
    d_ind = d_first[: len(d_first) - len(d_first.lstrip())]
    new_lines = []
    for ln in dprog.lines[dspan[0] - 1 : dspan[1]]:
        if not ln.strip():
            new_lines.append("")
        elif ln.startswith(d_ind):
            new_lines.append(p_ind + ln[len(d_ind) :])
        else:
            new_lines.append(ln)  # inside a multi-line string: leave as is
    start, end = prog.full_lines(*span)
    return Candidate(
        "body_crossover",
        (SpanEdit(start, end, "\n".join(new_lines) + "\n"),),
        f"body_crossover: body of {fn.name}() from {pid}",
    )
