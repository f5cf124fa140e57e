"""A general vocabulary of writing instructions for the offline mutator.

It stands in for an LLM's prior about prompt wording: the sentences a prompt engineer
adds when asked to improve a prompt that writes a population of people. It is written
from that brief, not from the simulated world's cue lists (a test keeps the two disjoint
as phrases and checks that no instruction is a bag of cue words), so a gain found with it
measures search, not a dictionary shared with the test bed. Like a real model's advice it
mixes instructions that help a population cover its space with ones that hurt it, and
many that are neutral; the bank carries no labels and the mutator does not know which is
which.

Topics (:data:`TOPICS`): specificity, concreteness, contrast, range and extremity,
restraint, fidelity to the brief, trait combinations, voice, format, length, grounding
in the setting, audience and purpose, naming and demographics, process.

Every instruction is one sentence of plain ASCII with no quotes, apostrophes,
backslashes, braces or colons, ending with a period, so it can be inserted verbatim into
any string literal (f-strings included) and never reads as a target line.
"""

from __future__ import annotations

__all__ = ["PHRASES", "TOPICS"]

TOPICS: dict[str, tuple[str, ...]] = {
    "specificity": (
        "Replace every general adjective with a specific habit or decision.",
        "Name the exact situation in which each person shows their stance.",
        "Prefer precise verbs over abstract nouns.",
        "Give each person one particular opinion they would defend in an argument.",
        "State how strongly each person holds each view, in plain words.",
        "Say what each person would do, not only what they feel.",
        "Avoid vague qualifiers such as somewhat, fairly or kind of.",
    ),
    "concreteness": (
        "Ground every trait in a concrete example from daily life.",
        "Show each stance through an action the person has actually taken.",
        "Mention one object, place or routine that reveals each person.",
        "Describe a recent choice that shows where the person stands.",
        "Use sensory detail sparingly and only where it reveals character.",
    ),
    "contrast": (
        "Make each person clearly distinguishable from every other person in the list.",
        "No two people should share the same combination of views.",
        "Before writing each person, check that they differ from those already written.",
        "Let neighbouring people in the list disagree with each other.",
        "Vary the people as much as the brief allows.",
        "Give each person a stance nobody else in the group takes.",
    ),
    "range": (
        "Spread the people across the whole span of each dimension.",
        "Include people at both ends of every dimension, not only near the middle.",
        "Let some people hold their views with total conviction.",
        "Write strong positions as strong, without qualifiers.",
        "Some people should sit at the far edge of what the setting allows.",
        "If a position is extreme, write it at full strength.",
        "Do not pull anyone toward the average.",
    ),
    "restraint": (
        "Keep every person grounded and believable.",
        "Avoid caricatures and cartoonish exaggeration.",
        "Most people hold mixed views, so show some ambivalence.",
        "Keep the tone calm and even throughout.",
        "Temper strong opinions with some self-doubt.",
        "Steer clear of anything that could read as offensive.",
        "Keep the descriptions gentle and respectful.",
        "Aim for people one might meet on an ordinary day.",
    ),
    "fidelity": (
        "Follow the requested position on each dimension exactly.",
        "Treat the given numbers as the ground truth for each person.",
        "Do not drift from the stated targets while adding detail.",
        "Mention every dimension explicitly for every person.",
        "Keep the same person and the same views when adding detail.",
        "Check each description against its target before moving on.",
    ),
    "combinations": (
        "Do not assume that views on different dimensions go together.",
        "Let each dimension vary on its own for each person.",
        "Include people whose views pull in opposite directions.",
        "Avoid pairing traits just because they often appear together.",
        "Some people should combine traits that rarely meet.",
    ),
    "voice": (
        "Write in the third person and the present tense.",
        "Use plain, everyday language.",
        "Let each description sound like it was written by someone who knows the person.",
        "Write with confidence and avoid hedging words.",
        "Use short, direct sentences.",
        "Keep a neutral, descriptive register.",
        "Give each person a distinctive way of speaking.",
        "Write the way a journalist profiles a source.",
    ),
    "format": (
        "Follow the requested output format exactly.",
        "Start each description with the name of the person.",
        "Put each person in a separate block.",
        "Return only the requested text and nothing else.",
        "Do not add headings, commentary or notes.",
        "Keep each description to a single paragraph.",
    ),
    "length": (
        "Keep each description under one hundred words.",
        "Be brief and cut every sentence that adds nothing.",
        "Use every sentence to reveal something new about the person.",
        "Prefer fewer, sharper sentences over many soft ones.",
    ),
    "setting": (
        "Tie each person to the setting described above.",
        "Mention the role each person plays in this setting.",
        "Show how the setting shapes each view.",
        "Use vocabulary that people in this setting would use.",
    ),
    "audience": (
        "These people will be used to stress-test a system, so coverage matters more than charm.",
        "Rare people are as important as common ones for this study.",
        "The goal is a population that spans the space, not a representative sample.",
        "Write for a researcher who needs to tell the people apart at a glance.",
        "Assume the reader will compare the people side by side.",
    ),
    "naming": (
        "Give each person a full name, an age and an occupation.",
        "Vary ages, backgrounds and occupations across the group.",
        "Avoid reusing first names within the group.",
        "Choose names that fit the setting.",
    ),
    "process": (
        "Think about where each person sits before writing them.",
        "Plan the whole group first, then write each person.",
        "Reread each description and sharpen any soft wording.",
        "Write the most unusual person first.",
        "Take the brief literally.",
    ),
}
"""Instructions by topic (the topic names are documentation; the mutator uses :data:`PHRASES`)."""

PHRASES: tuple[str, ...] = tuple(p for group in TOPICS.values() for p in group)
"""Every instruction of :data:`TOPICS`, in topic order."""
