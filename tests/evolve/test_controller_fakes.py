"""The controller without Ray (issues 10 and 13): small fakes for the evaluator, the
mutator and the clock, a real archive file. Covers paired seeding, the cascade, duplicates
in flight, the mutator-error and evaluation-failure paths, failures that dominate, the
promotion races with validation of a new island champion, and each budget cap."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import sqlite3
from typing import Any, Callable

import numpy as np
import pytest

from archive import Archive
from archive.records import ArchiveConfig, DescriptorSpec
from evolve.budget.caps import RunBudget
from evolve.common.context_sets import ContextSets
from evolve.common.evaluation_seeds import crn_seed
from evolve.common.search import BASELINE, DEFAULT_SEARCH, SearchSettings
from evolve.config import RunConfig, replace_path
from evolve.execution.evaluator import EvaluationFailure
from evolve.execution.protocols import ArchiveStore, Clock, Evaluator
from evolve.execution.workers import TaskResult
from evolve.loop.controller import MAX_CONSECUTIVE_FAILURES, Controller, TooManyFailures
from evolve.mutators import MutationRequest, Proposal
from generators.context_loader import resolve_contexts
from generators.evaluation import BUDGET_CUT_ERROR, ContextOutcome, call_seed
from metrics import METRIC_NAMES

TRAIN = ("esports_community", "online_dating_users", "hospital_night_shift")
VALIDATION = ("fishing_village_quota_cuts", "mars_habitat_crew")
TEST = ("divorced_coparents",)
DIMS = {c.id: c.k for c in resolve_contexts(TRAIN + VALIDATION + TEST)}

SEED = """
# EVOLVE-BLOCK-START
QUALITY = 0.50
EXTRA = 0
# EVOLVE-BLOCK-END


def generate(context, n, llm, rng):
    _ = (QUALITY, EXTRA)  # read, so that no edit of them is statically inert (evolve.loop.inert)
    return []
