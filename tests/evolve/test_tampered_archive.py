"""Stored code is what was evaluated: export, inspect and resume refuse code that does not
hash to the id it is stored under (one line, naming the program)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from test_inspect_archive_fixture import build_crafted_archive

from archive import Archive
from archive.identity import CodeMismatch
from evolve.cli import main


@pytest.fixture(scope="module")
def tampered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    directory = tmp_path_factory.mktemp("tampered")
    crafted = build_crafted_archive(directory)
    db = directory / "tampered.db"
    shutil.copy(crafted.db, db)
    victim = crafted.champion
    with sqlite3.connect(db) as conn:
        code = conn.execute("select code from programs where id = ?", (victim,)).fetchone()[0]
        evil = code + "\nimport os  # injected after evaluation\n"
        assert conn.execute("update programs set code = ? where id = ?", (evil, victim)).rowcount == 1
    return db, victim


def test_the_archive_reports_the_tampered_program(tampered):
    db, victim = tampered
    archive = Archive.open(url_or_path=str(db), readonly=True)
    bad = archive.tampered_programs()
    assert len(bad) == 1 and bad[0].startswith(f"program {victim}: the stored code does not match its id")
    with pytest.raises(CodeMismatch, match=victim):
        archive.get_program(victim)


def test_an_intact_archive_has_no_tampered_program(tmp_path):
    crafted = build_crafted_archive(tmp_path)
    assert Archive.open(url_or_path=str(crafted.db), readonly=True).tampered_programs() == []


@pytest.mark.parametrize(
    "argv",
    [
        ["export", "--best", "--out", "{tmp}/champ.py"],
        ["inspect", "top", "--stage", "validation"],
        ["inspect", "lineage", "{victim}"],
    ],
)
def test_export_and_inspect_refuse_in_one_line(tampered, argv, tmp_path, capsys):
    db, victim = tampered
    args = [a.format(tmp=tmp_path, victim=victim) for a in argv]
    args = args[:1] + (["--db", str(db)] if args[0] == "export" else []) + args[1:]
    if args[0] == "inspect":
        args = ["inspect", "--db", str(db)] + args[1:]
    assert main(args) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: program ") and "does not match its id" in err and "\n" not in err
    assert not (tmp_path / "champ.py").exists()


def test_resume_refuses_a_tampered_archive(tampered, capsys):
    db, victim = tampered
    assert main(["run", "--db", str(db), "--resume"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --resume refused: program ") and victim in err and "\n" not in err
