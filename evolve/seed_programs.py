"""The seed programs of a run (config ``[seeds] programs``): shipped seeds and Concordia
persona generator classes, as ``{archive label: program text}``.

``seed:NAME`` is a shipped seed (label ``seed:NAME``); ``concordia:FILE.py[:Class]`` is a
Concordia class wrapped as an evolvable program (:func:`generators.concordia.wrap.wrap_class`,
label ``concordia:<file stem>[:Class]``).
"""

from __future__ import annotations

from typing import Sequence

from generators.concordia.wrap import ConcordiaRefError, load_concordia_generator, seed_label
from generators.seeds import load_seed


class SeedProgramError(ValueError):
    """A seed program that cannot be loaded; the message is one line."""


def load_seed_programs(refs: Sequence[str]) -> dict[str, str]:
    """``{label: code}`` for ``refs`` in order. Raises :class:`SeedProgramError` (one line)."""
    out: dict[str, str] = {}
    for ref in refs:
        if ref.startswith("concordia:"):
            try:
                label, code = seed_label(ref), load_concordia_generator(ref)
            except ConcordiaRefError as exc:
                raise SeedProgramError(f"seeds.programs: {exc}") from None
        else:
            try:
                label, code = ref, load_seed(ref)
            except ValueError as exc:
                raise SeedProgramError(f"seeds.programs: {exc}") from None
        if label in out:
            raise SeedProgramError(f"seeds.programs: two entries share the label {label!r}")
        out[label] = code
    return out
