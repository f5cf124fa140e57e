"""Schema-version check and upgrades of older archive databases.

``MIGRATIONS[v]`` upgrades a database from schema v to v + 1 inside one transaction.
A database written by a newer version is refused; an older one is upgraded when every
step is registered (writable opens only), otherwise refused with instructions.
"""

from __future__ import annotations

import time
from typing import Callable

from sqlalchemy import Connection, insert, inspect, select, update

from .schema import APPLICATION, SCHEMA_VERSION, Base, Meta


class SchemaError(RuntimeError):
    """The database cannot be used by this version of persona-evolve."""


def _v1_to_v2(conn: Connection) -> None:
    """v2 adds ``personas.exemplar`` (NULL for every row written by v1: additive)."""
    columns = {c["name"] for c in inspect(conn).get_columns("personas")}
    if "exemplar" not in columns:
        conn.exec_driver_sql("ALTER TABLE personas ADD COLUMN exemplar VARCHAR(40)")


def _v2_to_v3(conn: Connection) -> None:
    """v3 adds ``evaluations.seed`` and ``evaluations.replicate`` (NULL for every row
    written before: which seeds those used was not recorded; additive)."""
    columns = {c["name"] for c in inspect(conn).get_columns("evaluations")}
    if "seed" not in columns:
        conn.exec_driver_sql("ALTER TABLE evaluations ADD COLUMN seed INTEGER")
    if "replicate" not in columns:
        conn.exec_driver_sql("ALTER TABLE evaluations ADD COLUMN replicate INTEGER")


#: from-version -> function upgrading a connection (in a transaction) to from-version + 1.
MIGRATIONS: dict[int, Callable[[Connection], None]] = {1: _v1_to_v2, 2: _v2_to_v3}


def ensure_indexes(conn: Connection) -> list[str]:
    """Create every index the schema declares that the database lacks (indexes added after
    a schema version, like ``ix_context_results_context``, change no data and need no
    version bump). Returns the names created. Writable connections only."""
    made = []
    for table in Base.metadata.sorted_tables:
        have = {ix["name"] for ix in inspect(conn).get_indexes(table.name)}
        for index in sorted(table.indexes, key=lambda ix: str(ix.name)):
            if index.name not in have:
                index.create(conn)
                made.append(str(index.name))
    return made


def read_version(conn: Connection) -> int | None:
    """Schema version stored in the database; None for an empty database.

    Raises SchemaError for a database that holds tables but is not an archive.
    """
    names = set(inspect(conn).get_table_names())
    if not names:
        return None
    if "meta" not in names:
        raise SchemaError(f"not a persona-evolve archive (no 'meta' table; tables: {sorted(names)[:5]})")
    rows = dict(conn.execute(select(Meta.key, Meta.value)).all())
    if rows.get("application") != APPLICATION:
        raise SchemaError(f"not a persona-evolve archive (meta.application = {rows.get('application')!r})")
    try:
        return int(rows["schema_version"])
    except (KeyError, ValueError):
        raise SchemaError(
            f"archive has no valid schema_version in 'meta' ({rows.get('schema_version')!r})"
        ) from None


def create_schema(conn: Connection, created_by: str) -> None:
    """Create all tables and the version record in an empty database."""
    Base.metadata.create_all(conn)
    conn.execute(
        insert(Meta),
        [
            {"key": "application", "value": APPLICATION},
            {"key": "schema_version", "value": str(SCHEMA_VERSION)},
            {"key": "created_by", "value": created_by},
            {"key": "created_at", "value": repr(time.time())},
        ],
    )


def check_or_upgrade(conn: Connection, *, where: str, readonly: bool) -> int:
    """Make sure the database has schema SCHEMA_VERSION, upgrading if allowed.

    Returns the version found before any upgrade. Raises SchemaError with a one-line
    explanation of what to do.
    """
    found = read_version(conn)
    if found is None:
        raise SchemaError(f"{where}: empty database, not an archive (create one with Archive.create)")
    if found > SCHEMA_VERSION:
        raise SchemaError(
            f"{where}: archive schema v{found} was written by a newer persona-evolve; this version reads "
            f"up to v{SCHEMA_VERSION}. Upgrade persona-evolve to open it."
        )
    if found < SCHEMA_VERSION:
        missing = [v for v in range(found, SCHEMA_VERSION) if v not in MIGRATIONS]
        if missing:
            raise SchemaError(
                f"{where}: archive schema v{found} is older than v{SCHEMA_VERSION} and cannot be upgraded "
                f"automatically (no migration from v{missing[0]}). Open it with the persona-evolve version "
                f"that wrote it (see meta.created_by), or start a new archive."
            )
        if readonly:
            raise SchemaError(
                f"{where}: archive schema v{found} needs an upgrade to v{SCHEMA_VERSION}; open it once "
                f"writable (Archive.open(..., readonly=False)) to upgrade, then read it."
            )
        for v in range(found, SCHEMA_VERSION):
            MIGRATIONS[v](conn)
            conn.execute(update(Meta).where(Meta.key == "schema_version").values(value=str(v + 1)))
    if not readonly:
        ensure_indexes(conn)
    return found
