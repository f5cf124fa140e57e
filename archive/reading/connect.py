"""Opening an archive database read-only at one of its runs."""

from __future__ import annotations

import os
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, select

from .. import store
from ..dbpath import archive_path_problem
from ..migrations import check_or_upgrade
from ..schema import Run
from .errors import ReaderError, one_line


@dataclass(frozen=True)
class Opened:
    """A read-only ``engine`` on ``db`` (the path or URL as given; ``url`` as resolved)
    whose schema was checked, and the ``run_id`` picked. The caller disposes the engine."""

    engine: Engine
    db: str
    url: str
    run_id: int


def pick_run(conn: Connection, run_id: int | None, where: str) -> int:
    """``run_id`` if the database holds it, else (None) the latest run's id. Raises
    ReaderError naming ``where`` when there is no such run or no run at all."""
    q = select(Run.id)
    q = q.where(Run.id == run_id) if run_id is not None else q.order_by(Run.id.desc()).limit(1)
    rid = conn.execute(q).scalar()
    if rid is None:
        raise ReaderError(
            f"{where}: no run {run_id}" if run_id is not None else f"{where}: holds no runs yet"
        )
    return int(rid)


def open_readonly(db: str | os.PathLike[str], run_id: int | None) -> Opened:
    """Open ``db`` (SQLite path or SQLAlchemy URL) read-only, check its schema and pick
    ``run_id`` (None: the latest run). Raises ReaderError (one line) when it cannot; the
    engine is disposed then."""
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
        raise ReaderError(f"{text}: cannot open the archive: {one_line(exc)}") from None
    try:
        with engine.connect() as conn:
            check_or_upgrade(conn, where=text, readonly=True)
            rid = pick_run(conn, run_id, text)
    except ReaderError:
        engine.dispose()
        raise
    except Exception as exc:  # noqa: BLE001 - schema, sqlite errors: one line
        engine.dispose()
        raise ReaderError(f"{text}: cannot open the archive: {one_line(exc)}") from None
    return Opened(engine=engine, db=text, url=target.url, run_id=rid)
