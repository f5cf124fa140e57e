"""Source-level genetic-programming operators on the EVOLVE-BLOCKs of a program.

Each operator looks at the parsed program, picks one eligible site at random and returns a
:class:`Candidate`: a few character-span replacements of the original text. Only the
changed spans are rewritten (positions come from the AST's line/column data), so comments
and formatting elsewhere survive; the whole module is never unparsed.

Operators (names in :data:`OPERATORS`):

- ``perturb_constant`` -- an int or float literal inside an EVOLVE-BLOCK. Floats are
  multiplied by ``exp(N(0, sigma))`` (rounded to 3 significant digits); a float in [0, 1]
  stays in [0, 1]; 0.0 becomes ``sigma * |N(0, 1)|``. Ints move by 1..``int_max_step``
  steps of ``max(1, round(0.1 * |x|))``; positive ints stay >= 1, ints stay ints. Never
  touched: booleans, literals in a subscript or slice (indices: changing them mostly
  produces IndexError or reads the wrong field), and the arguments of ``range()`` (loop
  bounds over personas; changing them silently drops or duplicates work).
- ``fragment_crossover`` -- prompt wording: replace a prompt string literal (3+ words,
  not a docstring, dict key or subscript), replace or append a sentence in a string or an
  f-string, replace an element of a list/tuple of strings, or insert a new element. The
  new text comes from an inspiration's strings (with probability 0.7 when any is usable)
  or from the phrase bank (``PerturbSettings.phrases``). Strings inside f-string expressions are never targets
  (positions there are unreliable before Python 3.12); an f-string is edited only at the
  sentence level, on its source text outside ``{...}``.
- ``body_crossover`` -- replace the body of a function defined inside an EVOLVE-BLOCK by
  the body of the same-named function of an inspiration, when the bodies differ, the
  parameter names agree and every name the donor body reads exists in the parent.
- ``swap_statements`` -- swap two adjacent statements of one block that are independent
  (neither binds or mutates a name the other reads or binds; a store into
  ``x[...]``/``x.attr`` binds ``x``, a method call ``x.m()`` mutates ``x``; two method
  calls on the same receiver, e.g. two ``lines.append``, may swap: that reorders a
  prompt). At least one must contain a call, since swapping two pure assignments never
  changes behaviour. Never returns, raises, jumps, definitions or imports.
- ``delete_statement`` -- delete a statement (not a function's final return, not a
  definition, import or docstring) from a block of 2+ statements, when no name it binds
  is read elsewhere in its scope without being bound elsewhere too (in that scope, at
  module level, or as a builtin).
- ``duplicate_element`` -- copy an element of a list literal next to itself.
- ``delete_fragment`` -- drop an element of a list/tuple of 2+ strings, or a sentence of
  a string with 2+ sentences.
"""

from __future__ import annotations

import ast
import builtins
import math
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from evolve.diffs import evolve_regions
from evolve.mutators.phrase_bank import PHRASES

__all__ = [
    "OPERATORS",
    "SpanEdit",
    "Candidate",
    "Program",
    "Donors",
    "PerturbSettings",
    "apply_span_edits",
    "collect_donors",
    "run_operator",
]

OPERATORS: tuple[str, ...] = (
    "perturb_constant",
    "fragment_crossover",
    "body_crossover",
    "swap_statements",
    "delete_statement",
    "duplicate_element",
    "delete_fragment",
)

_SENTENCE_RE = re.compile(r"[A-Z][^.!?\\\"'{}\n]*[.!?]")
_BUILTINS = frozenset(dir(builtins))
_JUMPS = (ast.Return, ast.Raise, ast.Break, ast.Continue, ast.Global, ast.Nonlocal)
_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)


@dataclass(frozen=True)
class SpanEdit:
    """Replace characters ``[start, end)`` of the program text with ``text``."""

    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Candidate:
    """One proposed change: its operator, non-overlapping span edits and a one-line note."""

    operator: str
    edits: tuple[SpanEdit, ...]
    description: str


@dataclass(frozen=True)
class PerturbSettings:
    """Constant perturbation scales (see the module docstring) and the vocabulary of
    instructions ``fragment_crossover`` draws on besides the inspirations (``phrases``;
    empty: inspirations only)."""

    float_sigma: float = 0.3
    int_max_step: int = 3
    phrases: tuple[str, ...] = PHRASES


