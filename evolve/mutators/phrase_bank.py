"""Generic prompt-writing fragments for the offline mutator.

This bank stands in for an LLM's prior about prompt wording: the kind of sentence a model
would add when asked to improve a persona-generation prompt. It deliberately mixes
fragments that help population diversity (emphatic, concrete, per-persona
differentiation) with ones that hurt it (hedging, balance, realism, avoiding extremes),
because a real model proposes both and the search has to sort them out. The bank carries
no labels: the mutator does not know which is which.

Every fragment is one sentence of plain ASCII without quotes, backslashes or braces, so it
can be inserted verbatim into any string literal, f-string included.
"""

from __future__ import annotations

__all__ = ["PHRASES"]

PHRASES: tuple[str, ...] = (
    # emphatic and concrete
    "State each trait bluntly and concretely; do not soften extreme positions.",
    "Make every persona unmistakably different from the others.",
    "Give one vivid concrete behaviour that shows each trait.",
    "If a target is extreme, write the persona at that extreme without hedging.",
    "Describe what this person actually does, not what they might think.",
    "Use strong, specific language for every position on every axis.",
    "Do not move any persona toward the middle of an axis.",
    "Treat each target position as exact and non-negotiable.",
    "Include at least one persona whose combination of traits is rare.",
    "Let each persona hold its positions with conviction.",
    "Write each persona as a specific individual with a name, age and occupation.",
    "Mention each axis explicitly in every persona description.",
    "Contrast each persona with the previous one on at least one axis.",
    "Cover the full range of every axis, including both ends.",
    "Prefer surprising but plausible combinations of traits.",
    # neutral or style only
    "Keep each description under one hundred words.",
    "Write in the third person and the present tense.",
    "Return only the requested JSON and nothing else.",
    "Use plain, everyday language.",
    "Start each description with the persona name.",
    # hedging, centring, homogenising
    "Keep the personas realistic and balanced.",
    "Avoid controversial or extreme traits.",
    "Make sure every persona is likeable and reasonable.",
    "Most people hold moderate views, so reflect that.",
    "Be nuanced and acknowledge that people have mixed opinions.",
    "Write the personas in a consistent, uniform style.",
    "Focus on typical, representative members of the population.",
    "Avoid stereotypes by keeping traits mild and understated.",
    "Be careful not to exaggerate any characteristic.",
    "Make the personas broadly similar so they are easy to compare.",
)
