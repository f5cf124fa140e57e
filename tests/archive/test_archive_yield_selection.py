"""Parent selection that weighs quality, novelty and yield (issue 13, item 3)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archive.records import EliteView
from archive.selection import Balanced, ChildOutcome, YieldBook, novelty, uniform


def _elite(pid: str, cell: tuple[int, int], fitness: float) -> EliteView:
    return EliteView(0, cell, pid, fitness, {}, None, 0)


def test_yield_is_the_posterior_share_of_children_that_survived_and_improved():
    book = YieldBook(prior_hits=1, prior_misses=2)
    assert book.yield_of("new") == pytest.approx(1 / 3)
    for outcome in (ChildOutcome.WASTED, ChildOutcome.WASTED, ChildOutcome.SURVIVED, ChildOutcome.IMPROVED):
        book.record("p", outcome)
    assert book.children["p"] == 4 and book.survived["p"] == 2 and book.hits["p"] == 1
    assert book.yield_of("p") == pytest.approx(2 / 7)
    with pytest.raises(ValueError):
        book.record("p", "lucky")


def test_a_weak_elite_in_a_lonely_cell_cannot_take_a_large_share_of_the_budget():
    elites = [_elite("strong", (5, 2), 0.80), _elite("mid", (5, 3), 0.75), _elite("weak", (0, 7), 0.45)]
    book = YieldBook()
    strategy = Balanced(book)
    rng = np.random.default_rng(0)
    share = lambda: np.mean([elites[strategy(elites, rng, 0)].program_id == "weak" for _ in range(3000)])  # noqa: E731
    assert share() < 0.15  # low quality already outweighs its novelty
    for _ in range(12):  # every child of the weak elite died in the smoke stage or as a duplicate
        book.record("weak", ChildOutcome.WASTED)
    for _ in range(4):
        book.record("strong", ChildOutcome.IMPROVED)
        book.record("strong", ChildOutcome.SURVIVED)
    assert share() < 0.05
    uniform_share = np.mean([elites[uniform(elites, rng, 0)].program_id == "weak" for _ in range(3000)])
    assert uniform_share > 0.3  # what it took before


def test_novelty_favours_lonely_cells():
    elites = [_elite("a", (0, 0), 0.5), _elite("b", (0, 1), 0.5), _elite("c", (9, 7), 0.5)]
    nov = novelty(elites)
    assert nov[2] == pytest.approx(1.0) and nov[0] < nov[2] and nov[1] < nov[2]
    assert list(novelty(elites[:1])) == [1.0]


@settings(max_examples=100, deadline=None)
@given(
    fitness=st.lists(st.floats(0, 1), min_size=1, max_size=8),
    hits=st.lists(st.integers(0, 5), min_size=8, max_size=8),
    misses=st.lists(st.integers(0, 5), min_size=8, max_size=8),
    who=st.integers(0, 7),
)
def test_weights_are_a_distribution_and_a_hit_never_lowers_a_parent_s_weight(fitness, hits, misses, who):
    elites = [_elite(f"p{i}", (i, i % 3), f) for i, f in enumerate(fitness)]
    book = YieldBook()
    for i in range(len(elites)):
        for _ in range(hits[i]):
            book.record(f"p{i}", ChildOutcome.IMPROVED)
        for _ in range(misses[i]):
            book.record(f"p{i}", ChildOutcome.WASTED)
    w = Balanced(book).weights(elites)
    assert np.all(w > 0) and w.sum() == pytest.approx(1.0)
    j = who % len(elites)
    before = w[j]
    book.record(f"p{j}", ChildOutcome.IMPROVED)
    assert Balanced(book).weights(elites)[j] >= before - 1e-12
