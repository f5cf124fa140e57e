"""Ask the respondent only about personas that describe a person.

A persona whose text addresses its reader (:func:`generators.addressed.addressed`: answering
instructions, role tags, "ignore the instructions", item numbers ...) is **not placed**: it
is never sent to the respondent and its row of answers is all NaN, so it is scored exactly
like a persona the program failed to write, by the worst-completion rule of
docs/SCORING.md (:func:`metrics.evaluate_incomplete`). Flagging therefore never raises a
score: a NaN row only enlarges the set of completions the metrics take the worst of.
The caller records how many personas were flagged (:data:`ADDRESSED_KEY`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from generators.addressed import Finding, addressed
from generators.context import Context
from generators.respondent import Answers, Respondent, item_layout, persona_text

__all__ = [
    "ADDRESSED_KEY",
    "ALL_ADDRESSED_LIKE",
    "Screened",
    "all_addressed_error",
    "answer_screened",
    "count_in_error",
    "screen_personas",
]

ADDRESSED_KEY = "personas_addressed"
"""Key of a context's metrics (and of the archive's ``metrics_extra``) counting the personas
whose text addressed the respondent and were therefore not placed; absent when 0."""

ALL_ADDRESSED_LIKE = "%personas addressed the respondent%"
"""SQL LIKE pattern of :func:`all_addressed_error` (the count of a context that failed so)."""
_ALL_RE = re.compile(r"all (\d+) personas addressed the respondent")


def all_addressed_error(k: int) -> str:
    """The error of a context where all ``k`` returned personas addressed the respondent."""
    return (
        f"all {k} personas addressed the respondent (text speaking to the model, "
        "not describing a person); none was placed"
    )


def count_in_error(error: str | None) -> int | None:
    """The k of an :func:`all_addressed_error` inside ``error``, or None."""
    m = _ALL_RE.search(error or "")
    return int(m.group(1)) if m else None


@dataclass(frozen=True)
class Screened:
    """Answers of every persona (N rows, all NaN for an addressed one) and, per addressed
    persona index, the detector's :class:`~generators.addressed.Finding`."""

    answers: Answers
    findings: Mapping[int, Finding] = field(default_factory=dict)

    @property
    def addressed(self) -> int:
        """Number of personas not placed because their text addressed the respondent."""
        return len(self.findings)


def screen_personas(personas: Sequence[Mapping[str, Any]]) -> dict[int, Finding]:
    """Index -> finding for every persona whose name or description addresses its reader."""
    out: dict[int, Finding] = {}
    for i, persona in enumerate(personas):
        found = addressed(persona_text(persona))
        if found is not None:
            out[i] = found
    return out


async def answer_screened(
    respondent: Respondent,
    personas: Sequence[Mapping[str, Any]],
    context: Context,
    *,
    seed: int,
    screen: bool = True,
) -> Screened:
    """The respondent's answers for ``personas`` with addressed ones left unanswered (NaN
    rows, never sent). ``screen=False`` sends every persona (a bench's "detector off" arm)."""
    findings = screen_personas(personas) if screen else {}
    if not findings:
        return Screened(await respondent.answer(personas, context, seed=seed))
    kept = [i for i in range(len(personas)) if i not in findings]
    texts, axis, rev = item_layout(context)
    values = np.full((len(personas), len(texts)), np.nan)
    if kept:
        answered = await respondent.answer([personas[i] for i in kept], context, seed=seed)
        values[kept] = np.asarray(answered.values, dtype=float)
    return Screened(Answers(values, axis, rev, context.scale_min, context.scale_max), findings)