"""


def quality(code: str) -> float:
    return float(re.search(r"QUALITY = ([0-9.]+)", code).group(1))


def with_quality(code: str, q: float) -> str:
    return re.sub(r"QUALITY = [0-9.]+", f"QUALITY = {q:.2f}", code)


def edit(old: str, new: str) -> str:
    return f"<<<<<<< SEARCH\n{old}\n=======\n{new}\n>>>>>>> REPLACE"


def quality_edit(code: str, q: float) -> str:
    line = re.search(r"QUALITY = [0-9.]+", code).group(0)
    return edit(line, f"QUALITY = {q:.3f}")


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def monotonic(self) -> float:
        return self.t


class FakeEvaluator:
    """Coverage per context = QUALITY + noise drawn from (seed, context) (common random
    numbers: the same for every program at one seed) + ``own`` x noise drawn from (seed,
    context, program). ``explode(code)`` makes it raise; ``BROKEN`` fails every context."""

    def __init__(
        self,
        *,
        noise: float = 0.03,
        own: float = 0.0,
        delay: float = 0.0,
        calls: int = 0,
        cost: float = 0.0,
        explode: Callable[[str], bool] = lambda code: False,
        clock: FakeClock | None = None,
        seconds: float = 0.0,
        refuse_after: int | None = None,
        cut_after: int | None = None,
    ) -> None:
        self.max_in_flight = 2
        self.in_flight = 0
        self.noise, self.own, self.delay, self.calls, self.cost = noise, own, delay, calls, cost
        self.explode = explode
        self.clock, self.seconds = clock, seconds
        self.refuse_after = refuse_after  # evaluations started before the allowance gate refuses
        self.cut_after = cut_after  # evaluations started before every one is cut by its allowance
        self.seen: list[tuple[float, tuple[str, ...], int]] = []
        self.refused = 0

    async def evaluate(self, code: str, context_ids, *, seed: int):
        self.in_flight += 1
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            if self.clock is not None:
                self.clock.t += self.seconds
            if self.refuse_after is not None and len(self.seen) >= self.refuse_after:
                self.refused += 1
                return EvaluationFailure(
                    error="budget: no LLM allowance left for this evaluation; not started",
                    refused="llm_calls",
                )
            self.seen.append((quality(code), tuple(context_ids), seed))
            if self.cut_after is not None and len(self.seen) > self.cut_after:
                cut = [ContextOutcome(cid, None, None, None, error=BUDGET_CUT_ERROR) for cid in context_ids]
                return TaskResult(
                    contexts=cut,
                    calls=[],
                    wall_s=0.0,
                    sandbox_s=0.0,
                    respondent_s=0.0,
                    metrics_s=0.0,
                    budget_cut=True,
                )
            if self.explode(code):
                raise RuntimeError("worker exploded\nsecond line")
            calls = [
                {
                    "role": "persona",
                    "model": "fake",
                    "prompt_tokens": 3,
                    "completion_tokens": 2,
                    "cost_usd": self.cost,
                }
            ] * self.calls
            outs = []
            for cid in context_ids:
                if "BROKEN" in code:
                    outs.append(ContextOutcome(cid, None, None, None, error="generate() raised ValueError"))
                    continue
                common = np.random.default_rng(call_seed(seed, "fake", cid))
                own = np.random.default_rng(call_seed(seed, "own", cid, code))
                cov = float(
                    np.clip(quality(code) + common.normal(0, self.noise) + self.own * own.normal(), 0, 1)
                )
                metrics = {name: 0.5 for name in METRIC_NAMES}
                metrics["coverage"] = cov
                # where the personas land: what the program does (its QUALITY) at this seed;
                # a text-only edit (EXTRA) writes the very same personas, a behavioural twin
                z = np.random.default_rng(call_seed(seed, "place", cid, quality(code))).random(
                    (10, DIMS.get(cid, 2))
                )
                outs.append(
                    ContextOutcome(
                        cid,
                        metrics,
                        z,
                        [{"name": f"p{i}", "description": "d"} for i in range(10)],
                        n_asked=10,
                        n_returned=10,
                        n_placed=10,
                    )
                )
            return TaskResult(
                contexts=outs, calls=list(calls), wall_s=0.0, sandbox_s=0.0, respondent_s=0.0, metrics_s=0.0
            )
        finally:
            self.in_flight -= 1


class FakeMutator:
    """Answers with ``step(parent_code, k)`` for the k-th request (a text, or raises)."""

    def __init__(self, step: Callable[[str, int], str]) -> None:
        self.step = step
        self.requests: list[MutationRequest] = []

    async def propose(self, request: MutationRequest) -> Proposal:
        self.requests.append(request)
        text = self.step(request.parent_code, len(self.requests) - 1)
        return Proposal(text=text, operator="fake", model="fake")


@pytest.fixture(scope="module")
def contexts() -> ContextSets:
    found = {c.id: c for c in resolve_contexts(TRAIN + VALIDATION + TEST)}
    return ContextSets.build(
        [found[i] for i in TRAIN], [found[i] for i in VALIDATION], [found[i] for i in TEST], smoke=1, seed=0
    )


FAKE_GRID = (
    DescriptorSpec("tail_share", 0.0, 1.0, 10),
    DescriptorSpec("llm_tokens_per_persona", 10.0, 1e4, 8, log=True),
)
"""The grid of the fake runs, fixed ranges: the fakes' quality edits keep a child in its
parent's cell on it, so a better child *improves* that cell (the tests count statuses)."""

FAKE_SEARCH = dataclasses.replace(DEFAULT_SEARCH, static_twins=False)
"""The fake evaluator reads the program's source text (QUALITY, BROKEN), which no real
harness does: edits the static twin check (evolve.loop.inert) would rightly call inert matter
to it, so these tests leave that check off (tests/evolve/test_spend_switches.py covers it)."""


