"""Operators on prompt wording: ``fragment_crossover`` and ``delete_fragment``.

Strings inside f-string expressions are never targets (positions there are unreliable
before Python 3.12); an f-string is edited only at the sentence level, on its source text
outside ``{...}``.
"""

from __future__ import annotations

import ast
import random

from evolve.mutators.donors import Donors, pick_donor
from evolve.mutators.operator_api import Candidate, PerturbSettings
from evolve.mutators.prompt_sites import (
    append_sentence,
    fstring_sites,
    insert_element,
    prompt_string_sites,
    string_list_sites,
)
from evolve.mutators.spans import Program, SpanEdit
from evolve.mutators.text_literals import closing_delim, quote_of, sentence_spans, str_literal

__all__ = ["fragment_crossover", "delete_fragment"]


def fragment_crossover(
    prog: Program, rng: random.Random, donors: Donors, cfg: PerturbSettings
) -> Candidate | None:
    """Change prompt wording with text from the inspirations or the phrase bank.

    One of: replace a prompt string literal (3+ words, not a docstring, dict key or
    subscript), replace or append a sentence in a string or an f-string, replace an element
    of a list/tuple of strings, or insert a new element. The new text comes from the
    inspirations' strings (with probability 0.7 when any is usable) or from
    ``cfg.phrases``. Up to 6 shuffled sites are tried.
    """
    strings = prompt_string_sites(prog)
    lists = string_list_sites(prog)
    fstrings = fstring_sites(prog)
    in_lists = {id(e) for lst in lists for e in lst.elts}
    kinds: list[tuple[str, ast.expr]] = []
    kinds += [("replace_string", s) for s in strings if id(s) not in in_lists]
    kinds += [("replace_element", lst) for lst in lists]
    kinds += [("insert_element", lst) for lst in lists]
    kinds += [("replace_sentence", s) for s in strings + fstrings if sentence_spans(prog, s)]  # type: ignore[arg-type]
    kinds += [("append_sentence", s) for s in strings + fstrings]
    rng.shuffle(kinds)
    bank = cfg.phrases
    for kind, node in kinds[:6]:
        if kind == "replace_string":
            assert isinstance(node, ast.Constant)
            donor = pick_donor(rng, donors.strings, bank, {str(node.value)})
            if donor is None:
                continue
            lit = str_literal(donor, quote_of(prog.segment(node)))
            return Candidate(
                "fragment_crossover",
                (SpanEdit(prog.start(node), prog.end(node), lit),),
                f"fragment_crossover/replace_string (line {node.lineno}): {donor[:60]!r}",
            )
        if kind in ("replace_element", "insert_element"):
            assert isinstance(node, (ast.List, ast.Tuple))
            present = {e.value for e in node.elts}  # type: ignore[attr-defined]
            donor = pick_donor(rng, donors.strings, bank, present)
            if donor is None:
                continue
            lit = str_literal(donor, quote_of(prog.segment(node.elts[0])))
            if kind == "replace_element":
                elt = rng.choice(node.elts)
                edit = SpanEdit(prog.start(elt), prog.end(elt), lit)
            else:
                edit = insert_element(prog, node, rng.randint(0, len(node.elts)), lit)
            return Candidate(
                "fragment_crossover",
                (edit,),
                f"fragment_crossover/{kind} (line {node.lineno}): {donor[:60]!r}",
            )
        seg = prog.segment(node)
        quote = closing_delim(seg)[0]
        usable_insp = [s for s in donors.sentences if quote not in s]
        if kind == "replace_sentence":
            spans = sentence_spans(prog, node)  # type: ignore[arg-type]
            start, end, old = rng.choice(spans)
            donor = pick_donor(rng, usable_insp, bank, {old} | {t for _, _, t in spans})
            if donor is None:
                continue
            return Candidate(
                "fragment_crossover",
                (SpanEdit(start, end, donor),),
                f"fragment_crossover/replace_sentence (line {node.lineno}): {old[:40]!r} -> {donor[:40]!r}",
            )
        if kind == "append_sentence":
            present = {t for _, _, t in sentence_spans(prog, node)}  # type: ignore[arg-type]
            donor = pick_donor(rng, usable_insp, bank, present)
            if donor is None or donor in seg:
                continue
            return Candidate(
                "fragment_crossover",
                (append_sentence(prog, node, donor),),  # type: ignore[arg-type]
                f"fragment_crossover/append_sentence (line {node.lineno}): {donor[:60]!r}",
            )
    return None


def delete_fragment(
    prog: Program, rng: random.Random, donors: Donors, cfg: PerturbSettings
) -> Candidate | None:
    """Drop an element of a list/tuple of 2+ strings, or a sentence of a string with 2+ sentences."""
    options: list[tuple[str, ast.AST]] = [
        ("element", lst) for lst in string_list_sites(prog) if len(lst.elts) >= 2
    ]
    for s in prompt_string_sites(prog) + fstring_sites(prog):  # type: ignore[operator]
        if len(sentence_spans(prog, s)) >= 2:
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
    spans = sentence_spans(prog, node)  # type: ignore[arg-type]
    start, end, text = rng.choice(spans)
    while end < len(prog.code) and prog.code[end] == " ":
        end += 1
    return Candidate(
        "delete_fragment",
        (SpanEdit(start, end, ""),),
        f"delete_fragment/sentence (line {node.lineno}): {text[:50]!r}",  # type: ignore[attr-defined]
    )
