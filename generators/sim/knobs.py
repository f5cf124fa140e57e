"""Pathology strengths of the simulated world (model ``sim``).

Every number here is a documented, generic knob: nothing is keyed to a context, an axis
or a program. The defaults make the problem hard (see ``scripts/calibrate_sim.py``):
a one-shot "be diverse" request collapses, batched sketches spread a little, and even
space-filling numeric targets come out softened, correlated and noisy.

Positions are latent values in [0, 1] per axis (0 = low pole, 1 = high pole).
"""

from __future__ import annotations

from dataclasses import dataclass

from generators.sim.vocabulary import VOCABULARIES


@dataclass(frozen=True)
class SimKnobs:
    """Strength of each pathology of the simulated persona writer and respondent.

    Persona writer (roles ``persona`` / ``author``):

    * ``default_offset`` — the "polite centre" c_k is ``0.5 + u * default_offset`` with
      ``u`` in [-1, 1] a stable hash of the axis name.
    * ``collapse_sd`` — (1) mode collapse: sd of untargeted positions around c when the
      request gives no per-persona targets and nothing to differ from.
    * ``explore_sd`` / ``explore_candidates`` — untargeted positions when the prompt lists
      earlier personas and asks to differ from them: the sim draws this many candidates
      around c with this sd and keeps the one farthest from the listed personas.
    * ``shrink_base`` — (2) softened extremes: a target t is realised as
      ``c + (t - c) * shrink``; this is the shrink of a plain request.
    * ``shrink_max`` / ``shrink_min`` — limits approached with many emphasis cues (emphatic,
      concrete wording: up to no softening at all) or many softening cues ("balanced",
      "realistic", ...).
    * ``cue_scale`` — diminishing returns of cues: the shrink moves by
      ``1 - exp(-cues / cue_scale)`` of the way to its limit (distinct cues only).
    * ``noise_sd`` — (3) run-to-run noise: gaussian sd on every realised position,
      drawn from the call seed.
    * ``leak`` — (4) identity-congruent correlation:
      ``z_k <- z_k - leak (1 - h) (z_k - c_k) + leak * s (z_j - c_j)`` with j the next axis
      in the prompt's axis order, s = +1 or -1 (a hash of the two names) and h the
      emphasis pull in [0, 1) (``1 - exp(-net emphasis cues / cue_scale)``, 0 without net
      emphasis): a plain request compromises the axis toward its partner, an emphatic one
      keeps its own value but still picks up the partner's deviation. Independence cues
      halve ``leak``. New personas and restated targets leak; copying an earlier text does not.
    * ``anchor`` — (5) batch anchoring: personas written in one call move toward the call's
      mean by ``anchor * (1 - 1/B)`` for a call writing B personas (none when B = 1).
    * ``expand_shrink`` / ``expand_noise_sd`` — stage-2 drift: rewriting an earlier persona
      text re-applies this softening toward c and this noise; emphasis cues move the
      shrink toward 1, softening cues toward ``expand_shrink_min``.
    * ``restate_weight`` — in an expansion that restates explicit targets, the weight of
      the (softened) targets against the decoded earlier text.
    * ``max_personas`` — the most personas one call writes (bounds the work of a call).
    * ``context_chars`` — the simulated context window, in characters of all messages of
      one call: a longer request is refused as a real model's would be.
    * ``cue_vocabulary`` — which words move the writer (a name in
      :data:`generators.sim.vocabulary.VOCABULARIES`): ``default``, ``alternate`` (another
      family's emphasis/softening words; the default's do nothing) or ``none`` (no wording
      moves it: only structure and explicit numbers).

    Format habits (both roles; a reply that is JSON):

    * ``json_fence`` — probability that a JSON reply comes inside a markdown code fence.
    * ``json_chatter`` — probability that a JSON reply comes with a sentence of prose before
      and after it.

    Respondent (``SimRespondent``):

    * ``central_tendency`` — share of the way each answer is pulled to the scale midpoint.
    * ``item_sd`` — sd, in scale points, of each item's idiosyncratic offset (hash of the
      item text; the same for every persona).
    * ``answer_noise_sd`` — sd, in scale points, of per-answer noise.
    * ``guess_spread`` — half-width of the band around c in which falls the latent an
      answerer guesses for an axis the persona text says nothing about (vague text): a
      stable hash of the text's words and the axis picks the point, and such an axis gets
      no answer noise, so the same text always gets the same answers, near the middle, as a
      real model answers a bland persona (:func:`generators.sim.answering.vague_guess`).
    * ``pole_consistency`` / ``pole_start`` — saturating extremes: for a stated position
      whose distance from the middle ``|2z - 1|`` exceeds ``pole_start``, the item offset
      and answer noise shrink, linearly up to ``pole_consistency`` of their size at the
      pole (a persona stated as "extremely X" answers the scale end on nearly every item,
      as LLM respondents do; a "very strongly" persona is not affected by default).
    * ``acquiescence`` — agreement bias, in scale points added to every answer whatever
      the item's keying (in [-1, 1]; a yea-sayer is positive).
    * ``extreme_responding`` — share of the way every answer moves to the nearer end of
      the scale after the central tendency (in [0, 1]; an extreme responder).
    * ``call_halo_sd`` — sd, in scale points, of one response-style offset shared by all
      answers the ``respondent`` role gives in one call (a numbered list or a JSON
      questionnaire; a one-statement call has none). An assumption of the test bed: answers
      written in one generation lean together. ``SimRespondent`` answers item by item and
      has none.
    """

    default_offset: float = 0.15
    collapse_sd: float = 0.02
    explore_sd: float = 0.15
    explore_candidates: int = 4
    shrink_base: float = 0.72
    shrink_max: float = 1.0
    shrink_min: float = 0.50
    cue_scale: float = 2.5
    noise_sd: float = 0.03
    leak: float = 0.20
    anchor: float = 0.25
    expand_shrink: float = 0.90
    expand_shrink_min: float = 0.70
    expand_noise_sd: float = 0.04
    restate_weight: float = 0.6
    max_personas: int = 60
    context_chars: int = 120_000
    central_tendency: float = 0.15
    item_sd: float = 0.25
    answer_noise_sd: float = 0.18
    guess_spread: float = 0.03
    pole_consistency: float = 0.7
    pole_start: float = 0.8
    call_halo_sd: float = 0.15
    cue_vocabulary: str = "default"
    acquiescence: float = 0.0
    extreme_responding: float = 0.0
    json_fence: float = 0.0
    json_chatter: float = 0.0

    def __post_init__(self) -> None:
        for name in (
            "collapse_sd",
            "explore_sd",
            "noise_sd",
            "expand_noise_sd",
            "item_sd",
            "answer_noise_sd",
            "guess_spread",
            "default_offset",
            "call_halo_sd",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"SimKnobs.{name} must be >= 0, got {getattr(self, name)}")
        for name in (
            "shrink_base",
            "shrink_max",
            "shrink_min",
            "leak",
            "anchor",
            "expand_shrink",
            "restate_weight",
            "central_tendency",
            "expand_shrink_min",
            "pole_consistency",
            "pole_start",
            "extreme_responding",
            "json_fence",
            "json_chatter",
        ):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"SimKnobs.{name} must be in [0, 1], got {value}")
        if not self.shrink_min <= self.shrink_base <= self.shrink_max:
            raise ValueError("SimKnobs: need shrink_min <= shrink_base <= shrink_max")
        if not -1.0 <= self.acquiescence <= 1.0:
            raise ValueError(
                f"SimKnobs.acquiescence must be in [-1, 1] scale points, got {self.acquiescence}"
            )
        if self.cue_vocabulary not in VOCABULARIES:
            raise ValueError(
                f"SimKnobs.cue_vocabulary must be one of {', '.join(VOCABULARIES)}, "
                f"got {self.cue_vocabulary!r}"
            )
        if (
            self.cue_scale <= 0
            or self.explore_candidates < 1
            or self.max_personas < 1
            or self.context_chars < 1
        ):
            raise ValueError("SimKnobs: cue_scale > 0, explore_candidates >= 1, max_personas >= 1")
