"""ArchiveReader: read-only engine, typed frozen values, known answers on a small archive,
reading while the writer is open, and one-line errors."""

from __future__ import annotations

import dataclasses
import hashlib
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import text

from archive import Archive, ArchiveConfig, MutationInfo, ProgramRecord
from archive.reader import ArchiveReader, BudgetUse, ReaderError, RunInfo, UnknownProgramError
from archive.testing import SYNTHETIC_DESCRIPTORS, synthetic_candidate, synthetic_code, synthetic_personas
from archive.vocab import BudgetCap, EventKind, Outcome, Role, RunStatus, Stage, coerce


def _build(db: Path) -> dict[str, object]:
    """Seed (island 0) -> child -> grandchild; one validation and one test evaluation;
    two proposal 'evaluated' events; LLM calls of two roles; budget caps in the config."""
    rng = np.random.default_rng(0)
    a = Archive.create(
        url_or_path=db,
        config=ArchiveConfig(islands=2, descriptors=SYNTHETIC_DESCRIPTORS),
        seed=5,
        run_config={
            "models": {"persona": {"model": "sim"}, "mutator": "offline"},
            "contexts": {"train": ["ctx00", "ctx01"]},
            "budget": {"evaluations": 10, "dollars": 2.0, "llm_calls": None},
        },
    )
    personas = synthetic_personas(4, chars=40)
    seed = a.add(
        [
            synthetic_candidate(
                0,
                rng,
                contexts=2,
                personas=4,
                axes=3,
                fitness=0.3,
                persona_dicts=personas,
                descriptors={"tail_share": 0.1, "llm_tokens_per_persona": 100.0},
            )
        ]
    )[0]
    child = a.add(
        [
            synthetic_candidate(
                1,
                rng,
                contexts=2,
                personas=4,
                axes=3,
                fitness=0.5,
                parent_id=seed.program_id,
                generation=1,
                descriptors={"tail_share": 0.5, "llm_tokens_per_persona": 100.0},
            )
        ]
    )[0]
    grand = a.add(
        [
            synthetic_candidate(
                2,
                rng,
                contexts=2,
                personas=4,
                axes=3,
                fitness=0.45,
                island=1,
                parent_id=child.program_id,
                generation=2,
                descriptors={"tail_share": 0.9, "llm_tokens_per_persona": 2000.0},
            )
        ]
    )[0]
    for pid, f, elapsed in ((child.program_id, 0.5, 30.0), (grand.program_id, 0.45, 90.0)):
        a.record_event(
            "evaluated",
            program_id=pid,
            island=0,
            detail={"stage": "train", "fitness": f, "status": "new_cell", "elapsed_s": elapsed},
        )
    a.record_event("evaluated", program_id=seed.program_id, detail={"stage": "smoke", "fitness": 0.1})
    a.record_event("some_future_kind", detail={"x": 1})
    from archive.records import ContextResult, EvaluationRecord

    def ev(stage: str, f: float) -> EvaluationRecord:
        ctx = ContextResult("ctx00", {"coverage": f}, rng.random((4, 3)), personas=personas)
        return EvaluationRecord(stage, [ctx], f, {"coverage": f}, keep_personas=True)

    a.record_evaluation(grand.program_id, ev("validation", 0.7))
    a.record_evaluation(child.program_id, ev("validation", 0.6))
    a.record_evaluation(grand.program_id, ev("test", 0.65))
    a.record_llm_calls(
        [{"role": "persona", "model": "sim", "prompt_tokens": 10, "completion_tokens": 5, "cost_usd": 0.25}]
        * 4
        + [{"role": "respondent", "model": "sim", "prompt_tokens": 3, "completion_tokens": 1, "cached": True}]
        * 2
    )
    a.set_run_status("finished")
    a.close()
    return {"seed": seed.program_id, "child": child.program_id, "grand": grand.program_id}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    db = tmp_path_factory.mktemp("reader") / "a.db"
    return db, _build(db)


def _digest(db: Path) -> str:
    return hashlib.sha256(db.read_bytes()).hexdigest()


def test_run_facts_are_typed_and_frozen(built) -> None:
    db, _ = built
    with ArchiveReader.open(db) as r:
        run = r.run()
        assert isinstance(run, RunInfo) and run.status is RunStatus.FINISHED and run.seed == 5
        assert run.models == {"persona": "sim", "mutator": "offline"}
        assert run.contexts == {"train": ("ctx00", "ctx01")}
        assert r.config.islands == 2 and r.simulated()
        with pytest.raises(dataclasses.FrozenInstanceError):
            run.seed = 6  # type: ignore[misc]


