"""Parent and inspiration selection strategies over the elites of an island.

A strategy is any callable ``(elites, rng, now) -> index`` (the ParentStrategy protocol);
``now`` is the run's evaluation count. Elites arrive in a stable order, so a seeded
``numpy.random.Generator`` gives reproducible picks.
"""

from __future__ import annotations

from typing import Protocol, Sequence

import numpy as np

from .records import EliteView


class ParentStrategy(Protocol):
    def __call__(self, elites: Sequence[EliteView], rng: np.random.Generator, now: int) -> int:
        """Index into ``elites`` (non-empty) of the chosen parent."""
        ...


def uniform(elites: Sequence[EliteView], rng: np.random.Generator, now: int) -> int:
    """Every occupied cell equally likely."""
    return int(rng.integers(len(elites)))


def fitness_weighted(elites: Sequence[EliteView], rng: np.random.Generator, now: int) -> int:
    """Rank-proportional: the best of n cells has weight n, the worst 1 (works for any
    fitness scale or sign; ties share a rank)."""
    f = np.array([e.fitness for e in elites], dtype=float)
    ranks = np.searchsorted(np.sort(f), f, side="left") + 1.0
    return int(rng.choice(len(elites), p=ranks / ranks.sum()))


class Curiosity:
    """Favour cells that improved recently: weight 0.5 ** (age / half_life), where age is the
    number of evaluations since the cell's elite took it."""

    def __init__(self, half_life: float = 50.0) -> None:
        if half_life <= 0:
            raise ValueError(f"curiosity half_life must be > 0, got {half_life}")
        self.half_life = float(half_life)

    def __call__(self, elites: Sequence[EliteView], rng: np.random.Generator, now: int) -> int:
        age = np.array([max(0, now - e.improved_at) for e in elites], dtype=float)
        w = 0.5 ** ((age - age.min()) / self.half_life)
        return int(rng.choice(len(elites), p=w / w.sum()))


def get_strategy(name: str, *, half_life: float = 50.0) -> ParentStrategy:
    """Strategy by name: "uniform", "fitness" or "curiosity"."""
    if name == "uniform":
        return uniform
    if name == "fitness":
        return fitness_weighted
    if name == "curiosity":
        return Curiosity(half_life)
    raise ValueError(f"unknown parent selection strategy {name!r} (uniform, fitness, curiosity)")


def pick_inspirations(
    island: int,
    elites: Sequence[EliteView],
    rng: np.random.Generator,
    *,
    k: int,
    exclude: str | None,
) -> list[str]:
    """Program ids of up to ``k`` distinct inspirations: half (rounded up) from other
    islands, the rest from other cells of this island, topping up from whichever has more."""
    if k <= 0:
        return []
    own: dict[str, None] = {}
    other: dict[str, None] = {}
    for e in elites:
        if e.program_id == exclude:
            continue
        (own if e.island == island else other)[e.program_id] = None
    own_ids = list(own)
    other_ids = [p for p in other if p not in own]

    def take(pool: list[str], m: int) -> list[str]:
        if m <= 0 or not pool:
            return []
        idx = rng.choice(len(pool), size=min(m, len(pool)), replace=False)
        return [pool[i] for i in sorted(idx)]

    first = take(other_ids, (k + 1) // 2)
    second = take(own_ids, k - len(first))
    if len(first) + len(second) < k:
        rest = [p for p in other_ids if p not in first]
        first += take(rest, k - len(first) - len(second))
    return first + second


# ----------------------------------------------------------------------------- yield-aware


class ChildOutcome:
    """What became of a proposal made from a parent (fed to :class:`YieldBook`)."""

    WASTED = "wasted"  # rejected before or at the smoke stage, duplicate, failed
    SURVIVED = "survived"  # fully evaluated, did not improve its cell
    IMPROVED = "improved"  # fully evaluated and took or improved a cell


class YieldBook:
    """Per parent program: children proposed and how many paid off.

    ``yield_of`` is the posterior mean share of children that survived the cascade and
    improved (new cell or better elite), with a Beta(``prior_hits``, ``prior_misses``) prior
    so an untried parent starts at ``prior_hits / (prior_hits + prior_misses)``."""

    def __init__(self, *, prior_hits: float = 1.0, prior_misses: float = 2.0) -> None:
        if prior_hits <= 0 or prior_misses <= 0:
            raise ValueError("YieldBook priors must be > 0")
        self.prior_hits = float(prior_hits)
        self.prior_misses = float(prior_misses)
        self.children: dict[str, int] = {}
        self.hits: dict[str, int] = {}
        self.survived: dict[str, int] = {}

    def record(self, parent_id: str, outcome: str) -> None:
        """Count one child of ``parent_id`` with a :class:`ChildOutcome` value."""
        if outcome not in (ChildOutcome.WASTED, ChildOutcome.SURVIVED, ChildOutcome.IMPROVED):
            raise ValueError(f"unknown child outcome {outcome!r}")
        self.children[parent_id] = self.children.get(parent_id, 0) + 1
        if outcome != ChildOutcome.WASTED:
            self.survived[parent_id] = self.survived.get(parent_id, 0) + 1
        if outcome == ChildOutcome.IMPROVED:
            self.hits[parent_id] = self.hits.get(parent_id, 0) + 1

    def yield_of(self, parent_id: str) -> float:
        """Posterior mean yield in (0, 1)."""
        n = self.children.get(parent_id, 0)
        h = self.hits.get(parent_id, 0)
        return (h + self.prior_hits) / (n + self.prior_hits + self.prior_misses)


def novelty(elites: Sequence[EliteView], k: int = 2) -> np.ndarray:
    """Per elite, the mean Chebyshev distance (in cells) to its ``k`` nearest other elites
    of the sequence, scaled to [0, 1] by the largest; all ones for fewer than 2 elites."""
    n = len(elites)
    if n < 2:
        return np.ones(n)
    cells = np.array([tuple(e.cell) for e in elites], dtype=float)
    d = np.abs(cells[:, None, :] - cells[None, :, :]).max(axis=2)
    np.fill_diagonal(d, np.inf)
    near = np.sort(d, axis=1)[:, : min(k, n - 1)]
    score = near.mean(axis=1)
    top = score.max()
    return score / top if top > 0 else np.ones(n)


class Balanced:
    """Parent weight = quality x (1/2 + novelty / 2) x yield, normalised.

    ``quality``: the square of the fitness rank share (best of n cells 1, worst 1/n²);
    ``novelty``: how far the
    cell is from the other elites (:func:`novelty`); ``yield``: the parent's posterior share of
    children that survived the cascade and improved (:class:`YieldBook`). A weak elite in a
    lonely cell keeps a low quality, and once its children keep dying its yield falls too,
    so it cannot take a large share of the budget; novelty at most halves a weight."""

    def __init__(self, book: YieldBook) -> None:
        self.book = book

    def weights(self, elites: Sequence[EliteView]) -> np.ndarray:
        f = np.array([e.fitness for e in elites], dtype=float)
        quality = ((np.searchsorted(np.sort(f), f, side="right")) / len(elites)) ** 2
        nov = novelty(elites)
        y = np.array([self.book.yield_of(e.program_id) for e in elites])
        w = quality * (0.5 + 0.5 * nov) * y
        return w / w.sum()

    def __call__(self, elites: Sequence[EliteView], rng: np.random.Generator, now: int) -> int:
        return int(rng.choice(len(elites), p=self.weights(elites)))
