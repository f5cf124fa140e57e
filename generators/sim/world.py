"""The simulated writer's world model: from a parsed request to realised latent positions
(with the five pathologies) and to persona text.

Order of effects for newly written personas (one call writing B personas, K axes):
intended position (target softened toward the default point c, or untargeted draw) ->
cross-axis leakage (emphatic wording keeps the axis' own value; the partner's deviation
still bleeds in) -> batch anchoring -> run-to-run noise -> clip to [0, 1].
An expansion starts from the positions decoded from the earlier text instead (drifted
toward c); restated targets are softened and leaked afresh and blended in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from generators.sim.formats import json_reply, persona_objects
from generators.sim.knobs import SimKnobs
from generators.sim.ledger import SimLedger
from generators.sim.request import AxisDecl, Request
from generators.sim.shapes import PersonaContent
from generators.sim.text import (
    BACKGROUNDS,
    BIO_CLAUSES,
    DETAILS,
    FIRST_NAMES,
    LAST_NAMES,
    SIM_TAG,
    default_point,
    leak_sign,
    level_label,
    norm_axis,
    pick,
    trait_sentence,
)


@dataclass(frozen=True)
class Realised:
    """Positions a call writes: ``Z`` is B x K in [0, 1] over ``axes``; ``names``/``ages``
    are kept from earlier texts in an expansion (None = invent)."""

    axes: tuple[AxisDecl, ...]
    Z: np.ndarray
    names: tuple[str | None, ...]
    ages: tuple[int | None, ...]
    expanded: bool
    vivid: bool


def cue_pull(emphasis: int, softening: int, scale: float) -> float:
    """Net cue pressure in (-1, 1): positive toward emphatic, with diminishing returns."""
    e = emphasis - softening
    if e >= 0:
        return 1.0 - math.exp(-e / scale)
    return -(1.0 - math.exp(e / scale))


def target_shrink(req: Request, knobs: SimKnobs) -> float:
    """Share of a target's distance from c that is realised (softened extremes)."""
    phi = cue_pull(req.emphasis, req.softening, knobs.cue_scale)
    if phi >= 0:
        return knobs.shrink_base + phi * (knobs.shrink_max - knobs.shrink_base)
    return knobs.shrink_base + phi * (knobs.shrink_base - knobs.shrink_min)


def expansion_shrink(req: Request, knobs: SimKnobs) -> float:
    """Share of an earlier persona's distance from c kept when it is rewritten."""
    phi = cue_pull(req.emphasis, req.softening, knobs.cue_scale)
    if phi >= 0:
        return knobs.expand_shrink + phi * (1.0 - knobs.expand_shrink)
    return knobs.expand_shrink + phi * (knobs.expand_shrink - knobs.expand_shrink_min)


def _axes_for(req: Request) -> tuple[AxisDecl, ...]:
    axes = list(req.axes)
    if req.expand:
        known = {norm_axis(a.name) for a in axes}
        for persona in req.earlier:
            for name in persona.axis_names:
                if norm_axis(name) not in known:
                    known.add(norm_axis(name))
                    axes.append(AxisDecl(name))
    return tuple(axes)


def _leak(Z: np.ndarray, keys: list[str], c: np.ndarray, lam: float, hold: float) -> np.ndarray:
    """Identity-congruent correlation: axis a takes on ``lam`` of the next axis b's deviation
    from its default point (mirrored when the pair's sign is -1) and gives up
    ``lam * (1 - hold)`` of its own deviation (the writer's compromise). ``hold`` in [0, 1]
    is how firmly the request makes the writer keep each stated value (1 = no compromise)."""
    k = Z.shape[1]
    if k < 2 or lam <= 0:
        return Z
    out = Z.copy()
    for a in range(k):
        b = (a + 1) % k
        dev = Z[:, b] - c[b]
        own = lam * (1.0 - hold) * (Z[:, a] - c[a])
        out[:, a] = Z[:, a] - own + lam * (dev if leak_sign(keys[a], keys[b]) > 0 else -dev)
    return out


