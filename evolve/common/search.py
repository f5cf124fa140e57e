"""The switches of the search (issue 13): how the loop spends its evaluations.

:class:`SearchSettings` is the ``[search]`` table of the run config
(:attr:`evolve.config.RunConfig.search`, one key per field, these defaults) and is given to
:class:`evolve.loop.controller.Controller`. Each switch can be turned off to measure what it buys
(``scripts/bench_search.py --variants``): :data:`VARIANTS` adds them in turn.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


class SearchSettingError(ValueError):
    """One bad :class:`SearchSettings` field: ``key`` names it, ``reason`` says what is
    wrong (the config reports it as ``search.<key>: <reason>``)."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"SearchSettings.{key}: {reason}")
        self.key = key
        self.reason = reason


@dataclass(frozen=True)
class SearchSettings:
    """How candidates are compared, promoted, chosen as parents and prompted.

    ``paired``: every program is scored at replicate r with the same seeds on every context
    (common random numbers, :mod:`evolve.common.evaluation_seeds`), so a child and its parent are compared
    on equal terms; off: a fresh seed per evaluation. ``promotion``: a program becomes an
    island's best (and then the champion) only after a race on more replicates establishes
    its advantage (:mod:`evolve.promotion.race_rule`) at ``confidence`` (in (0, 1)) within
    ``max_replicates`` replicates (>= 1, replicate 0 included); needs ``paired``.
    ``champion_replicates``: replicates the first champion (the best seed) is measured on,
    for its interval. ``selection``: ``balanced`` weighs quality, novelty and yield
    (:class:`archive.selection.Balanced`); ``config`` uses the run's
    ``mutation.parent_strategy``. ``truthful_prompts``: the prompt shows the parent's own
    errors only (children's failures labelled as such, with their code) and directives that
    apply to the parent's code; off: the earlier prompt. ``twins``: a child whose personas
    place exactly where its parent's did on every smoke context, at the same seeds, is
    rejected before the rest of the train set (:mod:`evolve.loop.twins`; it is not an evaluation);
    acts only with ``paired`` and a smoke stage (``cascade.smoke_contexts`` and
    ``cascade.threshold`` > 0).
    ``restore_on_loss`` (acts only with ``promotion``): a child that took the cell of its island's
    established best on replicate 0 and then lost its promotion race gives the cell back
    (:meth:`archive.core.Archive.restore_elite`); off (the default): it keeps the cell, and
    the established best leaves the grid and can no longer be a parent. On, proposals from
    race losers fell from 31 % to 9-25 %, but the champion's gain did not rise
    (``scripts/bench_headline.py``, run seeds 0 and 3, 60 evaluations), so it is off.

    Spend per call (issue 22, item 5): ``static_twins``: a child whose edit provably changes
    nothing that runs (:mod:`evolve.loop.inert`: a constant nothing reads, unreachable code, the
    order of module constants) is rejected as a ``twin`` before any LLM call of its own.
    ``reach``: a promotion race is run only when the candidate's advantage on the draw already
    known can be established at all within ``max_replicates`` (:func:`evolve.promotion.reach.within_reach`).
    ``adaptive``: a race stops as soon as its outcome is settled
    (:class:`evolve.promotion.reach.AdaptiveRule`).

    ``champion_share`` in [0, 1] (issue 22, item 3): the share of proposals whose parent is
    the run's champion rather than an elite drawn from the island's grid
    (:class:`evolve.loop.parent_policy.ParentPolicy`); 0 turns it off.
    """

    paired: bool = True
    promotion: bool = True
    confidence: float = 0.8
    max_replicates: int = 6
    champion_replicates: int = 3
    selection: str = "balanced"
    truthful_prompts: bool = True
    twins: bool = True
    restore_on_loss: bool = False
    static_twins: bool = True
    reach: bool = False
    adaptive: bool = False
    champion_share: float = 0.25

    def __post_init__(self) -> None:
        """Raises :class:`SearchSettingError` naming the first bad field."""
        if not 0.0 <= self.champion_share <= 1.0:
            raise SearchSettingError("champion_share", f"must be in [0, 1], got {self.champion_share!r}")
        if not 0.0 < self.confidence < 1.0:
            raise SearchSettingError("confidence", f"must be in (0, 1), got {self.confidence!r}")
        for key in ("max_replicates", "champion_replicates"):
            if getattr(self, key) < 1:
                raise SearchSettingError(key, f"must be >= 1, got {getattr(self, key)!r}")
        if self.selection not in ("balanced", "config"):
            raise SearchSettingError("selection", f"must be 'balanced' or 'config', got {self.selection!r}")
        if self.promotion and not self.paired:
            raise SearchSettingError(
                "promotion",
                "needs paired = true (races compare on common seeds); turn promotion off to turn paired off",
            )


DEFAULT_SEARCH = SearchSettings()

BASELINE = SearchSettings(
    paired=False,
    promotion=False,
    selection="config",
    truthful_prompts=False,
    twins=False,
    static_twins=False,
    reach=False,
    adaptive=False,
    champion_share=0.0,
)
"""The loop before issue 13."""

VARIANTS: dict[str, SearchSettings] = {
    "baseline": BASELINE,
    "paired": replace(BASELINE, paired=True),
    "promotion": replace(BASELINE, paired=True, promotion=True),
    "selection": replace(BASELINE, paired=True, promotion=True, selection="balanced"),
    "prompts": replace(BASELINE, paired=True, promotion=True, selection="balanced", truthful_prompts=True),
    "twins": replace(
        BASELINE, paired=True, promotion=True, selection="balanced", truthful_prompts=True, twins=True
    ),
    "static_twins": replace(
        DEFAULT_SEARCH, static_twins=True, reach=False, adaptive=False, champion_share=0.0
    ),
    "reach": replace(DEFAULT_SEARCH, static_twins=False, reach=True, adaptive=False, champion_share=0.0),
    "adaptive": replace(DEFAULT_SEARCH, static_twins=False, reach=False, adaptive=True, champion_share=0.0),
    "spend": replace(DEFAULT_SEARCH, static_twins=True, reach=True, adaptive=True, champion_share=0.0),
    "champion_share": replace(DEFAULT_SEARCH, champion_share=0.25),
}
"""Items 1-4 of issue 13 added in turn (``prompts`` = all of them), then the rejection of
behavioural twins (``twins``: the shipped search before issue 22), then each spend switch of
issue 22 item 5 alone on top of ``twins`` (``static_twins``, ``reach``, ``adaptive``) and all
three (``spend``), each with ``champion_share`` 0 as it was measured; ``champion_share``
is the default with the share of issue 22 item 3. ``default`` in the bench is
:data:`DEFAULT_SEARCH`."""
