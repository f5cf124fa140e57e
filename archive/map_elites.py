"""MAP-Elites grids with islands: the in-memory state and the pure decisions on it.

Nothing here touches the database: ``Archive`` asks for a decision, writes it in one
transaction, then applies it here. The ``elites`` table is the truth; these grids are a
cache rebuilt from it on open.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, replace
from typing import Iterable, Sequence

from .records import AddStatus, ArchiveConfig, EliteView


@dataclass(frozen=True)
class Placement:
    """Decision for putting one program in one cell: the new elite and who it displaces."""

    status: AddStatus
    elite: EliteView | None  # None when not improved
    displaced: EliteView | None


class IslandGrids:
    """One grid (cell -> elite) per island."""

    def __init__(self, config: ArchiveConfig, elites: Iterable[EliteView] = ()) -> None:
        self.config = config
        self.cells: list[dict[tuple[int, ...], EliteView]] = [{} for _ in range(config.islands)]
        for e in elites:
            self.put(e)

    # ------------------------------------------------------------------ state
    def put(self, e: EliteView) -> None:
        self._check_island(e.island)
        self.cells[e.island][tuple(e.cell)] = e

    def clear(self, island: int) -> list[EliteView]:
        self._check_island(island)
        old = list(self.cells[island].values())
        self.cells[island] = {}
        return old

    def elites(self, island: int | None = None) -> list[EliteView]:
        """Elites sorted by (island, cell): a stable order for seeded sampling."""
        islands = range(self.config.islands) if island is None else [island]
        out: list[EliteView] = []
        for i in islands:
            self._check_island(i)
            out.extend(self.cells[i][c] for c in sorted(self.cells[i]))
        return out

    def program_ids(self) -> set[str]:
        return {e.program_id for grid in self.cells for e in grid.values()}

    def best(self, island: int | None = None) -> EliteView | None:
        es = self.elites(island)
        return max(es, key=lambda e: (e.fitness, e.program_id)) if es else None

    def orphans(self, removed: Sequence[EliteView], added: Sequence[EliteView]) -> list[str]:
        """Programs of ``removed`` elites that sit in no grid once ``removed`` leave and
        ``added`` arrive (sorted ids): their train personas may be pruned."""
        tally = Counter(e.program_id for e in self.elites())
        for e in removed:
            tally[e.program_id] -= 1
        for e in added:
            tally[e.program_id] += 1
        return sorted({e.program_id for e in removed if tally[e.program_id] <= 0})

    def _check_island(self, island: int) -> None:
        if not 0 <= island < self.config.islands:
            raise ValueError(f"island {island} out of range [0, {self.config.islands})")

    # ------------------------------------------------------------------ decisions
    def decide(self, candidate: EliteView) -> Placement:
        """Compare a candidate with its cell's incumbent: new_cell, improved (strictly
        higher fitness) or not_improved."""
        self._check_island(candidate.island)
        cur = self.cells[candidate.island].get(tuple(candidate.cell))
        if cur is None:
            return Placement(AddStatus.NEW_CELL, candidate, None)
        if candidate.fitness > cur.fitness:
            return Placement(AddStatus.IMPROVED, candidate, cur)
        return Placement(AddStatus.NOT_IMPROVED, None, cur)

    def plan_migration(self, now: int) -> list[Placement]:
        """Ring migration: from each island i its ``migration_count`` best native elites
        (never migrants, so nothing bounces back) go to island (i+1) mod n, each taking its
        cell there if empty or beaten. Decided on a snapshot, applied together."""
        n = self.config.islands
        if n < 2 or self.config.migration_count <= 0:
            return []
        plans: list[Placement] = []
        for src in range(n):
            dst = (src + 1) % n
            present = {e.program_id for e in self.cells[dst].values()}
            natives = sorted(
                (e for e in self.cells[src].values() if e.migrant_from is None),
                key=lambda e: (-e.fitness, e.program_id),
            )[: self.config.migration_count]
            for e in natives:
                if e.program_id in present:
                    continue
                moved = replace(e, island=dst, migrant_from=src, improved_at=now)
                p = self.decide(moved)
                if p.elite is not None:
                    plans.append(p)
        return plans

    def plan_seeding(self, program_ids: Iterable[str], now: int) -> list[EliteView]:
        """Copies of the given programs' elites for every island where the program is not
        yet and its cell is empty or held by a weaker elite (islands in order; sources in
        (island, cell) order; a copy placed earlier in the plan counts as the holder). The
        copies are natives of their island (``migrant_from`` None) improved at ``now``."""
        wanted = set(program_ids)
        sources = [e for e in self.elites() if e.program_id in wanted]
        placed: list[EliteView] = []
        for island in range(self.config.islands):
            grid = dict(self.cells[island])
            present = {e.program_id for e in grid.values()}
            for src in sources:
                held = grid.get(tuple(src.cell))
                if src.program_id in present or (held is not None and held.fitness >= src.fitness):
                    continue
                copy = replace(src, island=island, migrant_from=None, improved_at=now)
                grid[tuple(copy.cell)] = copy
                present.add(src.program_id)
                placed.append(copy)
        return placed

    def plan_reset(self, now: int, last_improved: dict[int, int]) -> list[tuple[int, EliteView]]:
        """Islands to reset and the elite each is re-seeded with.

        An island is eligible when it has not improved for ``stagnation_evals``
        evaluations; among the eligible, the weakest (lowest best fitness, empty first) up to
        ``ceil(reset_fraction * islands)`` are reset, never an island that already holds
        the overall best fitness. Each is re-seeded with a copy of the overall best elite, marked as a
        migrant.
        """
        n = self.config.islands
        count = math.ceil(self.config.reset_fraction * n) if self.config.reset_fraction > 0 else 0
        best = self.best()
        if n < 2 or count == 0 or best is None:
            return []

        def strength(i: int) -> tuple[float, int]:
            b = self.best(i)
            return (-math.inf if b is None else b.fitness, i)

        stagnant = [
            i
            for i in range(n)
            if i != best.island
            and strength(i)[0] < best.fitness
            and now - last_improved.get(i, 0) >= self.config.stagnation_evals
        ]
        chosen = sorted(stagnant, key=strength)[:count]
        return [
            (i, replace(best, island=i, migrant_from=best.island, improved_at=now)) for i in sorted(chosen)
        ]


def qd_stats(
    config: ArchiveConfig, elites: list[EliteView], island: int | None
) -> dict[str, float | int | None]:
    """QD statistics of a set of elites (one island, or all when ``island`` is None).

    ``cells_total``: cells per grid × grids counted; ``filled``: occupied cells;
    ``coverage``: filled / total; ``qd_score``: sum of elite fitness; ``best``/``mean``:
    of elite fitness (None when empty); ``migrants``: elites that came by migration/reset.
    """
    per_grid = math.prod(config.shape)
    grids = config.islands if island is None else 1
    fits = [e.fitness for e in elites]
    return {
        "island": island,
        "cells_total": per_grid * grids,
        "filled": len(elites),
        "coverage": len(elites) / (per_grid * grids),
        "qd_score": float(sum(fits)),
        "best": max(fits) if fits else None,
        "mean": float(sum(fits) / len(fits)) if fits else None,
        "programs": len({e.program_id for e in elites}),
        "migrants": sum(1 for e in elites if e.migrant_from is not None),
    }