def test_counts_snapshot_spend_budget(built) -> None:
    db, _ = built
    with ArchiveReader.open(db) as r:
        c = r.counts()
        assert c.evaluations == 3 + 3 and c.evaluations_by_stage == {"train": 3, "validation": 2, "test": 1}
        assert list(c.evaluations_by_stage) == ["train", "validation", "test"]  # cascade order
        assert c.proposal_evaluations == 2 and c.programs == 3
        assert c.llm_calls == 6 and c.cost_usd == pytest.approx(1.0)
        snap = r.snapshot()
        assert snap.proposal_evaluations == 2 and snap.evaluations == 6 and snap.last_event_id > 0
        spend = {s.role: s for s in r.spend()}
        assert spend[Role.PERSONA].calls == 4 and spend[Role.PERSONA].tokens == 60
        assert spend[Role.RESPONDENT].cached == 2
        budget = {b.cap: b for b in r.budget()}
        assert budget[BudgetCap.EVALUATIONS] == BudgetUse(BudgetCap.EVALUATIONS, 10.0, 2.0)
        assert budget[BudgetCap.EVALUATIONS].fraction == pytest.approx(0.2)
        assert budget[BudgetCap.LLM_CALLS].limit is None and budget[BudgetCap.LLM_CALLS].used == 4  # uncached
        assert budget[BudgetCap.DOLLARS].fraction == pytest.approx(0.5)
        assert (
            budget[BudgetCap.MINUTES].used == pytest.approx(1.5)
            and budget[BudgetCap.MINUTES].fraction is None
        )


def test_programs_lineage_champion_grid_personas(built) -> None:
    db, ids = built
    with ArchiveReader.open(db) as r:
        lin = r.lineage(ids["grand"])
        assert [s.id for s in lin.steps] == [ids["grand"], ids["child"], ids["seed"]]
        assert lin.complete and lin.missing_parent is None
        assert lin.delta_fitness(0) == pytest.approx(-0.05) and lin.delta_fitness(2) is None
        champ = r.champion()
        assert champ is not None and champ.program.id == ids["grand"] and champ.stage is Stage.VALIDATION
        assert (
            champ.fitness == pytest.approx(0.7)
            and champ.test is not None
            and champ.test.fitness == pytest.approx(0.65)
        )
        assert [p.id for p in r.top(2)] == [ids["child"], ids["grand"]]
        assert [s.id for s in r.seeds()] == [ids["seed"]]
        assert r.grid().elites and {e.island for e in r.grid(1).elites} == {1}
        assert r.qd_stats()["filled"] == len(r.grid().elites)
        assert [p.index for p in r.personas(context_id="ctx00", program_id=ids["seed"])] == [0, 1, 2, 3]
        val = r.best_evaluation(ids["grand"], Stage.VALIDATION)
        assert val is not None and [
            p.index for p in r.personas(context_id="ctx00", evaluation_id=val.id)
        ] == [0, 1, 2, 3]
        assert r.evaluations(ids["grand"], "test")[0].contexts[0].positions.shape == (4, 3)
        assert {c.context_id for c in r.context_counts()} == {"ctx00", "ctx01"}
        assert set(r.program_ids()) == set(ids.values())


def test_events_vocabulary_and_proposals(built) -> None:
    db, ids = built
    with ArchiveReader.open(db) as r:
        kinds = [e.kind for e in r.events()]
        assert EventKind.EVALUATED in kinds and "some_future_kind" in kinds
        assert all(isinstance(k, (EventKind, str)) for k in kinds)
        assert [e.kind for e in r.events(kind="some_future_kind")] == ["some_future_kind"]
        last = r.events()[-1].id
        assert r.events(after=last) == ()
        props = r.proposal_evaluations()
        assert [p.index for p in props] == [1, 2] and [p.program_id for p in props] == [
            ids["child"],
            ids["grand"],
        ]
        assert props[0].outcome is Outcome.NEW_CELL and props[1].elapsed_s == 90.0


