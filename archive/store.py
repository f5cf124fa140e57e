"""Database access for the archive: engine set-up and the write operations.

Every function here takes an open ``Connection`` inside the caller's transaction; the
caller (``Archive``) decides transaction boundaries (one per result). SQLite files get
WAL mode, foreign keys, ``synchronous=NORMAL`` (a committed transaction survives a killed
process; only a power cut can lose the last commits) and a writer lock file.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from sqlalchemy import Connection, Engine, create_engine, delete, event, insert, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

from .binning import cell_key
from .codec import encode_positions
from .records import METRIC_NAMES, EliteView, EvaluationRecord, ProgramRecord
from .schema import (
    ContextResultRow,
    Counter,
    Elite,
    Evaluation,
    Event,
    Island,
    LLMCall,
    Persona,
    Program,
    RunProgram,
)


class ArchiveLockedError(RuntimeError):
    """Another process holds the writer lock of this archive."""


@dataclass(frozen=True)
class Target:
    """Where the archive lives: a SQLAlchemy URL, plus the file path for SQLite files."""

    url: str
    path: Path | None  # SQLite file, else None
    memory: bool = False


def resolve(url_or_path: str | os.PathLike[str]) -> Target:
    """Turn a path or a SQLAlchemy URL into a Target (a bare path means a SQLite file)."""
    text = os.fspath(url_or_path)
    if text in (":memory:", "sqlite://", "sqlite:///:memory:"):
        return Target("sqlite://", None, memory=True)
    if "://" not in text:
        p = Path(text).expanduser().resolve()
        return Target(f"sqlite:///{p}", p)
    url = make_url(text)
    if url.get_backend_name() == "sqlite":
        db = url.database
        if not db or db == ":memory:":
            return Target("sqlite://", None, memory=True)
        return Target(text, Path(db).expanduser().resolve())
    return Target(text, None)


def make_engine(target: Target, *, readonly: bool) -> Engine:
    """Engine for the target. Read-only SQLite uses a ``mode=ro`` URI and ``query_only``."""
    if target.memory:
        engine = create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
    elif target.path is not None:
        if readonly:
            if not target.path.exists():
                raise FileNotFoundError(f"archive not found: {target.path}")
            url = f"sqlite:///file:{target.path}?mode=ro&uri=true"
        else:
            target.path.parent.mkdir(parents=True, exist_ok=True)
            url = f"sqlite:///{target.path}"
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
    else:
        engine = create_engine(target.url)
    if engine.dialect.name == "sqlite":
        # Let SQLAlchemy, not the sqlite3 module, delimit transactions, so a block of
        # reads sees one snapshot and a block of writes is one atomic transaction.
        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            if readonly:
                cur.execute("PRAGMA query_only=ON")
            elif not target.memory:
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN" if readonly or target.memory else "BEGIN IMMEDIATE")

    return engine


class WriterLock:
    """Exclusive advisory lock (``<db>.lock``) so a SQLite archive has one writer.

    Released by ``release()`` or automatically when the process dies (even by SIGKILL).
    """

    def __init__(self, path: Path) -> None:
        import fcntl

        self._path = Path(f"{path}.lock")
        self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self._fd)
            raise ArchiveLockedError(
                f"archive {path} is open for writing by another process (lock {self._path}); "
                f"open it with readonly=True to read"
            ) from None
        os.ftruncate(self._fd, 0)
        os.write(self._fd, str(os.getpid()).encode())

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


# ----------------------------------------------------------------------------- writes


def _int_or_none(value: Any) -> int | None:
    """``value`` as an int, or None when it is None (an evaluation without a seed or replicate)."""
    return None if value is None else int(value)


def _split_metrics(metrics: Mapping[str, float] | None) -> dict[str, Any]:
    out: dict[str, Any] = {name: None for name in METRIC_NAMES}
    extra: dict[str, float | None] = {}
    for k, v in (metrics or {}).items():
        fv: float | None = None if v is None else float(v)
        if fv is not None and not math.isfinite(fv):
            fv = None
        if k in out:
            out[k] = fv
        else:
            extra[k] = fv
    out["metrics_extra"] = extra or None
    return out


def _finite_or_none(x: float | None) -> float | None:
    if x is None:
        return None
    fx = float(x)
    return fx if math.isfinite(fx) else None


def program_exists(conn: Connection, program_id: str) -> bool:
    return conn.execute(select(Program.id).where(Program.id == program_id)).first() is not None


def insert_program(conn: Connection, run_id: int, program_id: str, rec: ProgramRecord, now: float) -> bool:
    """Store a program (if new in the database) and link it to the run. True if the row was new."""
    new = not program_exists(conn, program_id)
    if new:
        m = rec.mutation
        conn.execute(
            insert(Program),
            {
                "id": program_id,
                "run_id": run_id,
                "code": rec.code,
                "parent_id": rec.parent_id,
                "island": int(rec.island),
                "generation": int(rec.generation),
                "label": rec.label,
                "operator": m.operator if m else None,
                "model": m.model if m else None,
                "directive": m.directive if m else None,
                "diff": m.diff if m else None,
                "prompt_tokens": int(m.prompt_tokens) if m else 0,
                "completion_tokens": int(m.completion_tokens) if m else 0,
                "created_at": now,
            },
        )
    linked = (not new) and conn.execute(
        select(RunProgram.program_id).where(RunProgram.run_id == run_id, RunProgram.program_id == program_id)
    ).first() is not None
    if not linked:
        conn.execute(insert(RunProgram), {"run_id": run_id, "program_id": program_id, "created_at": now})
    return new


def insert_evaluation(
    conn: Connection,
    run_id: int,
    program_id: str,
    ev: EvaluationRecord,
    *,
    descriptors: Mapping[str, float] | None,
    store_personas: bool,
    now: float,
    exemplars: Mapping[int, Mapping[int, str]] | None = None,
) -> int:
    """Store an evaluation, its per-context results (positions as uint16 blobs) and persona
    dicts: all of them if ``store_personas``, else only the exemplars. ``exemplars`` maps
    the index of a context result in ``ev.contexts`` to {persona row: region key} (see
    ``archive.exemplars``); those rows are marked and never pruned. Returns the evaluation id."""
    tokens = sum(int(c.tokens) for c in ev.contexts)
    row = {
        "run_id": run_id,
        "program_id": program_id,
        "stage": ev.stage,
        "fitness": _finite_or_none(ev.fitness),
        "error": ev.error,
        "wall_s": float(ev.wall_s),
        "tokens": tokens,
        "n_contexts": len(ev.contexts),
        "keep_personas": bool(ev.keep_personas),
        "descriptors": {k: float(v) for k, v in descriptors.items()} if descriptors else None,
        "created_at": now,
        "seed": _int_or_none(getattr(ev, "seed", None)),
        "replicate": _int_or_none(getattr(ev, "replicate", None)),
        **_split_metrics(ev.metrics),
    }
    eval_id = int(conn.execute(insert(Evaluation), row).inserted_primary_key[0])  # type: ignore[index]
    rows = []
    for c in ev.contexts:
        blob, n, k = (None, 0, 0) if c.positions is None else encode_positions(c.positions)
        rows.append(
            {
                "evaluation_id": eval_id,
                "context_id": c.context_id,
                "error": c.error,
                "tokens": int(c.tokens),
                "missing_answers": int(c.missing_answers),
                "wall_s": float(c.wall_s),
                "n_personas": n,
                "n_axes": k,
                "positions": blob,
                **_split_metrics(c.metrics),
            }
        )
    if not rows:
        return eval_id
    conn.execute(insert(ContextResultRow), rows)
    marks = exemplars or {}
    if any(c.personas and (store_personas or marks.get(j)) for j, c in enumerate(ev.contexts)):
        # ids in insertion order (single writer, one transaction)
        cr_ids = (
            conn.execute(
                select(ContextResultRow.id)
                .where(ContextResultRow.evaluation_id == eval_id)
                .order_by(ContextResultRow.id)
            )
            .scalars()
            .all()
        )
        prow: list[tuple[Any, ...]] = []
        for j, (c, cr_id) in enumerate(zip(ev.contexts, cr_ids)):
            if not c.personas:
                continue
            chosen = marks.get(j) or {}
            if store_personas:
                prow += persona_rows(
                    cr_id, eval_id, program_id, c.context_id, c.personas, c.positions, exemplars=chosen
                )
            elif chosen:
                prow += persona_rows(
                    cr_id,
                    eval_id,
                    program_id,
                    c.context_id,
                    c.personas,
                    c.positions,
                    exemplars=chosen,
                    only=sorted(chosen),
                )
        insert_persona_rows(conn, prow)
    return eval_id


def persona_rows(
    context_result_id: int,
    evaluation_id: int,
    program_id: str,
    context_id: str,
    personas: Sequence[Mapping[str, Any]],
    positions: Any,
    *,
    exemplars: Mapping[int, str] | None = None,
    only: Sequence[int] | None = None,
) -> list[tuple[Any, ...]]:
    """Rows (in ``_PERSONA_COLS`` order) for one context: name and description as text,
    the other fields as a JSON object text, the position as a JSON array text (5 decimals),
    the exemplar region key (``exemplars``: row -> key) or NULL. ``only``: just these rows."""
    import numpy as np

    z = None if positions is None else np.asarray(positions, dtype=float)
    pos_text: list[str | None] = []
    if z is not None and z.ndim == 2:
        if np.isnan(z).any():
            vals = np.round(z, 5).astype(object)
            vals[np.isnan(z)] = None
            pos_text = [json.dumps(r) for r in vals.tolist()]
        else:
            pos_text = ["[" + ",".join(map(repr, r)) + "]" for r in np.round(z, 5).tolist()]
    marks = exemplars or {}
    wanted = range(len(personas)) if only is None else [i for i in only if 0 <= i < len(personas)]
    rows = []
    for i in wanted:
        p = personas[i]
        extra = {k: v for k, v in p.items() if k != "name" and k != "description"}
        name, desc = p.get("name"), p.get("description")
        rows.append(
            (
                context_result_id,
                evaluation_id,
                program_id,
                context_id,
                i,
                None if name is None else str(name),
                None if desc is None else str(desc),
                _dumps(extra) if extra else None,
                pos_text[i] if i < len(pos_text) else None,
                marks.get(i),
            )
        )
    return rows


def insert_persona_rows(conn: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    if not rows:
        return
    marker = {"qmark": "?", "format": "%s", "pyformat": "%s"}.get(conn.dialect.paramstyle)
    if marker is None:  # other drivers: through SQLAlchemy (slower, same result)
        conn.execute(insert(Persona), [dict(zip(_PERSONA_COLS, r)) for r in rows])
    else:  # raw executemany: ~3x faster for the 750 rows of an elite
        sql = (
            f"INSERT INTO personas ({', '.join(_PERSONA_COLS)}) VALUES "
            f"({', '.join([marker] * len(_PERSONA_COLS))})"
        )
        conn.exec_driver_sql(sql, rows)


_PERSONA_COLS = (
    "context_result_id",
    "evaluation_id",
    "program_id",
    "context_id",
    "idx",
    "name",
    "description",
    "fields",
    "position",
    "exemplar",
)


def _dumps(x: Any) -> str:
    try:
        return json.dumps(x)
    except (TypeError, ValueError):
        return json.dumps(_jsonable(x))


def _jsonable(x: Any) -> Any:
    """A JSON-able copy of ``x`` (numpy scalars/arrays to Python, non-finite floats to None,
    anything else to str)."""
    t = type(x)
    if t is str or t is int or t is bool or x is None:
        return x
    if t is float:
        return x if math.isfinite(x) else None
    if isinstance(x, Mapping):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (str, int, bool)):
        return x
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    import numpy as np

    if isinstance(x, np.generic):
        return _jsonable(x.item())
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    return str(x)


def prune_personas(conn: Connection, run_id: int, program_ids: Iterable[str]) -> None:
    """Delete stored personas of train-stage evaluations (not asked to keep them) of programs
    that are no longer elites anywhere in the run; exemplars stay."""
    ids = list(program_ids)
    if not ids:
        return
    evals = select(Evaluation.id).where(
        Evaluation.run_id == run_id,
        Evaluation.program_id.in_(ids),
        Evaluation.stage == "train",
        Evaluation.keep_personas.is_(False),
    )
    conn.execute(delete(Persona).where(Persona.evaluation_id.in_(evals), Persona.exemplar.is_(None)))


def upsert_elite(conn: Connection, run_id: int, e: EliteView, now: float) -> None:
    key = cell_key(e.cell)
    values = {
        "program_id": e.program_id,
        "fitness": float(e.fitness),
        "descriptors": dict(e.descriptors),
        "migrant_from": e.migrant_from,
        "improved_at": int(e.improved_at),
        "updated_at": now,
    }
    res = conn.execute(
        update(Elite)
        .where(Elite.run_id == run_id, Elite.island == e.island, Elite.cell == key)
        .values(**values)
    )
    if res.rowcount == 0:
        conn.execute(insert(Elite), {"run_id": run_id, "island": e.island, "cell": key, **values})


def clear_island(conn: Connection, run_id: int, island: int) -> None:
    conn.execute(delete(Elite).where(Elite.run_id == run_id, Elite.island == island))


def set_island(conn: Connection, run_id: int, island: int, **values: Any) -> None:
    conn.execute(update(Island).where(Island.run_id == run_id, Island.island == island).values(**values))


def add_event(
    conn: Connection,
    run_id: int,
    kind: str,
    *,
    program_id: str | None = None,
    island: int | None = None,
    detail: Mapping[str, Any] | None = None,
    now: float | None = None,
) -> None:
    conn.execute(
        insert(Event),
        {
            "run_id": run_id,
            "ts": time.time() if now is None else now,
            "kind": kind,
            "program_id": program_id,
            "island": island,
            "detail": _jsonable(dict(detail)) if detail else None,
        },
    )


def bump(conn: Connection, run_id: int, name: str, by: int = 1) -> None:
    """Add ``by`` to a per-run counter (portable upsert: single writer)."""
    res = conn.execute(
        update(Counter).where(Counter.run_id == run_id, Counter.name == name).values(value=Counter.value + by)
    )
    if res.rowcount == 0:
        conn.execute(insert(Counter), {"run_id": run_id, "name": name, "value": by})


LLM_CALL_FIELDS = (
    "role",
    "model",
    "prompt_tokens",
    "completion_tokens",
    "cost_usd",
    "latency_s",
    "cached",
    "error",
)


def insert_llm_calls(conn: Connection, run_id: int, calls: Sequence[Mapping[str, Any]], now: float) -> None:
    rows = []
    for i, c in enumerate(calls):
        if not c.get("role"):
            raise ValueError(f"llm call #{i} has no 'role': {dict(c)!r}")
        rows.append(
            {
                "run_id": run_id,
                "ts": float(c.get("ts", now)),
                "role": str(c["role"]),
                "model": c.get("model"),
                "prompt_tokens": int(c.get("prompt_tokens") or 0),
                "completion_tokens": int(c.get("completion_tokens") or 0),
                "cost_usd": float(c.get("cost_usd") or 0.0),
                "latency_s": float(c.get("latency_s") or 0.0),
                "cached": bool(c.get("cached", False)),
                "error": None if c.get("error") is None else str(c.get("error")),
                "program_id": c.get("program_id"),
            }
        )
    if rows:
        conn.execute(insert(LLMCall), rows)
    staged: dict[str, int] = {}
    for c in calls:  # uncached calls per (stage, role): the run's spend by stage (evolve.budget.spend)
        if c.get("stage") and not c.get("cached"):
            name = f"calls.{c['stage']}.{c['role']}"
            staged[name] = staged.get(name, 0) + 1
    for name, by in staged.items():
        bump(conn, run_id, name, by)
