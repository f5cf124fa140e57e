"""``ArchiveReader``: the public, read-only API over an archive database.

The writer (``archive.Archive``) owns a run's database; anything that only *reads* (the
web viewer, and in time ``inspect`` and ``export``) goes through this class instead of ORM
rows and engines of its own. It has its own read-only SQLAlchemy engine (SQLite: a
``mode=ro`` URI with ``PRAGMA query_only``), issues only SELECTs, takes no lock, and is safe
while a run writes the same file (WAL: readers never wait on the writer). Each method reads
one consistent snapshot (one transaction).

Everything returned is a frozen dataclass (those of ``archive.records`` where they fit,
the ones below otherwise) with the stored vocabularies typed as ``StrEnum``s from
``archive.vocab`` (unknown strings are kept as plain ``str``).

    from archive.reader import ArchiveReader
    with ArchiveReader.open("runs/x/archive.db") as r:
        champ = r.champion()
        print(r.snapshot().proposal_evaluations, champ.program.id if champ else None)

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

import difflib
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from sqlalchemy import Connection, Engine, func, select

from . import queries, store
from .dbpath import archive_path_problem
from .map_elites import qd_stats as _qd_stats
from .migrations import check_or_upgrade
from .records import ArchiveConfig, EvaluationView, GridView, PersonaView, ProgramView
from .runhistory import (BudgetRaise, KilledEvaluation, budget_in_force, budget_raise, killed_charges,
                         killed_evaluation)
from .schema import ContextResultRow, Evaluation, Event, Persona, Program, Run, RunProgram
from .vocab import BudgetCap, EventKind, Outcome, Role, RunStatus, Stage, coerce

#: Shortest program-id prefix :meth:`ArchiveReader.resolve` accepts.
MIN_PREFIX = 6



SCORING_ROLES: tuple[str, ...] = ("persona", "respondent")
"""Roles whose output the scores rest on."""

class ReaderError(Exception):
    """A user-facing problem reading an archive (no such file, not an archive, no run,
    unknown or ambiguous program id): the message is one line."""


class UnknownProgramError(ReaderError, LookupError):
    """A program reference that names no program (or several) of the run."""


# ----------------------------------------------------------------------------- values


@dataclass(frozen=True)
class RunInfo:
    """A run of the database. ``run_config`` is the caller's configuration as stored;
    ``config`` the archive settings (islands, descriptors); times are Unix seconds."""

    id: int
    status: RunStatus | str
    seed: int
    created_at: float
    updated_at: float
    run_config: Mapping[str, Any]
    config: ArchiveConfig
    versions: Mapping[str, Any]

    @property
    def models(self) -> dict[str, str]:
        """Role -> model string, from the run config (roles without a model left out)."""
        out: dict[str, str] = {}
        for role, spec in (self.run_config.get("models") or {}).items():
            model = spec.get("model") if isinstance(spec, Mapping) else spec
            if model is not None:
                out[str(role)] = str(model)
        return out

    @property
    def contexts(self) -> dict[str, tuple[str, ...]]:
        """Split -> context references (ids or paths) of the run config."""
        return {str(k): tuple(str(x) for x in (v or ())) for k, v in (self.run_config.get("contexts") or {}).items()}


@dataclass(frozen=True)
class Snapshot:
    """The cheap facts that change while a run writes (for polling). ``evaluations``:
    rows of ``evaluations`` (all stages); ``proposal_evaluations``: what the budget counts;
    ``last_event_id``: id of the newest event (0 when none)."""

    run_id: int
    status: RunStatus | str
    updated_at: float
    evaluations: int
    proposal_evaluations: int
    last_event_id: int

    @property
    def stored_evaluations(self) -> int:
        """Rows of the ``evaluations`` table (= ``evaluations``), named as users read it."""
        return self.evaluations

    @property
    def version(self) -> str:
        """A token that changes whenever anything is written to the run."""
        return f"{self.run_id}:{self.evaluations}:{self.last_event_id}:{self.status}"


@dataclass(frozen=True)
class Counts:
    """Totals of a run. ``statuses``: outcomes of adds (new_cell, improved, ...);
    ``rejections``: by reason; ``clipped``: descriptor values outside their range."""

    evaluations: int
    evaluations_by_stage: Mapping[str, int]
    proposal_evaluations: int
    programs: int
    elites: int
    statuses: Mapping[str, int]
    rejections: Mapping[str, int]
    clipped: Mapping[str, int]
    migrations: int
    resets: int
    llm_calls: int
    llm_tokens: int
    cost_usd: float

    @property
    def stored_evaluations(self) -> int:
        """Rows of the ``evaluations`` table, every stage (= ``evaluations``)."""
        return self.evaluations


@dataclass(frozen=True)
class RoleSpend:
    """LLM spend of one role (sums over the run's ``llm_calls``); cost in US dollars,
    latency in seconds."""

    role: Role | str
    calls: int
    cached: int
    errors: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    latency_s: float

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class BudgetUse:
    """One cap of the run's budget: ``limit`` (None = no cap) and ``used`` in the cap's
    unit (evaluations: proposal evaluations; llm_calls: uncached calls; dollars; minutes
    of evolution as last logged)."""

    cap: BudgetCap
    limit: float | None
    used: float

    @property
    def fraction(self) -> float | None:
        """used / limit in [0, 1] (None without a cap)."""
        if self.limit is None or self.limit <= 0:
            return None
        return max(0.0, min(1.0, self.used / self.limit))


@dataclass(frozen=True)
class EventView:
    """One row of the event log (``detail`` is the stored JSON object, ``{}`` if none)."""

    id: int
    ts: float
    kind: EventKind | str
    program_id: str | None
    island: int | None
    detail: Mapping[str, Any]


@dataclass(frozen=True)
class ProposalEvaluation:
    """A full train evaluation of a proposed program, in order: ``index`` is 1-based
    (the budget's count after it), ``fitness`` None when it failed, ``elapsed_s`` the
    run's evolution seconds when it was logged."""

    index: int
    event_id: int
    program_id: str | None
    island: int | None
    fitness: float | None
    outcome: Outcome | str | None
    elapsed_s: float | None
    ts: float


@dataclass(frozen=True)
class Lineage:
    """``steps``: the program first, its seed last. ``complete`` is False when an ancestor
    is missing from the database; ``missing_parent`` then names it."""

    program_id: str
    steps: tuple[ProgramView, ...]
    complete: bool
    missing_parent: str | None

    def delta_fitness(self, i: int) -> float | None:
        """Train fitness of step ``i`` minus its parent's (None if either is unknown)."""
        if i + 1 >= len(self.steps):
            return None
        a, b = self.steps[i].fitness, self.steps[i + 1].fitness
        return None if a is None or b is None else float(a) - float(b)


@dataclass(frozen=True)
class Champion:
    """The best program on validation (``stage`` validation) or, before anything was
    validated, on train; with its best evaluation at that stage and its latest test one."""

    program: ProgramView
    stage: Stage
    fitness: float | None
    evaluation: EvaluationView | None
    test: EvaluationView | None


@dataclass(frozen=True)
class ContextCount:
    """Per context of the run: persona ``positions`` stored, persona ``texts`` stored,
    distinct ``programs`` with positions, ``exemplars`` (texts kept as a region's exemplar)."""

    context_id: str
    positions: int
    texts: int
    programs: int
    exemplars: int = 0


@dataclass(frozen=True)
class PositionSet:
    """Every stored persona position of one context in the run (all evaluations, all
    stages) with the most common axis count ``k``: ``z`` is M×K in [0, 1] (NaN =
    unanswered), and per row its ``program_ids``, ``stages``, ``evaluation_ids`` and row
    ``indexes`` within its population. ``other_k``: rows left out for another K."""

    context_id: str
    k: int
    z: Any
    program_ids: Any
    stages: Any
    evaluation_ids: Any
    indexes: Any
    other_k: int = 0


# ----------------------------------------------------------------------------- reader


def _one_line(text: object) -> str:
    for line in str(text).splitlines():
        if line.strip():
            return line.strip()
    return str(text).strip() or "unknown error"


def _float(value: Any) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


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
        text = os.fspath(db)
        target = store.resolve(text)
        if target.memory:
            raise ReaderError("cannot read an in-memory archive from another handle: give a file path")
        problem = archive_path_problem(text)  # a directory, a stray file: one line before any engine
        if problem is not None:
            raise ReaderError(problem)
        try:
            engine = store.make_engine(target, readonly=True)
        except Exception as exc:  # noqa: BLE001 - driver errors: one line
            raise ReaderError(f"{text}: cannot open the archive: {_one_line(exc)}") from None
        try:
            with engine.connect() as conn:
                check_or_upgrade(conn, where=text, readonly=True)
                rid = cls._pick_run(conn, run_id, text)
        except ReaderError:
            engine.dispose()
            raise
        except Exception as exc:  # noqa: BLE001 - schema, sqlite errors: one line
            engine.dispose()
            raise ReaderError(f"{text}: cannot open the archive: {_one_line(exc)}") from None
        return cls(engine=engine, db=text, url=target.url, run_id=rid)

    @staticmethod
    def _pick_run(conn: Connection, run_id: int | None, where: str) -> int:
        q = select(Run.id)
        q = q.where(Run.id == run_id) if run_id is not None else q.order_by(Run.id.desc()).limit(1)
        rid = conn.execute(q).scalar()
        if rid is None:
            raise ReaderError(f"{where}: no run {run_id}" if run_id is not None else f"{where}: holds no runs yet")
        return int(rid)

    def at_run(self, run_id: int | None) -> "ArchiveReader":
        """A reader of ``run_id`` (None: the latest run now) over the same engine; closing
        it does not close this one. Raises ReaderError for an unknown run."""
        with self._conn() as conn:
            rid = self._pick_run(conn, run_id, self.db)
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
            return tuple(self._run_info(r) for r in conn.execute(select(Run).order_by(Run.id)).all())

    def run(self) -> RunInfo:
        """This reader's run (status and ``updated_at`` as of now)."""
        with self._conn() as conn:
            row = conn.execute(select(Run).where(Run.id == self.run_id)).one()
        info = self._run_info(row)
        self._run = info
        return info

    @property
    def config(self) -> ArchiveConfig:
        """The run's archive settings (fixed for the life of the run)."""
        if self._run is None:
            self.run()
        assert self._run is not None
        return self._run.config

    @staticmethod
    def _run_info(r: Any) -> RunInfo:
        return RunInfo(
            id=int(r.id), status=coerce(RunStatus, r.status), seed=int(r.seed), created_at=float(r.created_at),
            updated_at=float(r.updated_at), run_config=dict(r.run_config or {}),
            config=ArchiveConfig.from_dict(r.archive_config), versions=dict(r.versions or {}),
        )

    def simulated_roles(self) -> list[str]:
        """The roles whose output the run's *scores* rest on that ran on the simulated world:
        ``persona`` and ``respondent`` (a ``sim`` mutator is the offline operator, which
        changes no score; ``author`` is never called by a run)."""
        models = self.run().models
        return [role for role in SCORING_ROLES if models.get(role) == "sim"]

    def weak_sandbox(self) -> list[str]:
        """The kernel isolation layers some part of this run went without (``--weak-sandbox``
        on a kernel that lacked them, per its ``sandbox_weak`` events); [] when every
        program ran fully confined."""
        missing: list[str] = []
        for event in self.events(kind=EventKind.SANDBOX_WEAK):
            for layer in event.detail.get("missing") or []:
                if str(layer) not in missing:
                    missing.append(str(layer))
        return missing

    def simulated(self) -> bool:
        """True when the run's scores come (partly) from the simulated world: a scoring role
        (``persona``/``respondent``) ran on ``sim`` per the stored config, or a
        ``run_started``/``run_resumed`` event recorded it."""
        if self.simulated_roles():
            return True
        for kind in (EventKind.RUN_STARTED, EventKind.RUN_RESUMED):
            for event in self.events(kind=kind):
                roles = event.detail.get("simulated_roles")
                if roles is not None and any(r in SCORING_ROLES for r in roles):
                    return True
        return False

    def snapshot(self) -> Snapshot:
        """Status and counters that move while the run writes (two small queries)."""
        with self._conn() as conn:
            status, updated = conn.execute(select(Run.status, Run.updated_at).where(Run.id == self.run_id)).one()
            n_eval = queries.eval_count(conn, self.run_id)
            last = conn.execute(select(func.max(Event.id)).where(Event.run_id == self.run_id)).scalar()
            proposals = self._proposal_count(conn)
        return Snapshot(self.run_id, coerce(RunStatus, status), float(updated), n_eval, proposals, int(last or 0))

    def counts(self) -> Counts:
        """Totals of the run (one snapshot)."""
        with self._conn() as conn:
            c = queries.counters(conn, self.run_id)
            by_stage = queries.evaluations_by_stage(conn, self.run_id)
            n_prog = conn.execute(
                select(func.count()).select_from(RunProgram).where(RunProgram.run_id == self.run_id)
            ).scalar()
            elites = len(queries.load_elites(conn, self.run_id))
            calls, cost, tokens = queries.llm_totals(conn, self.run_id)
            proposals = self._proposal_count(conn)

        def pick(prefix: str) -> dict[str, int]:
            return {k[len(prefix):]: int(v) for k, v in sorted(c.items()) if k.startswith(prefix)}

        ordered = {s.value: by_stage[s.value] for s in Stage if s.value in by_stage}
        ordered.update({k: v for k, v in by_stage.items() if k not in ordered})
        return Counts(
            evaluations=sum(by_stage.values()), evaluations_by_stage=ordered, proposal_evaluations=proposals,
            programs=int(n_prog or 0), elites=elites, statuses=pick("status."), rejections=pick("rejected."),
            clipped=pick("clipped."), migrations=int(c.get("migrations", 0)), resets=int(c.get("resets", 0)),
            llm_calls=calls, llm_tokens=tokens, cost_usd=cost,
        )

    def spend(self) -> tuple[RoleSpend, ...]:
        """LLM spend per role, by role name."""
        with self._conn() as conn:
            rows = queries.spend_by_role(conn, self.run_id)
        return tuple(RoleSpend(role=coerce(Role, role), **vals) for role, vals in sorted(rows.items()))

    def budget(self) -> tuple[BudgetUse, ...]:
        """Use of every budget cap (the four caps, ``limit`` None where not set), with the
        limits in force (those of the last ``budget_raised`` event, else the stored config).
        Matches the run's own accounting: evaluations = proposal evaluations, llm_calls =
        uncached calls plus the upper bounds charged for killed evaluations (dollars
        likewise), minutes = the evolution time last logged with an evaluation."""
        caps = self.budget_in_force()
        proposals = self.proposal_evaluations()
        spend = self.spend()
        killed_calls, killed_dollars = killed_charges([e.detail for e in self.events(kind=EventKind.EVALUATION_KILLED)])
        used = {
            BudgetCap.EVALUATIONS: float(len(proposals)),
            BudgetCap.LLM_CALLS: float(sum(s.calls - s.cached for s in spend) + killed_calls),
            BudgetCap.DOLLARS: float(sum(s.cost_usd for s in spend) + killed_dollars),
            BudgetCap.MINUTES: max((p.elapsed_s or 0.0 for p in proposals), default=0.0) / 60.0,
        }
        return tuple(BudgetUse(cap, _float(caps.get(cap.value)), used[cap]) for cap in BudgetCap)

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
        return tuple(killed_evaluation(e.id, e.ts, e.program_id, e.detail)
                     for e in self.events(kind=EventKind.EVALUATION_KILLED))

    # ------------------------------------------------------------------ events
    def events(
        self, *, kind: str | None = None, program_id: str | None = None, after: int | None = None,
        limit: int | None = None,
    ) -> tuple[EventView, ...]:
        """Events of the run in order, optionally of one ``kind`` / program, with id >
        ``after``, at most ``limit``."""
        q = select(Event).where(Event.run_id == self.run_id)
        if kind is not None:
            q = q.where(Event.kind == str(kind))
        if program_id is not None:
            q = q.where(Event.program_id == program_id)
        if after is not None:
            q = q.where(Event.id > after)
        q = q.order_by(Event.id)
        if limit is not None:
            q = q.limit(limit)
        with self._conn() as conn:
            rows = conn.execute(q).all()
        return tuple(self._event(e) for e in rows)

    @staticmethod
    def _event(e: Any) -> EventView:
        detail = e.detail if isinstance(e.detail, Mapping) else {}
        return EventView(int(e.id), float(e.ts), coerce(EventKind, e.kind), e.program_id, e.island, dict(detail))

    def _proposal_rows(self, conn: Connection) -> list[Any]:
        q = (select(Event).where(Event.run_id == self.run_id, Event.kind == EventKind.EVALUATED.value)
             .order_by(Event.id))
        return [e for e in conn.execute(q).all()
                if isinstance(e.detail, Mapping) and e.detail.get("stage") == Stage.TRAIN.value]

    def _proposal_count(self, conn: Connection) -> int:
        """Number of proposal evaluations: in SQL on SQLite (JSON1), else by decoding."""
        if conn.dialect.name == "sqlite":
            q = (select(func.count()).select_from(Event)
                 .where(Event.run_id == self.run_id, Event.kind == EventKind.EVALUATED.value,
                        func.json_extract(Event.detail, "$.stage") == Stage.TRAIN.value))
            try:
                return int(conn.execute(q).scalar() or 0)
            except Exception:  # noqa: BLE001 - SQLite built without JSON1: decode below
                conn.rollback()
        return len(self._proposal_rows(conn))

    def proposal_evaluations(self) -> tuple[ProposalEvaluation, ...]:
        """Full train evaluations of proposed programs, in order (what the budget counts)."""
        with self._conn() as conn:
            rows = self._proposal_rows(conn)
        out = []
        for i, e in enumerate(rows, 1):
            d = e.detail
            status = d.get("status")
            out.append(ProposalEvaluation(
                index=i, event_id=int(e.id), program_id=e.program_id, island=e.island, fitness=_float(d.get("fitness")),
                outcome=coerce(Outcome, status) if status is not None else None,
                elapsed_s=_float(d.get("elapsed_s")), ts=float(e.ts),
            ))
        return tuple(out)

    # ------------------------------------------------------------------ programs
    def resolve(self, ref: str) -> str:
        """Full program id for ``ref``: an id, a unique id prefix (>= 6 characters) or a
        label such as ``seed:sobol``, among the run's programs. Raises
        UnknownProgramError naming close matches."""
        text = ref.strip()
        if not text:
            raise UnknownProgramError("empty program id")
        in_run = select(RunProgram.program_id).where(RunProgram.run_id == self.run_id)
        with self._conn() as conn:
            if ":" in text:
                rows = conn.execute(select(Program.id).where(Program.label == text, Program.id.in_(in_run))
                                    .order_by(Program.id)).scalars().all()
                if len(rows) == 1:
                    return str(rows[0])
                if rows:
                    raise UnknownProgramError(f"label {text!r} names {len(rows)} programs: {', '.join(rows[:5])}")
                labels = conn.execute(select(Program.label).where(Program.label.is_not(None), Program.id.in_(in_run))
                                      .distinct()).scalars().all()
                hint = difflib.get_close_matches(text, [str(x) for x in labels], n=3, cutoff=0.4)
                raise UnknownProgramError(f"no program labelled {text!r} in run {self.run_id}"
                                          + (f" (close: {', '.join(hint)})" if hint else ""))
            prefix = text.lower()
            if len(prefix) < MIN_PREFIX:
                raise UnknownProgramError(f"program id {text!r} is too short: give at least {MIN_PREFIX} characters")
            like = prefix.replace("\\", "").replace("%", "").replace("_", "")
            matches = conn.execute(
                select(RunProgram.program_id).where(RunProgram.run_id == self.run_id,
                                                    RunProgram.program_id.like(f"{like}%"))
                .order_by(RunProgram.program_id).limit(21)
            ).scalars().all()
            matches = [m for m in matches if m.startswith(prefix)]
            if prefix in matches:
                return prefix
            if len(matches) == 1:
                return str(matches[0])
            if matches:
                raise UnknownProgramError(f"program id prefix {text!r} is ambiguous: matches "
                                          f"{', '.join(matches[:5])}; give more characters")
            every = conn.execute(in_run).scalars().all()
        close = difflib.get_close_matches(prefix, [i[: len(prefix)] for i in every], n=3, cutoff=0.5)
        full = [i for c in close for i in every if i.startswith(c)][:3]
        raise UnknownProgramError(f"unknown program {text!r} in run {self.run_id}"
                                  + (f" (close: {', '.join(full)})" if full else ""))

    def program(self, program_id: str) -> ProgramView:
        """A stored program of the run with its best train fitness and metrics. Raises
        UnknownProgramError when the run does not hold it."""
        views = self.programs([program_id])
        if program_id not in views:
            raise UnknownProgramError(f"program {program_id} is not in run {self.run_id}")
        return views[program_id]

    def programs(self, ids: Sequence[str]) -> dict[str, ProgramView]:
        """Views of the given programs (ids the database does not hold are left out)."""
        with self._conn() as conn:
            return queries.program_views(conn, self.run_id, ids)

    def program_ids(self) -> tuple[str, ...]:
        """Ids of every program the run has stored, oldest first."""
        with self._conn() as conn:
            return tuple(conn.execute(select(RunProgram.program_id).where(RunProgram.run_id == self.run_id)
                                      .order_by(RunProgram.created_at, RunProgram.program_id)).scalars())

    def seeds(self) -> tuple[ProgramView, ...]:
        """The run's seed programs (no parent), by label."""
        with self._conn() as conn:
            ids = conn.execute(
                select(Program.id).join(RunProgram, RunProgram.program_id == Program.id)
                .where(RunProgram.run_id == self.run_id, Program.parent_id.is_(None))
            ).scalars().all()
            views = queries.program_views(conn, self.run_id, ids)
        return tuple(sorted(views.values(), key=lambda v: (v.label or "", v.id)))

    def top(self, k: int = 10, *, stage: str = Stage.TRAIN) -> tuple[ProgramView, ...]:
        """The ``k`` best programs by their best fitness at ``stage`` (``fitness`` = that)."""
        with self._conn() as conn:
            return tuple(queries.top(conn, self.run_id, k, str(stage)))

    def champion_stage(self) -> Stage:
        """The stage that chooses the champion: validation once any program of the run has
        a validation fitness, train before that."""
        return Stage.VALIDATION if self.top(1, stage=Stage.VALIDATION) else Stage.TRAIN

    def champion(self) -> Champion | None:
        """The program of the latest ``champion`` event (the loop's noise-aware promotion,
        issue 13) if any, else the best program on validation if any was validated, else
        the best on train; None before anything was evaluated."""
        crowned = self.events(kind="champion")
        if crowned and crowned[-1].program_id:
            pid = crowned[-1].program_id
            try:
                view = self.program(pid)
            except UnknownProgramError:
                view = None
            if view is not None:
                best = self.best_evaluation(pid, Stage.VALIDATION)
                return Champion(view, Stage.VALIDATION, best.fitness if best else view.fitness, best,
                                self.latest_evaluation(pid, Stage.TEST))
        for stage in (Stage.VALIDATION, Stage.TRAIN):
            best = self.top(1, stage=stage)
            if best:
                view = best[0]
                return Champion(view, stage, view.fitness, self.best_evaluation(view.id, stage),
                                self.latest_evaluation(view.id, Stage.TEST))
        return None

    def lineage(self, program_id: str) -> Lineage:
        """The chain from ``program_id`` back to its seed."""
        with self._conn() as conn:
            ids = queries.lineage(conn, program_id)
            views = queries.program_views(conn, self.run_id, ids)
        steps = tuple(views[i] for i in ids if i in views)
        if not steps:
            raise UnknownProgramError(f"program {program_id} is not in the archive")
        last = steps[-1]
        return Lineage(program_id, steps, last.parent_id is None, last.parent_id)

    # ------------------------------------------------------------------ evaluations
    def evaluations(self, program_id: str, stage: str | None = None) -> tuple[EvaluationView, ...]:
        """Evaluations of a program in the run, oldest first, with per-context metrics and
        decoded positions (N×K float arrays in [0, 1], NaN = unanswered)."""
        with self._conn() as conn:
            return tuple(queries.evaluations(conn, self.run_id, program_id, None if stage is None else str(stage)))

    def best_evaluation(self, program_id: str, stage: str) -> EvaluationView | None:
        """The program's evaluation at ``stage`` with the highest fitness (latest among
        equals; a failed one only when there is nothing else), or None."""
        evs = self.evaluations(program_id, stage)
        if not evs:
            return None
        return max(evs, key=lambda e: (e.fitness is not None, e.fitness if e.fitness is not None else 0.0, e.id))

    def latest_evaluation(self, program_id: str, stage: str) -> EvaluationView | None:
        """The program's most recent evaluation at ``stage``, or None."""
        evs = self.evaluations(program_id, stage)
        return evs[-1] if evs else None

    def personas(
        self, *, context_id: str, program_id: str | None = None, evaluation_id: int | None = None
    ) -> tuple[PersonaView, ...]:
        """Stored persona texts of a context (optionally of one program / evaluation) with
        their positions, ordered by evaluation then row index."""
        with self._conn() as conn:
            views = queries.personas(conn, self.run_id, context_id, program_id)
        if evaluation_id is not None:
            views = [v for v in views if v.evaluation_id == evaluation_id]
        return tuple(views)

    def context_counts(self) -> tuple[ContextCount, ...]:
        """Per context of the run: positions, texts and programs stored; most positions first."""
        with self._conn() as conn:
            rows = conn.execute(
                select(ContextResultRow.context_id, func.sum(ContextResultRow.n_personas),
                       func.count(func.distinct(Evaluation.program_id)))
                .join(Evaluation, Evaluation.id == ContextResultRow.evaluation_id)
                .where(Evaluation.run_id == self.run_id, ContextResultRow.positions.is_not(None))
                .group_by(ContextResultRow.context_id)
            ).all()
            texts = {c: (int(t), int(x or 0)) for c, t, x in conn.execute(
                select(Persona.context_id, func.count(), func.count(Persona.exemplar))
                .join(Evaluation, Evaluation.id == Persona.evaluation_id)
                .where(Evaluation.run_id == self.run_id).group_by(Persona.context_id)
            ).all()}
        out = [ContextCount(str(c), int(n or 0), texts.get(c, (0, 0))[0], int(p), texts.get(c, (0, 0))[1])
               for c, n, p in rows]
        out.sort(key=lambda c: (-c.positions, -c.texts, c.context_id))
        return tuple(out)

    def context_positions(self, context_id: str) -> PositionSet:
        """Every stored position of ``context_id`` in the run, in storage order, keeping
        the populations with the most common axis count (what ``inspect rare`` bins)."""
        import numpy as np

        from .codec import decode_positions

        with self._conn() as conn:
            rows = conn.execute(
                select(ContextResultRow.evaluation_id, ContextResultRow.n_personas, ContextResultRow.n_axes,
                       ContextResultRow.positions, Evaluation.program_id, Evaluation.stage)
                .join(Evaluation, Evaluation.id == ContextResultRow.evaluation_id)
                .where(Evaluation.run_id == self.run_id, ContextResultRow.context_id == context_id,
                       ContextResultRow.positions.is_not(None), ContextResultRow.n_personas > 0)
                .order_by(ContextResultRow.id)
            ).all()
        ks = [int(r.n_axes) for r in rows]
        k = max(set(ks), key=ks.count) if ks else 0
        zs, progs, stages, evals, idx = [], [], [], [], []
        other = 0
        for r in rows:
            if int(r.n_axes) != k:
                other += int(r.n_personas)
                continue
            z = decode_positions(r.positions, int(r.n_personas), k)
            zs.append(z)
            progs += [r.program_id] * len(z)
            stages += [coerce(Stage, r.stage)] * len(z)
            evals += [int(r.evaluation_id)] * len(z)
            idx += list(range(len(z)))
        return PositionSet(
            context_id=context_id, k=k, z=np.vstack(zs) if zs else np.zeros((0, k)),
            program_ids=np.array(progs, dtype=object), stages=np.array(stages, dtype=object),
            evaluation_ids=np.array(evals, dtype=np.int64), indexes=np.array(idx, dtype=np.int64), other_k=other,
        )

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

