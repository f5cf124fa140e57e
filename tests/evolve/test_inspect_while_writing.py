"""``inspect`` reads an archive while a run is writing it (read-only open, WAL)."""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
from pathlib import Path

import pytest
from test_inspect_archive_fixture import Crafted, crafted  # noqa: F401

from archive import Archive
from evolve.cli import main


def _copy(src: Path, dst: Path) -> Path:
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{src}{suffix}").exists():
            shutil.copy(f"{src}{suffix}", f"{dst}{suffix}")
    return dst


def test_inspect_while_the_writer_holds_a_write_transaction(crafted: Crafted, tmp_path: Path, capsys) -> None:
    db = _copy(crafted.db, tmp_path / "live.db")
    writer = Archive.open(url_or_path=db)  # the run's writer: holds the writer lock
    try:
        before = len(writer.events())
        con = sqlite3.connect(db, timeout=1, isolation_level=None)
        con.execute("BEGIN IMMEDIATE")  # an open write transaction, as in the middle of add()
        con.execute("INSERT INTO events (run_id, ts, kind) VALUES (1, ?, 'uncommitted')", (time.time(),))
        t0 = time.perf_counter()
        for argv in (
            ["summary"],
            ["top", "-k", "2"],
            ["lineage", crafted.champion[:8]],
            ["grid"],
            ["rare", "-k", "2"],
        ):
            code = main(["inspect", "--db", str(db), *argv, "--json"])
            out = capsys.readouterr()
            assert code == 0, (argv, out.err)
            assert json.loads(out.out)
        assert time.perf_counter() - t0 < 20  # nobody waited on the writer's lock
        code = main(["inspect", "--db", str(db), "summary", "--json"])
        assert code == 0 and json.loads(capsys.readouterr().out)["programs"] == 16
        con.execute("COMMIT")
        con.close()
        # the committed write is visible to the next read, and the writer still works
        writer.record_event("after_inspect")
        assert len(writer.events()) == before + 2
    finally:
        writer.close()


def test_export_while_the_writer_is_open(crafted: Crafted, tmp_path: Path, capsys) -> None:
    db = _copy(crafted.db, tmp_path / "live2.db")
    with Archive.open(url_or_path=db):
        code = main(["export", "--db", str(db), "--best", "--out", str(tmp_path / "g.py")])
        assert code == 0, capsys.readouterr().err
    assert (tmp_path / "g.py").read_text().count(crafted.champion) >= 1


@pytest.mark.parametrize("argv", [["summary"], ["top"]])
def test_inspect_leaves_the_database_untouched(crafted: Crafted, tmp_path: Path, capsys, argv) -> None:
    db = _copy(crafted.db, tmp_path / "ro.db")
    con = sqlite3.connect(db)
    before = con.execute("SELECT count(*) FROM events").fetchone()[0]
    con.close()
    assert main(["inspect", "--db", str(db), *argv]) == 0
    con = sqlite3.connect(db)
    assert con.execute("SELECT count(*) FROM events").fetchone()[0] == before
    con.close()