def realise(req: Request, knobs: SimKnobs, rng: np.random.Generator) -> Realised:
    """Latent positions of the personas this request makes the sim write."""
    axes = _axes_for(req)
    keys = [norm_axis(a.name) for a in axes]
    k = len(axes)
    c = np.array([default_point(key, knobs.default_offset) for key in keys])
    shrink = target_shrink(req, knobs)
    lam = knobs.leak * (0.5 if req.independence else 1.0)
    hold = max(0.0, cue_pull(req.emphasis, req.softening, knobs.cue_scale))
    if req.expand:
        # Copying positions stated in the earlier text drifts toward c (no new leakage);
        # restated targets are turned into character afresh (softened, then leaked).
        b = len(req.earlier)
        kept = np.empty((b, k))
        aimed = np.empty((b, k))
        restated = np.zeros((b, k), dtype=bool)
        stated = np.zeros((b, k), dtype=bool)
        es = expansion_shrink(req, knobs)
        for i, persona in enumerate(req.earlier):
            block = (
                req.targets[i] if i < len(req.targets) else (req.targets[0] if len(req.targets) == 1 else {})
            )
            for j, key in enumerate(keys):
                base = persona.traits.get(key)
                stated[i, j] = base is not None
                kept[i, j] = (
                    c[j] + rng.normal(0.0, knobs.collapse_sd) if base is None else c[j] + (base - c[j]) * es
                )
                restated[i, j] = key in block
                aimed[i, j] = c[j] + (block[key] - c[j]) * shrink if key in block else kept[i, j]
        if restated.any():
            aimed = _leak(aimed, keys, c, lam, hold)
        w = np.where(stated, knobs.restate_weight, 1.0)
        mean = np.where(restated, w * aimed + (1.0 - w) * kept, kept)
        names = tuple(p.name for p in req.earlier)
        ages = tuple(p.age for p in req.earlier)
        noise_sd = knobs.expand_noise_sd
    else:
        b = req.count
        mean = np.empty((b, k))
        fixed = np.zeros((b, k), dtype=bool)
        for i in range(b):
            block = req.targets[i] if i < len(req.targets) else {}
            for j, key in enumerate(keys):
                if key in block:
                    mean[i, j] = c[j] + (block[key] - c[j]) * shrink
                    fixed[i, j] = True
        others = _earlier_points(req, keys, c)
        explore = req.differ and len(others) > 0
        for i in range(b):
            free = ~fixed[i]
            if not free.any():
                continue
            if not explore:
                mean[i, free] = c[free] + rng.normal(0.0, knobs.collapse_sd, int(free.sum()))
                continue
            cands = np.repeat(mean[i : i + 1], knobs.explore_candidates, axis=0)
            cands[:, free] = c[free] + rng.normal(
                0.0, knobs.explore_sd, (knobs.explore_candidates, int(free.sum()))
            )
            ref = np.vstack([others] + ([mean[:i]] if i else []))
            d = np.min(np.linalg.norm(cands[:, None, :] - ref[None, :, :], axis=2), axis=1)
            mean[i] = cands[int(np.argmax(d))]
        names = (None,) * b
        ages = (None,) * b
        noise_sd = knobs.noise_sd
        mean = _leak(mean, keys, c, lam, hold)
    Z = mean
    if b > 1 and knobs.anchor > 0:
        beta = knobs.anchor * (1.0 - 1.0 / b)
        Z = (1.0 - beta) * Z + beta * Z.mean(axis=0, keepdims=True)
    Z = np.clip(Z + rng.normal(0.0, noise_sd, Z.shape), 0.0, 1.0)
    vivid = req.emphasis > 0
    return Realised(axes, Z, names, ages, req.expand, vivid)


def _earlier_points(req: Request, keys: list[str], c: np.ndarray) -> np.ndarray:
    if not req.earlier or not keys:
        return np.empty((0, len(keys)))
    return np.array([[p.traits.get(key, c[j]) for j, key in enumerate(keys)] for p in req.earlier])


def write_reply(
    req: Request, real: Realised, rng: np.random.Generator, *, ledger: SimLedger | None = None
) -> str:
    """The reply in the format ``req`` asks for (:mod:`generators.sim.formats`): text blocks
    (:func:`write_personas`) or JSON personas; the descriptions are the same either way."""
    if req.output != "json":
        return write_personas(real, rng, ledger=ledger)
    blocks = _persona_texts(real, rng, ledger)
    people = []
    for i, (name, age, description) in enumerate(blocks):
        given = req.targets[i] if i < len(req.targets) and not real.expanded else {}
        written = req.target_names[i] if i < len(req.target_names) else {}
        positions: dict[str, object] = {}
        axes = []
        for j, axis in enumerate(real.axes):
            key = norm_axis(axis.name)
            label = written.get(key, axis.name)
            positions[label] = round(given[key], 3) if key in given else level_label(float(real.Z[i, j]))
            axes.append((label, float(real.Z[i, j]), given.get(key)))
        people.append(PersonaContent(name, age, description, positions, tuple(axes)))
    objects = persona_objects(people, req.json_fields, req.json_shapes)
    return json_reply(objects, req.json_style, req.json_wrapper)


def _persona_texts(
    real: Realised, rng: np.random.Generator, ledger: SimLedger | None
) -> list[tuple[str, int, str]]:
    """(name, age, description) per persona; each description is registered with ``ledger``."""
    out = []
    for i in range(real.Z.shape[0]):
        name = real.names[i] or f"{pick(FIRST_NAMES, rng)} {pick(LAST_NAMES, rng)}"
        age = real.ages[i] or int(rng.integers(19, 85))
        first = name.split()[0]
        parts = [
            f"{SIM_TAG} {'(expanded) ' if real.expanded else ''}{name}, {age}, {pick(BIO_CLAUSES, rng)}."
        ]
        if real.expanded:
            parts.append(pick(BACKGROUNDS, rng))
        for j, axis in enumerate(real.axes):
            parts.append(trait_sentence(axis.name, first, float(real.Z[i, j]), axis.low, axis.high))
        if real.vivid or real.expanded:
            parts.append(pick(DETAILS, rng))
        description = " ".join(parts)
        if ledger is not None:
            ledger.register(description)
        out.append((name, age, description))
    return out


def write_personas(real: Realised, rng: np.random.Generator, *, ledger: SimLedger | None = None) -> str:
    """The reply text: one block per persona (``[SIMULATED] Persona i`` / ``Name:`` /
    ``Description:``), each description one line starting with ``[SIMULATED]``. Each
    description is registered with ``ledger`` (when given) as one persona."""
    return "\n\n".join(
        f"{SIM_TAG} Persona {i + 1}\nName: {name}\nDescription: {description}"
        for i, (name, _, description) in enumerate(_persona_texts(real, rng, ledger))
    )
