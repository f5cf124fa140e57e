"""A SIGTERM is a stop, not a failure, whenever it arrives."""

from __future__ import annotations

import signal
import sqlite3
from pathlib import Path

import pytest
from test_run_e2e import SMALL

import evolve.loop.run as run_module
from evolve.cli import main


def _status(db: Path) -> str:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return conn.execute("SELECT status FROM runs ORDER BY id DESC LIMIT 1").fetchone()[0]


@pytest.mark.parametrize("code", [signal.SIGTERM, 128 + signal.SIGTERM])
def test_a_sigterm_before_the_loop_marks_the_run_interrupted(monkeypatch, tmp_path, capsys, code):
    """Ray's own SIGTERM handler exits with 15 before ours is installed: the run is
    recorded interrupted (it resumes), never failed."""

    def terminated(*_, **__):
        raise SystemExit(code)

    monkeypatch.setattr(run_module, "_execute", terminated)
    config = tmp_path / "run.toml"
    config.write_text(SMALL)
    db = tmp_path / "archive.db"
    assert main(["run", "--config", str(config), "--db", str(db)]) == 130
    assert "interrupted: resume with" in capsys.readouterr().err
    assert _status(db) == "interrupted"


def test_another_exit_is_still_a_failure_with_its_cause(monkeypatch, tmp_path, capsys):
    def broken(*_, **__):
        raise SystemExit(3)

    monkeypatch.setattr(run_module, "_execute", broken)
    config = tmp_path / "run.toml"
    config.write_text(SMALL)
    db = tmp_path / "archive.db"
    assert main(["run", "--config", str(config), "--db", str(db)]) == 1
    assert "run failed: SystemExit: 3" in capsys.readouterr().err
    assert _status(db) == "failed"
