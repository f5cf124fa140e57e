"""The cue words of simulated model families: which words move a sim model's writing.

A :class:`CueVocabulary` holds four lower-case regexes (emphatic negations, softening,
emphasis, independence); :data:`VOCABULARIES` names the ones a world can pick
(``SimKnobs.cue_vocabulary``): ``default``, ``alternate`` (another family's words) and
``none`` (no word moves it: only structure and explicit numbers do). The request parser
(:mod:`generators.sim.request`) counts them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


def cue_set(*cues: tuple[str, ...]) -> re.Pattern[str]:
    """One regex over several cues; each cue (a tuple of alternatives) is a named group."""
    groups = "|".join(f"(?P<c{i}>{'|'.join(alts)})" for i, alts in enumerate(cues))
    return re.compile(r"\b(?:" + groups + ")")


def cue_re(*phrases: str) -> re.Pattern[str]:
    """One regex matching any of ``phrases`` at a word start."""
    return re.compile(r"\b(?:" + "|".join(phrases) + r")")


# Each group is one distinct cue (counted once however often it appears).
_EMPHATIC_NEGATIONS = cue_set(
    (r"do\s+not\s+soften", r"don'?t\s+soften", r"never\s+soften", r"without\s+softening", r"no\s+softening"),
    (
        r"avoid\s+(?:the\s+)?(?:middle|centre|center|moderate|bland|average)",
        r"not\s+moderate",
        r"no\s+hedging",
        r"do\s+not\s+hedge",
        r"don'?t\s+hedge",
    ),
)
_SOFTENING = cue_set(
    (r"avoid\s+(?:the\s+)?extremes?", r"not\s+(?:too\s+)?extreme", r"no\s+extremes?", r"nothing\s+extreme"),
    (r"balanced",),
    (r"realistic",),
    (r"moderate",),
    (r"nuanced",),
    (r"typical",),
    (r"plausible",),
    (r"believable",),
    (r"natural",),
    (r"mild",),
    (r"subtle",),
    (r"reasonable",),
    (r"relatable",),
)
_EMPHASIS = cue_set(
    (r"extreme",),
    (r"uncompromising",),
    (r"blunt",),
    (r"concrete",),
    (r"vivid",),
    (r"unmistakabl",),
    (r"intense",),
    (r"radical",),
    (r"polari[sz]",),
    (r"unapologetic",),
    (r"full\s+range", r"whole\s+range", r"entire\s+range"),
    (r"edges?\s+of", r"far\s+ends?", r"outliers?"),
    (r"exaggerat",),
    (r"committed",),
)
_INDEPENDENCE = cue_re(
    r"independent",
    r"contradictory",
    r"unexpected\s+combinations?",
    r"uncorrelated",
    r"unusual\s+combinations?",
    r"any\s+combination",
    r"mixed\s+traits",
    r"do\s+not\s+correlate",
)


@dataclass(frozen=True)
class CueVocabulary:
    """The words that move one simulated model family's writing (all lower-case regexes):
    ``emphatic_negations`` and ``emphasis`` push toward the stated extremes, ``softening``
    pulls toward the polite centre, ``independence`` halves cross-axis leakage. A pattern
    of None: no word of that kind moves this model (only structure and numbers do)."""

    name: str
    emphatic_negations: re.Pattern[str] | None
    softening: re.Pattern[str] | None
    emphasis: re.Pattern[str] | None
    independence: re.Pattern[str] | None


VOCABULARIES: dict[str, CueVocabulary] = {
    "default": CueVocabulary("default", _EMPHATIC_NEGATIONS, _SOFTENING, _EMPHASIS, _INDEPENDENCE),
    # another family's words: none of the default's cue words move it, these do
    "alternate": CueVocabulary(
        "alternate",
        cue_set(
            (r"do\s+not\s+tone\s+(?:it\s+)?down", r"never\s+tone\s+down", r"no\s+toning\s+down"),
            (r"no\s+middle\s+ground", r"skip\s+the\s+middle", r"steer\s+clear\s+of\s+the\s+middle"),
        ),
        cue_set(
            (r"even-?handed",),
            (r"measured",),
            (r"modest",),
            (r"understated",),
            (r"conventional",),
            (r"ordinary",),
            (r"gentle",),
            (r"tempered",),
            (r"middle-of-the-road",),
            (r"everyday",),
        ),
        cue_set(
            (r"forceful",),
            (r"pronounced",),
            (r"stark",),
            (r"sharp",),
            (r"decisive",),
            (r"emphatic",),
            (r"unambiguous",),
            (r"clear-cut",),
            (r"pointed",),
            (r"strongly\s+held",),
            (r"fierce",),
            (r"dramatic",),
        ),
        cue_re(r"orthogonal", r"decoupled", r"unrelated\s+traits", r"vary\s+each\s+trait\s+on\s+its\s+own"),
    ),
    "none": CueVocabulary("none", None, None, None, None),
}
"""Cue vocabularies by name (``SimKnobs.cue_vocabulary``)."""
