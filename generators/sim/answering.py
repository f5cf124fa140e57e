"""How the simulated answerer turns a latent position into a Likert answer, and the sim's
``respondent`` role (a chat reply to one questionnaire statement).

Answer model (scale ``lo..hi``, mid = (lo + hi) / 2): for latent ``z`` in [0, 1] on the
item's axis (``1 - z`` for a reverse item), ``x = lo + z (hi - lo)``, pulled to the middle
by ``central_tendency``, plus the item's idiosyncratic offset (hash of the item text,
``item_sd``) and noise (``answer_noise_sd``), rounded and clipped to the scale. Extremes
saturate: offset and noise shrink for a latent stated at a pole (``pole_consistency``).
"""

from __future__ import annotations

import json
import re
from typing import Callable

import numpy as np

from generators.sim.knobs import SimKnobs
from generators.sim.text import decode_traits, default_point, stable_unit

_STATEMENT_RE = re.compile(r"(?:statement|item)\s*:\s*[\"“]?(?P<s>[^\"”\n]+)", re.IGNORECASE)
_NUMBERED_RE = re.compile(r"^\s*(\d+)[.)]\s+(.+)$", re.MULTILINE)
_SCALE_RE = re.compile(r"from\s+(?P<lo>\d+)\D{0,60}?\bto\s+(?P<hi>\d+)", re.IGNORECASE)
_WORD_RE = re.compile(r"[a-z]{4,}")


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


def likert(latent: np.ndarray, offsets: np.ndarray, noise: np.ndarray, lo: int, hi: int,
           central_tendency: float, *, pole_consistency: float = SimKnobs.pole_consistency,
           pole_start: float = SimKnobs.pole_start) -> np.ndarray:
    """Answers for latents (already flipped for reverse items) -> integers in [lo, hi] as floats.

    Saturating extremes: for a latent stated at a pole, the item offset and the noise shrink
    by ``pole_consistency * pole_saturation(latent, pole_start)`` (an "extremely X" persona
    answers the scale end on nearly every item); the central tendency still applies."""
    mid = (lo + hi) / 2.0
    x = lo + np.clip(latent, 0.0, 1.0) * (hi - lo)
    spread = 1.0 - pole_consistency * pole_saturation(latent, pole_start)
    x = mid + (x - mid) * (1.0 - central_tendency) + (offsets + noise) * spread
    return np.clip(np.rint(x), lo, hi)


def respond_items(messages: list[dict[str, str]], knobs: SimKnobs, rng: np.random.Generator, *,
                  decode: Callable[[str], dict[str, float]] = decode_traits) -> str:
    """The sim's ``respondent`` role: the system text is the persona; the user text asks for
    one statement (``Statement: ...``) or a numbered list. Without the questionnaire, the
    axis of a statement is guessed by word overlap with the axis names the persona text
    states (a crude reader); the reply is one integer, or ``i. v`` lines for a list.
    ``decode`` reads the persona's positions (:class:`SimLLM` passes its ledger's
    authenticated reader; the default reads any trait sentence)."""
    persona = "\n".join(m["content"] for m in messages if m.get("role") == "system")
    ask = "\n".join(m["content"] for m in messages if m.get("role") != "system")
    traits = decode(persona)
    scale = _SCALE_RE.search(ask)
    lo, hi = (int(scale.group("lo")), int(scale.group("hi"))) if scale else (1, 5)
    if hi <= lo:
        lo, hi = 1, 5
    numbered = _NUMBERED_RE.findall(ask)
    statements = [s for _, s in numbered] if len(numbered) >= 2 else []
    if not statements:
        m = _STATEMENT_RE.search(ask)
        statements = [m.group("s") if m else ask]
    values = []
    for s in statements:
        words = set(_WORD_RE.findall(s.lower()))
        best, score = None, 0
        for axis in traits:
            overlap = len(words & set(_WORD_RE.findall(axis)))
            if overlap > score:
                best, score = axis, overlap
        z = traits[best] if best else default_point(s, knobs.default_offset) + rng.normal(0, knobs.guess_sd)
        v = likert(np.array([z]), np.array([item_offset(s, knobs.item_sd)]),
                   rng.normal(0.0, knobs.answer_noise_sd, 1), lo, hi, knobs.central_tendency,
                   pole_consistency=knobs.pole_consistency, pole_start=knobs.pole_start)
        values.append(int(v[0]))
    if "JSON" in ask and len(statements) > 1:  # a whole questionnaire asked as JSON
        return json.dumps({"answers": {str(i + 1): v for i, v in enumerate(values)}})
    if len(values) == 1:
        return str(values[0])
    return "\n".join(f"{i + 1}. {v}" for i, v in enumerate(values))