def apply_span_edits(text: str, edits: Iterable[SpanEdit]) -> str:
    """Apply non-overlapping span edits to ``text``."""
    out = text
    for e in sorted(edits, key=lambda e: e.start, reverse=True):
        out = out[: e.start] + e.text + out[e.end :]
    return out


def _words(s: str) -> int:
    return len(s.split())


def _sentences(value: str) -> list[str]:
    """Sentences of 3+ words that are safe to insert in any string literal."""
    return [m.group(0) for m in _SENTENCE_RE.finditer(value) if _words(m.group(0)) >= 3]


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
        last = self.lines[node.end_lineno - 1]  # type: ignore[index]
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


# --------------------------------------------------------------------------- donors


@dataclass(frozen=True)
class Donors:
    """Material taken from inspirations: whole prompt strings, safe sentences, functions
    (name -> list of (program_id, function node, program))."""

    strings: tuple[str, ...]
    sentences: tuple[str, ...]
    functions: dict[str, list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef, Program]]]


def _plain_strings(prog: Program) -> Iterable[ast.Constant]:
    for node in ast.walk(prog.tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if any(isinstance(p, ast.JoinedStr) for _, p in prog.ancestors(node)):
                continue  # an f-string part, or inside an f-string expression
            yield node


def collect_donors(inspirations: Sequence[tuple[str, str]]) -> Donors:
    """Parse the inspirations (unparsable ones and ones without markers are skipped)."""
    strings: list[str] = []
    sentences: list[str] = []
    functions: dict[str, list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef, Program]]] = {}
    for pid, code in inspirations:
        try:
            prog = Program(code)
        except (SyntaxError, ValueError):
            continue
        for node in _plain_strings(prog):
            if prog.is_docstring(node):
                continue
            if _words(node.value) >= 3:
                strings.append(node.value)
                sentences.extend(_sentences(node.value))
        for node in ast.walk(prog.tree):
            if isinstance(node, ast.JoinedStr):
                for part in node.values:
                    if isinstance(part, ast.Constant) and isinstance(part.value, str):
                        sentences.extend(_sentences(part.value))
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                functions.setdefault(node.name, []).append((pid, node, prog))
    return Donors(
        strings=tuple(dict.fromkeys(strings)),
        sentences=tuple(dict.fromkeys(sentences)),
        functions=functions,
    )


def _pick(rng: random.Random, inspired: Sequence[str], bank: Sequence[str], exclude: set[str]) -> str | None:
    """A donor text: from the inspirations with probability 0.7 when any is usable, else the bank."""
    insp = [s for s in inspired if s not in exclude]
    bnk = [s for s in bank if s not in exclude]
    if insp and (not bnk or rng.random() < 0.7):
        return rng.choice(insp)
    return rng.choice(bnk) if bnk else None


def str_literal(value: str, quote: str = '"') -> str:
    """Python source for a string literal of ``value``, preferring ``quote`` as delimiter."""
    if "\n" in value and '"""' not in value and "\\" not in value and not value.endswith('"'):
        return '"""' + value + '"""'
    r = repr(value)
    if quote == '"' and r[0] == "'" and '"' not in value:
        r = '"' + r[1:-1] + '"'
    return r


def _closing_delim(segment: str) -> str:
    return segment[-3:] if segment[-3:] in ('"""', "'''") else segment[-1]


def _fstring_depth_ok(segment: str, pos: int) -> bool:
    """True when ``pos`` of an f-string's source is outside every ``{...}`` expression."""
    depth, i = 0, 0
    while i < pos:
        c = segment[i]
        if c in "{}" and i + 1 < len(segment) and segment[i + 1] == c and depth == 0:
            i += 2
            continue
        depth += 1 if c == "{" else -1 if c == "}" else 0
        i += 1
    return depth == 0


# --------------------------------------------------------------------------- name analysis


def _binds_here(n: ast.AST) -> set[str]:
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
        out |= _binds_here(n)
    return out


def used_names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _has_call(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Call) for n in ast.walk(node))


def _stmt_lists(tree: ast.AST) -> Iterable[tuple[ast.AST, list[ast.stmt]]]:
    for node in ast.walk(tree):
        for fld in ("body", "orelse", "finalbody"):
            val = getattr(node, fld, None)
            if isinstance(val, list) and val and all(isinstance(s, ast.stmt) for s in val):
                yield node, val


# --------------------------------------------------------------------------- operators


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