def make(
    tmp_path,
    contexts,
    *,
    evaluator,
    mutator,
    search: SearchSettings = FAKE_SEARCH,
    budget=None,
    smoke: int = 1,
    threshold: float = 0.9,
    failure_limit: int = MAX_CONSECUTIVE_FAILURES,
    driver_calls=lambda: [],
    clock=None,
    seed: int = 0,
) -> Controller:
    config = replace_path(RunConfig(), "seed", seed)
    config = replace_path(config, "islands.count", 1)
    config = replace_path(config, "cascade.smoke_contexts", smoke)
    config = replace_path(config, "cascade.threshold", threshold)
    config = replace_path(config, "mutation.full_rewrite_rate", 0.0)
    config = replace_path(config, "evaluation.n", 10)
    archive = Archive.create(
        url_or_path=tmp_path / "archive.db",
        config=ArchiveConfig(islands=1, descriptors=FAKE_GRID),
        run_config={},
        seed=seed,
    )
    budget = budget or RunBudget(evaluations=4, llm_calls=None, dollars=None, minutes=None)
    return Controller(
        config=config,
        archive=archive,
        mutator=mutator,
        evaluator=evaluator,
        contexts=contexts,
        budget=budget,
        search=search,
        failure_limit=failure_limit,
        driver_calls=driver_calls,
        clock=clock,
    )


def run(controller: Controller) -> str:
    async def main() -> str:
        await controller.seed_archive({"seed:base": SEED})
        return await controller.evolve()

    try:
        return asyncio.run(main())
    finally:
        pass


def rows(controller: Controller, sql: str) -> list[tuple]:
    with sqlite3.connect(controller.archive._target.path) as conn:
        return conn.execute(sql).fetchall()


def events(controller: Controller, kind: str) -> list[dict[str, Any]]:
    return controller.archive.events(kind=kind)


def test_the_controller_depends_on_protocols_the_fakes_meet(tmp_path, contexts):
    c = make(tmp_path, contexts, evaluator=FakeEvaluator(), mutator=FakeMutator(lambda code, k: ""))
    assert (
        isinstance(c.evaluator, Evaluator)
        and isinstance(c.archive, ArchiveStore)
        and isinstance(c.clock, Clock)
    )
    c.archive.close()


# ---- item 1: paired comparisons ---------------------------------------------------------------


@pytest.mark.parametrize("paired", [True, False])
def test_a_neutral_edit_ties_exactly_when_paired_and_the_seeds_are_stored(tmp_path, contexts, paired):
    def neutral(code: str, k: int) -> str:  # changes nothing that is scored
        line = re.search(r"EXTRA = \d+", code).group(0)
        return edit(line, f"EXTRA = {100 * (k + 1)}")

    search = FAKE_SEARCH if paired else BASELINE
    c = make(
        tmp_path,
        contexts,
        evaluator=FakeEvaluator(),
        mutator=FakeMutator(neutral),
        search=search,
        smoke=0,
        threshold=0.0,
        budget=RunBudget(evaluations=2, llm_calls=None, dollars=None, minutes=None),
    )
    run(c)
    train = rows(
        c, "SELECT program_id, fitness, seed, replicate FROM evaluations WHERE stage = 'train' ORDER BY id"
    )
    assert len(train) == 3 and all(seed is not None for _, _, seed, _ in train)
    fitness = [f for _, f, _, _ in train]
    if paired:
        assert fitness[0] == fitness[1] == fitness[2]  # a tie, not a lucky draw
        assert {s for _, _, s, _ in train} == {crn_seed(0, 0)} and {r for *_, r in train} == {0}
        assert c.stats.statuses == {"not_improved": 2} and not events(c, "raced")
    else:
        assert len(set(fitness)) == 3 and {r for *_, r in train} == {None}
    c.archive.close()


# ---- the cascade, duplicates in flight --------------------------------------------------------


def test_the_cascade_stops_a_weak_child_at_the_smoke_stage_and_lets_a_strong_one_through(tmp_path, contexts):
    qs = [0.2, 0.9]
    c = make(
        tmp_path,
        contexts,
        evaluator=FakeEvaluator(),
        mutator=FakeMutator(lambda code, k: quality_edit(code, qs[k] if k < 2 else 0.1 + 0.01 * k)),
        budget=RunBudget(evaluations=1, llm_calls=None, dollars=None, minutes=None),
    )
    c.evaluator.max_in_flight = 1
    run(c)
    smoke = rows(c, "SELECT stage FROM evaluations WHERE stage = 'smoke'")
    assert len(smoke) == 1 and c.stats.rejections.get("cascade") == 1
    assert c.stats.evaluated == 1 and c.stats.statuses == {"improved": 1}
    assert any("smoke fitness" in e["detail"]["message"] for e in events(c, "rejected"))
    seed_id = rows(c, "SELECT id FROM programs WHERE label = 'seed:base'")[0][0]
    assert c.yields.children[seed_id] == 2 and c.yields.hits[seed_id] == 1  # the cascade fed the yield
    c.archive.close()


