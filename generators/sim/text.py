"""The simulated world's vocabulary: stable hashes, the default point, intensity grades,
and how a latent position is written into persona text and read back from it.

A trait sentence (one per axis the writer knows about) is::

    When it comes to <axis>, <First> leans <intensity> toward the <low|high> end (<pole>).
    When it comes to <axis>, <First> sits evenly between the two ends (<low> / <high>).

with 11 grades (position g/10, g = 0..10): ``extremely and uncompromisingly`` (0 or 10),
``very strongly`` (1, 9), ``strongly`` (2, 8), ``clearly`` (3, 7), ``slightly`` (4, 6) and
the even middle (5). Every persona description the sim writes starts with ``[SIMULATED]``.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache

import numpy as np

SIM_TAG = "[SIMULATED]"

GRADE_WORDS: tuple[str, ...] = (
    "extremely and uncompromisingly",
    "very strongly",
    "strongly",
    "clearly",
    "slightly",
)
"""Intensity words by distance from the middle: index 0 = the pole itself (grade 0 or 10)."""

N_GRADES = 11

_SPACES_RE = re.compile(r"[\s_\-]+")
_STRIP_RE = re.compile(r"^[\s`'\"*]+|[\s`'\"*:.]+$")

TRAIT_RE = re.compile(
    r"When it comes to (?P<axis>[^,\n]{1,80}), (?P<who>[^\s,]{1,40}) "
    r"(?:leans (?P<int>extremely and uncompromisingly|very strongly|strongly|clearly|slightly) "
    r"toward the (?P<dir>low|high) end|sits evenly between the two ends)"
)

FIRST_NAMES: tuple[str, ...] = (
    "Ada",
    "Bilal",
    "Carmen",
    "Dmitri",
    "Esi",
    "Farah",
    "Goran",
    "Hana",
    "Ines",
    "Jonas",
    "Kemal",
    "Lena",
    "Mateo",
    "Nia",
    "Oskar",
    "Priya",
    "Quentin",
    "Rosa",
    "Sami",
    "Tove",
    "Umar",
    "Vera",
    "Wen",
    "Ximena",
    "Yusuf",
    "Zofia",
    "Arjun",
    "Beatriz",
    "Chidi",
    "Dana",
    "Emil",
    "Fumiko",
    "Gideon",
    "Halima",
    "Ivo",
    "Jade",
    "Kofi",
    "Lucia",
    "Marek",
    "Noor",
    "Olu",
    "Paola",
    "Rafael",
    "Sigrid",
    "Tariq",
    "Ulla",
    "Viktor",
    "Wanjiru",
    "Yara",
    "Zeke",
)
LAST_NAMES: tuple[str, ...] = (
    "Abebe",
    "Brennan",
    "Costa",
    "Dubois",
    "Eriksen",
    "Fischer",
    "Garcia",
    "Haddad",
    "Ito",
    "Jansen",
    "Kowalski",
    "Lindqvist",
    "Mensah",
    "Novak",
    "Okafor",
    "Petrov",
    "Quispe",
    "Rahman",
    "Silva",
    "Tanaka",
    "Uribe",
    "Vasquez",
    "Weber",
    "Xu",
    "Yilmaz",
    "Zhou",
    "Achterberg",
    "Banda",
    "Chen",
    "Delgado",
    "Engel",
    "Farouk",
    "Gallo",
    "Horvat",
    "Idowu",
)
BIO_CLAUSES: tuple[str, ...] = (
    "has been part of this setting for many years",
    "arrived in this setting only recently",
    "is known by most of the people around them",
    "keeps mostly to a small circle of friends",
    "juggles this with family duties at home",
    "came here after a change of job",
    "grew up close to where all this happens",
    "is often asked for an opinion by others",
)
DETAILS: tuple[str, ...] = (
    "A telling detail: they keep a notebook of every promise anyone has made to them.",
    "A telling detail: they replay old arguments on the walk home.",
    "A telling detail: they save every receipt and letter in one box.",
    "A telling detail: they greet strangers by name after one meeting.",
    "A telling detail: they check the news before getting out of bed.",
    "A telling detail: they always sit near the door.",
)
BACKGROUNDS: tuple[str, ...] = (
    "Their family shaped most of their views early on.",
    "A hard year some time ago changed how they see things.",
    "They learned most of what they know by watching others.",
    "Friends describe them as hard to read at first.",
    "They have strong habits and rarely break them.",
)


def stable_hash(*parts: object) -> int:
    """A 64-bit integer hash of ``parts`` that is the same in every process."""
    digest = hashlib.blake2b(repr(parts).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def stable_unit(*parts: object) -> float:
    """A stable pseudo-random float in [0, 1) from ``parts``."""
    return stable_hash(*parts) / 2.0**64


@lru_cache(maxsize=4096)
def norm_axis(name: str) -> str:
    """Normalised axis name for matching: lower case, ``_``/``-``/spaces collapsed to one space."""
    return _SPACES_RE.sub(" ", _STRIP_RE.sub("", name)).strip().lower()


@lru_cache(maxsize=4096)
def default_point(axis: str, offset: float) -> float:
    """The "polite centre" of an axis: ``0.5 + u * offset``, u in [-1, 1] from the name's hash."""
    return 0.5 + (2.0 * stable_unit("centre", norm_axis(axis)) - 1.0) * offset


