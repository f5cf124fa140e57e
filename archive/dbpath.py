"""Is this path an archive database? One check for every command that takes ``--db``.

:func:`archive_path_problem` looks at the file itself (exists, regular file, readable,
SQLite header) before any engine touches it, so a directory or a stray file gets one
line naming the path and what is wrong, never a driver message such as SQLite's
"disk I/O error". The reader (``inspect``, ``export``, ``view``, the report) and
``run --resume`` use it; whatever passes is then checked for the archive's schema by
:func:`archive.migrations.check_or_upgrade`.
"""

from __future__ import annotations

import os
from pathlib import Path

from . import store

SQLITE_HEADER = b"SQLite format 3\x00"
"""The first 16 bytes of every SQLite 3 database file."""

ARCHIVE_FILENAME = "archive.db"
"""The database a run writes inside its folder (``runs/<stamp>/archive.db``)."""


def archive_path_problem(db: str | os.PathLike[str]) -> str | None:
    """One line saying why ``db`` (a path or SQLAlchemy URL, as the user gave it) cannot
    be an archive database to open, or None when it may be one (a SQLite file, or a URL
    of another database server, which only connecting can tell). The line names ``db`` as
    given: no such database; a directory (suggesting the ``archive.db`` inside it when
    there is one); not a regular file; unreadable; empty; not an SQLite file."""
    text = os.fspath(db)
    target = store.resolve(text)
    path = target.path
    if target.memory or path is None:
        return None
    if not path.exists():
        return f"no such database: {text}"
    if path.is_dir():
        inside = path / ARCHIVE_FILENAME
        hint = f" (did you mean {_join(text, ARCHIVE_FILENAME)}?)" if inside.is_file() else ""
        return f"{text} is a directory, not an archive database{hint}"
    if not path.is_file():
        return f"{text} is not a regular file, not an archive database"
    try:
        with path.open("rb") as handle:
            head = handle.read(len(SQLITE_HEADER))
    except PermissionError:
        return f"{text}: permission denied (cannot read it)"
    except OSError as exc:
        return f"{text}: cannot read it ({exc.strerror or type(exc).__name__})"
    if not head:
        return f"{text} is an empty file, not an archive database"
    if head != SQLITE_HEADER:
        return f"{text} is not an archive database (not an SQLite file)"
    return None


def _join(text: str, name: str) -> str:
    """``name`` inside the folder ``text`` (a path, or a ``sqlite:///`` URL's path)."""
    if "://" in text:
        path = store.resolve(text).path
        return str(Path(path or ".") / name)
    return os.path.join(text, name)
