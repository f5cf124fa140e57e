"""The spend switches of the search (issue 22 item 5): the static twin check in the loop,
races skipped when the candidate is out of reach, races stopped when settled."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent))
from test_controller_fakes import FakeEvaluator, FakeMutator, edit, events, make, quality  # noqa: E402

from evolve.common.context_sets import ContextSets  # noqa: E402
from evolve.common.search import DEFAULT_SEARCH  # noqa: E402
from evolve.promotion.race_rule import Decision, RaceRule  # noqa: E402
from evolve.promotion.reach import AdaptiveRule, smallest_provable, within_reach  # noqa: E402
from generators.context_loader import resolve_contexts  # noqa: E402

TRAIN = ("esports_community", "online_dating_users", "hospital_night_shift")
VALIDATION = ("fishing_village_quota_cuts", "mars_habitat_crew")
TEST = ("divorced_coparents",)

READS_QUALITY = """
# EVOLVE-BLOCK-START
QUALITY = 0.50
UNUSED = 0
# EVOLVE-BLOCK-END


def generate(context, n, llm, rng):
    _ = QUALITY
    return []
"""


@pytest.fixture(scope="module")
def contexts() -> ContextSets:
    found = {c.id: c for c in resolve_contexts(TRAIN + VALIDATION + TEST)}
    return ContextSets.build(
        [found[i] for i in TRAIN], [found[i] for i in VALIDATION], [found[i] for i in TEST], smoke=1, seed=0
    )


def run_with(c, seed_code: str) -> str:
    async def main() -> str:
        await c.seed_archive({"seed:base": seed_code})
        return await c.evolve()

    return asyncio.run(main())


# ---- static twins ------------------------------------------------------------------------------


class CodesSeen(FakeEvaluator):
    """The fake evaluator, remembering every program it was asked to run."""

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.codes: list[str] = []

    async def evaluate(self, code: str, context_ids, *, seed: int):
        self.codes.append(code)
        return await super().evaluate(code, context_ids, seed=seed)


def quality_line(code: str) -> str:
    return re.search(r"QUALITY = [0-9.]+", code).group(0)


@pytest.mark.parametrize("static", [True, False])
def test_an_edit_of_a_constant_nothing_reads_is_rejected_before_any_evaluation(tmp_path, contexts, static):
    def step(code: str, k: int) -> str:
        if k % 2 == 0:
            return edit("UNUSED = 0", f"UNUSED = {k + 2}")
        return edit(quality_line(code), f"QUALITY = {0.5 + 0.01 * k:.2f}")

    search = dataclasses.replace(DEFAULT_SEARCH, static_twins=static)
    evaluator = CodesSeen(calls=2)
    c = make(tmp_path, contexts, evaluator=evaluator, mutator=FakeMutator(step), search=search)
    c.evaluator.max_in_flight = 1
    run_with(c, READS_QUALITY)
    twins = [e["detail"] for e in events(c, "rejected") if e["detail"]["reason"] == "twin"]
    static_twins = [d for d in twins if d.get("check") == "static"]
    ran_unused_edit = [code for code in evaluator.codes if "UNUSED = 0" not in code]
    if static:
        assert static_twins and len(static_twins) == len(twins)
        assert all(
            "program" not in d and "smoke_calls" not in d for d in static_twins
        )  # never stored nor run
        assert not ran_unused_edit
    else:
        assert not static_twins and twins
        assert all(d["smoke_calls"] > 0 for d in twins)  # each cost its smoke stage
        assert ran_unused_edit
    c.archive.close()


# ---- races within reach ------------------------------------------------------------------------


def test_within_reach_skips_a_race_that_cannot_be_won():
    rule = RaceRule(confidence=0.8, max_replicates=6)
    assert not within_reach([-0.01, 0.0, 0.005], rule=rule, pairs_per_replicate=3, looks=6).ok  # mean <= 0
    tiny = within_reach([0.002, -0.05, 0.06], rule=rule, pairs_per_replicate=3, looks=6)
    assert not tiny.ok and tiny.mean < tiny.needed
    clear = within_reach([0.05, 0.04, 0.06], rule=rule, pairs_per_replicate=3, looks=6)
    assert clear.ok and clear.mean >= clear.needed
    assert within_reach([], rule=rule, pairs_per_replicate=3, looks=6).ok  # nothing known: race
    # the bar falls with the pairs the race could draw
    assert smallest_provable(0.05, 60, 0.95) < smallest_provable(0.05, 6, 0.95)
    assert smallest_provable(0.05, 1, 0.95) == float("inf")


def test_races_out_of_reach_are_skipped_and_cost_no_replicate(tmp_path, contexts):
    """Children a hair better than their parent, own noise large: most replicate-0 wins are
    luck the race could not confirm; with ``reach`` those races are not run."""

    def step(code: str, k: int) -> str:
        return edit(quality_line(code), f"QUALITY = {0.5 + 0.0001 * (k + 1):.4f}")

    search = dataclasses.replace(DEFAULT_SEARCH, reach=True, static_twins=False)
    evaluator = FakeEvaluator(own=0.05)
    c = make(tmp_path, contexts, evaluator=evaluator, mutator=FakeMutator(step), search=search, threshold=0.0)
    c.budget.caps["evaluations"] = 12
    run_with(c, READS_QUALITY)
    skipped = [e for e in events(c, "race_skipped")]
    assert skipped, "no race was skipped"
    assert (
        c.stats.races_skipped
        == len(skipped)
        == sum(v for k, v in c.stats.races.items() if k.endswith(".skipped"))
    )
    replicate_seeds = {c.seeds.for_replicate(r).seed for r in range(1, 10)}
    for e in skipped:
        d = e["detail"]
        assert not d["ok"] and (d["mean"] <= 0 or d["mean"] < d["needed"])
        q = quality(c.archive.get_program(e["program_id"]).code)
        # the skipped candidate was never evaluated at a race replicate
        assert not [s for qq, ids, s in evaluator.seen if qq == q and s in replicate_seeds]
    c.archive.close()


# ---- adaptive races ----------------------------------------------------------------------------

pairs = st.lists(st.floats(-0.2, 0.2, allow_nan=False, allow_infinity=False), min_size=3, max_size=3)


@settings(max_examples=300, deadline=None)
@given(looks=st.lists(pairs, min_size=1, max_size=6), confidence=st.sampled_from([0.8, 0.9]))
def test_the_adaptive_rule_accepts_exactly_when_the_fixed_rule_does_and_stops_no_later(looks, confidence):
    fixed = RaceRule(confidence=confidence, max_replicates=6)
    adaptive = AdaptiveRule(confidence=confidence, max_replicates=6)
    diffs: list[float] = []
    for r, look in enumerate(looks, start=1):
        diffs += look
        f, _, _ = fixed.decide(diffs, r)
        a, _, _ = adaptive.decide(diffs, r)
        assert (a == Decision.ACCEPTED) == (f == Decision.ACCEPTED)  # the same bound accepts
        if f == Decision.REJECTED:
            assert a == Decision.REJECTED  # settled no later
        if a != Decision.CONTINUE:
            break


def test_the_adaptive_rule_stops_a_settled_race_early():
    rule, fixed = AdaptiveRule(confidence=0.8, max_replicates=6), RaceRule(confidence=0.8, max_replicates=6)
    noisy = [0.05, -0.048, 0.03, -0.028]  # mean +0.001, spread 0.045: cannot be established in 6 looks
    assert fixed.decide(noisy, 1)[0] == Decision.CONTINUE
    decision, _, reason = rule.decide(noisy, 1)
    assert decision == Decision.REJECTED and reason.startswith("settled")
    clear = [0.05, 0.06, 0.055, 0.052]  # clearly better: the adaptive rule lets it run on (or accept)
    assert rule.decide(clear, 1)[0] != Decision.REJECTED
