"""Authenticated sim text: the ledger of trait sentences the sim wrote in one evaluation.

Why: the sim's readers take a persona's position from its trait sentences (see
:mod:`generators.sim.text`). A program that writes such sentences itself (by hand, or with
the sim's own text function) would put every persona exactly where it wants with no LLM
call: a forgery of the test bed, not a search result. So the readers believe a trait
sentence only when the sim itself wrote it, in this evaluation, as part of one persona;
any other text is read as a real model reads vague text (the answerer's central guess,
the same for the same text; see ``SimKnobs.guess_spread``).

The rule (:meth:`SimLedger.decode`): a trait sentence counts when its exact text
(whitespace runs collapsed) was written by the sim into a persona description registered
with this ledger; all the sentences one persona text is read from must come from one
sim-written persona (the first authentic sentence fixes which; an authentic sentence of
another persona is ignored, so stitching sentences of several sim personas into one gains
nothing); the first counted sentence about an axis wins. Sim text passed through a
program unchanged, reordered, concatenated or with other text around it still reads.

Where it lives: in the process that runs the evaluation (the Ray worker), shared by the
sim persona writer and the sim respondent of that one evaluation
(:func:`generators.sim_binding.bind_evaluation`). It holds only digests of text the sim already returned to
the program, no key; the sandboxed program gets reply texts and nothing else, and a ledger refuses to be
pickled, so it never travels to another process. A registry of issued text is preferred over a
keyed tag woven into each sentence because nothing in the text needs to carry a secret:
no tag to strip, normalise away or forge by chance, and a leak of the ledger would reveal
only what the program was already shown.
"""

from __future__ import annotations

import hashlib
import threading
from typing import Any, Iterable

from generators.sim.text import TRAIT_RE, norm_axis, trait_value

__all__ = ["MAX_SENTENCES", "SimLedger", "decode_selected", "sentence_digest"]

MAX_SENTENCES = 200_000
"""Default bound on the distinct sentences one ledger holds (about 20 MB); past it new
sentences are not registered, so they do not read (fail closed)."""


def decode_selected(text: str, ordinals: Iterable[int]) -> dict[str, float]:
    """Positions (normalised axis -> [0, 1]) stated by the trait sentences of ``text`` whose
    ordinals (0-based, among its :data:`TRAIT_RE` matches) are in ``ordinals``; the first
    selected sentence about an axis wins; the others are just words."""
    chosen = set(ordinals)
    out: dict[str, float] = {}
    for ordinal, m in enumerate(TRAIT_RE.finditer(text)):
        if ordinal in chosen:
            out.setdefault(norm_axis(m.group("axis")), trait_value(m))
    return out


def sentence_digest(sentence: str) -> bytes:
    """16-byte digest of one trait sentence, whitespace runs collapsed to one space."""
    return hashlib.blake2b(" ".join(sentence.split()).encode("utf-8"), digest_size=16).digest()


class SimLedger:
    """Trait sentences the sim wrote during one evaluation, by persona (thread-safe).

    ``max_sentences`` bounds the distinct sentences held (>= 1).
    """

    def __init__(self, *, max_sentences: int = MAX_SENTENCES) -> None:
        if max_sentences < 1:
            raise ValueError(f"SimLedger: max_sentences must be >= 1, got {max_sentences}")
        self.max_sentences = max_sentences
        self._lock = threading.Lock()
        self._owners: dict[bytes, int | frozenset[int]] = {}
        self._personas = 0

    def register(self, description: str) -> int:
        """Record the trait sentences of one persona description the sim has just written.

        Returns the persona's id in this ledger (0, 1, ...), or -1 when the text has no
        trait sentence. A sentence already written for another persona belongs to both.
        """
        digests = [sentence_digest(m.group(0)) for m in TRAIT_RE.finditer(description)]
        if not digests:
            return -1
        with self._lock:
            pid = self._personas
            self._personas += 1
            for d in digests:
                owner = self._owners.get(d)
                if owner is None:
                    if len(self._owners) < self.max_sentences:
                        self._owners[d] = pid
                elif isinstance(owner, int):
                    if owner != pid:
                        self._owners[d] = frozenset((owner, pid))
                else:
                    self._owners[d] = owner | {pid}
        return pid

    def owners(self, sentence: str) -> frozenset[int]:
        """Ids of the registered personas whose description has ``sentence`` (empty: none)."""
        with self._lock:
            owner = self._owners.get(sentence_digest(sentence))
        if owner is None:
            return frozenset()
        return frozenset((owner,)) if isinstance(owner, int) else owner

    def counted(self, text: str) -> list[int]:
        """Ordinals (0-based, among the :data:`TRAIT_RE` matches of ``text`` in order) of the
        trait sentences :meth:`decode` reads: authentic, of one sim-written persona, the first
        per axis (see the module docstring). Empty when none."""
        out: list[int] = []
        seen: set[str] = set()
        anchor: frozenset[int] | None = None
        for ordinal, m in enumerate(TRAIT_RE.finditer(text)):
            owners = self.owners(m.group(0))
            if not owners:
                continue  # not written by the sim in this evaluation: just words
            key = norm_axis(m.group("axis"))
            if key in seen:
                continue
            if anchor is not None:
                owners = anchor & owners
                if not owners:
                    continue  # a sentence of another sim persona
            anchor = owners
            seen.add(key)
            out.append(ordinal)
        return out

    def decode(self, text: str) -> dict[str, float]:
        """Positions (normalised axis -> [0, 1]) stated in ``text`` by authentic trait
        sentences of one sim-written persona (see the module docstring); ``{}`` when none."""
        return decode_selected(text, self.counted(text))

    @property
    def personas(self) -> int:
        """Persona descriptions registered so far."""
        return self._personas

    def __len__(self) -> int:
        """Distinct sentences held."""
        return len(self._owners)

    def __reduce__(self) -> Any:
        raise TypeError("SimLedger never leaves its process (it authenticates this evaluation's sim text)")

    def __repr__(self) -> str:
        return f"SimLedger({self._personas} personas, {len(self._owners)} sentences)"
