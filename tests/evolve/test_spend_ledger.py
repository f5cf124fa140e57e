"""LLM calls counted by stage and role (issue 22 item 5): the counters add up to the
per-role totals of the ``llm_calls`` table across stages, and a resumed run keeps them."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_controller_fakes import FAKE_SEARCH, SEED, FakeEvaluator, FakeMutator, quality_edit  # noqa: E402

from archive import Archive  # noqa: E402
from archive.reader import ArchiveReader  # noqa: E402
from archive.records import ArchiveConfig  # noqa: E402
from archive.runhistory import calls_by_stage, rejected_smoke_calls  # noqa: E402
from evolve.budget.caps import RunBudget  # noqa: E402
from evolve.budget.spend import STAGES, SpendLedger, render_spend_lines, spend_of, spend_report  # noqa: E402
from evolve.common.context_sets import ContextSets  # noqa: E402
from evolve.config import RunConfig, replace_path  # noqa: E402
from evolve.loop.controller import Controller  # noqa: E402
from generators.context_loader import resolve_contexts  # noqa: E402

TRAIN = ("esports_community", "online_dating_users", "hospital_night_shift")
VALIDATION = ("fishing_village_quota_cuts", "mars_habitat_crew")
TEST = ("divorced_coparents",)


def call(role: str, cached: bool = False) -> dict:
    return {"role": role, "model": "fake", "prompt_tokens": 1, "completion_tokens": 1, "cached": cached}


def test_the_ledger_tags_each_call_with_its_stage_and_the_mutator_with_propose():
    ledger = SpendLedger()
    tagged = ledger.tag(
        [call("persona"), call("mutator"), call("persona", cached=True)], stage="smoke", program="p1"
    )
    assert [c["stage"] for c in tagged] == ["smoke", "propose", "smoke"]
    assert all(c["program_id"] == "p1" for c in tagged)
    assert ledger.program_calls("p1", "smoke") == 1  # the cached call is free
    with pytest.raises(ValueError, match="unknown stage"):
        ledger.tag([call("persona")], stage="lunch", program=None)


def test_counters_add_up_to_the_role_totals_and_survive_reopening(tmp_path):
    db = tmp_path / "a.db"
    archive = Archive.create(url_or_path=db, config=ArchiveConfig(islands=1), run_config={}, seed=0)
    ledger = SpendLedger()
    archive.record_llm_calls(
        ledger.tag([call("persona")] * 3 + [call("mutator")], stage="train", program="a")
    )
    archive.record_llm_calls(
        ledger.tag([call("persona")] * 2 + [call("persona", cached=True)], stage="race", program="a")
    )
    archive.record_llm_calls([call("mutator")])  # a pre-flight ping: no stage
    archive.close()
    archive = Archive.open(url_or_path=db)  # a resumed session adds to the same counters
    archive.record_llm_calls(SpendLedger().tag([call("persona")] * 4, stage="train", program="b"))
    by_stage = archive.counts()["calls_by_stage"]
    assert by_stage == {"train": {"persona": 7}, "propose": {"mutator": 1}, "race": {"persona": 2}}
    spend = spend_of(archive)
    by_role = archive.spend_by_role()
    assert spend["total"] == sum(r["calls"] - r["cached"] for r in by_role.values()) == 11
    assert sum(spend["stage_totals"].values()) + sum(spend["unstaged"].values()) == spend["total"]
    assert spend["unstaged"] == {"mutator": 1}
    archive.close()
    reader = ArchiveReader.open(db)  # inspect and the report read the same figures
    try:
        assert spend_of(reader)["by_stage"] == spend["by_stage"]
    finally:
        reader.close()


def test_pure_readers_of_counters_and_rejected_events():
    assert calls_by_stage(
        {"calls.smoke.persona": 3, "rejected.twin": 2, "calls.propose.mutator": 1, "calls.bad": 9}
    ) == {"smoke": {"persona": 3}, "propose": {"mutator": 1}}
    assert rejected_smoke_calls(
        [
            {"reason": "twin", "smoke_calls": 5},
            {"reason": "twin", "smoke_calls": 2},
            {"reason": "cascade", "smoke_calls": 4},
            {"reason": "no_op"},
        ]
    ) == {"twin": 7, "cascade": 4}


def test_spend_report_shares_and_lines():
    report = spend_report(
        by_stage={"propose": {"mutator": 10}, "smoke": {"persona": 60}, "train": {"persona": 30}},
        by_role={"mutator": {"calls": 10, "cached": 0}, "persona": {"calls": 95, "cached": 5}},
        proposals=10,
        evaluated=5,
        rejections={"twin": 5},
        rejected_smoke_calls={"twin": 50},
    )
    assert report["total"] == 100 and report["unstaged"] == {}
    assert report["rejected_share"] == 0.5
    assert report["wasted_calls"] == 5 + 50 and report["wasted_share"] == pytest.approx(0.55)
    text = "\n".join(render_spend_lines(report))
    assert "smoke 60" in text and "twin 5" in text and "55 %" in text


@pytest.fixture(scope="module")
def contexts() -> ContextSets:
    found = {c.id: c for c in resolve_contexts(TRAIN + VALIDATION + TEST)}
    return ContextSets.build(
        [found[i] for i in TRAIN], [found[i] for i in VALIDATION], [found[i] for i in TEST], smoke=1, seed=0
    )


def controller(db: Path, contexts: ContextSets, evaluations: int, *, resume: bool) -> Controller:
    config = replace_path(RunConfig(), "islands.count", 1)
    config = replace_path(config, "cascade.smoke_contexts", 1)
    config = replace_path(config, "cascade.threshold", 0.5)
    config = replace_path(config, "mutation.full_rewrite_rate", 0.0)
    archive = (
        Archive.open(url_or_path=db)
        if resume
        else Archive.create(url_or_path=db, config=ArchiveConfig(islands=1), run_config={}, seed=0)
    )
    k = iter(range(1000))
    return Controller(
        config=config,
        archive=archive,
        mutator=FakeMutator(lambda code, i: quality_edit(code, 0.5 + 0.05 * (next(k) % 9))),
        evaluator=FakeEvaluator(calls=3),
        contexts=contexts,
        search=FAKE_SEARCH,
        budget=RunBudget(evaluations=evaluations, llm_calls=None, dollars=None, minutes=None),
        driver_calls=lambda: [call("mutator")],
    )


def test_a_run_counts_every_stage_and_a_resume_adds_to_it(tmp_path, contexts):
    db = tmp_path / "run.db"
    c = controller(db, contexts, 3, resume=False)

    async def first() -> None:
        await c.seed_archive({"seed:base": SEED})
        await c.evolve()
        await c.evaluate_final({"champion": c.champion.program_id})

    asyncio.run(first())
    before = spend_of(c.archive)
    c.archive.close()
    assert {"propose", "seeding", "smoke", "test"} <= set(before["by_stage"])
    assert set(before["by_stage"]) <= set(STAGES)
    assert before["by_stage"]["propose"] == {
        "mutator": before["by_role"]["mutator"]
    }  # one per store, all proposals
    assert sum(before["stage_totals"].values()) == before["total"]

    c = controller(db, contexts, 3, resume=True)  # a second session: 3 more evaluations

    async def second() -> None:
        await c.seed_archive({"seed:base": SEED})  # stored already: no call
        await c.evolve()

    asyncio.run(second())
    after = spend_of(c.archive)
    c.archive.close()
    assert after["total"] > before["total"]
    assert sum(after["stage_totals"].values()) == after["total"]
    for stage, row in before["by_stage"].items():
        for role, n in row.items():
            assert after["by_stage"][stage][role] >= n
    assert after["by_stage"]["seeding"] == before["by_stage"]["seeding"]
