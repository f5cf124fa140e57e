"""The pure decisions behind Archive.add and island seeding (no database)."""

import dataclasses

import numpy as np

from archive import AddStatus, ArchiveConfig, DescriptorSpec, EliteView, program_id
from archive.admission import Admission, Refusal, admit
from archive.map_elites import IslandGrids
from archive.testing import synthetic_candidate
from archive.vocab import EventKind, RejectReason

CFG = ArchiveConfig(islands=2, descriptors=(DescriptorSpec("a", 0, 1, 4),), keep_elite_personas=True)


def cand(i, *, a=0.1, fitness=0.5, island=0, **kw):
    c = synthetic_candidate(
        i,
        np.random.default_rng(i),
        contexts=1,
        personas=2,
        axes=2,
        island=island,
        descriptors={"a": a},
        fitness=fitness,
    )
    return dataclasses.replace(c, **kw) if kw else c


def test_refusals_store_nothing_and_say_why():
    grids = IslandGrids(CFG)
    bad = cand(0, program=dataclasses.replace(cand(0).program, code="def (:"))
    r = admit(bad, config=CFG, grids=grids, known=set(), clock=0)
    assert isinstance(r, Refusal) and r.result().status is AddStatus.FAILED and r.program_id is None
    assert r.detail()["reason"] is RejectReason.SYNTAX and r.detail()["error"]
    dup = cand(1)
    r = admit(dup, config=CFG, grids=grids, known={program_id(dup.program.code)}, clock=0)
    assert isinstance(r, Refusal) and r.detail() == {
        "reason": RejectReason.DUPLICATE,
        "status": AddStatus.DUPLICATE,
    }


def test_failures_keep_descriptors_but_no_cell_counts():
    grids = IslandGrids(CFG)
    for c, why in [
        (cand(2, error="boom", descriptors={"a": 1.5}), "boom"),
        (cand(3, fitness=float("nan")), "no finite fitness"),
        (cand(4, island=5), "out of range"),
        (cand(5, descriptors={"a": "x"}), "descriptors:"),
        (cand(6, evaluation=None), "no evaluation"),
    ]:
        r = admit(c, config=CFG, grids=grids, known=set(), clock=3)
        assert isinstance(r, Admission) and r.status is AddStatus.FAILED and why in (r.error or "")
        assert r.elite is None and r.result().clipped == () and r.counters() == ["status.failed"]
        assert r.clock == (3 if c.evaluation is None else 4)
        assert r.event(7) == (
            EventKind.REJECTED,
            {"reason": RejectReason.FAILED, "error": r.error, "evaluation_id": 7},
        )
    boom = admit(cand(2, error="boom", descriptors={"a": 1.5}), config=CFG, grids=grids, known=set(), clock=0)
    assert boom.descriptors == {"a": 1.5} and boom.clipped == ("a",)  # stored, not counted


def test_improvement_displaces_and_orphans_the_incumbent():
    old = EliteView(0, (3,), "old", 0.4, {"a": 0.9}, None, 0)  # the top bin, where a clipped 1.2 lands
    grids = IslandGrids(CFG, [old])
    r = admit(cand(7, fitness=0.9, a=1.2), config=CFG, grids=grids, known=set(), clock=10)
    assert r.status is AddStatus.IMPROVED and r.elite is not None and r.elite.improved_at == 11
    assert r.orphans == ("old",) and r.keep_personas  # keep_elite_personas
    assert r.counters() == ["status.improved", "clipped.a"] and r.result().clipped == ("a",)
    kind, detail = r.event(1)
    assert kind is EventKind.INSERTED and detail["displaced"] == "old" and detail["clipped"] == ["a"]
    assert grids.cells[0][(3,)] is old  # deciding changes nothing
    weak = admit(cand(8, fitness=0.1, a=0.95), config=CFG, grids=grids, known=set(), clock=0)
    assert weak.status is AddStatus.NOT_IMPROVED and weak.elite is None and not weak.keep_personas


def test_orphans_count_every_island():
    a0, a1 = EliteView(0, (0,), "a", 0.4, {}, None, 0), EliteView(1, (0,), "a", 0.4, {}, None, 0)
    grids = IslandGrids(CFG, [a0, a1])
    assert grids.orphans([a0], []) == []  # still on island 1
    assert grids.orphans([a0, a1], []) == ["a"]
    assert grids.orphans([a0, a1], [dataclasses.replace(a0, cell=(1,))]) == []


def test_plan_seeding_fills_empty_or_weaker_cells_without_mutating():
    cfg = dataclasses.replace(CFG, islands=4)
    s = EliteView(0, (1,), "s", 0.5, {"a": 0.3}, None, 0)
    strong = EliteView(1, (1,), "x", 0.9, {"a": 0.3}, None, 0)
    weak = EliteView(2, (1,), "y", 0.2, {"a": 0.3}, None, 0)
    tie = EliteView(3, (1,), "z", 0.5, {"a": 0.3}, None, 0)  # an equal holder keeps its cell
    grids = IslandGrids(cfg, [s, strong, weak, tie])
    plan = grids.plan_seeding(["s", "missing"], now=42)
    assert [(e.island, e.program_id, e.migrant_from, e.improved_at) for e in plan] == [(2, "s", None, 42)]
    assert grids.cells[2][(1,)].program_id == "y"
    # a copy placed earlier in the plan holds its cell against later, weaker sources
    t = EliteView(0, (2,), "t", 0.8, {"a": 0.6}, None, 0)
    u = EliteView(1, (2,), "u", 0.3, {"a": 0.6}, None, 0)
    grids = IslandGrids(dataclasses.replace(CFG, islands=3), [t, u])
    placed = {(e.island, e.program_id) for e in grids.plan_seeding(["t", "u"], now=0)}
    assert placed == {(1, "t"), (2, "t")}
