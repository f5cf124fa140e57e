"""``[search] restore_on_loss``: a child that takes its island's established best's cell on a
lucky replicate 0 and then loses its promotion race gives the cell back, so the established
best (here the seed; in a run, often the champion) stays a parent. Off, the loser keeps the
cell and the established best leaves the grid."""

from __future__ import annotations

import dataclasses

import pytest
from test_controller_fakes import FakeEvaluator, FakeMutator, contexts, edit, events, make, rows, run  # noqa: F401

from archive import Archive
from archive.records import ArchiveConfig, EliteView
from evolve.budget.caps import RunBudget
from evolve.common.search import DEFAULT_SEARCH


def _lucky_run(tmp_path, contexts, search):
    """A run of one evaluation whose neutral child took the seed's cell on replicate 0 and
    lost its race (the first run seed where that happens)."""
    for seed in range(60):
        (tmp_path / str(seed)).mkdir()
        c = make(
            tmp_path / str(seed),
            contexts,
            evaluator=FakeEvaluator(noise=0.01, own=0.05),
            smoke=0,
            threshold=0.0,
            seed=seed,
            search=search,
            mutator=FakeMutator(lambda code, k: edit("EXTRA = 0", "EXTRA = 1") if k == 0 else ""),
            budget=RunBudget(evaluations=1, llm_calls=None, dollars=None, minutes=None),
        )
        run(c)
        raced = events(c, "raced")
        if c.stats.statuses.get("improved") and raced and raced[0]["detail"]["decision"] == "rejected":
            return c, raced[0]["program_id"], raced[0]["detail"]["incumbent"]
        c.archive.close()
    pytest.fail("no run seed gave the neutral child a lucky replicate 0 and a lost race")


@pytest.mark.parametrize("restore", [True, False])
def test_a_race_loser_gives_the_established_best_its_cell_back(tmp_path, contexts, restore):
    c, loser, seed = _lucky_run(
        tmp_path, contexts, dataclasses.replace(DEFAULT_SEARCH, restore_on_loss=restore)
    )
    holders = {e.program_id for e in c.archive.grid(0).elites}
    restored = events(c, "restored")
    if restore:
        assert seed in holders and loser not in holders
        assert [(e["program_id"], e["detail"]["displaced"]) for e in restored] == [(seed, loser)]
        stored = rows(c, "SELECT program_id FROM elites")
        assert (seed,) in stored and (loser,) not in stored  # the archive file agrees with the grid
    else:
        assert loser in holders and seed not in holders and restored == []
    assert c.island_best[0][0] == seed  # the race decided the island's best either way
    c.archive.close()


def test_restore_elite_acts_only_when_the_named_holder_holds_the_cell(tmp_path):
    archive = Archive.create(
        url_or_path=tmp_path / "a.db", config=ArchiveConfig(islands=1), run_config={}, seed=0
    )
    old = EliteView(
        island=0, cell=(1, 1), program_id="old", fitness=0.5, descriptors={}, migrant_from=None, improved_at=0
    )
    archive._grids.put(dataclasses.replace(old, program_id="new", fitness=0.6))
    assert archive.restore_elite(old, holder="someone-else") is False
    assert [e.program_id for e in archive._grids.elites(0)] == ["new"]
    assert (
        archive.restore_elite(dataclasses.replace(old, cell=(2, 2)), holder="new") is False
    )  # an empty cell
    assert archive.events(kind="restored") == []
    archive.close()
