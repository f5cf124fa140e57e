"""Material taken from the inspirations: prompt strings, safe sentences and functions.

:func:`collect_donors` parses the inspirations once per mutation; :func:`pick_donor`
chooses a text from them or from the phrase bank.
"""

from __future__ import annotations

import ast
import random
from collections.abc import Sequence
from dataclasses import dataclass

from evolve.mutators.spans import Program
from evolve.mutators.text_literals import plain_strings, safe_sentences, word_count

__all__ = ["Donors", "collect_donors", "pick_donor"]


@dataclass(frozen=True)
class Donors:
    """Material taken from inspirations: whole prompt strings, safe sentences, functions
    (name -> list of (program_id, function node, program))."""

    strings: tuple[str, ...]
    sentences: tuple[str, ...]
    functions: dict[str, list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef, Program]]]


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
        for node in plain_strings(prog):
            if prog.is_docstring(node):
                continue
            text = str(node.value)
            if word_count(text) >= 3:
                strings.append(text)
                sentences.extend(safe_sentences(text))
        for tree_node in ast.walk(prog.tree):
            if isinstance(tree_node, ast.JoinedStr):
                for part in tree_node.values:
                    if isinstance(part, ast.Constant) and isinstance(part.value, str):
                        sentences.extend(safe_sentences(part.value))
            elif isinstance(tree_node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                functions.setdefault(tree_node.name, []).append((pid, tree_node, prog))
    return Donors(
        strings=tuple(dict.fromkeys(strings)),
        sentences=tuple(dict.fromkeys(sentences)),
        functions=functions,
    )


def pick_donor(
    rng: random.Random, inspired: Sequence[str], bank: Sequence[str], exclude: set[str]
) -> str | None:
    """A donor text: from the inspirations with probability 0.7 when any is usable, else the bank."""
    insp = [s for s in inspired if s not in exclude]
    bnk = [s for s in bank if s not in exclude]
    if insp and (not bnk or rng.random() < 0.7):
        return rng.choice(insp)
    return rng.choice(bnk) if bnk else None
