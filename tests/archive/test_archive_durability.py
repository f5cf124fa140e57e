"""Crash safety and concurrent readers, with a real writer subprocess."""

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from archive import AddStatus, Archive
from archive.testing import synthetic_candidate

ROOT = Path(__file__).resolve().parents[2]

WRITER = textwrap.dedent(
    """
    import sys
    import numpy as np
    from archive import Archive, ArchiveConfig
    from archive.testing import SYNTHETIC_DESCRIPTORS, synthetic_candidate, synthetic_personas

    path, limit = sys.argv[1], int(sys.argv[2])
"""
    "    a = Archive.create(url_or_path=path, config=ArchiveConfig(islands=2, "
    "migration_interval=5, stagnation_evals=10,"
    """
                       descriptors=SYNTHETIC_DESCRIPTORS), run_config={}, seed=0)
    rng = np.random.default_rng(0)
    pers = synthetic_personas(25, chars=200)
    print("ready", flush=True)
    i = 0
    while i < limit:
        c = synthetic_candidate(i, rng, contexts=30, personas=25, axes=4, island=i % 2, persona_dicts=pers)
        a.add([c])
        print(i, flush=True)
        i += 1
        a.maybe_migrate()
        a.maybe_reset()
    a.close()
    """
)


def _start_writer(tmp_path: Path, limit: int) -> tuple[subprocess.Popen, Path]:
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    db = tmp_path / "crash.db"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, str(script), str(db), str(limit)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
    return proc, db


def _check_consistent(db: Path) -> dict:
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert con.execute("PRAGMA foreign_key_check").fetchall() == []
    q = lambda sql: con.execute(sql).fetchone()[0]  # noqa: E731
    n_prog = q("SELECT COUNT(*) FROM programs")
    out = {
        "programs": n_prog,
        "evaluations": q("SELECT COUNT(*) FROM evaluations"),
        "contexts": q("SELECT COUNT(*) FROM context_results"),
        "inserted_events": q("SELECT COUNT(*) FROM events WHERE kind='inserted'"),
        "status_total": q("SELECT COALESCE(SUM(value),0) FROM counters WHERE name LIKE 'status.%'"),
        "orphan_elites": q(
            "SELECT COUNT(*) FROM elites el LEFT JOIN evaluations e "
            "ON e.program_id = el.program_id WHERE e.id IS NULL"
        ),
        # a context's texts are all 25 (kept evaluation or elite) or only its exemplars, never a torn write
        "partial_personas": q(
            "SELECT COUNT(*) FROM (SELECT context_result_id, COUNT(*) c, "
            "SUM(exemplar IS NOT NULL) x FROM personas "
            "GROUP BY context_result_id HAVING c != 25 AND c != x)"
        ),
    }
    con.close()
    # every add is all-or-nothing: program, evaluation, 30 context rows, event and counter together
    assert out["evaluations"] == n_prog and out["contexts"] == 30 * n_prog
    assert out["inserted_events"] == n_prog and out["status_total"] == n_prog
    assert out["orphan_elites"] == 0 and out["partial_personas"] == 0
    return out


def test_sigkill_mid_stream_loses_at_most_the_transaction_in_flight(tmp_path):
    proc, db = _start_writer(tmp_path, limit=10_000)
    done = -1
    deadline = time.time() + 60
    while done < 25 and time.time() < deadline:
        line = proc.stdout.readline()
        assert line, proc.stderr.read()
        done = int(line)
    time.sleep(0.013)  # land somewhere inside the next add
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    rest = [int(x) for x in proc.stdout.read().split()]
    confirmed = (rest[-1] if rest else done) + 1  # adds whose return the writer reported before dying
    out = _check_consistent(db)
    # nothing reported is lost; at most one add committed but not yet reported
    assert confirmed <= out["programs"] <= confirmed + 1
    # resumable: the lock died with the process, the grid is rebuilt from the elites table
    a = Archive.open(url_or_path=db)
    before = a.qd_stats()
    assert before["filled"] >= 1 and a.clock == out["evaluations"]
    import numpy as np

    r = a.add([synthetic_candidate(10**6, np.random.default_rng(9), contexts=30, personas=3, axes=2)])[0]
    assert r.status in (AddStatus.NEW_CELL, AddStatus.IMPROVED, AddStatus.NOT_IMPROVED)
    a.close()
    assert _check_consistent(db)["programs"] == out["programs"] + 1


def test_reader_sees_consistent_snapshots_while_writer_writes(tmp_path):
    proc, db = _start_writer(tmp_path, limit=40)
    try:
        reader = Archive.open(url_or_path=db, readonly=True)
        seen = []
        deadline = time.time() + 60
        while proc.poll() is None and time.time() < deadline:
            c = reader.counts()
            assert c["evaluations"] == c["programs"]  # one snapshot per query, never half an add
            assert (
                c["statuses"].get("new_cell", 0)
                + c["statuses"].get("improved", 0)
                + c["statuses"].get("not_improved", 0)
                == c["programs"]
            )
            st = reader.qd_stats()
            assert st["filled"] <= st["cells_total"]
            reader.top(5)
            reader.grid()
            seen.append(c["programs"])
            time.sleep(0.02)
        assert proc.wait(timeout=60) == 0, proc.stderr.read()
        assert seen == sorted(seen) and len(seen) >= 3 and len(set(seen)) >= 2
        assert reader.counts()["programs"] == 40
        reader.close()
    finally:
        if proc.poll() is None:
            proc.kill()
