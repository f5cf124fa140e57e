"""Creating and opening a run of an archive database for the writer (``archive.Archive``).

Resolves the path or URL, takes the writer lock (a writable file archive), checks or
creates the schema (upgrading an older one when writable), and creates the run's rows or
picks a stored run. The lock is released again if anything fails; on success the caller
owns the engine and the lock.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from sqlalchemy import Connection, Engine, insert, select

from . import store
from .migrations import check_or_upgrade, create_schema, read_version
from .records import ArchiveConfig
from .schema import SCHEMA_VERSION, Island, Run
from .vocab import EventKind, RunStatus

PACKAGE = "persona-evolve"


@dataclass(frozen=True)
class OpenRun:
    """An engine on the database, the resolved ``target``, the run and its archive
    settings, and the writer lock (None read-only or for a non-file database)."""

    engine: Engine
    target: store.Target
    run_id: int
    config: ArchiveConfig
    lock: store.WriterLock | None


def package_version() -> str:
    """The installed persona-evolve version ("unknown" in a bare source tree)."""
    try:
        from importlib.metadata import version

        return version(PACKAGE)
    except Exception:  # noqa: BLE001 - metadata may be absent in a source tree
        return "unknown"


def create_run(
    *,
    url_or_path: str | os.PathLike[str],
    config: ArchiveConfig,
    run_config: Mapping[str, Any],
    seed: int,
    versions: Mapping[str, str],
) -> OpenRun:
    """Start a new run (the database and its schema are created if missing): its ``runs``
    row, one ``islands`` row per island and a ``run_started`` event, in one transaction."""

    def start(conn: Connection, where: str) -> int:
        now = time.time()
        if read_version(conn) is None:
            create_schema(conn, created_by=f"{PACKAGE} {package_version()}")
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
                        PACKAGE: package_version(),
                        "archive_schema": str(SCHEMA_VERSION),
                        **{str(k): str(v) for k, v in versions.items()},
                    },
                    "last_migration_evals": 0,
                },
            ).inserted_primary_key[0]  # type: ignore[index]  # one row inserted: its key is set
        )
        conn.execute(
            insert(Island),
            [
                {"run_id": run_id, "island": i, "last_improved_evals": 0, "resets": 0}
                for i in range(config.islands)
            ],
        )
        store.add_event(conn, run_id, EventKind.RUN_STARTED, detail={"seed": int(seed)}, now=now)
        return run_id

    target = store.resolve(url_or_path)
    return _locked(target, readonly=False, body=lambda conn, where: (start(conn, where), config))


def open_run(*, url_or_path: str | os.PathLike[str], run_id: int | None, readonly: bool) -> OpenRun:
    """Open a stored run (the latest when ``run_id`` is None); writable, it logs
    ``run_resumed``. Raises ValueError (in-memory database), FileNotFoundError, LookupError
    (no such run) or SchemaError (a newer schema, or an older one read-only)."""
    target = store.resolve(url_or_path)
    if target.memory:
        raise ValueError(
            "cannot open an in-memory archive: it only exists inside the Archive that created it"
        )
    if target.path is not None and not target.path.exists():
        raise FileNotFoundError(f"archive not found: {target.path}")

    def pick(conn: Connection, where: str) -> tuple[int, ArchiveConfig]:
        check_or_upgrade(conn, where=where, readonly=readonly)
        q = select(Run.id, Run.archive_config)
        q = q.where(Run.id == run_id) if run_id is not None else q.order_by(Run.id.desc()).limit(1)
        row = conn.execute(q).first()
        if row is None:
            raise LookupError(f"{where}: no run {run_id}" if run_id is not None else f"{where}: no runs")
        config = ArchiveConfig.from_dict(row[1])
        if not readonly:
            store.add_event(conn, row[0], EventKind.RUN_RESUMED)
        return int(row[0]), config

    return _locked(target, readonly=readonly, body=pick)


def list_runs(url_or_path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """All runs of the database (id, status, seed, created_at, updated_at as stored), oldest
    first; opened read-only (the errors of :func:`open_run`)."""
    o = open_run(url_or_path=url_or_path, run_id=None, readonly=True)
    try:
        with o.engine.connect() as conn:
            rows = conn.execute(
                select(Run.id, Run.status, Run.seed, Run.created_at, Run.updated_at).order_by(Run.id)
            )
            return [dict(r._mapping) for r in rows]
    finally:
        o.engine.dispose()


def _locked(
    target: store.Target, *, readonly: bool, body: Callable[[Connection, str], tuple[int, ArchiveConfig]]
) -> OpenRun:
    """Lock (writable file), make the engine and run ``body`` in one transaction; the lock
    is released if anything raises."""
    lock = store.WriterLock(target.path) if (target.path is not None and not readonly) else None
    try:
        engine = store.make_engine(target, readonly=readonly)
        with engine.begin() as conn:
            run_id, config = body(conn, str(target.path or target.url))
    except BaseException:
        if lock:
            lock.release()
        raise
    return OpenRun(engine=engine, target=target, run_id=run_id, config=config, lock=lock)
