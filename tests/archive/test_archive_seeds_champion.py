"""Schema v3 (issue 13): evaluations store their base seed and replicate; a v2 archive is
upgraded additively; the champion is the latest ``champion`` event when a run wrote one."""

from __future__ import annotations

import sqlite3

import numpy as np

from archive import Archive, ArchiveConfig
from archive.reader import ArchiveReader
from archive.records import EvaluationRecord
from archive.schema import SCHEMA_VERSION
from archive.testing import synthetic_candidate

CFG = ArchiveConfig(islands=1)


def _with_seed(cand, seed, replicate):
    ev = cand.evaluation
    return type(cand)(
        cand.program,
        EvaluationRecord(ev.stage, ev.contexts, ev.fitness, ev.metrics, seed=seed, replicate=replicate),
        cand.descriptors,
    )


def test_evaluations_store_their_seed_and_replicate(tmp_path):
    db = tmp_path / "a.db"
    rng = np.random.default_rng(0)
    with Archive.create(url_or_path=db, config=CFG, run_config={}, seed=0) as a:
        a.add(
            [
                _with_seed(synthetic_candidate(0, rng, contexts=2), 2**62 + 5, 0),
                synthetic_candidate(1, rng, contexts=2),
            ]
        )
    with sqlite3.connect(db) as con:
        rows = con.execute("SELECT seed, replicate FROM evaluations ORDER BY id").fetchall()
    assert SCHEMA_VERSION == 3 and rows == [(2**62 + 5, 0), (None, None)]


def test_a_v2_archive_is_upgraded_additively(tmp_path):
    db = tmp_path / "v2.db"
    rng = np.random.default_rng(1)
    with Archive.create(url_or_path=db, config=CFG, run_config={}, seed=0) as a:
        a.add([synthetic_candidate(0, rng, contexts=2)])
    con = sqlite3.connect(db)  # rebuild the v2 shape: no seed / replicate columns
    con.execute("ALTER TABLE evaluations DROP COLUMN seed")
    con.execute("ALTER TABLE evaluations DROP COLUMN replicate")
    con.execute("UPDATE meta SET value='2' WHERE key='schema_version'")
    con.commit()
    con.close()
    with Archive.open(url_or_path=db) as a:
        assert len(a.evaluations(a.top(1)[0].id)) == 1  # v2 rows kept
        a.add([_with_seed(synthetic_candidate(1, rng, contexts=2), 7, 1)])
    con = sqlite3.connect(db)
    assert con.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == "3"
    assert con.execute("SELECT seed, replicate FROM evaluations ORDER BY id").fetchall() == [
        (None, None),
        (7, 1),
    ]
    con.close()


def test_the_champion_is_the_latest_champion_event_else_the_best_on_validation(tmp_path):
    db = tmp_path / "c.db"
    rng = np.random.default_rng(2)
    with Archive.create(url_or_path=db, config=CFG, run_config={}, seed=0) as a:
        ids = [r.program_id for r in a.add([synthetic_candidate(i, rng, contexts=2) for i in range(3)])]
        for pid, f in zip(ids, (0.9, 0.5, 0.7)):
            assert a.evaluations(pid)  # each candidate arrives with its evaluation
            a.record_evaluation(pid, EvaluationRecord("validation", [], f, None))
        assert a.champion().id == ids[0]  # no event: the best on validation
        a.record_event(
            "champion",
            program_id=ids[2],
            detail={
                "mean": 0.69,
                "low": 0.6,
                "high": 0.78,
                "n": 8,
                "confidence": 0.9,
                "replicates": 4,
                "contexts": 2,
            },
        )
        assert a.champion().id == ids[2] and a.champion().fitness == 0.7
    with ArchiveReader.open(db) as r:
        champ = r.champion()
        assert champ.program.id == ids[2] and str(champ.stage) == "validation" and champ.fitness == 0.7
