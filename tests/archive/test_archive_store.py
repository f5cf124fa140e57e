import sqlite3

import numpy as np
import pytest
from sqlalchemy import create_engine, text

import archive.migrations as migrations
from archive import (
    AddStatus,
    Archive,
    ArchiveConfig,
    ArchiveLockedError,
    ArchiveReadOnlyError,
    Candidate,
    ContextResult,
    DescriptorSpec,
    EvaluationRecord,
    ProgramRecord,
    SchemaError,
    program_id,
)
from archive.schema import SCHEMA_VERSION
from archive.testing import synthetic_candidate, synthetic_code, synthetic_personas

CFG = ArchiveConfig(islands=2, descriptors=(DescriptorSpec("a", 0, 1, 4), DescriptorSpec("b", 0, 1, 4)))


def cand(i, rng, *, a=0.1, b=0.1, fitness=0.5, island=0, parent=None, gen=0, **kw):
    return synthetic_candidate(
        i,
        rng,
        contexts=2,
        personas=5,
        axes=3,
        island=island,
        parent_id=parent,
        generation=gen,
        descriptors={"a": a, "b": b},
        fitness=fitness,
        **kw,
    )


@pytest.fixture
def arch(tmp_path):
    a = Archive.create(
        url_or_path=tmp_path / "a.db", config=CFG, run_config={"k": 1}, seed=7, versions={"x": "1"}
    )
    yield a
    a.close()


def test_statuses_new_improved_not_improved_duplicate_failed(arch):
    rng = np.random.default_rng(0)
    c0 = cand(0, rng, fitness=0.5)
    res = arch.add(
        [c0, cand(1, rng, fitness=0.7), cand(2, rng, fitness=0.6), cand(3, rng, a=0.9, fitness=0.1), c0]
    )
    assert [r.status for r in res] == [
        AddStatus.NEW_CELL,
        AddStatus.IMPROVED,
        AddStatus.NOT_IMPROVED,
        AddStatus.NEW_CELL,
        AddStatus.DUPLICATE,
    ]
    assert res[0].cell == (0, 0) and res[3].cell == (3, 0)
    assert res[4].program_id == res[0].program_id
    # the same program reformatted is a duplicate too, and nothing is stored twice
    again = Candidate(
        ProgramRecord("# comment\n" + c0.program.code, None, 1, 0), c0.evaluation, {"a": 0.5, "b": 0.5}
    )
    assert arch.add([again])[0].status is AddStatus.DUPLICATE
    assert arch.counts()["programs"] == 4 and arch.counts()["evaluations"] == 4
    assert arch.counts()["rejected"]["duplicate"] == 2
    # failures: explicit error, missing fitness, syntax error
    bad = Candidate(
        ProgramRecord(synthetic_code(10), None, 0, 0), None, None, error="sandbox: timeout after 30 s"
    )
    nofit = cand(11, rng, fitness=None)
    nofit = Candidate(
        nofit.program, EvaluationRecord("train", nofit.evaluation.contexts, None, None), {"a": 0, "b": 0}
    )
    syn = Candidate(ProgramRecord("def f(:", None, 0, 0), None, None)
    r = arch.add([bad, nofit, syn])
    assert [x.status for x in r] == [AddStatus.FAILED] * 3
    assert (
        r[0].error == "sandbox: timeout after 30 s"
        and "finite fitness" in r[1].error
        and "parse" in r[2].error
    )
    assert arch.has_program(r[0].program_id) and r[2].program_id is None
    assert arch.counts()["rejected"]["failed"] == 2 and arch.counts()["rejected"]["syntax"] == 1
    g = arch.grid(0)
    assert {e.cell: round(e.fitness, 3) for e in g.elites} == {(0, 0): 0.7, (3, 0): 0.1}
    st = arch.qd_stats(0)
    assert st["filled"] == 2 and st["cells_total"] == 16 and st["qd_score"] == pytest.approx(0.8)


def test_clipping_is_counted_and_goes_to_edge(arch):
    rng = np.random.default_rng(1)
    r = arch.add([cand(0, rng, a=-3.0, b=0.5), cand(1, rng, a=1.5, b=7.0), cand(2, rng, a=0.5, b=0.5)])
    assert r[0].cell == (0, 2) and r[0].clipped == ("a",)
    assert r[1].cell == (3, 3) and set(r[1].clipped) == {"a", "b"}
    assert r[2].clipped == ()
    assert arch.counts()["clipped"] == {"a": 2, "b": 1}
    ev = arch.events(program_id=r[1].program_id, kind="inserted")
    assert ev[0]["detail"]["clipped"] == ["a", "b"]


