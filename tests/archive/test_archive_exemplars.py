"""Exemplar persona texts: every region of every context keeps one, bounded, never pruned."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archive import Archive, ArchiveConfig, DescriptorSpec
from archive.exemplars import ExemplarIndex, cells_of, default_bins
from archive.reader import ArchiveReader
from archive.records import Candidate, ContextResult, EvaluationRecord, MutationInfo, ProgramRecord
from archive.schema import SCHEMA_VERSION
from archive.testing import synthetic_code

CFG = ArchiveConfig(islands=1, descriptors=(DescriptorSpec("a", 0, 1, 2), DescriptorSpec("b", 0, 1, 2)))


def _personas(tag: str, n: int) -> list[dict[str, object]]:
    # the trait statement comes last: a reader that cuts the text would lose it
    return [
        {"name": f"{tag}-{i}", "description": "Background. " * 40 + f"TRAIT {tag}-{i}", "age": i}
        for i in range(n)
    ]


def _candidate(i: int, zs: dict[str, np.ndarray], fitness: float, a: float = 0.1) -> Candidate:
    contexts = [
        ContextResult(cid, {"coverage": fitness}, z, personas=_personas(f"p{i}{cid}", len(z)))
        for cid, z in zs.items()
    ]
    ev = EvaluationRecord("train", contexts, fitness, {"coverage": fitness})
    return Candidate(
        ProgramRecord(synthetic_code(i), None, 0, 0, MutationInfo("synthetic")), ev, {"a": a, "b": 0.1}
    )


def _regions(reader: ArchiveReader, context_id: str) -> dict[tuple[int, ...], int]:
    ps = reader.context_positions(context_id)
    keep = ~np.isnan(ps.z).any(axis=1)
    cells = cells_of(ps.z[keep], default_bins(ps.k))
    out: dict[tuple[int, ...], int] = {}
    for c in map(tuple, cells):
        out[c] = out.get(c, 0) + 1
    return out


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(0, 10_000),
    k=st.sampled_from([2, 3, 4, 6]),
    n_programs=st.integers(1, 6),
    nan_share=st.sampled_from([0.0, 0.2]),
)
def test_every_region_of_every_context_has_an_exemplar_text(tmp_path_factory, seed, k, n_programs, nan_share):
    rng = np.random.default_rng(seed)
    db = tmp_path_factory.mktemp("ex") / "a.db"
    with Archive.create(url_or_path=db, config=CFG, run_config={}, seed=0) as a:
        for i in range(n_programs):
            zs = {}
            for cid in ("c1", "c2"):
                z = rng.random((8, k)) ** rng.choice([1.0, 3.0])  # some skewed populations
                z[rng.random(z.shape) < nan_share] = np.nan
                zs[cid] = z
            a.add([_candidate(i, zs, fitness=float(rng.random()))])
    with ArchiveReader.open(db) as r:
        for cid in ("c1", "c2"):
            regions = _regions(r, cid)
            texts = r.personas(context_id=cid)
            ex = [p for p in texts if p.exemplar]
            b = default_bins(k)
            covered = {tuple(cells_of(p.position[None, :], b)[0]) for p in ex}
            assert set(regions) <= covered, "a region without an exemplar text"
            assert len(ex) == len(covered) <= len(regions)  # one per region, no more
            for p in ex:
                assert p.persona["description"].endswith("TRAIT " + p.persona["name"])  # the full text


def test_exemplars_survive_pruning_and_are_counted(tmp_path):
    db = tmp_path / "p.db"
    z = np.array([[0.05, 0.05], [0.95, 0.95], [0.5, 0.5]])
    with Archive.create(url_or_path=db, config=CFG, run_config={}, seed=0) as a:
        first = a.add([_candidate(0, {"c": z}, 0.2)])[0]
        assert len(a.personas(context_id="c", program_id=first.program_id)) == 3  # elite: all kept
        second = a.add([_candidate(1, {"c": z}, 0.9)])[0]  # displaces the first from its cell
        left = a.personas(context_id="c", program_id=first.program_id)
        assert len(left) == 3 and all(p.exemplar for p in left), "exemplars are never pruned"
        third = a.add([_candidate(2, {"c": np.array([[0.5, 0.52], [0.99, 0.01]])}, 0.1, a=0.9)])[0]
        assert third.status.value == "new_cell"
        rows = a.personas(context_id="c", program_id=third.program_id)
        assert len(rows) == 2  # an elite: all its texts; one is the exemplar of a new region
        assert [p.exemplar for p in rows] == [None, f"{default_bins(2)}:4,0"]
        assert second.program_id != first.program_id
    with ArchiveReader.open(db) as r:
        (count,) = r.context_counts()
        assert count.exemplars == 4 and count.positions == 3 + 3 + 2


def test_a_non_elite_keeps_only_its_new_regions(tmp_path):
    db = tmp_path / "n.db"
    with Archive.create(url_or_path=db, config=CFG, run_config={}, seed=0) as a:
        a.add([_candidate(0, {"c": np.array([[0.1, 0.1]])}, 0.9)])
        loser = a.add([_candidate(1, {"c": np.array([[0.1, 0.12], [0.9, 0.9]])}, 0.1)])[0]
        assert loser.status.value == "not_improved"
        rows = a.personas(context_id="c", program_id=loser.program_id)
        assert [(p.index, p.persona["name"]) for p in rows] == [(1, "p1c-1")]
        # smoke evaluations recorded apart also leave exemplars of new regions
        pid = a.record_program(ProgramRecord(synthetic_code(99), None, 0, 1, MutationInfo("synthetic")))
        smoke = EvaluationRecord(
            "smoke",
            [ContextResult("c", {"coverage": 0.1}, np.array([[0.1, 0.9]]), personas=_personas("s", 1))],
            0.1,
            {"coverage": 0.1},
        )
        a.record_evaluation(pid, smoke)
        assert len(a.personas(context_id="c", program_id=pid)) == 1


def test_exemplars_off_and_reopen_remembers_the_regions(tmp_path):
    import dataclasses

    off = tmp_path / "off.db"
    with Archive.create(
        url_or_path=off, config=dataclasses.replace(CFG, exemplars_per_cell=0), run_config={}, seed=0
    ) as a:
        a.add([_candidate(0, {"c": np.array([[0.1, 0.1]])}, 0.9)])
        r = a.add([_candidate(1, {"c": np.array([[0.9, 0.9]])}, 0.1)])[0]
        assert a.personas(context_id="c", program_id=r.program_id) == []
    on = tmp_path / "on.db"
    with Archive.create(url_or_path=on, config=CFG, run_config={}, seed=0) as a:
        a.add([_candidate(0, {"c": np.array([[0.1, 0.1]])}, 0.9)])
    with Archive.open(url_or_path=on) as a:  # resume: the index is rebuilt from the table
        r = a.add([_candidate(1, {"c": np.array([[0.11, 0.1], [0.9, 0.9]])}, 0.1)])[0]
        assert [p.index for p in a.personas(context_id="c", program_id=r.program_id)] == [1]


def test_index_plan_does_not_change_the_index():
    idx = ExemplarIndex(per_cell=2)
    z = np.array([[0.1, 0.1], [0.12, 0.1], [0.11, 0.1], [0.9, 0.9]])
    plan = idx.plan("c", z, 4)
    assert plan == {0: "5:0,0", 1: "5:0,0", 3: "5:4,4"} and len(idx) == 0
    idx.commit("c", plan)
    assert idx.plan("c", z, 4) == {3: "5:4,4"} and len(idx) == 3  # (4,4) holds 1 of 2
    assert idx.plan("c", z, 0) == {} and ExemplarIndex(per_cell=0).plan("c", z, 4) == {}


def test_v1_archive_is_upgraded_additively(tmp_path):
    db = tmp_path / "v1.db"
    with Archive.create(url_or_path=db, config=CFG, run_config={}, seed=0) as a:
        a.add([_candidate(0, {"c": np.array([[0.1, 0.1]])}, 0.5)])
    con = sqlite3.connect(db)  # rebuild the v1 shape: no personas.exemplar column
    con.execute("ALTER TABLE personas DROP COLUMN exemplar")
    con.execute("UPDATE meta SET value='1' WHERE key='schema_version'")
    con.commit()
    con.close()
    with Archive.open(url_or_path=db) as a:
        assert len(a.personas(context_id="c")) == 1  # v1 rows kept, exemplar NULL
        a.add([_candidate(1, {"c": np.array([[0.9, 0.9]])}, 0.1)])
    con = sqlite3.connect(db)
    assert con.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == str(
        SCHEMA_VERSION
    )
    assert con.execute("SELECT COUNT(*) FROM personas WHERE exemplar IS NOT NULL").fetchone()[0] == 1
    con.close()


@pytest.mark.parametrize("k, bins", [(1, 5), (3, 5), (4, 4), (5, 3), (6, 3)])
def test_default_bins(k, bins):
    assert default_bins(k) == bins
