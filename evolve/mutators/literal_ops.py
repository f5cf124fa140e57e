"""Operators on non-string literals: ``perturb_constant`` (numbers) and
``duplicate_element`` (list displays)."""

from __future__ import annotations

import ast
import math
import random

from evolve.mutators.donors import Donors
from evolve.mutators.operator_api import Candidate, PerturbSettings
from evolve.mutators.prompt_sites import list_layout
from evolve.mutators.spans import Program, SpanEdit

__all__ = ["perturb_constant", "duplicate_element"]


def _numeric_sites(prog: Program) -> list[ast.Constant]:
    sites = []
    for node in ast.walk(prog.tree):
        if not (isinstance(node, ast.Constant) and type(node.value) in (int, float)):
            continue
        if not prog.inside(node):
            continue
        skip = False
        for child, par in prog.ancestors(node):
            if isinstance(par, ast.Subscript) and child is par.slice:
                skip = True
            elif isinstance(par, ast.Slice):
                skip = True
            elif isinstance(par, ast.Call) and isinstance(par.func, ast.Name) and par.func.id == "range":
                skip = child in par.args
            elif isinstance(par, ast.JoinedStr):
                skip = True  # positions inside f-strings are unreliable before Python 3.12
            if skip or isinstance(par, ast.stmt):
                break
        if not skip:
            sites.append(node)
    return sites


def _new_number(value: int | float, rng: random.Random, cfg: PerturbSettings) -> int | float | None:
    for _ in range(8):
        if isinstance(value, int):
            unit = max(1, round(0.1 * abs(value)))
            step = unit * rng.randint(1, max(1, cfg.int_max_step)) * rng.choice((-1, 1))
            new_i = value + step
            if value >= 1:
                new_i = max(1, new_i)
            new_i = max(0, new_i)
            if new_i != value:
                return new_i
        else:
            if not math.isfinite(value):
                return None
            if value == 0.0:
                new_f = cfg.float_sigma * abs(rng.gauss(0.0, 1.0))
            else:
                new_f = value * math.exp(rng.gauss(0.0, cfg.float_sigma))
            if 0.0 <= value <= 1.0:
                new_f = min(1.0, max(0.0, new_f))
            new_f = float(f"{new_f:.3g}")
            if new_f != value:
                return new_f
    return None


def perturb_constant(
    prog: Program, rng: random.Random, donors: Donors, cfg: PerturbSettings
) -> Candidate | None:
    """Perturb an int or float literal inside an EVOLVE-BLOCK (one of up to 5 shuffled sites).

    Floats are multiplied by ``exp(N(0, cfg.float_sigma))`` (rounded to 3 significant
    digits); a float in [0, 1] stays in [0, 1]; 0.0 becomes ``float_sigma * |N(0, 1)|``.
    Ints move by 1..``cfg.int_max_step`` steps of ``max(1, round(0.1 * |x|))``; positive
    ints stay >= 1, ints stay ints. Never touched: booleans, literals in a subscript or
    slice (indices: changing them mostly produces IndexError or reads the wrong field), the
    arguments of ``range()`` (loop bounds over personas; changing them silently drops or
    duplicates work) and literals inside f-strings.
    """
    sites = _numeric_sites(prog)
    rng.shuffle(sites)
    for node in sites[:5]:
        value = node.value
        assert isinstance(value, (int, float))  # a numeric site
        new = _new_number(value, rng, cfg)
        if new is None:
            continue
        text = repr(new)
        return Candidate(
            "perturb_constant",
            (SpanEdit(prog.start(node), prog.end(node), text),),
            f"perturb_constant: {prog.segment(node)} -> {text} (line {node.lineno})",
        )
    return None


def duplicate_element(
    prog: Program, rng: random.Random, donors: Donors, cfg: PerturbSettings
) -> Candidate | None:
    """Copy an element of a list literal (no starred elements) next to itself."""
    sites = [
        n
        for n in ast.walk(prog.tree)
        if isinstance(n, ast.List)
        and isinstance(n.ctx, ast.Load)
        and n.elts
        and prog.inside(n)
        and not any(isinstance(e, ast.Starred) for e in n.elts)
    ]
    if not sites:
        return None
    lst = rng.choice(sites)
    k = rng.randrange(len(lst.elts))
    elt = lst.elts[k]
    text = prog.segment(elt)
    sep = list_layout(prog, lst)
    at = prog.end(elt)
    return Candidate(
        "duplicate_element",
        (SpanEdit(at, at, sep + text),),
        f"duplicate_element: element {k} of the list at line {lst.lineno}: {text[:50]!r}",
    )