@lru_cache(maxsize=4096)
def leak_sign(axis_a: str, axis_b: str) -> int:
    """+1 or -1: whether axis a leaks into axis b directly or mirrored (hash of the pair)."""
    return 1 if stable_unit("leak", norm_axis(axis_a), norm_axis(axis_b)) < 0.5 else -1


def grade_of(z: float) -> int:
    """The grade 0..10 that writes position ``z`` (in [0, 1])."""
    return int(min(10, max(0, round(float(z) * 10.0))))


def trait_sentence(axis: str, first: str, z: float, low: str | None, high: str | None) -> str:
    """One sentence expressing position ``z`` on ``axis`` with graded intensity."""
    g = grade_of(z)
    if g == 5:
        ends = f" ({low} / {high})" if low and high else ""
        return f"When it comes to {axis}, {first} sits evenly between the two ends{ends}."
    direction = "high" if g > 5 else "low"
    pole = high if g > 5 else low
    intensity = GRADE_WORDS[g if g < 5 else 10 - g]
    tail = f" ({pole})" if pole else ""
    return f"When it comes to {axis}, {first} leans {intensity} toward the {direction} end{tail}."


_INTENSITY_STEP = {word: i for i, word in enumerate(GRADE_WORDS)}


def trait_value(m: re.Match[str]) -> float:
    """The position in [0, 1] (grade / 10) a :data:`TRAIT_RE` match states."""
    if m.group("int") is None:
        return 0.5
    step = _INTENSITY_STEP[m.group("int")]
    return step / 10.0 if m.group("dir") == "low" else (10 - step) / 10.0


def decode_traits(text: str) -> dict[str, float]:
    """Positions stated by trait sentences in ``text``: normalised axis name -> grade/10.

    The first sentence about an axis wins. Text without trait sentences gives ``{}``.
    Unauthenticated: it reads any sentence of the right shape, whoever wrote it. The sim's
    readers inside an evaluation use :meth:`generators.sim.ledger.SimLedger.decode`, which
    reads only sentences the sim wrote in that evaluation.
    """
    out: dict[str, float] = {}
    for m in TRAIT_RE.finditer(text):
        key = norm_axis(m.group("axis"))
        if key not in out:
            out[key] = trait_value(m)
    return out


def pick(bank: tuple[str, ...], rng: np.random.Generator) -> str:
    return bank[int(rng.integers(len(bank)))]


LEVEL_LABELS: tuple[tuple[float, str], ...] = (
    (0.1, "very low"),
    (0.3, "low"),
    (0.45, "somewhat low"),
    (0.55, "moderate"),
    (0.7, "somewhat high"),
    (0.9, "high"),
    (1.01, "very high"),
)
"""Level words by upper bound of position in [0, 1] (the first bound above z names it)."""


def level_label(z: float) -> str:
    """A level word (very low ... very high) for a position in [0, 1]."""
    for bound, word in LEVEL_LABELS:
        if z < bound:
            return word
    return LEVEL_LABELS[-1][1]
