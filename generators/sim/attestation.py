"""Attested sim text in population files: ``generate --model sim`` signs, ``score`` verifies.

Inside one evaluation the sim believes only trait sentences it wrote in that evaluation
(:mod:`generators.sim.ledger`). A file travels further, so ``generate --model sim`` writes
next to each persona (under :data:`generators.population_record.RECORD_KEY`, key ``sim``)::

    {"sentences": [0, 2, 3], "mac": "<64 hex>"}

``sentences``: the ordinals (0-based, among the trait-sentence matches of the persona's
``name`` + ``description`` text, :func:`generators.quoting.persona_text`) of the sentences
the evaluation's ledger reads for that persona (:meth:`SimLedger.counted`). ``mac``:
HMAC-SHA256 under the user's key (:mod:`generators.attest_key`) of the canonical JSON of
``[VERSION, context, population, n, index, [those sentences, whitespace collapsed]]`` (the
persona's :class:`~generators.population_record.Origin`).

What :func:`verify` believes (the rest of the text is just words, read as vague text is):

* a persona's selected sentences, only when its MAC checks: editing, adding or moving a
  selected sentence breaks it, so a sentence moved to another persona does not verify there;
* only for the context scored (the context id is signed);
* only personas of one population (the first verified persona fixes it) and each index of it
  once: personas copied from another file, or a persona copied within its file, do not verify.

Text around the sentences may change (as in an evaluation); a text stating no sim sentence
needs no attestation. Without a key nothing verifies.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from generators.population_record import RECORD_KEY, Origin, origin_of
from generators.quoting import persona_text
from generators.sim.ledger import SimLedger, decode_selected
from generators.sim.text import TRAIT_RE

__all__ = ["SIM_FIELD", "VERSION", "Verification", "attest", "sentence_count", "verify"]

VERSION = "persona-evolve sim attestation v1"
SIM_FIELD = "sim"
_MAX_SENTENCES = 10_000


def _text(persona: Mapping[str, Any]) -> str:
    return persona_text(persona)


def sentence_count(persona: Mapping[str, Any]) -> int:
    """Trait-shaped sentences in the persona's name and description (attested or not)."""
    return sum(1 for _ in TRAIT_RE.finditer(_text(persona)))


def _mac(key: bytes, origin: Origin, sentences: Sequence[str]) -> str:
    message = json.dumps(
        [
            VERSION,
            origin.context,
            origin.population,
            origin.n,
            origin.index,
            [" ".join(s.split()) for s in sentences],
        ],
        ensure_ascii=True,
        separators=(",", ":"),
    )
    return hmac.new(key, message.encode("ascii"), hashlib.sha256).hexdigest()


def _selected(text: str, ordinals: Sequence[int]) -> list[str]:
    matches = [m.group(0) for m in TRAIT_RE.finditer(text)]
    return [matches[i] for i in ordinals]


def attest(personas: Sequence[Mapping[str, Any]], ledger: SimLedger, key: bytes) -> list[dict[str, Any]]:
    """Copies of stamped ``personas`` (each with an :class:`Origin`) whose record also holds
    the ``sim`` attestation of the sentences ``ledger`` reads in it (an empty list when none)."""
    out = []
    for persona in personas:
        origin = origin_of(persona)
        if origin is None:
            raise ValueError("attest: a persona has no origin record (stamp the population first)")
        text = _text(persona)
        ordinals = ledger.counted(text)
        record = {
            **persona[RECORD_KEY],
            SIM_FIELD: {"sentences": ordinals, "mac": _mac(key, origin, _selected(text, ordinals))},
        }
        out.append({**persona, RECORD_KEY: record})
    return out


@dataclass(frozen=True)
class Verification:
    """What :func:`verify` believed. ``stated``: per persona, normalised axis -> position in
    [0, 1] from its verified sentences (``{}``: read as vague text); ``unverified_sentences``:
    trait-shaped sentences not covered by a valid attestation; ``unverified_personas``: the
    personas holding at least one of them."""

    stated: list[dict[str, float]] = field(default_factory=list)
    unverified_sentences: int = 0
    unverified_personas: int = 0


def _ordinals(att: Any, total: int) -> list[int] | None:
    """The attested ordinals if well formed (strictly increasing ints in [0, total)), else None."""
    if not isinstance(att, dict) or not isinstance(att.get("mac"), str):
        return None
    ords = att.get("sentences")
    if not isinstance(ords, list) or len(ords) > min(total, _MAX_SENTENCES):
        return None
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in ords):
        return None
    if any(b <= a for a, b in zip(ords, ords[1:])) or (ords and not 0 <= ords[0] <= ords[-1] < total):
        return None
    return ords


def verify(personas: Sequence[Mapping[str, Any]], context_id: str, key: bytes | None) -> Verification:
    """Read ``personas`` (in file order) as the sim reads a population file scored on
    ``context_id``: positions only from attested sentences (rules in the module docstring)."""
    stated: list[dict[str, float]] = []
    unverified = unverified_personas = 0
    anchor: str | None = None
    used: set[int] = set()
    for persona in personas:
        text = _text(persona)
        total = sentence_count(persona)
        try:
            origin = origin_of(persona)
        except ValueError:
            origin = None
        record = persona.get(RECORD_KEY)
        ords = _ordinals(record.get(SIM_FIELD) if isinstance(record, dict) else None, total)
        ok = (
            key is not None
            and origin is not None
            and ords is not None
            and isinstance(record, dict)
            and origin.context == context_id
            and anchor in (None, origin.population)
            and origin.index not in used
            and hmac.compare_digest(str(record[SIM_FIELD]["mac"]), _mac(key, origin, _selected(text, ords)))
        )
        if ok and origin is not None and ords is not None:
            anchor = origin.population
            used.add(origin.index)
            stated.append(decode_selected(text, ords))
            missed = total - len(ords)
        else:
            stated.append({})
            missed = total
        unverified += missed
        unverified_personas += 1 if missed else 0
    return Verification(
        stated=stated, unverified_sentences=unverified, unverified_personas=unverified_personas
    )
