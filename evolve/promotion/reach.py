"""Races that pay for themselves (issue 22, item 5): skip the hopeless, stop the settled.

A promotion race (:mod:`evolve.promotion.race_rule`) accepts a candidate when the one-sided lower
bound of its mean paired advantage is above 0. With ``m`` pairs at the race's last look
(contexts x ``max_replicates``) and a spread ``s`` of the paired differences, the smallest
advantage it can ever establish is about ``t(level, m - 1) * s / sqrt(m)``
(:func:`smallest_provable`). Two switches of :class:`evolve.common.search.SearchSettings` use it:

* ``reach``: before a race draws any replicate, :func:`within_reach` looks at the pairs
  already known (replicate 0 of both programs: the draw the candidate was selected on, so
  an optimistic estimate of its advantage). When that advantage is <= 0, or smaller than
  the smallest provable one, the race is not run: the candidate stays a plain elite, as it
  would after losing the race.
* ``adaptive``: :class:`AdaptiveRule` ends a running race as soon as the advantage seen so
  far, were it the true one, could not be established even at ``max_replicates`` (the
  projected lower bound at the last look is <= 0): the outcome is settled, more replicates
  would only confirm the rejection. Acceptance is unchanged (the same Bonferroni bound), so
  the chance of accepting a candidate that is no better stays at most ``1 - confidence``.

Both trade a little power (a candidate whose true advantage is much larger than it looked
would have won) for evaluations; ``scripts/bench_search.py --variants reach adaptive``
measures the trade.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import stats

from evolve.promotion.race_rule import Decision, Interval, RaceRule

__all__ = ["AdaptiveRule", "Reach", "smallest_provable", "within_reach"]


def smallest_provable(sd: float, pairs: int, level: float) -> float:
    """The smallest mean advantage (fitness units) a race can establish on ``pairs`` paired
    differences of standard deviation ``sd`` (>= 0), with one-sided bounds at ``level``
    in (0, 1): ``t(level, pairs - 1) * sd / sqrt(pairs)``; ``inf`` for fewer than 2 pairs."""
    if pairs < 2:
        return math.inf
    return float(stats.t.ppf(level, pairs - 1)) * float(sd) / math.sqrt(pairs)


@dataclass(frozen=True)
class Reach:
    """The verdict of :func:`within_reach`: ``ok`` (run the race), the ``mean`` advantage
    and spread ``sd`` of the known pairs, the smallest advantage the race could establish
    (``needed``) and a one-line ``reason``."""

    ok: bool
    mean: float
    sd: float
    needed: float
    reason: str

    def as_dict(self) -> dict[str, float | bool | str]:
        return {"ok": self.ok, "mean": self.mean, "sd": self.sd, "needed": self.needed, "reason": self.reason}


def within_reach(known: Sequence[float], *, rule: RaceRule, pairs_per_replicate: int, looks: int) -> Reach:
    """Whether a race is worth running, from the paired differences ``known`` (candidate -
    incumbent, replicate 0) before it draws any replicate. ``pairs_per_replicate``: the
    race's contexts; ``looks``: the replicates it may draw at most. Out of reach: the
    known mean is <= 0, or (with >= 2 known pairs) below :func:`smallest_provable` at
    ``pairs_per_replicate x looks`` pairs with the spread of ``known``. No known pair:
    within reach (nothing to judge by)."""
    x = np.asarray(list(known), dtype=float)
    if x.size == 0:
        return Reach(True, 0.0, 0.0, 0.0, "no known pair: raced")
    mean = float(x.mean())
    sd = float(x.std(ddof=1)) if x.size >= 2 else 0.0
    needed = (
        smallest_provable(sd, max(2, pairs_per_replicate * looks), rule.one_sided_level)
        if x.size >= 2
        else 0.0
    )
    if mean <= 0.0:
        return Reach(False, mean, sd, needed, f"out of reach: advantage on the known draw {mean:+.4f} <= 0")
    if mean < needed:
        return Reach(
            False,
            mean,
            sd,
            needed,
            f"out of reach: advantage on the known draw {mean:+.4f} is below the "
            f"smallest the race could establish ({needed:.4f})",
        )
    return Reach(True, mean, sd, needed, f"within reach: {mean:+.4f} >= {needed:.4f}")


@dataclass(frozen=True)
class AdaptiveRule(RaceRule):
    """:class:`~evolve.promotion.race_rule.RaceRule` that also stops a race whose outcome is settled:
    while undecided, it rejects as soon as the projected lower bound at the last look
    (the mean so far minus :func:`smallest_provable` at the pairs of ``max_replicates``
    looks, with the spread so far) is <= 0."""

    def decide(self, diffs: Sequence[float], replicates: int) -> tuple[Decision, Interval, str]:
        decision, iv, reason = super().decide(diffs, replicates)
        if decision != Decision.CONTINUE or len(diffs) < 2 or replicates < 1:
            return decision, iv, reason
        x = np.asarray(list(diffs), dtype=float)
        per_look = max(1, len(diffs) // replicates)
        needed = smallest_provable(float(x.std(ddof=1)), per_look * self.max_replicates, self.one_sided_level)
        if iv.mean - needed <= 0.0:
            return (
                Decision.REJECTED,
                iv,
                (
                    f"settled: mean {iv.mean:+.4f} could not be established in "
                    f"{self.max_replicates} replicates (needs {needed:.4f})"
                ),
            )
        return decision, iv, reason
