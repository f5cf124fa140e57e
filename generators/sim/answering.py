"""How the simulated answerer turns a latent position into a Likert answer, and the sim's
``respondent`` role (a chat reply to one questionnaire statement).

Answer model (scale ``lo..hi``, mid = (lo + hi) / 2): for latent ``z`` in [0, 1] on the
item's axis (``1 - z`` for a reverse item), ``x = lo + z (hi - lo)``, pulled to the middle
by ``central_tendency``, plus the item's idiosyncratic offset (hash of the item text,
``item_sd``) and noise (``answer_noise_sd``), rounded and clipped to the scale. Extremes
saturate: offset and noise shrink for a latent stated at a pole (``pole_consistency``).

The ``respondent`` role reads statements as a capable model does when given a
:func:`statement_key` (what each statement of the questionnaire measures, and whether it is
reverse-coded: the semantic competence a real model brings); without one it falls back to a
crude word-overlap reader. Answers given together in one call (a numbered list, a JSON
questionnaire) share one response-style offset (``call_halo_sd``): an assumption of this test
bed, so that answering a whole questionnaire at once is not free of cost in fidelity.
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from generators.quoting import PERSONA, unquote
from generators.sim.knobs import SimKnobs
from generators.sim.text import TRAIT_RE, decode_traits, default_point, norm_axis, stable_unit

_STATEMENT_RE = re.compile(r"(?:statement|item)\s*:\s*[\"“]?(?P<s>[^\"”\n]+)", re.IGNORECASE)
_NUMBERED_RE = re.compile(r"^\s*(\d+)[.)]\s+(.+)$", re.MULTILINE)
_SCALE_RE = re.compile(r"from\s+(?P<lo>\d+)\D{0,60}?\bto\s+(?P<hi>\d+)", re.IGNORECASE)
_WORD_RE = re.compile(r"[a-z]{4,}")
_TRAIT_SENTENCE_RE = re.compile(TRAIT_RE.pattern + r"(?:\s*\([^()\n]{0,200}\))?\.?")


def strip_trait_sentences(text: str) -> str:
    """``text`` with every trait-shaped sentence (and its ``(pole)`` tail) replaced by a space."""
    return _TRAIT_SENTENCE_RE.sub(" ", text)


def vague_key(text: str) -> str:
    """What a vague guess depends on: ``text`` without its trait-shaped sentences
    (:func:`strip_trait_sentences`), whitespace collapsed, lower case. So a trait sentence the
    reader does not believe moves no guess: forged text answers exactly as the same text
    without it."""
    return " ".join(strip_trait_sentences(text).split()).lower()


def vague_guess(words: str, axis: str, knobs: SimKnobs) -> float:
    """The latent in [0, 1] an answerer guesses on ``axis`` for a persona whose text (``words``:
    its :func:`vague_key`) does not state it: the axis's default point plus an offset in
    ``[-guess_spread, +guess_spread]`` that is a stable hash of the words and the axis (the
    same text, the same guess; bounded, so no wording can push it further)."""
    u = 2.0 * stable_unit("vague", words, norm_axis(axis)) - 1.0
    return float(np.clip(default_point(axis, knobs.default_offset) + knobs.guess_spread * u, 0.0, 1.0))


def item_offset(item_text: str, sd: float) -> float:
    """The idiosyncratic offset of an item, in scale points (same for every persona)."""
    u = min(max(stable_unit("item", item_text.strip().lower()), 1e-9), 1 - 1e-9)
    # inverse-normal by a logistic approximation: smooth, symmetric, sd ~ 1
    return sd * float(np.log(u / (1 - u)) / 1.702)


def pole_saturation(latent: np.ndarray, start: float) -> np.ndarray:
    """How firmly a latent in [0, 1] states a pole, in [0, 1]: 0 while the distance from the
    middle ``|2z - 1|`` is at most ``start``, rising linearly to 1 at the poles."""
    far = np.abs(2.0 * np.clip(latent, 0.0, 1.0) - 1.0)
    return np.clip((far - start) / max(1e-9, 1.0 - start), 0.0, 1.0)


def likert(
    latent: np.ndarray,
    offsets: np.ndarray,
    noise: np.ndarray,
    lo: int,
    hi: int,
    central_tendency: float,
    *,
    pole_consistency: float = SimKnobs.pole_consistency,
    pole_start: float = SimKnobs.pole_start,
    acquiescence: float = 0.0,
    extreme_responding: float = 0.0,
) -> np.ndarray:
    """Answers for latents (already flipped for reverse items) -> integers in [lo, hi] as floats.

    Saturating extremes: for a latent stated at a pole, the item offset and the noise shrink
    by ``pole_consistency * pole_saturation(latent, pole_start)`` (an "extremely X" persona
    answers the scale end on nearly every item); the central tendency still applies.
    Response styles (:class:`SimKnobs`): ``extreme_responding`` moves each answer that share
    of the way to the nearer scale end, then ``acquiescence`` scale points are added."""
    mid = (lo + hi) / 2.0
    x = lo + np.clip(latent, 0.0, 1.0) * (hi - lo)
    spread = 1.0 - pole_consistency * pole_saturation(latent, pole_start)
    x = mid + (x - mid) * (1.0 - central_tendency) + (offsets + noise) * spread
    if extreme_responding:
        x = x + extreme_responding * (np.where(x >= mid, hi, lo) - x)
    return np.clip(np.rint(x + acquiescence), lo, hi)


def response_style(knobs: SimKnobs) -> dict[str, float]:
    """The keyword arguments of :func:`likert` that come from ``knobs`` (one source for
    every answerer of the sim)."""
    return {
        "pole_consistency": knobs.pole_consistency,
        "pole_start": knobs.pole_start,
        "acquiescence": knobs.acquiescence,
        "extreme_responding": knobs.extreme_responding,
    }


StatementKey = Mapping[str, tuple[str, bool]]
"""Normalised statement text (:func:`statement_text_key`) -> (normalised axis name, reverse-coded)."""


def statement_text_key(text: str) -> str:
    """A statement's lookup key: lower case, whitespace runs collapsed, outer quotes and spaces dropped."""
    return " ".join(text.strip().strip('"“”').split()).lower()


