"""The budget's history read from event details (archive.runhistory): the caps in force
after raises, which caps a raise changed, and the charges of killed evaluations."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from archive import Archive
from archive.reader import ArchiveReader
from archive.records import ArchiveConfig
from archive.runhistory import CAPS, budget_in_force, budget_raise, killed_charges

limits = st.one_of(st.none(), st.integers(1, 10_000).map(float))
budgets = st.fixed_dictionaries({cap: limits for cap in CAPS})


@given(old=budgets, new=budgets)
def test_a_raise_lists_exactly_the_caps_that_changed(old, new):
    changes = budget_raise(1, 0.0, {"from": old, "to": new}).changes
    assert set(changes) == {cap for cap in CAPS if old[cap] != new[cap]}
    assert all(changes[cap] == (old[cap], new[cap]) for cap in changes)
    assert list(changes) == [cap for cap in CAPS if cap in changes]  # display order


@given(stored=budgets, raises=st.lists(budgets, max_size=3))
def test_the_caps_in_force_are_the_last_raise_else_the_config(stored, raises):
    details = [{"from": {}, "to": r} for r in raises]
    assert budget_in_force({"budget": stored}, details) == (raises[-1] if raises else stored)


def test_the_reader_uses_the_caps_in_force_and_counts_killed_charges(tmp_path):
    db = tmp_path / "archive.db"
    stored = {"evaluations": 6, "llm_calls": None, "dollars": 2.0, "minutes": 5.0}
    raised = {"evaluations": 9, "llm_calls": None, "dollars": 3.5, "minutes": None}
    killed = [
        {
            "estimated": True,
            "contexts": ["a", "b"],
            "calls": 40,
            "dollars": 0.25,
            "prompt_tokens": 900,
            "completion_tokens": 80,
        },
        {"estimated": True, "contexts": ["c"], "calls": 7, "dollars": 0.5},
    ]
    archive = Archive.create(
        url_or_path=db, config=ArchiveConfig(islands=1), run_config={"budget": stored}, seed=0
    )
    archive.record_event("budget_raised", detail={"from": stored, "to": raised})
    for detail in killed:
        archive.record_event("evaluation_killed", program_id=None, detail=detail)
    archive.close()
    with ArchiveReader.open(db) as reader:
        (r,) = reader.budget_raises()
        assert r.changes == {"evaluations": (6.0, 9.0), "dollars": (2.0, 3.5), "minutes": (5.0, None)}
        budget = {str(b.cap): b for b in reader.budget()}
        assert {cap: b.limit for cap, b in budget.items()} == {
            cap: (None if v is None else float(v)) for cap, v in raised.items()
        }
        calls, dollars = killed_charges(killed)
        assert (calls, dollars) == (sum(d["calls"] for d in killed), sum(d["dollars"] for d in killed))
        assert (
            budget["llm_calls"].used == calls and budget["dollars"].used == dollars
        )  # no counted calls here
        found = reader.killed_evaluations()
        assert [k.contexts for k in found] == [tuple(d["contexts"]) for d in killed]
        assert found[1].prompt_tokens is None  # a figure the event did not give stays unknown