def perturb_constant(prog: Program, rng: random.Random, donors: Donors, cfg: PerturbSettings) -> Candidate | None:
    sites = _numeric_sites(prog)
    rng.shuffle(sites)
    for node in sites[:5]:
        new = _new_number(node.value, rng, cfg)
        if new is None:
            continue
        text = repr(new)
        return Candidate(
            "perturb_constant",
            (SpanEdit(prog.start(node), prog.end(node), text),),
            f"perturb_constant: {prog.segment(node)} -> {text} (line {node.lineno})",
        )
    return None


def _string_list_sites(prog: Program) -> list[ast.List | ast.Tuple]:
    out = []
    for node in ast.walk(prog.tree):
        if isinstance(node, (ast.List, ast.Tuple)) and isinstance(node.ctx, ast.Load) and node.elts:
            if not prog.inside(node):
                continue
            if all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts):
                if any(_words(e.value) >= 3 for e in node.elts):  # type: ignore[attr-defined]
                    out.append(node)
    return out


def _prompt_string_sites(prog: Program) -> list[ast.Constant]:
    out = []
    for node in _plain_strings(prog):
        if _words(node.value) < 3 or not prog.inside(node) or prog.is_docstring(node):
            continue
        par = prog.parent.get(id(node))
        if isinstance(par, ast.Dict) and any(k is node for k in par.keys):
            continue
        if isinstance(par, (ast.Subscript, ast.Compare)):
            continue
        out.append(node)
    return out


def _fstring_sites(prog: Program) -> list[ast.JoinedStr]:
    out = []
    for node in ast.walk(prog.tree):
        if isinstance(node, ast.JoinedStr) and prog.inside(node):
            if isinstance(prog.parent.get(id(node)), ast.FormattedValue):
                continue  # a format spec
            if any(isinstance(p, ast.Constant) and _words(p.value) >= 3 for p in node.values):
                out.append(node)
    return out


def _list_layout(prog: Program, node: ast.List | ast.Tuple) -> str:
    """Separator between elements: ",\\n<indent>" for one-element-per-line lists, else ", "."""
    rows = {e.lineno for e in node.elts}
    first = node.elts[0]
    line = prog.lines[first.lineno - 1]
    col = prog.start(first) - prog.line_start(first.lineno)
    if node.lineno != node.end_lineno and len(rows) == len(node.elts) and not line[:col].strip():
        return ",\n" + line[:col]
    return ", "


def _insert_element(prog: Program, node: ast.List | ast.Tuple, k: int, literal: str) -> SpanEdit:
    sep = _list_layout(prog, node)
    if k < len(node.elts):
        at = prog.start(node.elts[k])
        return SpanEdit(at, at, literal + sep)
    at = prog.end(node.elts[-1])
    return SpanEdit(at, at, sep + literal)


def _quote_of(segment: str) -> str:
    m = re.match(r"[A-Za-z]*(['\"])", segment)
    return m.group(1) if m else '"'


def _sentence_spans(prog: Program, node: ast.Constant | ast.JoinedStr) -> list[tuple[int, int, str]]:
    """(start, end, text) of safe 3+ word sentences in a string literal's source."""
    seg = prog.segment(node)
    base = prog.start(node)
    out = []
    for m in _SENTENCE_RE.finditer(seg):
        if _words(m.group(0)) < 3:
            continue
        if isinstance(node, ast.JoinedStr) and not _fstring_depth_ok(seg, m.start()):
            continue
        out.append((base + m.start(), base + m.end(), m.group(0)))
    return out


def _append_sentence(prog: Program, node: ast.Constant | ast.JoinedStr, sentence: str) -> SpanEdit:
    seg = prog.segment(node)
    delim = _closing_delim(seg)
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


