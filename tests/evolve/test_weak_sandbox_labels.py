"""A run on a kernel that lacks an isolation layer: refused unless --weak-sandbox, and then
every output (run summary, inspect, report, viewer) says WEAK SANDBOX."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from test_inspect_archive_fixture import build_crafted_archive

from archive import Archive
from archive.reader import ArchiveReader
from evolve.cli import main
from evolve.config import RunConfig
from evolve.loop.errors import RunError
from evolve.loop.run import sandbox_weakness
from evolve.outputs.report.content import build_report
from evolve.outputs.report.writer import render_markdown
from evolve.outputs.viewer.app import create_app


@pytest.fixture(scope="module")
def weak_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("weak")
    crafted = build_crafted_archive(directory)
    db = directory / "weak.db"
    shutil.copy(crafted.db, db)
    archive = Archive.open(url_or_path=str(db))
    archive.record_event("sandbox_weak", detail={"missing": ["landlock", "seccomp"]})
    archive.close()
    return db


def test_a_weak_kernel_stops_a_run_unless_it_opted_in(monkeypatch):
    import generators.sandbox as sandbox

    monkeypatch.setattr(
        sandbox, "isolation_report", lambda: {"layers": [], "error": None, "missing": ["landlock"]}
    )
    with pytest.raises(RunError, match="lacks landlock.*--weak-sandbox"):
        sandbox_weakness(RunConfig())
    weak = dataclasses.replace(
        RunConfig(), evaluation=dataclasses.replace(RunConfig().evaluation, weak_sandbox=True)
    )
    assert sandbox_weakness(weak) == ["landlock"]
    monkeypatch.setattr(sandbox, "isolation_report", lambda: {"layers": [], "error": None, "missing": []})
    assert sandbox_weakness(RunConfig()) == []


def test_the_reader_inspect_and_report_say_weak_sandbox(weak_db, capsys):
    with ArchiveReader.open(weak_db) as reader:
        assert reader.weak_sandbox() == ["landlock", "seccomp"]
        text = render_markdown(build_report(reader))
    assert "**WEAK SANDBOX**: programs of this run ran without landlock, seccomp" in text
    assert main(["inspect", "--db", str(weak_db), "summary"]) == 0
    assert "WEAK SANDBOX: programs of this run ran without landlock, seccomp" in capsys.readouterr().out


def test_the_export_header_says_weak_sandbox(weak_db, tmp_path):
    out = tmp_path / "champ.py"
    assert main(["export", "--db", str(weak_db), "--best", "--out", str(out)]) == 0
    assert (
        "# !!! WEAK SANDBOX: the run's programs ran without landlock, seccomp (--weak-sandbox) !!!"
        in out.read_text()
    )


def test_the_viewer_says_weak_sandbox_on_every_page(weak_db):
    with TestClient(create_app(str(weak_db)), base_url="http://127.0.0.1") as client:
        for path in ("/", "/grid", "/rare"):
            page = client.get(path)
            assert page.status_code == 200 and "WEAK SANDBOX" in page.text, path


def test_a_fully_confined_run_says_nothing_of_the_kind(tmp_path):
    crafted = build_crafted_archive(tmp_path)
    with ArchiveReader.open(crafted.db) as reader:
        assert reader.weak_sandbox() == []
        assert "WEAK SANDBOX" not in render_markdown(build_report(reader))
