"""``Archive``: the persistent MAP-Elites archive of one run (the writer: grids, selection).

One process (the run's controller) opens it writable; any number of processes may open
it with ``readonly=True`` meanwhile (tools that only read use ``archive.reader.ArchiveReader``).
Events, LLM calls and the run status go through its ``log`` (``archive.runlog.RunLog``);
vocabularies (stages, outcomes, event kinds, statuses) are the StrEnums of ``archive.vocab``. Every result is committed in its own transaction, so
a killed writer loses at most the one in flight; on open the in-memory grids are rebuilt
from the ``elites`` table.
"""

from __future__ import annotations

import dataclasses

import math
import os
import time
from collections import Counter as _Tally
from typing import Any, Iterator, Mapping, Sequence

import numpy as np
from sqlalchemy import Connection, Engine, func, insert, select, update

from . import queries, store
from .binning import DescriptorError, cell_of
from .descriptors import compute as compute_descriptors
from .exemplars import ExemplarIndex
from .identity import CodeMismatch, ProgramSyntaxError, program_id, verify_code
from .map_elites import IslandGrids, Placement, qd_stats
from .migrations import check_or_upgrade, create_schema, read_version
from .records import (
    STAGES,
    AddResult,
    AddStatus,
    ArchiveConfig,
    Candidate,
    EliteView,
    EvaluationRecord,
    EvaluationView,
    GridView,
    PersonaView,
    ProgramRecord,
    ProgramView,
)
from .runlog import RunLog
from .schema import SCHEMA_VERSION, Island, Run, RunProgram
from .selection import ParentStrategy, get_strategy, pick_inspirations
from .vocab import EventKind, RejectReason, RunStatus, Stage

PACKAGE = "persona-evolve"


class ArchiveReadOnlyError(RuntimeError):
    """A write was attempted on an archive opened with ``readonly=True``."""


def _package_version() -> str:
    try:
        from importlib.metadata import version

        return version(PACKAGE)
    except Exception:  # noqa: BLE001 - metadata may be absent in a source tree
        return "unknown"