@pytest.mark.parametrize("twins", [True, False])
def test_a_behavioural_twin_is_rejected_at_the_smoke_stage_and_its_parent_hears_of_it(
    tmp_path, contexts, twins
):
    def step(code: str, k: int) -> str:  # two text-only edits (twins of the seed), then a real one
        if k < 2:
            line = re.search(r"EXTRA = \d+", code).group(0)
            return edit(line, f"EXTRA = {100 * (k + 1)}")
        return quality_edit(code, 0.6 + 0.01 * k)

    search = FAKE_SEARCH if twins else dataclasses.replace(FAKE_SEARCH, twins=False)
    mutator = FakeMutator(step)
    c = make(
        tmp_path,
        contexts,
        evaluator=FakeEvaluator(),
        mutator=mutator,
        search=search,
        budget=RunBudget(evaluations=1, llm_calls=None, dollars=None, minutes=None),
    )
    c.evaluator.max_in_flight = 1
    run(c)
    train = rows(
        c,
        "SELECT p.diff FROM evaluations e JOIN programs p ON p.id = e.program_id "
        "WHERE e.stage = 'train' AND p.parent_id IS NOT NULL ORDER BY e.id",
    )
    if twins:
        assert c.stats.rejections.get("twin") == 2 and c.stats.evaluated == 1
        assert (
            len(rows(c, "SELECT id FROM evaluations WHERE stage = 'smoke'")) == 2
        )  # their smoke stages, kept
        assert "QUALITY" in train[0][0]  # the one evaluation is the real edit
        message = [e["detail"]["message"] for e in events(c, "rejected") if e["detail"]["reason"] == "twin"][
            0
        ]
        assert "exactly where its parent did" in message
        assert "changed nothing a respondent sees" not in mutator.requests[0].user
        assert any(
            "changed nothing a respondent sees" in r.user for r in mutator.requests[1:]
        )  # told next time
    else:  # the first twin costs the evaluation (a tie), and no twin is rejected
        assert "twin" not in c.stats.rejections and c.stats.evaluated == 1 and "EXTRA" in train[0][0]
    c.archive.close()


def test_duplicates_in_flight_are_rejected_before_they_cost_an_evaluation(tmp_path, contexts):
    def same(code: str, k: int) -> str:  # the seed's two first children are one program
        return quality_edit(code, 0.6) if "0.50" in code else quality_edit(code, 0.61 + 0.01 * k)

    c = make(
        tmp_path,
        contexts,
        evaluator=FakeEvaluator(delay=0.05),
        mutator=FakeMutator(same),
        smoke=0,
        threshold=0.0,
        budget=RunBudget(evaluations=2, llm_calls=None, dollars=None, minutes=None),
    )
    run(c)
    assert c.stats.rejections.get("duplicate", 0) >= 1
    replicate0 = [q for q, ids, seed in c.evaluator.seen if ids == TRAIN and seed == crn_seed(0, 0)]
    assert replicate0.count(0.6) == 1  # evaluated once (races add replicates 1, 2, ... apart)
    c.archive.close()


# ---- one failure never ends a run (issue 10, item 3) ------------------------------------------


