"""The ask/tell parent policy (issue 22 item 3, issue 20 item 2): the champion share, its
own random stream, the source recorded on every proposal, and the yield book it is told."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from test_controller_fakes import FAKE_SEARCH, FakeEvaluator, FakeMutator, contexts, make, quality_edit, run  # noqa: F401

from archive.selection import ChildOutcome, YieldBook
from evolve.budget.caps import RunBudget
from evolve.loop.parent_policy import ParentPolicy


def _grown(tmp_path, contexts, *, share: float, evaluations: int = 5):  # noqa: F811 - the fixture
    """A real run with the fakes: each child raises QUALITY a little, so the grid fills."""
    step = iter(np.linspace(0.52, 0.70, 40))
    c = make(
        tmp_path,
        contexts,
        evaluator=FakeEvaluator(noise=0.0),
        smoke=0,
        threshold=0.0,
        search=dataclasses.replace(FAKE_SEARCH, champion_share=share),
        mutator=FakeMutator(lambda code, k: quality_edit(code, float(next(step)))),
        budget=RunBudget(evaluations=evaluations, llm_calls=None, dollars=None, minutes=None),
    )
    run(c)
    return c


def _policy(archive, *, share: float, champion: str | None, seed: int = 3) -> ParentPolicy:
    return ParentPolicy(
        archive=archive,
        islands=1,
        start=0,
        rng=np.random.default_rng(seed),
        share_rng=np.random.default_rng([seed, 17]),
        champion_share=share,
        champion=lambda: champion,
        selection="config",
        parent_strategy="uniform",
        book=YieldBook(),
    )


def test_every_proposal_records_its_parents_source_and_share_one_always_mutates_the_champion(
    tmp_path, contexts
):  # noqa: F811
    c = _grown(tmp_path, contexts, share=1.0)
    proposed = c.archive.events(kind="proposed")
    champions = {e["program_id"] for e in c.archive.events(kind="champion")}
    assert proposed and all(e["detail"]["parent_source"] == "champion" for e in proposed)
    assert all(e["program_id"] in champions for e in proposed)
    c.archive.close()


def test_share_zero_draws_from_the_grid_only(tmp_path, contexts):  # noqa: F811
    c = _grown(tmp_path, contexts, share=0.0)
    assert {e["detail"]["parent_source"] for e in c.archive.events(kind="proposed")} == {"grid"}
    c.archive.close()


def test_the_share_draw_leaves_every_other_draw_as_it_was(tmp_path, contexts):  # noqa: F811
    c = _grown(tmp_path, contexts, share=0.0, evaluations=6)
    elites = {e.program_id for e in c.archive.grid(0).elites}
    assert len(elites) >= 2  # the grid offers a choice, so the order of draws shows
    champion = sorted(elites)[0]
    policy = _policy(c.archive, share=0.0, champion=champion)
    plain = [policy.ask().parent.id for _ in range(60)]
    shared = _policy(c.archive, share=0.3, champion=champion)
    picks = [shared.ask() for _ in range(60)]
    from_grid = [p.parent.id for p in picks if p.source == "grid"]
    assert from_grid == plain[: len(from_grid)]  # the grid picks are the same draws, in order
    took = sum(p.source == "champion" for p in picks)
    assert 0 < took < 60 and all(p.parent.id == champion for p in picks if p.source == "champion")
    c.archive.close()


def test_no_champion_yet_means_the_grid_and_bad_settings_are_refused(tmp_path, contexts):  # noqa: F811
    c = _grown(tmp_path, contexts, share=0.0, evaluations=2)
    policy = _policy(c.archive, share=1.0, champion=None)
    assert {policy.ask().source for _ in range(10)} == {"grid"}
    with pytest.raises(ValueError, match="champion_share"):
        _policy(c.archive, share=-0.1, champion=None)
    c.archive.close()


def test_tell_feeds_the_yield_book_the_balanced_strategy_reads(tmp_path, contexts):  # noqa: F811
    c = _grown(tmp_path, contexts, share=0.0, evaluations=2)
    policy = _policy(c.archive, share=0.0, champion=None)
    before = policy.book.yield_of("p")
    policy.tell("p", ChildOutcome.WASTED)
    assert policy.book.yield_of("p") < before
    c.archive.close()
