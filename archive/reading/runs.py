"""Run-level reads: the runs of a database, a run's status and counters, its LLM spend."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from sqlalchemy import Connection, func, select

from .. import queries
from ..records import ArchiveConfig
from ..runhistory import calls_by_stage
from ..schema import Event, Run, RunProgram
from ..vocab import Role, RunStatus, Stage, coerce
from .events import proposal_count


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
        return {
            str(k): tuple(str(x) for x in (v or ()))
            for k, v in (self.run_config.get("contexts") or {}).items()
        }


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
    calls_by_stage: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    """stage -> role -> uncached LLM calls (:func:`archive.runhistory.calls_by_stage`)."""

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


def run_info(r: Any) -> RunInfo:
    """A ``runs`` row as a :class:`RunInfo` (missing JSON columns read as empty)."""
    return RunInfo(
        id=int(r.id),
        status=coerce(RunStatus, r.status),
        seed=int(r.seed),
        created_at=float(r.created_at),
        updated_at=float(r.updated_at),
        run_config=dict(r.run_config or {}),
        config=ArchiveConfig.from_dict(r.archive_config),
        versions=dict(r.versions or {}),
    )


def runs(conn: Connection) -> tuple[RunInfo, ...]:
    """Every run of the database, oldest (lowest id) first."""
    return tuple(run_info(r) for r in conn.execute(select(Run).order_by(Run.id)).all())


def run(conn: Connection, run_id: int) -> RunInfo:
    """Run ``run_id`` as stored now (raises if the database does not hold it)."""
    return run_info(conn.execute(select(Run).where(Run.id == run_id)).one())


def snapshot(conn: Connection, run_id: int) -> Snapshot:
    """Status and counters of the run that move while it writes (small queries)."""
    status, updated = conn.execute(select(Run.status, Run.updated_at).where(Run.id == run_id)).one()
    n_eval = queries.eval_count(conn, run_id)
    last = conn.execute(select(func.max(Event.id)).where(Event.run_id == run_id)).scalar()
    proposals = proposal_count(conn, run_id)
    return Snapshot(run_id, coerce(RunStatus, status), float(updated), n_eval, proposals, int(last or 0))


def counts(conn: Connection, run_id: int) -> Counts:
    """Totals of the run: stored evaluations by stage (stages in vocabulary order, unknown
    ones after), proposal evaluations, programs, elites, add outcomes, rejections, clipped
    descriptors, migrations, resets, LLM calls / tokens / cost (US dollars)."""
    c = queries.counters(conn, run_id)
    by_stage = queries.evaluations_by_stage(conn, run_id)
    n_prog = conn.execute(
        select(func.count()).select_from(RunProgram).where(RunProgram.run_id == run_id)
    ).scalar()
    elites = len(queries.load_elites(conn, run_id))
    calls, cost, tokens = queries.llm_totals(conn, run_id)
    proposals = proposal_count(conn, run_id)

    def pick(prefix: str) -> dict[str, int]:
        return {k[len(prefix) :]: int(v) for k, v in sorted(c.items()) if k.startswith(prefix)}

    ordered: dict[str, int] = {str(s.value): by_stage[s.value] for s in Stage if s.value in by_stage}
    ordered.update({k: v for k, v in by_stage.items() if k not in ordered})
    return Counts(
        evaluations=sum(by_stage.values()),
        evaluations_by_stage=ordered,
        proposal_evaluations=proposals,
        programs=int(n_prog or 0),
        elites=elites,
        statuses=pick("status."),
        rejections=pick("rejected."),
        clipped=pick("clipped."),
        migrations=int(c.get("migrations", 0)),
        resets=int(c.get("resets", 0)),
        llm_calls=calls,
        llm_tokens=tokens,
        cost_usd=cost,
        calls_by_stage=calls_by_stage(c),
    )


def spend(conn: Connection, run_id: int) -> tuple[RoleSpend, ...]:
    """LLM spend of the run per role, sorted by role name."""
    rows = queries.spend_by_role(conn, run_id)
    return tuple(RoleSpend(role=coerce(Role, role), **vals) for role, vals in sorted(rows.items()))
