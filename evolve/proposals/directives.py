"""The directive library: one high-level instruction is drawn per mutation.

Directives steer what kind of change the mutator attempts, so that proposals do not
all explore the same neighbourhood. Each has a short ``key`` (stored with the program)
and the text that goes into the prompt. ``hint`` is a coarse operator preference used
by the offline mutator (``constants``, ``phrasing``, ``structure``, ``simplify``).

A directive may ``need`` features of the parent's code (:func:`code_features`): "push
planned positions apart" means nothing to a program that plans no positions, so
:func:`applicable` leaves it out for such a parent (issue 13: prompts that tell the truth).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

import numpy as np


@dataclass(frozen=True)
class Directive:
    """``needs``: features (:data:`FEATURES`) the parent's code must have for it to apply."""

    key: str
    text: str
    hint: str
    needs: tuple[str, ...] = ()


FEATURES: dict[str, re.Pattern[str]] = {
    # the program places personas at planned positions (targets) before writing them
    "planned_positions": re.compile(r"\b(targets?|qmc|sobol|halton|latin|lhs)\b", re.IGNORECASE),
    # it writes several personas per model call
    "batches": re.compile(r"\bBATCH|\bbatch", re.IGNORECASE),
    # a sampling temperature or other numeric settings
    "numeric_settings": re.compile(r"^\s*[A-Z][A-Z0-9_]*\s*=\s*-?\d", re.MULTILINE),
    # a second stage that expands each persona on its own
    "stage2": re.compile(r"\b(expand|stage ?2|sketch)", re.IGNORECASE),
    # numeric targets turned into words
    "level_words": re.compile(r"LEVEL_WORDS|level\(", re.IGNORECASE),
    # parses model replies
    "parsing": re.compile(r"\bparse|\.split\(|re\.|json\.loads", re.IGNORECASE),
    # calls the model at all
    "llm_calls": re.compile(r"\bllm\.complete"),
}
"""Regular expressions over the program text, one per feature a directive may need."""


_BLOCK = re.compile(r"# EVOLVE-BLOCK-START(.*?)# EVOLVE-BLOCK-END", re.DOTALL)


def code_features(code: str) -> frozenset[str]:
    """The :data:`FEATURES` that ``code`` shows inside its EVOLVE-BLOCKs (the whole text
    when it has none): what a mutation may act on, not what a docstring mentions."""
    blocks = _BLOCK.findall(code)
    text = "\n".join(blocks) if blocks else code
    return frozenset(name for name, pattern in FEATURES.items() if pattern.search(text))


DIRECTIVES: tuple[Directive, ...] = (
    Directive(
        "rewrite_stage1",
        "Rewrite stage 1 (how the population is laid out on the axes) with a better space-filling design.",
        "structure",
    ),
    Directive(
        "stage2_phrasing",
        "Change how stage 2 phrases each trait so the persona's position on every axis is unmistakable.",
        "phrasing",
    ),
    Directive(
        "anti_clustering",
        "Add an anti-clustering step: push planned positions apart so no two personas are close.",
        "structure",
        ("planned_positions",),
    ),
    Directive(
        "empty_regions",
        "Target the empty regions of the axis space that the current personas leave uncovered.",
        "structure",
    ),
    Directive(
        "contradictory",
        "Make personas internally contradictory: combine traits that people rarely expect together.",
        "phrasing",
    ),
    Directive("simplify", "Simplify the program: remove steps that do not help coverage.", "simplify"),
    Directive(
        "extremes",
        "Reach the extremes: make sure some personas sit at the far poles of each axis, stated bluntly.",
        "constants",
    ),
    Directive(
        "de_soften", "Counter the model's tendency to soften extreme positions toward the centre.", "phrasing"
    ),
    Directive(
        "decorrelate",
        "Reduce correlation between axes: positions on one axis must not predict another.",
        "phrasing",
    ),
    Directive(
        "batching",
        "Change how many personas are written per call to avoid personas anchoring on each other.",
        "constants",
        ("batches",),
    ),
    Directive(
        "temperature",
        "Tune the sampling temperature and other numeric settings.",
        "constants",
        ("numeric_settings",),
    ),
    Directive(
        "concrete_details",
        "Give each persona one concrete behaviour that shows each trait, instead of adjectives.",
        "phrasing",
    ),
    Directive(
        "corners",
        "Cover the corners of the axis space: combinations of extreme values on several axes.",
        "constants",
        ("planned_positions",),
    ),
    Directive(
        "tails_share",
        "Increase the share of personas with at least one trait in the outer tenth of its range.",
        "constants",
    ),
    Directive(
        "restate_targets",
        "Restate each persona's target positions in stage 2 in plain words, not only numbers.",
        "phrasing",
        ("planned_positions", "stage2"),
    ),
    Directive(
        "level_words",
        "Change the vocabulary that maps numeric targets to words (very low ... very high).",
        "phrasing",
        ("level_words",),
    ),
    Directive(
        "independent_axes",
        "Tell the model explicitly that the axes are independent of each other.",
        "phrasing",
    ),
    Directive(
        "fewer_calls", "Spend fewer tokens per persona without losing coverage.", "simplify", ("llm_calls",)
    ),
    Directive(
        "crossover",
        "Combine the best ideas of the inspiration programs into the parent.",
        "crossover",
        ("inspirations",),
    ),
    Directive(
        "robust_parsing",
        "Make parsing of model replies robust so every persona keeps its intended position.",
        "structure",
        ("parsing",),
    ),
    Directive(
        "diverse_voices",
        "Vary the voice, background and circumstances of personas so none reads like a default.",
        "phrasing",
    ),
    Directive(
        "stretch",
        "Stretch the planned targets toward the poles to compensate for the model's pull to the centre.",
        "constants",
        ("planned_positions",),
    ),
)


def directive_by_key(key: str) -> Directive:
    """Look up a directive; raises KeyError naming the unknown key."""
    for directive in DIRECTIVES:
        if directive.key == key:
            return directive
    raise KeyError(f"unknown directive '{key}'")


def applicable(
    code: str, *, inspirations: int = 0, directives: Sequence[Directive] = DIRECTIVES
) -> tuple[Directive, ...]:
    """The directives whose ``needs`` the parent's ``code`` meets (``inspirations``: how
    many inspiration programs the prompt shows; ``crossover`` needs one). Never empty:
    the directives that need nothing always apply."""
    features = set(code_features(code))
    if inspirations > 0:
        features.add("inspirations")
    return tuple(d for d in directives if set(d.needs) <= features)


def draw_directive(rng: np.random.Generator, *, code: str | None = None, inspirations: int = 0) -> Directive:
    """One directive, uniformly at random; among those :func:`applicable` to ``code`` when
    it is given (else among all)."""
    pool = DIRECTIVES if code is None else applicable(code, inspirations=inspirations)
    return pool[int(rng.integers(len(pool)))]