def test_descriptors_computed_when_missing(tmp_path):
    config = ArchiveConfig(
        islands=1,
        descriptors=(
            DescriptorSpec("tail_share", 0.0, 1.0, 10),
            DescriptorSpec("llm_tokens_per_persona", 10.0, 1e4, 8, log=True),
        ),
    )
    a = Archive.create(url_or_path=tmp_path / "d.db", config=config, run_config={}, seed=0)
    z = np.array([[0.05, 0.5], [0.5, 0.5], [0.5, 0.95], [0.5, 0.5]])
    ev = EvaluationRecord(
        "train", [ContextResult("c", {"coverage": 0.3}, z, tokens=400)], 0.3, {"coverage": 0.3}
    )
    r = a.add([Candidate(ProgramRecord(synthetic_code(1), None, 0, 0), ev, None)])[0]
    assert r.status is AddStatus.NEW_CELL
    # tail_share 0.5 -> bin 5; 100 tokens/persona -> log bin 2 of [10, 1e4] in 8
    assert r.cell == (5, 2)
    assert a.get_program(r.program_id).descriptors == {"tail_share": 0.5, "llm_tokens_per_persona": 100.0}
    a.close()


def test_positions_metrics_personas_and_pruning(tmp_path):
    # exemplars off: this test is about elite texts and pruning (exemplars: test_archive_exemplars.py)
    import dataclasses

    arch = Archive.create(
        url_or_path=tmp_path / "p.db",
        config=dataclasses.replace(CFG, exemplars_per_cell=0),
        run_config={},
        seed=7,
    )
    rng = np.random.default_rng(2)
    pers = synthetic_personas(5, chars=40)
    c0 = cand(0, rng, fitness=0.2, persona_dicts=pers)
    r0 = arch.add([c0])[0]
    evs = arch.evaluations(r0.program_id)
    assert len(evs) == 1 and evs[0].stage == "train" and len(evs[0].contexts) == 2
    z = c0.evaluation.contexts[1].positions
    assert np.allclose(evs[0].contexts[1].positions, z, atol=1e-4)
    assert evs[0].contexts[0].metrics["coverage"] == pytest.approx(
        c0.evaluation.contexts[0].metrics["coverage"]
    )
    got = arch.personas(context_id="ctx01", program_id=r0.program_id)
    assert [p.persona for p in got] == pers and np.allclose(got[2].position, z[2], atol=1e-4)
    # displaced elite: its train personas are pruned
    r1 = arch.add([cand(1, rng, fitness=0.9, persona_dicts=pers)])[0]
    assert r1.status is AddStatus.IMPROVED
    assert arch.personas(context_id="ctx01", program_id=r0.program_id) == []
    assert len(arch.personas(context_id="ctx01")) == 5
    # non-elites keep none; validation with keep_personas keeps them for good
    r2 = arch.add([cand(2, rng, fitness=0.1, persona_dicts=pers)])[0]
    assert (
        r2.status is AddStatus.NOT_IMPROVED
        and arch.personas(context_id="ctx00", program_id=r2.program_id) == []
    )
    val = EvaluationRecord("validation", c0.evaluation.contexts, 0.8, {"coverage": 0.8}, keep_personas=True)
    arch.record_evaluation(r0.program_id, val)
    assert len(arch.personas(context_id="ctx00", program_id=r0.program_id)) == 5
    assert arch.champion().id == r0.program_id  # validated beats train-only
    assert arch.champion().fitness == pytest.approx(0.8)
    assert arch.events(program_id=r0.program_id, kind="validated")[0]["detail"]["stage"] == "validation"
    with pytest.raises(KeyError, match="not in the archive"):
        arch.record_evaluation("0" * 16, val)


def test_lineage_events_spend_counts(arch):
    rng = np.random.default_rng(3)
    r = arch.add([cand(0, rng)])[0]
    ids = [r.program_id]
    for g in range(1, 5):
        ids.append(arch.add([cand(g, rng, parent=ids[-1], gen=g, a=g / 5)])[0].program_id)
    lin = arch.lineage(ids[-1])
    assert [v.id for v in lin] == ids[::-1]
    assert [v.generation for v in lin] == [4, 3, 2, 1, 0]
    assert lin[-1].label == "seed:synthetic" and lin[0].mutation.operator == "synthetic"
    arch.record_event("proposed", program_id="abc", island=1, detail={"operator": "llm"})
    arch.record_event("rejected", program_id="abc", detail={"reason": "no_op"})
    assert [e["kind"] for e in arch.events(program_id="abc")] == ["proposed", "rejected"]
    assert arch.counts()["rejected"] == {"no_op": 1}
    arch.record_llm_calls(
        [
            {
                "role": "mutator",
                "model": "m",
                "prompt_tokens": 100,
                "completion_tokens": 50,
                "cost_usd": 0.01,
                "latency_s": 1.0,
            },
            {
                "role": "mutator",
                "model": "m",
                "prompt_tokens": 10,
                "completion_tokens": 5,
                "cost_usd": 0.0,
                "cached": True,
            },
            {
                "role": "respondent",
                "model": "sim",
                "prompt_tokens": 7,
                "completion_tokens": 1,
                "error": "timeout",
            },
        ]
    )
    sp = arch.spend_by_role()
    assert (
        sp["mutator"]["calls"] == 2 and sp["mutator"]["cached"] == 1 and sp["mutator"]["prompt_tokens"] == 110
    )
    assert sp["mutator"]["cost_usd"] == pytest.approx(0.01) and sp["respondent"]["errors"] == 1
    c = arch.counts()
    assert c["llm_calls"] == 3 and c["cost_usd"] == pytest.approx(0.01) and c["evaluations"] == 5
    with pytest.raises(ValueError, match="no 'role'"):
        arch.record_llm_calls([{"model": "m"}])
    assert arch.top(2)[0].fitness >= arch.top(2)[1].fitness
    assert arch.run_info()["versions"]["x"] == "1" and arch.run_info()["seed"] == 7