def test_a_mutator_exception_is_recorded_with_its_calls_and_the_run_goes_on(tmp_path, contexts):
    def step(code: str, k: int) -> str:
        if k == 0:
            raise ConnectionError("mutator unreachable")
        return quality_edit(code, 0.5 + 0.01 * k)

    driver = iter(
        [
            [
                {
                    "role": "mutator",
                    "model": "m",
                    "prompt_tokens": 9,
                    "completion_tokens": 0,
                    "cost_usd": 0.01,
                    "error": "ConnectionError",
                }
            ]
        ]
    )
    c = make(
        tmp_path,
        contexts,
        evaluator=FakeEvaluator(),
        mutator=FakeMutator(step),
        smoke=0,
        threshold=0.0,
        driver_calls=lambda: next(driver, []),
        budget=RunBudget(evaluations=2, llm_calls=None, dollars=None, minutes=None),
    )
    c.evaluator.max_in_flight = 1
    assert run(c) == "evaluations (2)"
    failed = events(c, "failed")
    seed_id = rows(c, "SELECT id FROM programs WHERE label = 'seed:base'")[0][0]
    assert (
        failed[0]["detail"]["where"] == "mutator"
        and "ConnectionError: mutator unreachable" in failed[0]["detail"]["error"]
    )
    assert failed[0]["program_id"] == seed_id and c.stats.rejections["mutator_error"] == 1
    assert rows(c, "SELECT program_id, cost_usd FROM llm_calls WHERE role = 'mutator'") == [(seed_id, 0.01)]
    c.archive.close()


def test_an_evaluation_exception_is_recorded_against_the_child_and_the_run_goes_on(tmp_path, contexts):
    step = lambda code, k: quality_edit(code, 0.31 + 0.01 * k)  # noqa: E731
    c = make(
        tmp_path,
        contexts,
        evaluator=FakeEvaluator(explode=lambda code: "0.31" in code, calls=2),
        mutator=FakeMutator(step),
        smoke=0,
        threshold=0.0,
        budget=RunBudget(evaluations=3, llm_calls=None, dollars=None, minutes=None),
    )
    c.evaluator.max_in_flight = 1
    assert run(c) == "evaluations (3)"
    failed = events(c, "failed")
    assert len(failed) == 1 and "RuntimeError: worker exploded" in failed[0]["detail"]["error"]
    assert "second line" not in failed[0]["detail"]["error"]  # one line
    child = failed[0]["program_id"]
    assert rows(c, f"SELECT fitness, error IS NOT NULL FROM evaluations WHERE program_id = '{child}'") == [
        (None, 1)
    ]
    # the calls of the evaluations that ran are charged to their programs
    charged = rows(c, "SELECT COUNT(*) FROM llm_calls WHERE program_id IS NOT NULL")[0][0]
    assert charged == rows(c, "SELECT COUNT(*) FROM llm_calls")[0][0] > 0
    c.archive.close()


def test_failures_that_dominate_stop_the_run_with_one_line(tmp_path, contexts):
    step = lambda code, k: quality_edit(code, 0.2 + 0.001 * k)  # noqa: E731
    c = make(
        tmp_path,
        contexts,
        evaluator=FakeEvaluator(explode=lambda code: "QUALITY = 0.50" not in code),
        mutator=FakeMutator(step),
        smoke=0,
        threshold=0.0,
        failure_limit=4,
        budget=RunBudget(evaluations=50, llm_calls=None, dollars=None, minutes=None),
    )
    with pytest.raises(TooManyFailures) as info:
        run(c)
    message = str(info.value)
    assert "\n" not in message and message.startswith("4 failures in a row") and "worker exploded" in message
    assert len(events(c, "failed")) == 4
    c.archive.close()


def test_a_broken_child_is_a_failure_and_a_good_one_resets_the_count(tmp_path, contexts):
    def step(code: str, k: int) -> str:
        if k % 2 == 0:
            return edit("EXTRA = 0", f"EXTRA = 0\nBROKEN = {k}")
        return quality_edit(code, 0.5 - 0.01 * k)

    c = make(
        tmp_path,
        contexts,
        evaluator=FakeEvaluator(),
        mutator=FakeMutator(step),
        smoke=0,
        threshold=0.0,
        failure_limit=2,
        budget=RunBudget(evaluations=4, llm_calls=None, dollars=None, minutes=None),
    )
    c.evaluator.max_in_flight = 1
    assert run(c) == "evaluations (4)"  # failures never two in a row
    assert len(events(c, "failed")) == 2 and c.failures_in_row == 0
    c.archive.close()


# ---- item 2: promotion races, validation of a new island champion -----------------------------