def fragment_crossover(prog: Program, rng: random.Random, donors: Donors, cfg: PerturbSettings) -> Candidate | None:
    strings = _prompt_string_sites(prog)
    lists = _string_list_sites(prog)
    fstrings = _fstring_sites(prog)
    in_lists = {id(e) for lst in lists for e in lst.elts}
    kinds: list[tuple[str, ast.AST]] = []
    kinds += [("replace_string", s) for s in strings if id(s) not in in_lists]
    kinds += [("replace_element", lst) for lst in lists]
    kinds += [("insert_element", lst) for lst in lists]
    kinds += [("replace_sentence", s) for s in strings + fstrings if _sentence_spans(prog, s)]  # type: ignore[arg-type]
    kinds += [("append_sentence", s) for s in strings + fstrings]
    rng.shuffle(kinds)
    bank = cfg.phrases
    for kind, node in kinds[:6]:
        if kind == "replace_string":
            assert isinstance(node, ast.Constant)
            donor = _pick(rng, donors.strings, bank, {node.value})
            if donor is None:
                continue
            lit = str_literal(donor, _quote_of(prog.segment(node)))
            return Candidate(
                "fragment_crossover",
                (SpanEdit(prog.start(node), prog.end(node), lit),),
                f"fragment_crossover/replace_string (line {node.lineno}): {donor[:60]!r}",
            )
        if kind in ("replace_element", "insert_element"):
            assert isinstance(node, (ast.List, ast.Tuple))
            present = {e.value for e in node.elts}  # type: ignore[attr-defined]
            donor = _pick(rng, donors.strings, bank, present)
            if donor is None:
                continue
            lit = str_literal(donor, _quote_of(prog.segment(node.elts[0])))
            if kind == "replace_element":
                elt = rng.choice(node.elts)
                edit = SpanEdit(prog.start(elt), prog.end(elt), lit)
            else:
                edit = _insert_element(prog, node, rng.randint(0, len(node.elts)), lit)
            return Candidate(
                "fragment_crossover",
                (edit,),
                f"fragment_crossover/{kind} (line {node.lineno}): {donor[:60]!r}",
            )
        seg = prog.segment(node)
        quote = _closing_delim(seg)[0]
        usable_insp = [s for s in donors.sentences if quote not in s]
        if kind == "replace_sentence":
            spans = _sentence_spans(prog, node)  # type: ignore[arg-type]
            start, end, old = rng.choice(spans)
            donor = _pick(rng, usable_insp, bank, {old} | {t for _, _, t in spans})
            if donor is None:
                continue
            return Candidate(
                "fragment_crossover",
                (SpanEdit(start, end, donor),),
                f"fragment_crossover/replace_sentence (line {node.lineno}): {old[:40]!r} -> {donor[:40]!r}",
            )
        if kind == "append_sentence":
            present = {t for _, _, t in _sentence_spans(prog, node)}  # type: ignore[arg-type]
            donor = _pick(rng, usable_insp, bank, present)
            if donor is None or donor in seg:
                continue
            return Candidate(
                "fragment_crossover",
                (_append_sentence(prog, node, donor),),  # type: ignore[arg-type]
                f"fragment_crossover/append_sentence (line {node.lineno}): {donor[:60]!r}",
            )
    return None


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


def body_crossover(prog: Program, rng: random.Random, donors: Donors, cfg: PerturbSettings) -> Candidate | None:
    parent_bound = bound_names(prog.tree) | _BUILTINS
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


def _swappable(prog: Program, s: ast.stmt) -> bool:
    return (
        not isinstance(s, _JUMPS + _DEFS)
        and not prog.is_docstring(s)
        and prog.inside(s)
        and prog.owns_lines(s)
    )


def _receiver(node: ast.AST) -> str | None:
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
    return {r for n in ast.walk(node) if (r := _receiver(n)) is not None}


def _independent(a: ast.stmt, b: ast.stmt) -> bool:
    """No name bound or mutated by one statement is read or bound by the other. Two
    method-call statements on the same receiver (``x.append(p)``; ``x.append(q)``) may
    still swap: that only reorders what they add."""
    ba, bb = bound_names(a), bound_names(b)
    ua, ub = used_names(a), used_names(b)
    ma, mb = mutated_names(a), mutated_names(b)
    conflicts = (ba & (ub | bb)) | (bb & ua) | (ma & ub) | (mb & ua)
    if isinstance(a, ast.Expr) and isinstance(b, ast.Expr):
        ra, rb = _receiver(a.value), _receiver(b.value)
        if ra is not None and ra == rb:
            conflicts.discard(ra)
    return not conflicts


def swap_statements(prog: Program, rng: random.Random, donors: Donors, cfg: PerturbSettings) -> Candidate | None:
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


_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


def _walk_scope(root: ast.AST, skip: ast.AST) -> Iterable[ast.AST]:
    """Nodes of ``root``'s own scope (nested defs yielded but not entered), minus ``skip``'s subtree."""
    stack = list(ast.iter_child_nodes(root))
    while stack:
        n = stack.pop()
        if n is skip:
            continue
        yield n
        if not isinstance(n, _SCOPES):
            stack.extend(ast.iter_child_nodes(n))


