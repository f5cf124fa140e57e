"""The directive library: one high-level instruction is drawn per mutation.

Directives steer what kind of change the mutator attempts, so that proposals do not
all explore the same neighbourhood. Each has a short ``key`` (stored with the program)
and the text that goes into the prompt. ``hint`` is a coarse operator preference used
by the offline mutator (``constants``, ``phrasing``, ``structure``, ``simplify``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Directive:
    key: str
    text: str
    hint: str


DIRECTIVES: tuple[Directive, ...] = (
    Directive("rewrite_stage1", "Rewrite stage 1 (how the population is laid out on the axes) with a better space-filling design.", "structure"),
    Directive("stage2_phrasing", "Change how stage 2 phrases each trait so the persona's position on every axis is unmistakable.", "phrasing"),
    Directive("anti_clustering", "Add an anti-clustering step: push planned positions apart so no two personas are close.", "structure"),
    Directive("empty_regions", "Target the empty regions of the axis space that the current personas leave uncovered.", "structure"),
    Directive("contradictory", "Make personas internally contradictory: combine traits that people rarely expect together.", "phrasing"),
    Directive("simplify", "Simplify the program: remove steps that do not help coverage.", "simplify"),
    Directive("extremes", "Reach the extremes: make sure some personas sit at the far poles of each axis, stated bluntly.", "constants"),
    Directive("de_soften", "Counter the model's tendency to soften extreme positions toward the centre.", "phrasing"),
    Directive("decorrelate", "Reduce correlation between axes: positions on one axis must not predict another.", "phrasing"),
    Directive("batching", "Change how many personas are written per call to avoid personas anchoring on each other.", "constants"),
    Directive("temperature", "Tune the sampling temperature and other numeric settings.", "constants"),
    Directive("concrete_details", "Give each persona one concrete behaviour that shows each trait, instead of adjectives.", "phrasing"),
    Directive("corners", "Cover the corners of the axis space: combinations of extreme values on several axes.", "constants"),
    Directive("tails_share", "Increase the share of personas with at least one trait in the outer tenth of its range.", "constants"),
    Directive("restate_targets", "Restate each persona's target positions in stage 2 in plain words, not only numbers.", "phrasing"),
    Directive("level_words", "Change the vocabulary that maps numeric targets to words (very low ... very high).", "phrasing"),
    Directive("independent_axes", "Tell the model explicitly that the axes are independent of each other.", "phrasing"),
    Directive("fewer_calls", "Spend fewer tokens per persona without losing coverage.", "simplify"),
    Directive("crossover", "Combine the best ideas of the inspiration programs into the parent.", "crossover"),
    Directive("robust_parsing", "Make parsing of model replies robust so every persona keeps its intended position.", "structure"),
    Directive("diverse_voices", "Vary the voice, background and circumstances of personas so none reads like a default.", "phrasing"),
    Directive("stretch", "Stretch the planned targets toward the poles to compensate for the model's pull to the centre.", "constants"),
)


def directive_by_key(key: str) -> Directive:
    """Look up a directive; raises KeyError naming the unknown key."""
    for directive in DIRECTIVES:
        if directive.key == key:
            return directive
    raise KeyError(f"unknown directive '{key}'")


def draw_directive(rng: np.random.Generator) -> Directive:
    """One directive, uniformly at random."""
    return DIRECTIVES[int(rng.integers(len(DIRECTIVES)))]