def test_record_program_idempotent_and_has_program(arch):
    rec = ProgramRecord(synthetic_code(5), None, 0, 0, label="seed:x")
    pid = arch.record_program(rec)
    assert pid == program_id(rec.code) and arch.record_program(rec) == pid and arch.has_program(pid)
    assert arch.get_program(pid).fitness is None and arch.grid().elites == ()
    with pytest.raises(KeyError):
        arch.get_program("f" * 16)


def test_reopen_latest_run_and_config_stored(tmp_path):
    p = tmp_path / "r.db"
    a = Archive.create(url_or_path=p, config=CFG, run_config={}, seed=1)
    a.add([cand(0, np.random.default_rng(0))])
    a.close()
    b = Archive.create(url_or_path=p, config=ArchiveConfig(islands=3), run_config={}, seed=2)
    rid = b.run_id
    b.close()
    c = Archive.open(url_or_path=p)
    assert c.run_id == rid and c.config.islands == 3 and c.counts()["programs"] == 0
    c.close()
    d = Archive.open(url_or_path=p, run_id=1)
    assert d.config == CFG and d.counts()["programs"] == 1
    assert [e["kind"] for e in d.events()][:1] == ["run_started"] and d.events()[-1]["kind"] == "run_resumed"
    d.close()
    assert [r["id"] for r in Archive.list_runs(p)] == [1, 2]


def test_schema_newer_refused_older_upgraded_or_refused(tmp_path, monkeypatch):
    p = tmp_path / "v.db"
    Archive.create(url_or_path=p, config=CFG, run_config={}, seed=0).close()
    con = sqlite3.connect(p)
    con.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION + 1),))
    con.commit()
    with pytest.raises(SchemaError, match=r"newer persona-evolve.*Upgrade persona-evolve"):
        Archive.open(url_or_path=p)
    with pytest.raises(SchemaError, match="newer"):
        Archive.open(url_or_path=p, readonly=True)
    con.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION - 1),))
    con.commit()
    monkeypatch.delitem(migrations.MIGRATIONS, SCHEMA_VERSION - 1, raising=False)  # an unregistered step
    with pytest.raises(SchemaError, match="cannot be upgraded automatically"):
        Archive.open(url_or_path=p)
    calls = []
    monkeypatch.setitem(migrations.MIGRATIONS, SCHEMA_VERSION - 1, lambda conn: calls.append(conn))
    with pytest.raises(SchemaError, match="open it once writable"):
        Archive.open(url_or_path=p, readonly=True)
    Archive.open(url_or_path=p).close()
    assert len(calls) == 1
    assert con.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == str(
        SCHEMA_VERSION
    )
    con.close()


def test_foreign_database_refused(tmp_path):
    p = tmp_path / "other.db"
    con = sqlite3.connect(p)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    with pytest.raises(SchemaError, match="not a persona-evolve archive"):
        Archive.open(url_or_path=p)


def test_readonly_refuses_writes_and_single_writer_lock(tmp_path):
    p = tmp_path / "l.db"
    a = Archive.create(url_or_path=p, config=CFG, run_config={}, seed=0)
    with pytest.raises(ArchiveLockedError, match="readonly=True"):
        Archive.open(url_or_path=p)
    r = Archive.open(url_or_path=p, readonly=True)
    with pytest.raises(ArchiveReadOnlyError):
        r.add([cand(0, np.random.default_rng(0))])
    with pytest.raises(ArchiveReadOnlyError):
        r.record_event("proposed")
    a.close()
    Archive.open(url_or_path=p).close()  # lock released on close
    r.close()


def test_sqlite_pragmas_and_plain_sql(tmp_path, arch):
    arch.add([cand(0, np.random.default_rng(0))])
    eng = create_engine(arch.url)
    with eng.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        row = conn.execute(
            text(
                "SELECT p.id, e.fitness, el.cell FROM programs p JOIN evaluations e ON e.program_id = p.id "
                "JOIN elites el ON el.program_id = p.id"
            )
        ).one()
        assert len(row[0]) == 16 and row[2] == "0,0"
    eng.dispose()


def test_in_memory_url_works():
    a = Archive.create(url_or_path="sqlite://", config=CFG, run_config={}, seed=0)
    assert a.add([cand(0, np.random.default_rng(0))])[0].status is AddStatus.NEW_CELL
    assert a.qd_stats()["filled"] == 1
    a.close()