def _scope_bindings(root: ast.AST, skip: ast.AST) -> set[str]:
    out: set[str] = set()
    for n in _walk_scope(root, skip):
        out |= _binds_here(n)
    return out


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
    others = _scope_bindings(prog.tree, s) | _BUILTINS
    if scope is not prog.tree:
        others |= _scope_bindings(scope, s)  # parameters included
    if any(b in loads and b not in others for b in bound):
        return False
    return not any(_read_before_rebound(prog, scope, s, b) for b in bound)


def _stmt_of(prog: Program, node: ast.AST) -> ast.AST:
    for _, par in prog.ancestors(node):
        if isinstance(par, ast.stmt):
            return par
    return node


def _read_before_rebound(prog: Program, scope: ast.AST, s: ast.stmt, name: str) -> bool:
    """Whether, after ``s`` in its scope (by text order), ``name`` is read before it is
    bound again. A store counts at the end of its statement (``x = x + 1`` reads first);
    ``x += 1``, ``x[i] = v`` and ``x.m()`` read ``x``."""
    after = (s.end_lineno, s.end_col_offset)
    events = []
    for n in _walk_scope(scope, s):
        if not (isinstance(n, ast.Name) and n.id == name):
            continue
        stmt = _stmt_of(prog, n)
        if isinstance(n.ctx, ast.Load) or isinstance(stmt, ast.AugAssign):
            events.append(((n.lineno, n.col_offset), True))
        else:
            events.append(((stmt.end_lineno, stmt.end_col_offset), False))  # type: ignore[attr-defined]
    later = sorted(e for e in events if e[0] > after)
    return bool(later) and later[0][1]


def delete_statement(prog: Program, rng: random.Random, donors: Donors, cfg: PerturbSettings) -> Candidate | None:
    sites = []
    for owner, body in _stmt_lists(prog.tree):
        real = [s for s in body if not prog.is_docstring(s)]
        if len(real) < 2:
            continue
        for s in real:
            if isinstance(s, _DEFS + (ast.Global, ast.Nonlocal)) or not prog.inside(s) or not prog.owns_lines(s):
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


def duplicate_element(prog: Program, rng: random.Random, donors: Donors, cfg: PerturbSettings) -> Candidate | None:
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
    sep = _list_layout(prog, lst)
    at = prog.end(elt)
    return Candidate(
        "duplicate_element",
        (SpanEdit(at, at, sep + text),),
        f"duplicate_element: element {k} of the list at line {lst.lineno}: {text[:50]!r}",
    )


def delete_fragment(prog: Program, rng: random.Random, donors: Donors, cfg: PerturbSettings) -> Candidate | None:
    options: list[tuple[str, ast.AST]] = [("element", lst) for lst in _string_list_sites(prog) if len(lst.elts) >= 2]
    for s in _prompt_string_sites(prog) + _fstring_sites(prog):  # type: ignore[operator]
        if len(_sentence_spans(prog, s)) >= 2:
            options.append(("sentence", s))
    if not options:
        return None
    kind, node = rng.choice(options)
    if kind == "element":
        assert isinstance(node, (ast.List, ast.Tuple))
        k = rng.randrange(len(node.elts))
        elt = node.elts[k]
        if k + 1 < len(node.elts):
            edit = SpanEdit(prog.start(elt), prog.start(node.elts[k + 1]), "")
        else:
            edit = SpanEdit(prog.end(node.elts[k - 1]), prog.end(elt), "")
        return Candidate(
            "delete_fragment",
            (edit,),
            f"delete_fragment/element {k} of the list at line {node.lineno}: {prog.segment(elt)[:50]}",
        )
    spans = _sentence_spans(prog, node)  # type: ignore[arg-type]
    start, end, text = rng.choice(spans)
    while end < len(prog.code) and prog.code[end] == " ":
        end += 1
    return Candidate(
        "delete_fragment",
        (SpanEdit(start, end, ""),),
        f"delete_fragment/sentence (line {node.lineno}): {text[:50]!r}",  # type: ignore[attr-defined]
    )


_OPS = {
    "perturb_constant": perturb_constant,
    "fragment_crossover": fragment_crossover,
    "body_crossover": body_crossover,
    "swap_statements": swap_statements,
    "delete_statement": delete_statement,
    "duplicate_element": duplicate_element,
    "delete_fragment": delete_fragment,
}


def run_operator(
    name: str, prog: Program, rng: random.Random, donors: Donors, settings: PerturbSettings
) -> Candidate | None:
    """Run one operator; None when it finds no eligible site."""
    return _OPS[name](prog, rng, donors, settings)
