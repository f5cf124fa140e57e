"""Every command that takes ``--db`` refuses a path that is not an archive database with one
line naming the path and what is wrong (issue 10): a directory (suggesting the archive.db
inside it when there is one), a missing path, a file that is not SQLite, an empty file.
One check (``archive.dbpath``) serves them all, before anything opens, locks or writes."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Callable

import pytest

from archive.dbpath import ARCHIVE_FILENAME, archive_path_problem
from evolve.cli import main

COMMANDS: dict[str, Callable[[str, Path], list[str]]] = {
    "inspect": lambda db, tmp: ["inspect", "--db", db, "summary"],
    "inspect-json": lambda db, tmp: ["inspect", "--db", db, "top", "--json"],
    "export": lambda db, tmp: ["export", "--db", db, "--best", "--out", str(tmp / "out" / "champion.py")],
    "view": lambda db, tmp: ["view", "--db", db, "--port", "0"],
    "run --resume": lambda db, tmp: ["run", "--db", db, "--resume"],
}


def _directory(tmp: Path) -> tuple[str, str]:
    (tmp / "runs").mkdir()
    return str(tmp / "runs"), f"{tmp / 'runs'} is a directory, not an archive database"


def _directory_with_archive(tmp: Path) -> tuple[str, str]:
    (tmp / "runs").mkdir()
    inside = tmp / "runs" / ARCHIVE_FILENAME
    with sqlite3.connect(inside) as conn:
        conn.execute("CREATE TABLE t (a)")
    return str(
        tmp / "runs"
    ), f"{tmp / 'runs'} is a directory, not an archive database (did you mean {inside}?)"


def _missing(tmp: Path) -> tuple[str, str]:
    return str(tmp / "nowhere.db"), f"no such database: {tmp / 'nowhere.db'}"


def _text_file(tmp: Path) -> tuple[str, str]:
    (tmp / "notes.txt").write_text("these are notes, not a database\n" * 20)
    return str(tmp / "notes.txt"), f"{tmp / 'notes.txt'} is not an archive database (not an SQLite file)"


def _empty_file(tmp: Path) -> tuple[str, str]:
    (tmp / "empty.db").write_bytes(b"")
    return str(tmp / "empty.db"), f"{tmp / 'empty.db'} is an empty file, not an archive database"


def _url_of_directory(tmp: Path) -> tuple[str, str]:
    (tmp / "runs").mkdir()
    url = f"sqlite:///{tmp / 'runs'}"
    return url, f"{url} is a directory, not an archive database"


PROBLEMS = {
    "directory": _directory,
    "directory with archive.db": _directory_with_archive,
    "missing": _missing,
    "text file": _text_file,
    "empty file": _empty_file,
    "sqlite URL of a directory": _url_of_directory,
}


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


CASES = [
    (command, problem)
    for command in COMMANDS
    for problem in PROBLEMS
    if not (command == "run --resume" and problem.startswith("sqlite URL"))
]  # run's --db is a file path


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("command", "problem"), CASES)
def test_a_db_that_is_not_an_archive_is_one_line_naming_it(command, problem, tmp_path, capsys):
    db, message = PROBLEMS[problem](tmp_path)
    before = _tree(tmp_path)
    capsys.readouterr()
    code = main(COMMANDS[command](db, tmp_path))
    out, err = capsys.readouterr()
    prefix = "view: " if command == "view" else "--resume: " if command == "run --resume" else ""
    assert code == 1, (command, problem, err)
    assert err == f"error: {prefix}{message}\n", (command, problem)  # exactly one line, the path named
    assert "Traceback" not in err and "I/O" not in err and "sqlite3" not in err
    assert out == ""
    if problem != "directory with archive.db":
        assert "did you mean" not in err
    assert _tree(tmp_path) == before, "nothing may be written (no lock file, no journal, no export)"


@pytest.mark.parametrize("problem", ["directory", "directory with archive.db", "text file"])
def test_a_new_run_on_a_folder_or_stray_file_says_what_it_is(problem, tmp_path, capsys):
    db, message = PROBLEMS[problem](tmp_path)
    before = _tree(tmp_path)
    capsys.readouterr()
    assert main(["run", "--db", db, "--budget-evals", "1"]) == 1
    err = capsys.readouterr().err
    assert err == f"error: --db: {message}\n"
    assert _tree(tmp_path) == before


def test_a_real_archive_passes_the_check(tmp_path):
    from archive import Archive
    from archive.records import ArchiveConfig

    db = tmp_path / ARCHIVE_FILENAME
    Archive.create(url_or_path=db, config=ArchiveConfig(islands=1), run_config={}, seed=0).close()
    assert archive_path_problem(db) is None
    assert archive_path_problem(f"sqlite:///{db}") is None
    assert archive_path_problem(":memory:") is None  # nothing on disk to look at


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file_says_permission_denied(tmp_path):
    db = tmp_path / "locked.db"
    db.write_bytes(b"SQLite format 3\x00" + bytes(100))
    db.chmod(0)
    try:
        assert archive_path_problem(db) == f"{db}: permission denied (cannot read it)"
    finally:
        db.chmod(0o600)
