"""``Archive``: the persistent MAP-Elites archive of one run (the writer: grids, selection).

One process (the run's controller) opens it writable; any number of processes may open
it with ``readonly=True`` meanwhile (tools that only read use ``archive.reader.ArchiveReader``).
Events, LLM calls and the run status go through its ``log`` (``archive.runlog.RunLog``);
vocabularies (stages, outcomes, event kinds, statuses) are the StrEnums of ``archive.vocab``. Every result is
committed in its own transaction, so a killed writer loses at most the one in flight; on open the in-memory
grids are rebuilt from the ``elites`` table.

Its collaborators: ``opening`` (create / open a run), ``admission`` (what ``add`` does with
a candidate), ``islands`` (migration, seeding, resets), ``selection`` (parents and
inspirations); most reads delegate to ``archive.reading``, as ``ArchiveReader``'s do.
"""

from __future__ import annotations

import dataclasses
import os
import time
from typing import Any, Mapping, Sequence

import numpy as np
from sqlalchemy import Connection, Engine, insert, select

from . import queries, store
from .admission import Refusal, admit
from .calibration import calibration_due, store_calibration
from .exemplars import ExemplarIndex
from .identity import program_id
from .integrity import tampered_programs
from .islands import IslandUpkeep
from .map_elites import IslandGrids, qd_stats
from .opening import create_run, list_runs, open_run
from .reader import ArchiveReader
from .reading import events as _events
from .reading import programs as _programs
from .reading import runs as _runs
from .reading.errors import UnknownProgramError
from .records import (
    STAGES,
    AddResult,
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
from .schema import Run, RunProgram
from .selection import ParentStrategy, get_strategy, pick_inspirations
from .vocab import EventKind, Stage


class ArchiveReadOnlyError(RuntimeError):
    """A write was attempted on an archive opened with ``readonly=True``."""


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
        self._exemplars = ExemplarIndex(per_cell=config.exemplars_per_cell)
        self.log = RunLog(engine=engine, run_id=run_id, check=self._writable)
        self._islands = IslandUpkeep(engine=engine, run_id=run_id, log=self.log, grids=self._grids)
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
        o = create_run(
            url_or_path=url_or_path, config=config, run_config=run_config, seed=seed, versions=versions
        )
        return cls(
            engine=o.engine, target=o.target, run_id=o.run_id, config=o.config, readonly=False, lock=o.lock
        )

    @classmethod
    def open(
        cls, *, url_or_path: str | os.PathLike[str], run_id: int | None = None, readonly: bool = False
    ) -> "Archive":
        """Open an existing archive at a run (the latest by default).

        Refuses (SchemaError) a database written by a newer version, upgrades an older one
        when it can (writable only) and otherwise explains what to do.
        """
        o = open_run(url_or_path=url_or_path, run_id=run_id, readonly=readonly)
        return cls(
            engine=o.engine, target=o.target, run_id=o.run_id, config=o.config, readonly=readonly, lock=o.lock
        )

    @staticmethod
    def list_runs(url_or_path: str | os.PathLike[str]) -> list[dict[str, Any]]:
        """All runs in an archive (id, status, seed, created_at, updated_at), read-only."""
        return list_runs(url_or_path)

    def _load_state(self) -> None:
        with self._engine.connect() as conn:
            self._grids = IslandGrids(self.config, queries.load_elites(conn, self.run_id))
            self._known = queries.run_program_ids(conn, self.run_id)
            self._clock = queries.eval_count(conn, self.run_id)
            self._islands = IslandUpkeep.load(
                conn, engine=self._engine, run_id=self.run_id, log=self.log, grids=self._grids
            )
            self._exemplars = ExemplarIndex(
                per_cell=self.config.exemplars_per_cell, taken=queries.exemplar_keys(conn, self.run_id)
            )
        if calibration_due(self.config, self._clock):  # killed after the add that made it due
            self._calibrate()

    def _calibrate(self) -> None:
        """Freeze the descriptor ranges from the evaluations placed so far and place those
        programs again (one transaction, :func:`archive.calibration.store_calibration`)."""
        with self._engine.begin() as conn:
            self.config = store_calibration(
                conn, run_id=self.run_id, config=self.config, clock=self._clock, log=self.log, now=time.time()
            )
        self._load_state()

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
            raise ArchiveReadOnlyError(
                f"archive {self.url} is open read-only; writes need Archive.open(readonly=False)"
            )

    def _read(self) -> Connection:
        """A new connection for reading (use it as a context manager)."""
        if self._closed:
            raise RuntimeError("archive is closed")
        return self._engine.connect()

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
        """Store what ``admission.admit`` decides for ``cand`` in one transaction, then
        apply it to the in-memory state."""
        now = time.time()
        rec, ev = cand.program, cand.evaluation
        verdict = admit(cand, config=self.config, grids=self._grids, known=self._known, clock=self._clock)
        if isinstance(verdict, Refusal):
            with self._engine.begin() as conn:
                self.log.append_in(
                    conn,
                    EventKind.REJECTED,
                    program_id=verdict.program_id,
                    island=rec.island,
                    detail=verdict.detail(),
                    now=now,
                    count_rejection=True,
                )
                store.bump(conn, self.run_id, f"status.{verdict.status.value}")
            return verdict.result()
        pid, elite = verdict.program_id, verdict.elite
        plan = self._exemplars.plan_evaluation(ev.contexts) if ev is not None else {}
        with self._engine.begin() as conn:
            store.insert_program(conn, self.run_id, pid, rec, now)
            eval_id = None
            if ev is not None:
                eval_id = store.insert_evaluation(
                    conn,
                    self.run_id,
                    pid,
                    ev,
                    descriptors=verdict.descriptors,
                    store_personas=verdict.keep_personas,
                    now=now,
                    exemplars=plan,
                )
            if elite is not None:
                store.upsert_elite(conn, self.run_id, elite, now)
                store.set_island(conn, self.run_id, rec.island, last_improved_evals=verdict.clock)
                store.prune_personas(conn, self.run_id, verdict.orphans)
            kind, detail = verdict.event(eval_id)
            self.log.append_in(
                conn, kind, program_id=pid, island=rec.island, detail=detail, now=now, count_rejection=True
            )
            for name in verdict.counters():
                store.bump(conn, self.run_id, name)
        if ev is not None:
            self._exemplars.commit_evaluation(ev.contexts, plan)
        self._known.add(pid)
        self._clock = verdict.clock
        if elite is not None:
            self._grids.put(elite)
            self._islands.improved(rec.island, verdict.clock)
        if calibration_due(self.config, self._clock):
            self._calibrate()
        return verdict.result()

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
                conn.execute(
                    insert(RunProgram), {"run_id": self.run_id, "program_id": program_id, "created_at": now}
                )
            eval_id = store.insert_evaluation(
                conn,
                self.run_id,
                program_id,
                evaluation,
                descriptors=None,
                store_personas=evaluation.keep_personas,
                now=now,
                exemplars=plan,
            )
            kind = EventKind.VALIDATED if evaluation.stage == Stage.VALIDATION else EventKind.EVALUATED
            self.log.append_in(
                conn,
                kind,
                program_id=program_id,
                now=now,
                detail={
                    "stage": evaluation.stage,
                    "fitness": evaluation.fitness,
                    "evaluation_id": eval_id,
                    "error": evaluation.error,
                },
            )
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
        return self._islands.migrate(clock=self._clock, at=self._clock if now is None else int(now))

    def seed_islands(self, program_ids: Sequence[str]) -> int:
        """Place each given elite (e.g. the seed programs) on every island where its cell
        is empty or held by a weaker elite; the copies are natives of their island, so
        migration treats them like any other elite. One transaction. Returns copies placed."""
        self._writable()
        return self._islands.seed(program_ids, clock=self._clock)

    def maybe_migrate(self, evals_done: int | None = None) -> int:
        """Migrate when ``migration_interval`` evaluations have passed since the last
        migration (``evals_done`` defaults to the stored evaluation count). Returns migrants."""
        self._writable()
        now = self._clock if evals_done is None else int(evals_done)
        if not self._islands.migration_due(now, self.config.migration_interval):
            return 0
        return self.migrate(now=now)

    def restore_elite(self, elite: EliteView, *, holder: str) -> bool:
        """Give ``elite``'s cell back to it when ``holder`` holds that cell now (a child that
        displaced an established elite and then lost its promotion race). One transaction
        and a ``restored`` event. Returns whether it did."""
        self._writable()
        return self._islands.restore(elite, holder=holder)

    def reset_stagnant_islands(self, *, now: int | None = None) -> list[int]:
        """Reset the weakest stagnant islands (see IslandGrids.plan_reset): clear their
        grid and re-seed it with the best elite overall. Returns the reset islands."""
        self._writable()
        return self._islands.reset_stagnant(at=self._clock if now is None else int(now))

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
        strat = (
            get_strategy(strategy, half_life=self.config.curiosity_half_life)
            if isinstance(strategy, str)
            else strategy
        )
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
    def _reader(self) -> ArchiveReader:
        """A reader over this archive's engine (for reads made of several snapshots)."""
        if self._closed:
            raise RuntimeError("archive is closed")
        return ArchiveReader(engine=self._engine, db=self.url, url=self.url, run_id=self.run_id, owner=False)

    def top(self, k: int = 10, *, stage: str = Stage.TRAIN) -> list[ProgramView]:
        """Best ``k`` programs by their best fitness at ``stage`` (fitness field = that)."""
        return list(self._reader().top(k, stage=stage))

    def seeds(self) -> list[ProgramView]:
        """The run's seed programs (no parent), sorted by label then id."""
        return list(self._reader().seeds())

    def champion(self) -> ProgramView | None:
        """The program of the latest ``champion`` event (the loop's noise-aware promotion,
        issue 13) if any, else the best program on validation if any was validated, else
        the best on train; ``fitness`` is its best at that stage (its train fitness when a
        crowned program has no validation fitness)."""
        champ = self._reader().champion()
        if champ is None:
            return None
        return dataclasses.replace(
            champ.program, fitness=champ.program.fitness if champ.fitness is None else champ.fitness
        )

    def grid(self, island: int | None = None) -> GridView:
        """Elites of one island (or all) as stored now."""
        with self._read() as conn:
            elites = queries.load_elites(conn, self.run_id, island)
        return GridView(island, self.config.descriptors, tuple(elites))

    def qd_stats(self, island: int | None = None) -> dict[str, Any]:
        """QD statistics: cells_total, filled, coverage, qd_score, best, mean, programs,
        migrants; for all islands, also ``per_island`` (a list of the same dicts)."""
        elites = self.grid().elites
        if island is not None:
            return qd_stats(self.config, [e for e in elites if e.island == island], island)
        out: dict[str, Any] = qd_stats(self.config, list(elites), None)
        out["per_island"] = [
            qd_stats(self.config, [e for e in elites if e.island == i], i) for i in range(self.config.islands)
        ]
        return out

    def lineage(self, program_id: str) -> list[ProgramView]:
        """The program, its parent, ... back to its seed (ancestors missing from the
        database end the chain; [] when the database holds no step of it)."""
        with self._read() as conn:
            try:
                return list(_programs.lineage(conn, self.run_id, program_id).steps)
            except UnknownProgramError:
                return []

    def events(
        self, program_id: str | None = None, kind: str | None = None, *, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Events of the run in order (id, ts, kind, program_id, island, detail; detail None
        when the event has none)."""
        with self._read() as conn:
            rows = _events.events(conn, self.run_id, kind=kind, program_id=program_id, limit=limit)
        return [
            {
                "id": e.id,
                "ts": e.ts,
                "kind": str(e.kind),
                "program_id": e.program_id,
                "island": e.island,
                "detail": dict(e.detail) or None,
            }
            for e in rows
        ]

    def spend_by_role(self) -> dict[str, dict[str, Any]]:
        """LLM spend per role: calls, cached, errors, prompt/completion tokens, cost_usd, latency_s."""
        with self._read() as conn:
            return queries.spend_by_role(conn, self.run_id)

    def counts(self) -> dict[str, Any]:
        """Totals for resume budgets and summaries: evaluations (and by stage), programs,
        elites, statuses, rejected by reason, clipped by descriptor, migrations, resets,
        llm_calls, llm_tokens, cost_usd, calls_by_stage (stage -> role -> uncached calls)."""
        with self._read() as conn:
            c = _runs.counts(conn, self.run_id)
        return {
            "evaluations": c.evaluations,
            "evaluations_by_stage": dict(c.evaluations_by_stage),
            "programs": c.programs,
            "elites": c.elites,
            "statuses": dict(c.statuses),
            "rejected": dict(c.rejections),
            "clipped": dict(c.clipped),
            "migrations": c.migrations,
            "resets": c.resets,
            "llm_calls": c.llm_calls,
            "llm_tokens": c.llm_tokens,
            "cost_usd": c.cost_usd,
            "calls_by_stage": {k: dict(v) for k, v in c.calls_by_stage.items()},
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
        with self._read() as conn:
            return tampered_programs(conn, self.run_id)

    def get_program(self, program_id: str) -> ProgramView:
        """View of a stored program; KeyError if the database does not hold it."""
        try:
            return self._reader().program(program_id)
        except UnknownProgramError:
            raise KeyError(f"program {program_id} is not in the archive") from None

    def evaluations(self, program_id: str, stage: str | None = None) -> list[EvaluationView]:
        """Stored evaluations of a program in this run, oldest first, with per-context
        metrics and positions (float arrays N×K)."""
        return list(self._reader().evaluations(program_id, stage))

    def personas(self, *, context_id: str, program_id: str | None = None) -> list[PersonaView]:
        """Stored persona texts of a context (optionally one program) with their positions."""
        return list(self._reader().personas(context_id=context_id, program_id=program_id))

    def run_info(self) -> dict[str, Any]:
        """The run row: id, status, seed, run_config, archive_config, versions, timestamps."""
        with self._read() as conn:
            r = conn.execute(select(Run).where(Run.id == self.run_id)).one()
            return {
                "id": r.id,
                "status": r.status,
                "seed": r.seed,
                "run_config": r.run_config,
                "archive_config": r.archive_config,
                "versions": r.versions,
                "created_at": r.created_at,
                "updated_at": r.updated_at,
                "last_migration_evals": r.last_migration_evals,
            }