def test_resolve_id_prefix_label_and_errors(built) -> None:
    db, ids = built
    with ArchiveReader.open(db) as r:
        seed = str(ids["seed"])
        assert r.resolve(seed) == seed and r.resolve(seed[:7]) == seed
        assert r.resolve("seed:synthetic") == seed
        for bad, words in (
            ("abc", "too short"),
            ("ffffffffff", "unknown program"),
            ("seed:nope", "no program labelled"),
            ("%%%%%%%", "unknown program"),
        ):
            with pytest.raises(UnknownProgramError, match=words):
                r.resolve(bad)
        with pytest.raises(UnknownProgramError):
            r.program("0" * 16)


def test_reader_never_writes(built) -> None:
    db, ids = built
    before = _digest(db)
    with ArchiveReader.open(db) as r:
        r.counts(), r.champion(), r.lineage(str(ids["grand"])), r.personas(context_id="ctx00")
        with pytest.raises(Exception, match="readonly|read-only|query_only|attempt to write"):
            with r.engine.begin() as conn:
                conn.execute(text("INSERT INTO counters (run_id, name, value) VALUES (1, 'x', 1)"))
    assert _digest(db) == before


def test_reads_while_the_writer_holds_the_archive(tmp_path: Path) -> None:
    db = tmp_path / "live.db"
    rng = np.random.default_rng(1)
    w = Archive.create(url_or_path=db, config=ArchiveConfig(islands=1), run_config={}, seed=0)
    try:
        w.add([synthetic_candidate(0, rng, contexts=1, personas=3, axes=2)])
        with ArchiveReader.open(db) as r:
            v1 = r.snapshot().version
            assert r.counts().programs == 1
            w.add([synthetic_candidate(1, rng, contexts=1, personas=3, axes=2)])
            w.record_event("evaluated", detail={"stage": "train", "fitness": 0.4})
            snap = r.snapshot()
            assert snap.version != v1 and snap.proposal_evaluations == 1 and r.counts().programs == 2
            assert snap.status is RunStatus.RUNNING
    finally:
        w.close()


def test_open_errors_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(ReaderError, match="no such database"):
        ArchiveReader.open(tmp_path / "missing.db")
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    with pytest.raises(ReaderError, match="not a persona-evolve archive") as exc:
        ArchiveReader.open(other)
    assert "\n" not in str(exc.value)
    db = tmp_path / "one.db"
    Archive.create(url_or_path=db, config=ArchiveConfig(islands=1), run_config={}, seed=0).close()
    with pytest.raises(ReaderError, match="no run 7"):
        ArchiveReader.open(db, run_id=7)
    with pytest.raises(ReaderError, match="in-memory"):
        ArchiveReader.open(":memory:")


def test_at_run_shares_the_engine_and_picks_runs(tmp_path: Path) -> None:
    db = tmp_path / "two.db"
    for seed in (1, 2):
        Archive.create(url_or_path=db, config=ArchiveConfig(islands=1), run_config={}, seed=seed).close()
    with ArchiveReader.open(db, run_id=1) as r:
        assert r.run().seed == 1 and [x.id for x in r.runs()] == [1, 2]
        latest = r.at_run(None)
        assert latest.run_id == 2 and latest.engine is r.engine and latest.run().seed == 2
        latest.close()
        assert r.run().seed == 1  # closing the sibling left the engine open
        with pytest.raises(ReaderError, match="no run 9"):
            r.at_run(9)


def test_vocabularies_are_strenums_matching_stored_text() -> None:
    assert Stage.TRAIN == "train" and [s.value for s in Stage] == ["smoke", "train", "validation", "test"]
    assert coerce(EventKind, "inserted") is EventKind.INSERTED
    assert coerce(EventKind, "brand_new") == "brand_new" and not isinstance(
        coerce(EventKind, "brand_new"), EventKind
    )
    from archive import AddStatus

    assert {o.value for o in Outcome} == {s.value for s in AddStatus}
    assert f"{RunStatus.FINISHED}" == "finished"


def test_program_with_missing_parent_has_incomplete_lineage(tmp_path: Path) -> None:
    db = tmp_path / "orphan.db"
    a = Archive.create(url_or_path=db, config=ArchiveConfig(islands=1), run_config={}, seed=0)
    pid = a.record_program(
        ProgramRecord(
            code=synthetic_code(3),
            parent_id="deadbeefdeadbeef",
            island=0,
            generation=4,
            mutation=MutationInfo("x"),
        )
    )
    a.close()
    with ArchiveReader.open(db) as r:
        lin = r.lineage(pid)
        assert not lin.complete and lin.missing_parent == "deadbeefdeadbeef" and len(lin.steps) == 1