def statement_key(axes: Sequence[Any]) -> dict[str, tuple[str, bool]]:
    """What each statement of a questionnaire measures: for ``axes`` (a context's axes, each
    with ``name`` and ``items`` of ``text``/``reverse``), statement key -> (axis key, reverse)."""
    return {
        statement_text_key(item.text): (norm_axis(axis.name), bool(item.reverse))
        for axis in axes
        for item in axis.items
    }


def _crude_axis(statement: str, traits: Mapping[str, float]) -> str | None:
    """The stated axis sharing the most words (4+ letters) with ``statement``, if any."""
    words = set(_WORD_RE.findall(statement.lower()))
    best, score = None, 0
    for axis in traits:
        overlap = len(words & set(_WORD_RE.findall(axis)))
        if overlap > score:
            best, score = axis, overlap
    return best


def respond_items(
    messages: list[dict[str, str]],
    knobs: SimKnobs,
    rng: np.random.Generator,
    *,
    decode: Callable[[str], dict[str, float]] = decode_traits,
    statements: StatementKey | None = None,
) -> str:
    """The sim's ``respondent`` role: the persona is the block quoted under ``PERSONA`` in the
    user text (:mod:`generators.quoting`; without one, the system text); the rest asks for
    one statement (``Statement: ...``) or a numbered list. A statement found in
    ``statements`` is answered on its axis (flipped when reverse-coded); otherwise its axis
    is guessed by word overlap with the axis names the persona text states (a crude
    reader, no reversal). An axis the persona text does not state is answered as a vague text
    is (:func:`vague_guess`, no answer noise or halo: the same text, the same answer). The
    reply is one integer, ``i. v`` lines for a list, or JSON answers when the request asks
    for JSON. ``decode`` reads the persona's positions
    (:class:`SimLLM` passes its ledger's authenticated reader; the default reads any trait
    sentence)."""
    persona = "\n".join(m["content"] for m in messages if m.get("role") == "system")
    ask = "\n".join(m["content"] for m in messages if m.get("role") != "system")
    quoted = unquote(ask, PERSONA)
    if quoted is not None:  # the persona quoted as data in the user turn (generators.respondent)
        persona, ask = quoted
    traits = decode(persona)
    scale = _SCALE_RE.search(ask)
    lo, hi = (int(scale.group("lo")), int(scale.group("hi"))) if scale else (1, 5)
    if hi <= lo:
        lo, hi = 1, 5
    numbered = _NUMBERED_RE.findall(ask)
    asked = [s for _, s in numbered] if len(numbered) >= 2 else []
    if not asked:
        m = _STATEMENT_RE.search(ask)
        asked = [m.group("s") if m else ask]
    values = []
    halo = rng.normal(0.0, knobs.call_halo_sd) if len(asked) > 1 else 0.0
    for s in asked:
        known = statements.get(statement_text_key(s)) if statements else None
        axis, reverse = known if known is not None else (_crude_axis(s, traits), False)
        stated = axis is not None and axis in traits
        if axis is not None and stated:
            z = traits[axis]
        else:
            rng.normal(0.0, 1.0)  # drawn and not used: keeps the stream as it was (see SimRespondent)
            z = vague_guess(vague_key(persona), axis or s, knobs)
        z = 1.0 - z if reverse else z
        noise = rng.normal(0.0, knobs.answer_noise_sd, 1) + halo
        v = likert(
            np.array([z]),
            np.array([item_offset(s, knobs.item_sd)]),
            noise if stated else np.zeros(1),
            lo,
            hi,
            knobs.central_tendency,
            **response_style(knobs),
        )
        values.append(int(v[0]))
    if "JSON" in ask and len(asked) > 1:  # a whole questionnaire asked as JSON
        return json.dumps({"answers": {str(i + 1): v for i, v in enumerate(values)}})
    if len(values) == 1:
        return str(values[0])
    return "\n".join(f"{i + 1}. {v}" for i, v in enumerate(values))
