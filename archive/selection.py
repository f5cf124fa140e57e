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
