"""Named worlds: simulated model families, each a documented set of :class:`SimKnobs`.

A real model differs from the default sim in what moves it, and a search tuned to one
model's quirks may not carry to another. Each world stands for one way model families
differ, and changes only the knobs its line names (everything else is the default):

* ``default`` — the sim as calibrated (``scripts/calibrate_sim.py``).
* ``literal`` — no wording moves it: emphasis and softening words do nothing; only
  structure (per-persona targets, listing earlier personas to differ from) and explicit
  numbers do.
* ``other-words`` — another family's vocabulary: the default's emphasis and softening
  words do nothing, a different set does (``generators.sim.vocabulary.VOCABULARIES``).
* ``collapsed`` — collapses harder and softens more: tighter mode collapse, stronger pull
  of stated targets to the centre, more batch anchoring and cross-axis leakage.
* ``yea-sayer`` — a respondent with acquiescence bias (+0.5 scale points on every answer)
  and more central tendency.
* ``extreme-responder`` — a respondent that answers toward the scale ends.
* ``chatty`` — format habits: JSON replies in code fences and wrapped in prose.

Worlds are chosen by name (``[world] preset`` in ``run.toml``; ``--world`` on ``run``,
``generate`` and ``score``; ``persona-evolve worlds`` lists them).
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass
from typing import Any

from generators.sim.knobs import SimKnobs

DEFAULT_WORLD = "default"


class UnknownWorld(ValueError):
    """A world name that is not in :data:`WORLDS`; the message is one line."""


@dataclass(frozen=True)
class World:
    """One simulated model family: ``name``, a one-line ``summary`` of how it differs, the
    ``knobs`` it runs with, and ``changes``: the knob names it sets apart from the default."""

    name: str
    summary: str
    knobs: SimKnobs
    changes: tuple[str, ...]


def _world(name: str, summary: str, **changes: Any) -> World:
    return World(
        name=name,
        summary=summary,
        knobs=dataclasses.replace(SimKnobs(), **changes),
        changes=tuple(sorted(changes)),
    )


WORLDS: dict[str, World] = {
    w.name: w
    for w in (
        _world(
            DEFAULT_WORLD,
            "the calibrated sim: emphasis and softening words move it, mode collapse, "
            "softened extremes, noise, leakage, batch anchoring",
        ),
        _world(
            "literal",
            "no wording moves it: only structure (per-persona targets, earlier personas to "
            "differ from) and explicit numbers",
            cue_vocabulary="none",
        ),
        _world(
            "other-words",
            "another family's vocabulary: the default's emphasis/softening words do nothing, others do",
            cue_vocabulary="alternate",
        ),
        _world(
            "collapsed",
            "collapses harder and softens more: tighter collapse, stronger pull to the centre, "
            "more anchoring and leakage",
            collapse_sd=0.01,
            explore_sd=0.10,
            shrink_base=0.60,
            shrink_min=0.40,
            shrink_max=0.90,
            anchor=0.40,
            leak=0.30,
        ),
        _world(
            "yea-sayer",
            "a respondent with acquiescence bias (+0.5 scale points) and more central tendency",
            acquiescence=0.5,
            central_tendency=0.25,
        ),
        _world(
            "extreme-responder",
            "a respondent that answers toward the scale ends",
            extreme_responding=0.35,
            central_tendency=0.05,
        ),
        _world(
            "chatty",
            "format habits: JSON replies in code fences (70 %) and wrapped in prose (50 %)",
            json_fence=0.7,
            json_chatter=0.5,
        ),
    )
}
"""Every named world, the default first."""


def get_world(name: str) -> World:
    """The world called ``name``; raises :class:`UnknownWorld` (one line, with the closest
    name when there is one)."""
    try:
        return WORLDS[name]
    except KeyError:
        close = difflib.get_close_matches(str(name), list(WORLDS), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise UnknownWorld(f"unknown world {name!r} (known: {', '.join(WORLDS)}){hint}") from None
