"""Personas that addressed the respondent, over a stored run (for ``inspect summary``,
the report and the viewer).

A persona whose text spoke to the model answering the questionnaire (answering
instructions, role tags, "ignore the instructions", statement numbers; see
:mod:`generators.addressed`) was not placed and scored as a missing persona. The count of
each context is stored in its metrics' extra key
:data:`generators.screening.ADDRESSED_KEY`; a context where every persona did so failed
with :func:`generators.screening.all_addressed_error`, which carries the count.

JSON shape (stable)::

    {"personas": int, "contexts": int, "programs": int,
     "by_program": [{"id": str, "personas": int, "contexts": int}]}   # most personas first, at most 10
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from archive.reader import ArchiveReader
from generators.screening import ADDRESSED_KEY, ALL_ADDRESSED_LIKE, count_in_error


def addressed_summary(reader: ArchiveReader, *, limit: int = 10) -> dict[str, Any]:
    """Totals of personas that addressed the respondent in the reader's run (all stages)."""
    personas: dict[str, int] = defaultdict(int)
    contexts: dict[str, int] = defaultdict(int)
    for row in reader.flagged_contexts(ADDRESSED_KEY, ALL_ADDRESSED_LIKE):
        count = int(row.count) if row.count is not None else count_in_error(row.error)
        if not count:
            continue
        personas[row.program_id] += count
        contexts[row.program_id] += 1
    ranked = sorted(personas, key=lambda p: (-personas[p], p))[:limit]
    return {
        "personas": sum(personas.values()),
        "contexts": sum(contexts.values()),
        "programs": len(personas),
        "by_program": [{"id": p, "personas": personas[p], "contexts": contexts[p]} for p in ranked],
    }


def addressed_line(data: dict[str, Any]) -> str:
    """One line of text for :func:`addressed_summary`."""
    if not data["personas"]:
        return "personas that addressed the respondent: none (no persona text spoke to the answering model)"
    worst = ", ".join(f"{p['id']} {p['personas']}" for p in data["by_program"][:3])
    return (
        f"personas that addressed the respondent: {data['personas']} in {data['contexts']} "
        f"context results of {data['programs']} programs (not placed: scored as missing personas); "
        f"most: {worst}"
    )
