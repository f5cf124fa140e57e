"""``ArchiveReader``: the public, read-only API over an archive database.

The writer (``archive.Archive``) owns a run's database; anything that only *reads* (the
web viewer, and in time ``inspect`` and ``export``) goes through this class instead of ORM
rows and engines of its own. It has its own read-only SQLAlchemy engine (SQLite: a
``mode=ro`` URI with ``PRAGMA query_only``), issues only SELECTs, takes no lock, and is safe
while a run writes the same file (WAL: readers never wait on the writer). Each method reads
one consistent snapshot (one transaction).

Everything returned is a frozen dataclass (those of ``archive.records`` where they fit,
the ones of ``archive.reading`` otherwise, all importable from here) with the stored
vocabularies typed as ``StrEnum``s from ``archive.vocab`` (unknown strings are kept as
plain ``str``).

    from archive.reader import ArchiveReader
    with ArchiveReader.open("runs/x/archive.db") as r:
        champ = r.champion()
        print(r.snapshot().proposal_evaluations, champ.program.id if champ else None)

This module holds the engine and the connections; the reads themselves live in
``archive.reading``, one concept per module (runs, events, budget, labels, programs,
evaluations, champion, contexts), and each method here delegates to one of them.

Counting words (one vocabulary, issue 12). What users read as "evaluations" -- in
``run``'s output, the budget, ``inspect`` and the viewer -- is one thing:

* an **evaluation** is one proposed program fully evaluated on the train contexts (the
  ``evaluated`` events of stage train): what ``--budget-evals`` caps and ``run`` prints.
  Here: ``proposal_evaluations`` (and :meth:`ArchiveReader.proposal_evaluations`);
* a **stored evaluation** is a row of the ``evaluations`` table: any program (seeds
  included) scored at any stage (smoke, train, validation, test) -- the archive's clock
  for migration intervals. Here: the ``evaluations`` fields of :class:`Counts` and
  :class:`Snapshot` (also readable as ``stored_evaluations``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

from sqlalchemy import Engine

from . import queries
from .map_elites import qd_stats as _qd_stats
from .reading import champion as _champion
from .reading import contexts as _contexts
from .reading import costs as _costs
from .reading import events as _events
from .reading import programs as _programs
from .reading import runs as _runs
from .reading.budget import BudgetUse, budget_use
from .reading.champion import Champion
from .reading.connect import open_readonly, pick_run
from .reading.contexts import ContextCount, PositionSet
from .reading.errors import ReaderError, UnknownProgramError
from .reading.evaluations import best_of, latest_of
from .reading.events import EventView, ProposalEvaluation, finite_float
from .reading.labels import SCORING_ROLES, missing_layers, simulated_roles, simulation_recorded
from .reading.programs import MIN_PREFIX, Lineage
from .reading.runs import Counts, RoleSpend, RunInfo, Snapshot
from .records import ArchiveConfig, EvaluationView, GridView, PersonaView, ProgramView
from .runhistory import BudgetRaise, KilledEvaluation, budget_in_force, budget_raise, killed_evaluation
from .vocab import EventKind, Stage

__all__ = [
    "MIN_PREFIX",
    "SCORING_ROLES",
    "ArchiveReader",
    "BudgetUse",
    "Champion",
    "ContextCount",
    "Counts",
    "EventView",
    "Lineage",
    "finite_float",
    "PositionSet",
    "ProposalEvaluation",
    "ReaderError",
    "RoleSpend",
    "RunInfo",
    "Snapshot",
    "UnknownProgramError",
    "open_reader",
]


class ArchiveReader:
    """Read-only access to one run of an archive database.

    Open with :meth:`open`; close with :meth:`close` (or use it as a context manager).
    :meth:`at_run` gives a reader of another run of the same database sharing the engine.
    Attributes: ``db`` (path or URL as given), ``url``, ``run_id``, ``engine`` (read-only).
    """

    def __init__(self, *, engine: Engine, db: str, url: str, run_id: int, owner: bool = True) -> None:
        self.engine = engine
        self.db = db
        self.url = url
        self.run_id = run_id
        self._owner = owner
        self._closed = False
        self._run: RunInfo | None = None

    # ------------------------------------------------------------------ lifecycle
    @classmethod
    def open(cls, db: str | os.PathLike[str], *, run_id: int | None = None) -> "ArchiveReader":
        """Open ``db`` (SQLite path or SQLAlchemy URL) read-only at ``run_id`` (default:
        the latest run). Raises ReaderError (one line) when it cannot."""
        opened = open_readonly(db, run_id)
        return cls(engine=opened.engine, db=opened.db, url=opened.url, run_id=opened.run_id)

    def at_run(self, run_id: int | None) -> "ArchiveReader":
        """A reader of ``run_id`` (None: the latest run now) over the same engine; closing
        it does not close this one. Raises ReaderError for an unknown run."""
        with self._conn() as conn:
            rid = pick_run(conn, run_id, self.db)
        if rid == self.run_id:
            return self
        return ArchiveReader(engine=self.engine, db=self.db, url=self.url, run_id=rid, owner=False)

    def close(self) -> None:
        """Release the engine (idempotent; a reader from :meth:`at_run` leaves it open)."""
        if not self._closed:
            self._closed = True
            if self._owner:
                self.engine.dispose()

    def __enter__(self) -> "ArchiveReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _conn(self) -> Any:
        if self._closed:
            raise ReaderError("archive reader is closed")
        return self.engine.connect()

    # ------------------------------------------------------------------ runs
    def runs(self) -> tuple[RunInfo, ...]:
        """Every run of the database, oldest first."""
        with self._conn() as conn:
            return _runs.runs(conn)

    def run(self) -> RunInfo:
        """This reader's run (status and ``updated_at`` as of now)."""
        with self._conn() as conn:
            info = _runs.run(conn, self.run_id)
        self._run = info
        return info

    @property
    def config(self) -> ArchiveConfig:
        """The run's archive settings (fixed for the life of the run)."""
        if self._run is None:
            self.run()
        assert self._run is not None
        return self._run.config

    def simulated_roles(self) -> list[str]:
        """The roles whose output the run's *scores* rest on that ran on the simulated world:
        ``persona`` and ``respondent`` (a ``sim`` mutator is the offline operator, which
        changes no score; ``author`` is never called by a run)."""
        return simulated_roles(self.run().models)

    def weak_sandbox(self) -> list[str]:
        """The kernel isolation layers some part of this run went without (``--weak-sandbox``
        on a kernel that lacked them, per its ``sandbox_weak`` events); [] when every
        program ran fully confined."""
        return missing_layers(self.events(kind=EventKind.SANDBOX_WEAK))

    def simulated(self) -> bool:
        """True when the run's scores come (partly) from the simulated world: a scoring role
        (``persona``/``respondent``) ran on ``sim`` per the stored config, or a
        ``run_started``/``run_resumed`` event recorded it."""
        if self.simulated_roles():
            return True
        return any(
            simulation_recorded(self.events(kind=kind))
            for kind in (EventKind.RUN_STARTED, EventKind.RUN_RESUMED)
        )

    def snapshot(self) -> Snapshot:
        """Status and counters that move while the run writes (two small queries)."""
        with self._conn() as conn:
            return _runs.snapshot(conn, self.run_id)

    def counts(self) -> Counts:
        """Totals of the run (one snapshot)."""
        with self._conn() as conn:
            return _runs.counts(conn, self.run_id)

    def spend(self) -> tuple[RoleSpend, ...]:
        """LLM spend per role, by role name."""
        with self._conn() as conn:
            return _runs.spend(conn, self.run_id)

    # ------------------------------------------------------------------ budget
    def budget(self) -> tuple[BudgetUse, ...]:
        """Use of every budget cap (the four caps, ``limit`` None where not set), with the
        limits in force (those of the last ``budget_raised`` event, else the stored config).
        Matches the run's own accounting: evaluations = proposal evaluations, llm_calls =
        uncached calls plus the upper bounds charged for killed evaluations (dollars
        likewise), minutes = the evolution time last logged with an evaluation."""
        return budget_use(
            self.budget_in_force(),
            self.proposal_evaluations(),
            self.spend(),
            [e.detail for e in self.events(kind=EventKind.EVALUATION_KILLED)],
        )

    def budget_in_force(self) -> dict[str, Any]:
        """The caps the run works to now: the last ``budget_raised`` event's ``to``, else
        the stored config's ``budget`` (cap -> limit, None = no cap)."""
        raised = [e.detail for e in self.events(kind=EventKind.BUDGET_RAISED)]
        return budget_in_force(self.run().run_config, raised)

    def budget_raises(self) -> tuple[BudgetRaise, ...]:
        """Every ``budget_raised`` event, oldest first: when, and which caps changed from
        what to what."""
        return tuple(budget_raise(e.id, e.ts, e.detail) for e in self.events(kind=EventKind.BUDGET_RAISED))

    def killed_evaluations(self) -> tuple[KilledEvaluation, ...]:
        """Evaluations killed at the driver's deadline, oldest first, with the upper-bound
        figures the run charged for their uncounted LLM calls (estimated, not counted)."""
        return tuple(
            killed_evaluation(e.id, e.ts, e.program_id, e.detail)
            for e in self.events(kind=EventKind.EVALUATION_KILLED)
        )

    # ------------------------------------------------------------------ events
    def events(
        self,
        *,
        kind: str | None = None,
        program_id: str | None = None,
        after: int | None = None,
        limit: int | None = None,
    ) -> tuple[EventView, ...]:
        """Events of the run in order, optionally of one ``kind`` / program, with id >
        ``after``, at most ``limit``."""
        with self._conn() as conn:
            return _events.events(
                conn, self.run_id, kind=kind, program_id=program_id, after=after, limit=limit
            )

    def proposal_evaluations(self) -> tuple[ProposalEvaluation, ...]:
        """Full train evaluations of proposed programs, in order (what the budget counts)."""
        with self._conn() as conn:
            return _events.proposal_evaluations(conn, self.run_id)

    # ------------------------------------------------------------------ programs
    def resolve(self, ref: str) -> str:
        """Full program id for ``ref``: an id, a unique id prefix (>= 6 characters) or a
        label such as ``seed:sobol``, among the run's programs. Raises
        UnknownProgramError naming close matches."""
        _programs.clean_ref(ref)  # an empty reference fails before any connection
        with self._conn() as conn:
            return _programs.resolve(conn, self.run_id, ref)

    def program(self, program_id: str) -> ProgramView:
        """A stored program of the run with its best train fitness and metrics. Raises
        UnknownProgramError when the run does not hold it."""
        with self._conn() as conn:
            return _programs.program(conn, self.run_id, program_id)

    def programs(self, ids: Sequence[str]) -> dict[str, ProgramView]:
        """Views of the given programs (ids the database does not hold are left out)."""
        with self._conn() as conn:
            return queries.program_views(conn, self.run_id, ids)

    def program_ids(self) -> tuple[str, ...]:
        """Ids of every program the run has stored, oldest first."""
        with self._conn() as conn:
            return _programs.program_ids(conn, self.run_id)

    def seeds(self) -> tuple[ProgramView, ...]:
        """The run's seed programs (no parent), by label."""
        with self._conn() as conn:
            return _programs.seeds(conn, self.run_id)

    def top(self, k: int = 10, *, stage: str = Stage.TRAIN) -> tuple[ProgramView, ...]:
        """The ``k`` best programs by their best fitness at ``stage`` (``fitness`` = that)."""
        with self._conn() as conn:
            return tuple(queries.top(conn, self.run_id, k, str(stage)))

    def champion_stage(self) -> Stage:
        """The stage that chooses the champion: validation once any program of the run has
        a validation fitness, train before that."""
        return _champion.champion_stage(self)

    def champion(self) -> Champion | None:
        """The program of the latest ``champion`` event (the loop's noise-aware promotion,
        issue 13) if any, else the best program on validation if any was validated, else
        the best on train; None before anything was evaluated."""
        return _champion.champion(self)

    def lineage(self, program_id: str) -> Lineage:
        """The chain from ``program_id`` back to its seed."""
        with self._conn() as conn:
            return _programs.lineage(conn, self.run_id, program_id)

    # ------------------------------------------------------------------ evaluations
    def evaluations(self, program_id: str, stage: str | None = None) -> tuple[EvaluationView, ...]:
        """Evaluations of a program in the run, oldest first, with per-context metrics and
        decoded positions (N×K float arrays in [0, 1], NaN = unanswered)."""
        with self._conn() as conn:
            return tuple(
                queries.evaluations(conn, self.run_id, program_id, None if stage is None else str(stage))
            )

    def best_evaluation(self, program_id: str, stage: str) -> EvaluationView | None:
        """The program's evaluation at ``stage`` with the highest fitness (latest among
        equals; a failed one only when there is nothing else), or None."""
        return best_of(self.evaluations(program_id, stage))

    def latest_evaluation(self, program_id: str, stage: str) -> EvaluationView | None:
        """The program's most recent evaluation at ``stage``, or None."""
        return latest_of(self.evaluations(program_id, stage))

    def validation_costs(self) -> _costs.CostTable:
        """Per validated program: mean validation coverage and persona-role tokens per
        persona (``archive.reading.costs``), and how many programs have no validation."""
        with self._conn() as conn:
            return _costs.validation_costs(conn, self.run_id)

    # ------------------------------------------------------------------ contexts
    def personas(
        self, *, context_id: str, program_id: str | None = None, evaluation_id: int | None = None
    ) -> tuple[PersonaView, ...]:
        """Stored persona texts of a context (optionally of one program / evaluation) with
        their positions, ordered by evaluation then row index."""
        with self._conn() as conn:
            return _contexts.personas(
                conn, self.run_id, context_id=context_id, program_id=program_id, evaluation_id=evaluation_id
            )

    def context_counts(self) -> tuple[ContextCount, ...]:
        """Per context of the run: positions, texts and programs stored; most positions first."""
        with self._conn() as conn:
            return _contexts.context_counts(conn, self.run_id)

    def flagged_contexts(self, key: str, error_like: str) -> tuple[_contexts.FlaggedContext, ...]:
        """Context results of the run with ``key`` in their metrics' extra keys or an error
        LIKE ``error_like`` (e.g. personas that addressed the respondent), in storage order."""
        with self._conn() as conn:
            return _contexts.flagged_contexts(conn, self.run_id, key, error_like)

    def context_positions(self, context_id: str) -> PositionSet:
        """Every stored position of ``context_id`` in the run, in storage order, keeping
        the populations with the most common axis count (what ``inspect rare`` bins)."""
        with self._conn() as conn:
            return _contexts.context_positions(conn, self.run_id, context_id)

    def text_keys(self, context_id: str) -> Any:
        """(evaluation id, row index) of every stored persona text of ``context_id``: an
        M×2 int64 array (reads no text)."""
        with self._conn() as conn:
            return _contexts.text_keys(conn, self.run_id, context_id)

    def personas_at(self, context_id: str, keys: Any) -> dict[tuple[int, int], PersonaView]:
        """Stored persona texts of ``context_id`` at the given (evaluation id, row index)
        pairs, keyed by the pair; pairs without a stored text are left out."""
        with self._conn() as conn:
            return _contexts.personas_at(conn, self.run_id, context_id, keys)

    # ------------------------------------------------------------------ grids
    def grid(self, island: int | None = None) -> GridView:
        """The elites of one island (all islands when None) as stored now."""
        with self._conn() as conn:
            elites = queries.load_elites(conn, self.run_id, island)
        return GridView(island, self.config.descriptors, tuple(elites))

    def qd_stats(self, island: int | None = None) -> dict[str, Any]:
        """QD statistics (cells_total, filled, coverage, qd_score, best, mean, programs,
        migrants) of one island or of all islands together."""
        view = self.grid(island)
        return _qd_stats(self.config, list(view.elites), island)


def open_reader(db: str | os.PathLike[str] | Path, *, run_id: int | None = None) -> ArchiveReader:
    """Shorthand for :meth:`ArchiveReader.open`."""
    return ArchiveReader.open(db, run_id=run_id)
