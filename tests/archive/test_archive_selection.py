import numpy as np
import pytest

from archive import Archive, ArchiveConfig, DescriptorSpec, EliteView
from archive.map_elites import IslandGrids
from archive.selection import Curiosity, fitness_weighted, get_strategy, pick_inspirations, uniform
from archive.testing import synthetic_candidate

CFG = ArchiveConfig(
    islands=4,
    descriptors=(DescriptorSpec("a", 0, 1, 5),),
    migration_interval=10,
    migration_count=1,
    stagnation_evals=5,
    reset_fraction=0.5,
)


def e(island, cell, pid, fit, at=0, mig=None):
    return EliteView(island, (cell,), pid, fit, {"a": cell / 5}, mig, at)


def test_uniform_fitness_curiosity_distributions():
    rng = np.random.default_rng(0)
    es = [e(0, 0, "lo", 0.1, at=0), e(0, 1, "mid", 0.5, at=0), e(0, 2, "hi", 0.9, at=100)]

    def freq(strat):
        picks = [es[strat(es, rng, 100)].program_id for _ in range(3000)]
        return {k: picks.count(k) / 3000 for k in ("lo", "mid", "hi")}

    u = freq(uniform)
    assert all(abs(v - 1 / 3) < 0.05 for v in u.values())
    f = freq(fitness_weighted)  # rank weights 1:2:3
    assert f["hi"] == pytest.approx(0.5, abs=0.05) and f["lo"] == pytest.approx(1 / 6, abs=0.04)
    c = freq(Curiosity(half_life=10))  # 'hi' improved at 100, others 100 evals ago: weight 1 vs 2**-10
    assert c["hi"] > 0.98
    with pytest.raises(ValueError, match="unknown parent selection"):
        get_strategy("best")


def test_fitness_weighted_handles_negative_and_ties():
    rng = np.random.default_rng(1)
    es = [e(0, 0, "a", -5.0), e(0, 1, "b", -5.0), e(0, 2, "c", -1.0)]
    picks = [es[fitness_weighted(es, rng, 0)].program_id for _ in range(2000)]
    assert picks.count("c") > picks.count("a") and picks.count("a") > 0


def test_inspirations_distinct_exclude_and_mix():
    rng = np.random.default_rng(2)
    es = [e(0, 0, "p0", 0.1), e(0, 1, "p1", 0.2), e(1, 0, "q0", 0.3), e(1, 1, "q1", 0.4), e(2, 2, "p1", 0.5)]
    for _ in range(50):
        ids = pick_inspirations(0, es, rng, k=3, exclude="p0")
        assert len(ids) == len(set(ids)) == 3 and "p0" not in ids
        assert sum(i.startswith("q") for i in ids) == 2  # ceil(3/2) from other islands
    assert len(pick_inspirations(0, es, rng, k=10, exclude=None)) == 4


def test_migration_ring_marks_migrants_and_no_bounce():
    g = IslandGrids(CFG, [e(0, 0, "a", 0.9), e(1, 1, "b", 0.5), e(1, 0, "c", 0.95)])
    plans = g.plan_migration(now=10)
    moved = {(p.elite.program_id, p.elite.island) for p in plans}
    # island 1 sends its best native 'c' to island 2; 'a' (0.9) does not beat 'c' (0.95) in island 1
    assert moved == {("c", 2)}
    for p in plans:
        g.put(p.elite)
    assert g.cells[2][(0,)].migrant_from == 1 and g.cells[2][(0,)].improved_at == 10
    # the migrant in island 2 is never sent on, so it cannot travel on or bounce back
    assert all(p.elite.program_id != "c" for p in g.plan_migration(now=20))


def test_migration_and_reset_through_archive(tmp_path):
    rng = np.random.default_rng(3)
    a = Archive.create(url_or_path=tmp_path / "m.db", config=CFG, run_config={}, seed=0)
    a.add(
        [
            synthetic_candidate(
                0, rng, contexts=1, personas=3, axes=2, island=0, descriptors={"a": 0.1}, fitness=0.9
            ),
            synthetic_candidate(
                1, rng, contexts=1, personas=3, axes=2, island=1, descriptors={"a": 0.5}, fitness=0.2
            ),
        ]
    )
    assert a.maybe_migrate() == 0  # 2 evaluations < interval 10
    assert a.maybe_migrate(10) == 2  # 0 -> 1 and 1 -> 2
    assert a.maybe_migrate(15) == 0
    assert a.counts()["migrations"] == 2 and len(a.events(kind="migrated")) == 2
    natives = {x.island: x.program_id for x in a.grid().elites if x.migrant_from is None}
    migrants = {
        (x.island, x.program_id, x.migrant_from) for x in a.grid().elites if x.migrant_from is not None
    }
    assert migrants == {(1, natives[0], 0), (2, natives[1], 1)}
    # now 2 evals done; stagnation 5: islands last improved at 1, 2 and 0
    assert a.reset_stagnant_islands() == []
    reset = a.maybe_reset(8)
    # best overall (0.9) sits on island 0 (native) and island 1 (migrant): best.island is the first, 0;
    # weakest stagnant islands (reset_fraction 0.5 of 4 = 2): 3 (empty) and 2
    assert reset == [2, 3]
    best = a.grid(0).elites[0].program_id
    for i in (2, 3):
        g = a.grid(i).elites
        assert len(g) == 1 and g[0].program_id == best and g[0].migrant_from == 0
    assert a.counts()["resets"] == 2 and a.maybe_reset(9) == []
    a.close()


def test_sample_parent_and_inspirations_views(tmp_path):
    rng = np.random.default_rng(4)
    a = Archive.create(url_or_path=tmp_path / "s.db", config=CFG, run_config={}, seed=0)
    assert a.sample_parent(0, rng) is None
    res = a.add(
        [
            synthetic_candidate(
                i,
                rng,
                contexts=1,
                personas=3,
                axes=2,
                island=i % 2,
                descriptors={"a": i / 10},
                fitness=i / 10,
            )
            for i in range(10)
        ]
    )
    for strat in ("uniform", "fitness", "curiosity"):
        v = a.sample_parent(1, rng, strategy=strat)
        assert v.island == 1 and v.cell is not None and v.fitness is not None and "def generate" in v.code
    ins = a.sample_inspirations(0, rng, k=3, exclude=res[0].program_id)
    assert len(ins) == 3 and res[0].program_id not in {v.id for v in ins}
    a.close()
