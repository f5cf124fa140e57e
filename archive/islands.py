"""Island upkeep of a run's writer: ring migration, seeding and resets of stagnant islands.

Each operation is decided on the writer's grids (:class:`IslandGrids` plans it), written in
one transaction (elites, events, counters, the island and run rows), then applied to the
grids. :class:`IslandUpkeep` also keeps the bookkeeping those decisions need: when each
island last improved and when the last migration was (in evaluations, the run's clock).
"""

from __future__ import annotations

import time
from typing import Sequence

from sqlalchemy import Connection, Engine, select, update

from . import store
from .map_elites import IslandGrids
from .records import EliteView
from .runlog import RunLog
from .schema import Island, Run
from .vocab import EventKind


class IslandUpkeep:
    """Migration, seeding and resets over ``grids`` (shared with the writer, which puts
    the elites it adds) for run ``run_id``; events go through ``log``."""

    def __init__(
        self,
        *,
        engine: Engine,
        run_id: int,
        log: RunLog,
        grids: IslandGrids,
        last_improved: dict[int, int] | None = None,
        last_migration: int = 0,
    ) -> None:
        self._engine = engine
        self._run_id = run_id
        self._log = log
        self._grids = grids
        self._last_improved = dict(last_improved or {})
        self._last_migration = last_migration

    @classmethod
    def load(
        cls, conn: Connection, *, engine: Engine, run_id: int, log: RunLog, grids: IslandGrids
    ) -> "IslandUpkeep":
        """The upkeep of a stored run: bookkeeping read from its ``islands`` and ``runs`` rows."""
        rows = conn.execute(
            select(Island.island, Island.last_improved_evals).where(Island.run_id == run_id)
        ).all()
        last = conn.execute(select(Run.last_migration_evals).where(Run.id == run_id)).scalar()
        return cls(
            engine=engine,
            run_id=run_id,
            log=log,
            grids=grids,
            last_improved={int(i): int(v) for i, v in rows},
            last_migration=int(last or 0),
        )

    def improved(self, island: int, at: int) -> None:
        """Note that ``island`` gained an elite at evaluation count ``at`` (the writer has
        stored it in ``islands.last_improved_evals``)."""
        self._last_improved[island] = at

    def migration_due(self, at: int, interval: int) -> bool:
        """True when ``interval`` evaluations have passed from the last migration to ``at``."""
        return at - self._last_migration >= interval

    def migrate(self, *, clock: int, at: int) -> int:
        """Ring migration (IslandGrids.plan_migration; migrants improved at ``clock``);
        ``at`` is stored as the time of the last migration. Returns migrants placed."""
        plans = self._grids.plan_migration(clock)
        ts = time.time()
        added = [p.elite for p in plans if p.elite is not None]
        orphans = self._grids.orphans([p.displaced for p in plans if p.displaced is not None], added)
        with self._engine.begin() as conn:
            for p in plans:
                e = p.elite
                assert e is not None
                store.upsert_elite(conn, self._run_id, e, ts)
                self._log.append_in(
                    conn,
                    EventKind.MIGRATED,
                    program_id=e.program_id,
                    island=e.island,
                    now=ts,
                    detail={
                        "from": e.migrant_from,
                        "cell": list(e.cell),
                        "fitness": e.fitness,
                        "displaced": p.displaced.program_id if p.displaced else None,
                    },
                )
            store.prune_personas(conn, self._run_id, orphans)
            conn.execute(
                update(Run).where(Run.id == self._run_id).values(last_migration_evals=at, updated_at=ts)
            )
            if plans:
                store.bump(conn, self._run_id, "migrations", len(plans))
        for e in added:
            self._grids.put(e)
        self._last_migration = at
        return len(plans)

    def seed(self, program_ids: Sequence[str], *, clock: int) -> int:
        """Copy the given programs' elites onto every island where they fit
        (IslandGrids.plan_seeding), improved at ``clock``. Returns copies placed."""
        placed = self._grids.plan_seeding(program_ids, clock)
        if placed:
            ts = time.time()
            with self._engine.begin() as conn:
                for e in placed:
                    store.upsert_elite(conn, self._run_id, e, ts)
                    self._log.append_in(
                        conn,
                        EventKind.SEEDED,
                        program_id=e.program_id,
                        island=e.island,
                        now=ts,
                        detail={"cell": list(e.cell), "fitness": e.fitness},
                    )
        for e in placed:
            self._grids.put(e)
        return len(placed)

    def restore(self, elite: EliteView, *, holder: str) -> bool:
        """Put ``elite`` back in its cell when ``holder`` (a program id) holds that cell now;
        the holder leaves the grid (its personas may be pruned). Returns whether it did."""
        current = self._grids.cells[elite.island].get(tuple(elite.cell))
        if current is None or current.program_id != holder:
            return False
        ts = time.time()
        orphans = self._grids.orphans([current], [elite])
        with self._engine.begin() as conn:
            store.upsert_elite(conn, self._run_id, elite, ts)
            self._log.append_in(
                conn,
                EventKind.RESTORED,
                program_id=elite.program_id,
                island=elite.island,
                now=ts,
                detail={"cell": list(elite.cell), "fitness": elite.fitness, "displaced": holder},
            )
            store.prune_personas(conn, self._run_id, orphans)
        self._grids.put(elite)
        return True

    def reset_stagnant(self, *, at: int) -> list[int]:
        """Clear the islands IslandGrids.plan_reset picks at evaluation count ``at`` and
        re-seed each with a copy of the best elite overall. Returns the reset islands."""
        plans = self._grids.plan_reset(at, self._last_improved)
        if not plans:
            return []
        ts = time.time()
        removed = [e for i, _ in plans for e in self._grids.elites(i)]
        orphans = self._grids.orphans(removed, [seed for _, seed in plans])
        with self._engine.begin() as conn:
            for i, seed in plans:
                store.clear_island(conn, self._run_id, i)
                store.upsert_elite(conn, self._run_id, seed, ts)
                conn.execute(
                    update(Island)
                    .where(Island.run_id == self._run_id, Island.island == i)
                    .values(last_improved_evals=at, resets=Island.resets + 1)
                )
                self._log.append_in(
                    conn,
                    EventKind.RESET,
                    program_id=seed.program_id,
                    island=i,
                    now=ts,
                    detail={
                        "from": seed.migrant_from,
                        "cleared": len(self._grids.cells[i]),
                        "seed_fitness": seed.fitness,
                    },
                )
            store.prune_personas(conn, self._run_id, orphans)
            store.bump(conn, self._run_id, "resets", len(plans))
        for i, seed in plans:
            self._grids.clear(i)
            self._grids.put(seed)
            self._last_improved[i] = at
        return [i for i, _ in plans]