def test_a_clearly_better_child_wins_its_races_is_validated_and_becomes_champion(tmp_path, contexts):
    c = make(
        tmp_path,
        contexts,
        evaluator=FakeEvaluator(),
        smoke=0,
        threshold=0.0,
        mutator=FakeMutator(lambda code, k: quality_edit(code, 0.8) if k == 0 else ""),
        budget=RunBudget(evaluations=1, llm_calls=None, dollars=None, minutes=None),
    )
    run(c)
    child = rows(c, "SELECT id FROM programs WHERE parent_id IS NOT NULL")[0][0]
    raced = {e["detail"]["scope"]: e["detail"] for e in events(c, "raced")}
    assert raced["island"]["decision"] == "accepted" and raced["champion"]["decision"] == "accepted"
    assert raced["island"]["low"] > 0 and raced["champion"]["mean"] == pytest.approx(0.3)
    assert rows(
        c, f"SELECT replicate FROM evaluations WHERE program_id = '{child}' AND stage = 'validation'"
    ) == [(0,)]
    champ = events(c, "champion")
    assert [e["program_id"] for e in champ][-1] == child and c.archive.champion().id == child
    first = champ[0]["detail"]
    assert (
        first["replicates"] == DEFAULT_SEARCH.champion_replicates
        and first["low"] <= first["mean"] <= first["high"]
    )
    assert c.island_best[0][0] == child
    c.archive.close()


def test_a_lucky_child_is_not_promoted_and_never_validated(tmp_path, contexts):
    # equal quality, large program-specific noise: replicate 0 may flatter it, the race does not
    lucky = None
    for seed in range(40):
        (tmp_path / str(seed)).mkdir()
        c = make(
            tmp_path / str(seed),
            contexts,
            evaluator=FakeEvaluator(noise=0.01, own=0.05),
            smoke=0,
            threshold=0.0,
            seed=seed,
            mutator=FakeMutator(lambda code, k: edit("EXTRA = 0", "EXTRA = 1") if k == 0 else ""),
            budget=RunBudget(evaluations=1, llm_calls=None, dollars=None, minutes=None),
        )
        run(c)
        if c.stats.statuses.get("improved"):
            lucky = c
            break
        c.archive.close()
    assert lucky is not None, "no seed gave the neutral child a lucky replicate 0"
    raced = events(lucky, "raced")
    assert len(raced) == 1 and raced[0]["detail"]["decision"] == "rejected"
    child = raced[0]["program_id"]
    assert rows(
        lucky, f"SELECT COUNT(*) FROM evaluations WHERE program_id = '{child}' AND stage = 'validation'"
    ) == [(0,)]
    assert lucky.island_best[0][0] != child and lucky.archive.champion().id != child
    lucky.archive.close()


def test_without_promotion_a_new_island_best_is_validated_at_once(tmp_path, contexts):
    c = make(
        tmp_path,
        contexts,
        evaluator=FakeEvaluator(),
        smoke=0,
        threshold=0.0,
        search=BASELINE,
        mutator=FakeMutator(lambda code, k: quality_edit(code, 0.8) if k == 0 else ""),
        budget=RunBudget(evaluations=1, llm_calls=None, dollars=None, minutes=None),
    )
    run(c)
    assert (
        len(rows(c, "SELECT id FROM evaluations WHERE stage = 'validation'")) == 2
    )  # the seed and the child
    assert not events(c, "raced") and not events(c, "champion")
    c.archive.close()


# ---- each budget cap stops a run ---------------------------------------------------------------