class Archive:
    """MAP-Elites archive with islands over a SQL database (SQLite by default).

    Build with ``Archive.create`` (new run) or ``Archive.open`` (resume / inspect).
    Attributes: ``run_id``, ``config`` (ArchiveConfig, as stored with the run),
    ``readonly``, ``url``.
    """

    def __init__(
        self,
        *,
        engine: Engine,
        target: store.Target,
        run_id: int,
        config: ArchiveConfig,
        readonly: bool,
        lock: store.WriterLock | None,
    ) -> None:
        self._engine = engine
        self._target = target
        self._lock = lock
        self.run_id = run_id
        self.config = config
        self.readonly = readonly
        self.url = target.url
        self._closed = False
        self._grids = IslandGrids(config)
        self._known: set[str] = set()
        self._clock = 0
        self._last_improved: dict[int, int] = {}
        self._last_migration = 0
        self._exemplars = ExemplarIndex(per_cell=config.exemplars_per_cell)
        self.log = RunLog(engine=engine, run_id=run_id, check=self._writable)
        if not readonly:
            self._load_state()

    # ================================================================== construction
    @classmethod
    def create(
        cls,
        *,
        url_or_path: str | os.PathLike[str],
        config: ArchiveConfig = ArchiveConfig(),
        run_config: Mapping[str, Any],
        seed: int,
        versions: Mapping[str, str] = {},
    ) -> "Archive":
        """Start a new run in the database (created if missing; an existing archive gets
        another run). ``run_config`` is any JSON-able mapping; ``versions`` e.g. model or
        package versions to keep with the run."""
        target = store.resolve(url_or_path)
        lock = store.WriterLock(target.path) if target.path is not None else None
        try:
            engine = store.make_engine(target, readonly=False)
            now = time.time()
            where = str(target.path or target.url)
            with engine.begin() as conn:
                if read_version(conn) is None:
                    create_schema(conn, created_by=f"{PACKAGE} {_package_version()}")
                else:
                    check_or_upgrade(conn, where=where, readonly=False)
                run_id = int(
                    conn.execute(
                        insert(Run),
                        {
                            "created_at": now,
                            "updated_at": now,
                            "status": RunStatus.RUNNING.value,
                            "seed": int(seed),
                            "run_config": store._jsonable(dict(run_config)),
                            "archive_config": config.to_dict(),
                            "versions": {
                                PACKAGE: _package_version(),
                                "archive_schema": str(SCHEMA_VERSION),
                                **{str(k): str(v) for k, v in versions.items()},
                            },
                            "last_migration_evals": 0,
                        },
                    ).inserted_primary_key[0]
                )
                conn.execute(
                    insert(Island),
                    [{"run_id": run_id, "island": i, "last_improved_evals": 0, "resets": 0} for i in range(config.islands)],
                )
                store.add_event(conn, run_id, EventKind.RUN_STARTED, detail={"seed": int(seed)}, now=now)
        except BaseException:
            if lock:
                lock.release()
            raise
        return cls(engine=engine, target=target, run_id=run_id, config=config, readonly=False, lock=lock)

    @classmethod
    def open(
        cls, *, url_or_path: str | os.PathLike[str], run_id: int | None = None, readonly: bool = False
    ) -> "Archive":
        """Open an existing archive at a run (the latest by default).

        Refuses (SchemaError) a database written by a newer version, upgrades an older one
        when it can (writable only) and otherwise explains what to do.
        """
        target = store.resolve(url_or_path)
        if target.memory:
            raise ValueError("cannot open an in-memory archive: it only exists inside the Archive that created it")
        if target.path is not None and not target.path.exists():
            raise FileNotFoundError(f"archive not found: {target.path}")
        lock = store.WriterLock(target.path) if (target.path is not None and not readonly) else None
        try:
            engine = store.make_engine(target, readonly=readonly)
            where = str(target.path or target.url)
            with engine.begin() as conn:
                check_or_upgrade(conn, where=where, readonly=readonly)
                q = select(Run.id, Run.archive_config)
                q = q.where(Run.id == run_id) if run_id is not None else q.order_by(Run.id.desc()).limit(1)
                row = conn.execute(q).first()
                if row is None:
                    raise LookupError(f"{where}: no run {run_id}" if run_id is not None else f"{where}: no runs")
                config = ArchiveConfig.from_dict(row[1])
                if not readonly:
                    store.add_event(conn, row[0], EventKind.RUN_RESUMED)
        except BaseException:
            if lock:
                lock.release()
            raise
        return cls(engine=engine, target=target, run_id=int(row[0]), config=config, readonly=readonly, lock=lock)

    @staticmethod
    def list_runs(url_or_path: str | os.PathLike[str]) -> list[dict[str, Any]]:
        """All runs in an archive (id, status, seed, created_at, updated_at), read-only."""
        a = Archive.open(url_or_path=url_or_path, readonly=True)
        try:
            with a._engine.connect() as conn:
                rows = conn.execute(select(Run.id, Run.status, Run.seed, Run.created_at, Run.updated_at).order_by(Run.id))
                return [dict(r._mapping) for r in rows]
        finally:
            a.close()

    def _load_state(self) -> None:
        with self._engine.connect() as conn:
            self._grids = IslandGrids(self.config, queries.load_elites(conn, self.run_id))
            self._known = queries.run_program_ids(conn, self.run_id)
            self._clock = queries.eval_count(conn, self.run_id)
            rows = conn.execute(
                select(Island.island, Island.last_improved_evals).where(Island.run_id == self.run_id)
            ).all()
            self._last_improved = {int(i): int(v) for i, v in rows}
            self._last_migration = int(
                conn.execute(select(Run.last_migration_evals).where(Run.id == self.run_id)).scalar() or 0
            )
            self._exemplars = ExemplarIndex(per_cell=self.config.exemplars_per_cell,
                                            taken=queries.exemplar_keys(conn, self.run_id))

    def __enter__(self) -> "Archive":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the database and the writer lock (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._engine.dispose()
        if self._lock is not None:
            self._lock.release()

    # ================================================================== helpers
    def _writable(self) -> None:
        if self._closed:
            raise RuntimeError("archive is closed")
        if self.readonly:
            raise ArchiveReadOnlyError(f"archive {self.url} is open read-only; writes need Archive.open(readonly=False)")

    def _read(self) -> Iterator[Connection]:
        if self._closed:
            raise RuntimeError("archive is closed")
        return self._engine.connect()  # type: ignore[return-value]

    def _state_grids(self) -> IslandGrids:
        """Grids to decide on: the writer's cache, or a fresh load for a reader."""
        if self.readonly:
            with self._read() as conn:
                return IslandGrids(self.config, queries.load_elites(conn, self.run_id))
        return self._grids

    @property
    def clock(self) -> int:
        """Evaluations stored in this run so far (the unit of all intervals)."""
        if self.readonly:
            with self._read() as conn:
                return queries.eval_count(conn, self.run_id)
        return self._clock

    def _orphans(self, removed: Sequence[EliteView], added: Sequence[EliteView]) -> list[str]:
        """Programs of ``removed`` elites that sit in no grid once the change is applied."""
        tally = _Tally(e.program_id for e in self._grids.elites())
        for e in removed:
            tally[e.program_id] -= 1
        for e in added:
            tally[e.program_id] += 1
        return sorted({e.program_id for e in removed if tally[e.program_id] <= 0})

    # ================================================================== writes
    def add(self, batch: Sequence[Candidate]) -> list[AddResult]:
        """Add candidates in order, each in its own transaction; one AddResult per item.

        Stores the program (once: a program already in the run is ``duplicate`` and
        nothing is stored), its train evaluation with positions, an event, and, for the
        best program of a cell on its island, the elite. A candidate with an error, no
        finite fitness, bad descriptors or a bad island is ``failed`` (program and
        evaluation still stored for feedback).
        """
        self._writable()
        return [self._add_one(c) for c in batch]

    def _add_one(self, cand: Candidate) -> AddResult:
        rec, ev = cand.program, cand.evaluation
        now = time.time()
        try:
            pid = program_id(rec.code)
        except ProgramSyntaxError as exc:
            with self._engine.begin() as conn:
                self.log.append_in(conn, EventKind.REJECTED, island=rec.island,
                                   detail={"reason": RejectReason.SYNTAX, "error": str(exc)}, now=now,
                                   count_rejection=True)
                store.bump(conn, self.run_id, f"status.{AddStatus.FAILED}")
            return AddResult(AddStatus.FAILED, None, None, str(exc))
        if pid in self._known:
            with self._engine.begin() as conn:
                self.log.append_in(conn, EventKind.REJECTED, program_id=pid, island=rec.island,
                                   detail={"reason": RejectReason.DUPLICATE, "status": AddStatus.DUPLICATE}, now=now,
                                   count_rejection=True)
                store.bump(conn, self.run_id, f"status.{AddStatus.DUPLICATE}")
            return AddResult(AddStatus.DUPLICATE, pid, None)

        error = cand.error or (ev.error if ev is not None else None) or (None if ev is not None else "no evaluation")
        cell: tuple[int, ...] | None = None
        clipped: tuple[str, ...] = ()
        values: dict[str, float] | None = None
        if error is None and ev is not None:
            if ev.stage != Stage.TRAIN:
                error = f"add() needs a train-stage evaluation, got stage {ev.stage!r} (use record_evaluation)"
            elif ev.fitness is None or not math.isfinite(float(ev.fitness)):
                error = f"evaluation has no finite fitness ({ev.fitness!r})"
            elif not 0 <= rec.island < self.config.islands:
                error = f"island {rec.island} out of range [0, {self.config.islands})"
        if ev is not None and (error is None or cand.descriptors):
            try:
                values = (
                    {k: float(v) for k, v in cand.descriptors.items()}
                    if cand.descriptors is not None
                    else compute_descriptors(self.config.descriptors, ev)
                )
                cell, clipped = cell_of(self.config.descriptors, values)
            except (DescriptorError, TypeError, ValueError) as exc:
                error = error or f"descriptors: {exc}"
                cell, clipped = None, ()

        clock = self._clock + (1 if ev is not None else 0)
        placement: Placement | None = None
        if error is None:
            assert ev is not None and cell is not None and values is not None and ev.fitness is not None
            elite = EliteView(rec.island, cell, pid, float(ev.fitness), values, None, clock)
            placement = self._grids.decide(elite)
        status = placement.status if placement is not None else AddStatus.FAILED
        became_elite = placement is not None and placement.elite is not None
        keep = ev is not None and (ev.keep_personas or (became_elite and self.config.keep_elite_personas))
        orphans: list[str] = []
        if became_elite and placement is not None and placement.displaced is not None:
            orphans = self._orphans([placement.displaced], [placement.elite])  # type: ignore[list-item]

        plan = self._exemplars.plan_evaluation(ev.contexts) if ev is not None else {}
        with self._engine.begin() as conn:
            store.insert_program(conn, self.run_id, pid, rec, now)
            eval_id = None
            if ev is not None:
                eval_id = store.insert_evaluation(
                    conn, self.run_id, pid, ev, descriptors=values, store_personas=keep, now=now, exemplars=plan
                )
            if became_elite and placement is not None and placement.elite is not None:
                store.upsert_elite(conn, self.run_id, placement.elite, now)
                store.set_island(conn, self.run_id, rec.island, last_improved_evals=clock)
                store.prune_personas(conn, self.run_id, orphans)
            if status is AddStatus.FAILED:
                self.log.append_in(conn, EventKind.REJECTED, program_id=pid, island=rec.island,
                                   detail={"reason": RejectReason.FAILED, "error": error, "evaluation_id": eval_id},
                                   now=now, count_rejection=True)
            else:
                detail: dict[str, Any] = {
                    "status": status.value, "cell": list(cell or ()), "fitness": float(ev.fitness),  # type: ignore[union-attr, arg-type]
                    "evaluation_id": eval_id,
                }
                if clipped:
                    detail["clipped"] = list(clipped)
                if placement is not None and placement.displaced is not None:
                    detail["displaced"] = placement.displaced.program_id
                self.log.append_in(conn, EventKind.INSERTED, program_id=pid, island=rec.island, detail=detail, now=now)
            store.bump(conn, self.run_id, f"status.{status.value}")
            if status is AddStatus.FAILED:
                clipped = ()
            for name in clipped:
                store.bump(conn, self.run_id, f"clipped.{name}")

        if ev is not None:
            self._exemplars.commit_evaluation(ev.contexts, plan)
        self._known.add(pid)
        self._clock = clock
        if became_elite and placement is not None and placement.elite is not None:
            self._grids.put(placement.elite)
            self._last_improved[rec.island] = clock
        return AddResult(status, pid, cell, error if status is AddStatus.FAILED else None, clipped)

    def record_program(self, program: ProgramRecord) -> str:
        """Store a program without placing it in a grid (idempotent); returns its id.
        Raises ProgramSyntaxError if the code does not parse."""
        self._writable()
        pid = program_id(program.code)
        if pid not in self._known:
            with self._engine.begin() as conn:
                store.insert_program(conn, self.run_id, pid, program, time.time())
            self._known.add(pid)
        return pid

    def record_evaluation(self, program_id: str, evaluation: EvaluationRecord) -> None:
        """Store another evaluation of a stored program (validation/test, or the smoke
        result of a program the cascade rejected). Never touches the grids. Persona texts
        are kept when ``evaluation.keep_personas``. Emits ``validated`` for the validation
        stage, else ``evaluated``."""
        self._writable()
        if evaluation.stage not in STAGES:
            raise ValueError(f"unknown evaluation stage {evaluation.stage!r} (one of {STAGES})")
        now = time.time()
        plan = self._exemplars.plan_evaluation(evaluation.contexts)
        with self._engine.begin() as conn:
            if program_id not in self._known:
                if not store.program_exists(conn, program_id):
                    raise KeyError(f"record_evaluation: program {program_id} is not in the archive")
                conn.execute(insert(RunProgram), {"run_id": self.run_id, "program_id": program_id, "created_at": now})
            eval_id = store.insert_evaluation(
                conn, self.run_id, program_id, evaluation, descriptors=None,
                store_personas=evaluation.keep_personas, now=now, exemplars=plan,
            )
            kind = EventKind.VALIDATED if evaluation.stage == Stage.VALIDATION else EventKind.EVALUATED
            self.log.append_in(conn, kind, program_id=program_id, now=now, detail={
                "stage": evaluation.stage, "fitness": evaluation.fitness, "evaluation_id": eval_id,
                "error": evaluation.error,
            })
        self._exemplars.commit_evaluation(evaluation.contexts, plan)
        self._known.add(program_id)
        self._clock += 1

    def record_event(
        self,
        kind: str,
        *,
        program_id: str | None = None,
        island: int | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        """Append an event (proposed, rejected with detail["reason"], ...) to the run log. A
        ``rejected`` event also counts towards ``counts()["rejected"][reason]``."""
        self.log.append(kind, program_id=program_id, island=island, detail=detail)

    def record_llm_calls(self, calls: Sequence[Mapping[str, Any]]) -> None:
        """Store LLM calls (keys: role [required], model, prompt_tokens, completion_tokens,
        cost_usd, latency_s, cached, error, optional ts and program_id), one transaction."""
        self.log.llm_calls(calls)

    def set_run_status(self, status: str) -> None:
        """Set ``runs.status`` (e.g. running, finished, failed, interrupted); "finished"
        also logs a ``run_finished`` event."""
        self.log.set_status(status)

    # ================================================================== islands
    def migrate(self, *, now: int | None = None) -> int:
        """Ring migration now (see IslandGrids.plan_migration); returns migrants placed.
        ``now`` (evaluation count) is stored as the time of the last migration."""
        self._writable()
        at = self._clock if now is None else int(now)
        plans = self._grids.plan_migration(self._clock)
        ts = time.time()
        added = [p.elite for p in plans if p.elite is not None]
        orphans = self._orphans([p.displaced for p in plans if p.displaced is not None], added)
        with self._engine.begin() as conn:
            for p in plans:
                e = p.elite
                assert e is not None
                store.upsert_elite(conn, self.run_id, e, ts)
                self.log.append_in(conn, EventKind.MIGRATED, program_id=e.program_id, island=e.island, now=ts,
                                detail={"from": e.migrant_from, "cell": list(e.cell), "fitness": e.fitness,
                                        "displaced": p.displaced.program_id if p.displaced else None})
            store.prune_personas(conn, self.run_id, orphans)
            conn.execute(update(Run).where(Run.id == self.run_id).values(last_migration_evals=at, updated_at=ts))
            if plans:
                store.bump(conn, self.run_id, "migrations", len(plans))
        for e in added:
            self._grids.put(e)
        self._last_migration = at
        return len(plans)

    def seed_islands(self, program_ids: Sequence[str]) -> int:
        """Place each given elite (e.g. the seed programs) on every island where its cell
        is empty or held by a weaker elite; the copies are natives of their island, so
        migration treats them like any other elite. One transaction. Returns copies placed."""
        self._writable()
        wanted = set(program_ids)
        sources = [e for e in self._grids.elites() if e.program_id in wanted]
        placed: list[EliteView] = []
        for island in range(self.config.islands):
            present = {e.program_id for e in self._grids.elites(island)}
            for src in sources:
                if src.program_id in present:
                    continue
                held = self._grids.cells[island].get(tuple(src.cell))
                if held is not None and held.fitness >= src.fitness:
                    continue
                copy = dataclasses.replace(src, island=island, migrant_from=None, improved_at=self._clock)
                self._grids.put(copy)
                present.add(src.program_id)
                placed.append(copy)
        if placed:
            ts = time.time()
            with self._engine.begin() as conn:
                for e in placed:
                    store.upsert_elite(conn, self.run_id, e, ts)
                    self.log.append_in(conn, EventKind.SEEDED, program_id=e.program_id, island=e.island,
                                    now=ts, detail={"cell": list(e.cell), "fitness": e.fitness})
        return len(placed)

    def maybe_migrate(self, evals_done: int | None = None) -> int:
        """Migrate when ``migration_interval`` evaluations have passed since the last
        migration (``evals_done`` defaults to the stored evaluation count). Returns migrants."""
        self._writable()
        now = self._clock if evals_done is None else int(evals_done)
        if now - self._last_migration < self.config.migration_interval:
            return 0
        return self.migrate(now=now)

    def reset_stagnant_islands(self, *, now: int | None = None) -> list[int]:
        """Reset the weakest stagnant islands (see IslandGrids.plan_reset): clear their
        grid and re-seed it with the best elite overall. Returns the reset islands."""
        self._writable()
        at = self._clock if now is None else int(now)
        plans = self._grids.plan_reset(at, self._last_improved)
        if not plans:
            return []
        ts = time.time()
        removed = [e for i, _ in plans for e in self._grids.elites(i)]
        orphans = self._orphans(removed, [seed for _, seed in plans])
        with self._engine.begin() as conn:
            for i, seed in plans:
                store.clear_island(conn, self.run_id, i)
                store.upsert_elite(conn, self.run_id, seed, ts)
                conn.execute(update(Island).where(Island.run_id == self.run_id, Island.island == i)
                             .values(last_improved_evals=at, resets=Island.resets + 1))
                self.log.append_in(conn, EventKind.RESET, program_id=seed.program_id, island=i, now=ts,
                                detail={"from": seed.migrant_from, "cleared": len(self._grids.cells[i]),
                                        "seed_fitness": seed.fitness})
            store.prune_personas(conn, self.run_id, orphans)
            store.bump(conn, self.run_id, "resets", len(plans))
        for i, seed in plans:
            self._grids.clear(i)
            self._grids.put(seed)
            self._last_improved[i] = at
        return [i for i, _ in plans]

    def maybe_reset(self, evals_done: int | None = None) -> list[int]:
        """``reset_stagnant_islands`` at ``evals_done`` (default: stored evaluation count)."""
        return self.reset_stagnant_islands(now=evals_done)

    # ================================================================== selection
    def sample_parent(
        self, island: int, rng: np.random.Generator, *, strategy: str | ParentStrategy = "uniform"
    ) -> ProgramView | None:
        """A parent from the island's elites ("uniform" over occupied cells, "fitness"
        rank-weighted, "curiosity" favouring recently improved cells, or a ParentStrategy).
        None if the island is empty."""
        grids = self._state_grids()
        elites = grids.elites(island)
        if not elites:
            return None
        strat = get_strategy(strategy, half_life=self.config.curiosity_half_life) if isinstance(strategy, str) else strategy
        e = elites[strat(elites, rng, self.clock)]
        with self._read() as conn:
            return queries.program_views(conn, self.run_id, [e.program_id], {e.program_id: e})[e.program_id]

    def sample_inspirations(
        self, island: int, rng: np.random.Generator, *, k: int = 3, exclude: str | None = None
    ) -> list[ProgramView]:
        """Up to ``k`` distinct elite programs other than ``exclude``: half from other
        islands, the rest from other cells of this island."""
        elites = self._state_grids().elites()
        ids = pick_inspirations(island, elites, rng, k=k, exclude=exclude)
        place: dict[str, EliteView] = {}
        for e in elites:  # prefer the placement on another island, as picked
            if e.program_id in ids and (e.program_id not in place or place[e.program_id].island == island):
                place[e.program_id] = e
        with self._read() as conn:
            views = queries.program_views(conn, self.run_id, ids, place)
        return [views[i] for i in ids if i in views]

    # ================================================================== queries
    def top(self, k: int = 10, *, stage: str = Stage.TRAIN) -> list[ProgramView]:
        """Best ``k`` programs by their best fitness at ``stage`` (fitness field = that)."""
        with self._read() as conn:
            return queries.top(conn, self.run_id, k, stage)

    def champion(self) -> ProgramView | None:
        """The program of the latest ``champion`` event (the loop's noise-aware promotion,
        issue 13) if any, else the best program on validation if any was validated, else
        the best on train."""
        crowned = self.events(kind="champion")
        if crowned and crowned[-1].get("program_id"):
            try:
                view = self.get_program(str(crowned[-1]["program_id"]))
                best = [e.fitness for e in self.evaluations(view.id, Stage.VALIDATION) if e.fitness is not None]
                return dataclasses.replace(view, fitness=max(best) if best else view.fitness)
            except KeyError:
                pass
        for stage in (Stage.VALIDATION, Stage.TRAIN):
            best = self.top(1, stage=stage)
            if best:
                return best[0]
        return None

    def grid(self, island: int | None = None) -> GridView:
        """Elites of one island (or all) as stored now."""
        with self._read() as conn:
            elites = queries.load_elites(conn, self.run_id, island)
        return GridView(island, self.config.descriptors, tuple(elites))

    def qd_stats(self, island: int | None = None) -> dict[str, Any]:
        """QD statistics: cells_total, filled, coverage, qd_score, best, mean, programs,
        migrants; for all islands, also ``per_island`` (a list of the same dicts)."""
        with self._read() as conn:
            elites = queries.load_elites(conn, self.run_id)
        if island is not None:
            return qd_stats(self.config, [e for e in elites if e.island == island], island)
        out: dict[str, Any] = qd_stats(self.config, elites, None)
        out["per_island"] = [
            qd_stats(self.config, [e for e in elites if e.island == i], i) for i in range(self.config.islands)
        ]
        return out

    def lineage(self, program_id: str) -> list[ProgramView]:
        """The program, its parent, ... back to its seed (ancestors missing from the
        database end the chain)."""
        with self._read() as conn:
            ids = queries.lineage(conn, program_id)
            views = queries.program_views(conn, self.run_id, ids)
        return [views[i] for i in ids if i in views]

    def events(
        self, program_id: str | None = None, kind: str | None = None, *, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Events of the run in order (id, ts, kind, program_id, island, detail)."""
        with self._read() as conn:
            return queries.events(conn, self.run_id, program_id, kind, limit)

    def spend_by_role(self) -> dict[str, dict[str, Any]]:
        """LLM spend per role: calls, cached, errors, prompt/completion tokens, cost_usd, latency_s."""
        with self._read() as conn:
            return queries.spend_by_role(conn, self.run_id)

    def counts(self) -> dict[str, Any]:
        """Totals for resume budgets and summaries: evaluations (and by stage), programs,
        elites, statuses, rejected by reason, clipped by descriptor, migrations, resets,
        llm_calls, llm_tokens, cost_usd."""
        with self._read() as conn:
            c = queries.counters(conn, self.run_id)
            by_stage = queries.evaluations_by_stage(conn, self.run_id)
            n_prog = conn.execute(
                select(func.count()).select_from(RunProgram).where(RunProgram.run_id == self.run_id)
            ).scalar()
            elites = len(queries.load_elites(conn, self.run_id))
            calls, cost, tokens = queries.llm_totals(conn, self.run_id)
        pick = lambda prefix: {k[len(prefix):]: v for k, v in sorted(c.items()) if k.startswith(prefix)}  # noqa: E731
        return {
            "evaluations": sum(by_stage.values()),
            "evaluations_by_stage": by_stage,
            "programs": int(n_prog or 0),
            "elites": elites,
            "statuses": pick("status."),
            "rejected": pick("rejected."),
            "clipped": pick("clipped."),
            "migrations": c.get("migrations", 0),
            "resets": c.get("resets", 0),
            "llm_calls": calls,
            "llm_tokens": tokens,
            "cost_usd": cost,
        }

    def has_program(self, program_id: str) -> bool:
        """True if the program was stored in this run (used for cheap duplicate rejection)."""
        if not self.readonly:
            return program_id in self._known
        with self._read() as conn:
            return queries.has_program(conn, self.run_id, program_id)

    def tampered_programs(self) -> list[str]:
        """One line per program of this run whose stored code does not hash to its id
        (the database was edited outside persona-evolve); [] for an intact archive."""
        from .schema import Program

        with self._read() as conn:
            rows = conn.execute(select(Program.id, Program.code).join(RunProgram, RunProgram.program_id == Program.id)
                                .where(RunProgram.run_id == self.run_id)).all()
        bad = []
        for pid, code in rows:
            try:
                verify_code(pid, code)
            except CodeMismatch as exc:
                bad.append(str(exc))
        return bad

    def get_program(self, program_id: str) -> ProgramView:
        """View of a stored program; KeyError if the database does not hold it."""
        with self._read() as conn:
            views = queries.program_views(conn, self.run_id, [program_id])
        if program_id not in views:
            raise KeyError(f"program {program_id} is not in the archive")
        return views[program_id]

    def evaluations(self, program_id: str, stage: str | None = None) -> list[EvaluationView]:
        """Stored evaluations of a program in this run, oldest first, with per-context
        metrics and positions (float arrays N×K)."""
        with self._read() as conn:
            return queries.evaluations(conn, self.run_id, program_id, stage)

    def personas(self, *, context_id: str, program_id: str | None = None) -> list[PersonaView]:
        """Stored persona texts of a context (optionally one program) with their positions."""
        with self._read() as conn:
            return queries.personas(conn, self.run_id, context_id, program_id)

    def run_info(self) -> dict[str, Any]:
        """The run row: id, status, seed, run_config, archive_config, versions, timestamps."""
        with self._read() as conn:
            r = conn.execute(select(Run).where(Run.id == self.run_id)).one()
            return {
                "id": r.id, "status": r.status, "seed": r.seed, "run_config": r.run_config,
                "archive_config": r.archive_config, "versions": r.versions,
                "created_at": r.created_at, "updated_at": r.updated_at,
                "last_migration_evals": r.last_migration_evals,
            }
