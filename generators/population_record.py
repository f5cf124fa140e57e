"""Where a persona of a population file came from: the record ``generate`` writes beside it.

``persona-evolve generate`` adds one key, :data:`RECORD_KEY`, to every persona it writes::

    "persona_evolve": {"context": "airline_rebooking_desk", "population": "<16 hex>",
                       "n": 25, "index": 3, "sim": {...}}

``context`` is the context generated for, ``population`` a random id of that one ``generate``
call, ``n`` the personas it asked for (so ``score`` applies the run's worst-completion rule
to a short file, docs/SCORING.md), ``index`` the persona's place in the output (0-based). The
``sim`` part exists only for ``--model sim`` (:mod:`generators.sim.attestation`). A program's
own value under this key is replaced. The respondent never reads the record.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

__all__ = ["Origin", "RECORD_KEY", "asked_n", "new_population_id", "origin_of", "stamp"]

RECORD_KEY = "persona_evolve"


@dataclass(frozen=True)
class Origin:
    """One persona's origin: ``context`` id, ``population`` id (one ``generate`` call), ``n``
    personas asked for (>= 1), ``index`` of the persona in that output (0 <= index < n)."""

    context: str
    population: str
    n: int
    index: int


def new_population_id() -> str:
    """A fresh random population id (16 hex characters)."""
    return secrets.token_hex(8)


def stamp(
    personas: Sequence[Mapping[str, Any]], *, context: str, n: int, population: str
) -> list[dict[str, Any]]:
    """Copies of ``personas`` (k <= n of them) each carrying its :class:`Origin` under
    :data:`RECORD_KEY` (any value the program put there is replaced)."""
    if len(personas) > n:
        raise ValueError(f"{len(personas)} personas but only n = {n} were asked for")
    return [
        {**p, RECORD_KEY: {"context": context, "population": population, "n": n, "index": i}}
        for i, p in enumerate(personas)
    ]


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def origin_of(persona: Mapping[str, Any]) -> Origin | None:
    """The persona's :class:`Origin`, or None when it has no record. Raises ``ValueError``
    (one line, naming the field) for a record that is not of the documented shape."""
    record = persona.get(RECORD_KEY)
    if record is None:
        return None
    if not isinstance(record, dict):
        raise ValueError(f"'{RECORD_KEY}' must be an object")
    context, population = record.get("context"), record.get("population")
    n, index = _int(record.get("n")), _int(record.get("index"))
    if not isinstance(context, str) or not isinstance(population, str):
        raise ValueError(f"'{RECORD_KEY}.context' and '{RECORD_KEY}.population' must be strings")
    if n is None or n < 1:
        raise ValueError(f"'{RECORD_KEY}.n' must be an integer >= 1")
    if index is None or not 0 <= index < n:
        raise ValueError(f"'{RECORD_KEY}.index' must be an integer in [0, n)")
    return Origin(context=context, population=population, n=n, index=index)


def asked_n(personas: Sequence[Mapping[str, Any]]) -> int | None:
    """The personas asked for, as recorded: the sum of ``n`` over the distinct populations
    present plus one per persona without a record; None when no persona has a record.
    Raises ``ValueError`` for a malformed record or a population recorded with two ``n``."""
    ns: dict[str, int] = {}
    bare = 0
    for persona in personas:
        origin = origin_of(persona)
        if origin is None:
            bare += 1
            continue
        if ns.setdefault(origin.population, origin.n) != origin.n:
            raise ValueError(
                f"population {origin.population} is recorded with n = {ns[origin.population]} "
                f"and n = {origin.n}"
            )
    return sum(ns.values()) + bare if ns else None