@pytest.mark.parametrize("cap", ["evaluations", "llm_calls", "dollars", "minutes"])
def test_each_budget_cap_stops_the_run(tmp_path, contexts, cap):
    clock = FakeClock()

    class ClockBudget(RunBudget):
        @property
        def seconds(self) -> float:  # the fake clock, not the wall
            return clock.monotonic()

    caps = {
        "evaluations": None,
        "llm_calls": None,
        "dollars": None,
        "minutes": None,
        cap: {"evaluations": 3, "llm_calls": 120, "dollars": 1.0, "minutes": 1.0}[cap],
    }
    budget = ClockBudget(**caps)
    evaluator = FakeEvaluator(calls=10, cost=0.01, clock=clock, seconds=10.0)
    step = lambda code, k: quality_edit(code, 0.3 + 0.001 * k)  # noqa: E731
    c = make(
        tmp_path,
        contexts,
        evaluator=evaluator,
        mutator=FakeMutator(step),
        smoke=0,
        threshold=0.0,
        budget=budget,
        clock=clock,
    )
    reason = run(c)
    assert reason.startswith(cap)
    spent = budget.spent
    if cap == "evaluations":
        assert spent.evaluations == 3
    elif cap == "llm_calls":
        assert 120 <= spent.llm_calls <= 120 + 10 * evaluator.max_in_flight * 2
    elif cap == "dollars":
        assert spent.dollars >= 1.0
    else:
        assert clock.t >= 60.0
    assert c.stats.evaluated < 60
    c.archive.close()


# ---- issue 10, item 7: a screening set for candidates and their races ---------------------------


def test_candidates_and_their_races_use_the_screening_set_only(tmp_path):
    found = {c.id: c for c in resolve_contexts(TRAIN + VALIDATION + TEST)}
    screened = ContextSets.build(
        [found[i] for i in TRAIN],
        [found[i] for i in VALIDATION],
        [found[i] for i in TEST],
        smoke=0,
        seed=0,
        screen=2,
    )
    assert screened.screened and len(screened.train_ids) == 2 and set(screened.all_train_ids) == set(TRAIN)
    evaluator = FakeEvaluator()
    c = make(
        tmp_path,
        screened,
        evaluator=evaluator,
        smoke=0,
        threshold=0.0,
        mutator=FakeMutator(lambda code, k: quality_edit(code, 0.8) if k == 0 else ""),
        budget=RunBudget(evaluations=1, llm_calls=None, dollars=None, minutes=None),
    )
    run(c)
    on_train = [ids for _, ids, _ in evaluator.seen if set(ids) & set(TRAIN)]
    assert on_train and all(ids == screened.train_ids for ids in on_train)  # seeds, the child, the races
    stored = rows(c, "SELECT e.id FROM evaluations e WHERE e.stage = 'train'")
    per_eval = [
        rows(c, f"SELECT context_id FROM context_results WHERE evaluation_id = {eid}") for (eid,) in stored
    ]
    assert per_eval and all({cid for (cid,) in ids} == set(screened.train_ids) for ids in per_eval)
    raced = {e["detail"]["scope"]: e["detail"] for e in events(c, "raced")}
    assert raced["island"]["decision"] == "accepted" and raced["island"]["replicates"] >= 1
    assert all(set(rep) == set(screened.train_ids) for rep in raced["island"]["candidate_fitness"].values())
    assert rows(c, "SELECT COUNT(*) FROM evaluations WHERE stage = 'validation'")[0][0] >= 2  # then validated
    c.archive.close()


@pytest.mark.parametrize("spent_out", ["refused", "cut"])
def test_an_allowance_refused_ends_the_run_at_its_cap_not_in_failures(tmp_path, contexts, spent_out):
    # the gate has nothing left to grant (the rest is the test stage's reserve), or an
    # evaluation's allowance ran out before any context finished: before, each counted as a
    # failure and 20 in a row ended the run as failed
    evaluator = FakeEvaluator(refuse_after=3) if spent_out == "refused" else FakeEvaluator(cut_after=3)
    c = make(
        tmp_path,
        contexts,
        evaluator=evaluator,
        smoke=0,
        threshold=0.0,
        failure_limit=2,
        mutator=FakeMutator(lambda code, k: quality_edit(code, 0.3 + 0.01 * k)),
        budget=RunBudget(evaluations=50, llm_calls=10_000, dollars=None, minutes=None),
    )
    assert run(c) == "llm_calls (10000)" and c.stop_reason == "llm_calls (10000)"
    assert evaluator.refused >= 1 if spent_out == "refused" else len(evaluator.seen) > 3
    assert events(c, "failed") == [] and c.failures_in_row == 0
    assert c.budget.exhausted() == "llm_calls (10000)"
    c.archive.close()
