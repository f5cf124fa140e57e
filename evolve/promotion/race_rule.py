"""Noise-aware promotion (issue 13, item 2): the statistics and the racing rule.

A *race* compares a candidate with an incumbent (an island's best, or the champion) on
paired differences ``d = f(candidate) - f(incumbent)`` of per-context fitness, one pair per
(context, replicate), both programs scored with the same seeds (:mod:`evolve.common.evaluation_seeds`).
After each replicate it looks at the mean difference and its interval:

* every difference exactly 0 (a neutral edit under common random numbers): **rejected**
  (a tie is no advantage);
* the one-sided lower bound at level ``1 - alpha / looks`` is above 0: **accepted**;
* the upper bound is below 0, or the mean is <= 0 after ``min_replicates``: **rejected**
  (futility: more replicates would not make it win);
* ``max_replicates`` reached without either: **rejected** (advantage not established).

``alpha = 1 - confidence``, split over the ``max_replicates`` looks (Bonferroni), so the
chance that a candidate no better than the incumbent is accepted is at most
``1 - confidence``, whatever the number of looks. The bounds are Student-t bounds over the
pairs (treated as independent draws; contexts are fixed, so the claim is about these
contexts on fresh seeds).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Sequence

import numpy as np
from scipy import stats


class Decision(StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    CONTINUE = "continue"


@dataclass(frozen=True)
class Interval:
    """``mean`` of ``n`` values and the two-sided interval [low, high] at ``confidence``."""

    mean: float
    low: float
    high: float
    n: int
    confidence: float

    def as_dict(self) -> dict[str, float | int]:
        return {
            "mean": self.mean,
            "low": self.low,
            "high": self.high,
            "n": self.n,
            "confidence": self.confidence,
        }

    def text(self, digits: int = 3) -> str:
        """``0.712 [0.690, 0.734] (90 %, n = 12)``."""
        return (
            f"{self.mean:.{digits}f} [{self.low:.{digits}f}, {self.high:.{digits}f}] "
            f"({self.confidence * 100:g} %, n = {self.n})"
        )


def mean_interval(values: Sequence[float], confidence: float) -> Interval:
    """Student-t interval of the mean of ``values`` (two-sided, at ``confidence`` in (0, 1)).
    One value (or no spread) gives a zero-width interval; no value raises ValueError."""
    x = np.asarray(list(values), dtype=float)
    if x.size == 0:
        raise ValueError("mean_interval of no values")
    mean = float(x.mean())
    if x.size == 1:
        return Interval(mean, mean, mean, 1, confidence)
    se = float(x.std(ddof=1)) / math.sqrt(x.size)
    half = float(stats.t.ppf(0.5 + confidence / 2.0, x.size - 1)) * se
    return Interval(mean, mean - half, mean + half, int(x.size), confidence)


@dataclass(frozen=True)
class RaceRule:
    """``confidence`` in (0, 1): the probability of not accepting a candidate that is no
    better; ``max_replicates`` >= 1 looks (replicate 0 included); ``min_replicates``: looks
    before the futility rule (mean <= 0) may reject."""

    confidence: float = 0.9
    max_replicates: int = 4
    min_replicates: int = 2

    def __post_init__(self) -> None:
        if not 0.0 < self.confidence < 1.0:
            raise ValueError(f"RaceRule.confidence must be in (0, 1), got {self.confidence}")
        if self.max_replicates < 1:
            raise ValueError(f"RaceRule.max_replicates must be >= 1, got {self.max_replicates}")

    @property
    def one_sided_level(self) -> float:
        """The level of each look's one-sided bound: 1 - (1 - confidence) / max_replicates."""
        return 1.0 - (1.0 - self.confidence) / self.max_replicates

    def bounds(self, diffs: Sequence[float]) -> Interval:
        """Mean difference with the one-sided bounds of one look as [low, high]."""
        x = np.asarray(list(diffs), dtype=float)
        mean = float(x.mean())
        if x.size < 2:
            return Interval(mean, -math.inf, math.inf, int(x.size), self.one_sided_level)
        sd = float(x.std(ddof=1))
        if sd == 0.0:
            return Interval(mean, mean, mean, int(x.size), self.one_sided_level)
        half = float(stats.t.ppf(self.one_sided_level, x.size - 1)) * sd / math.sqrt(x.size)
        return Interval(mean, mean - half, mean + half, int(x.size), self.one_sided_level)

    def decide(self, diffs: Sequence[float], replicates: int) -> tuple[Decision, Interval, str]:
        """The decision after ``replicates`` looks on the paired ``diffs`` so far, the
        interval it rests on and a one-line reason."""
        if len(diffs) == 0:
            return Decision.REJECTED, Interval(0.0, 0.0, 0.0, 0, self.one_sided_level), "no paired context"
        iv = self.bounds(diffs)
        if all(d == 0.0 for d in diffs):
            return Decision.REJECTED, iv, "ties the incumbent on every paired context (no advantage)"
        if iv.low > 0.0:
            return (
                Decision.ACCEPTED,
                iv,
                f"advantage established: mean {iv.mean:+.4f}, lower bound {iv.low:+.4f}",
            )
        if iv.high < 0.0:
            return Decision.REJECTED, iv, f"worse: mean {iv.mean:+.4f}, upper bound {iv.high:+.4f}"
        if replicates >= self.min_replicates and iv.mean <= 0.0:
            return Decision.REJECTED, iv, f"futile: mean {iv.mean:+.4f} <= 0 after {replicates} replicates"
        if replicates >= self.max_replicates:
            return (
                Decision.REJECTED,
                iv,
                (
                    f"advantage not established in {replicates} replicates: mean "
                    f"{iv.mean:+.4f}, lower bound {iv.low:+.4f}"
                ),
            )
        return Decision.CONTINUE, iv, "undecided"


def paired_diffs(
    candidate: dict[int, dict[str, float]], incumbent: dict[int, dict[str, float]]
) -> list[float]:
    """Differences candidate - incumbent per (replicate, context) present in both tables
    (``replicate -> context id -> fitness``), in a stable order."""
    out = []
    for r in sorted(set(candidate) & set(incumbent)):
        a, b = candidate[r], incumbent[r]
        for cid in sorted(set(a) & set(b)):
            out.append(float(a[cid]) - float(b[cid]))
    return out
