"""A run says what to expect on this machine, measured on its seeding stage (issue 23,
point 1): the line, and the number it gives following from the measured time and the cap."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest

from archive.identity import program_id
from evolve.loop.pace import Pace, expectation, measured_seeding


@dataclass
class FakeArchive:
    """program id -> stored evaluations (each with a list of contexts)."""

    stored: dict[str, list] = field(default_factory=dict)

    def evaluations(self, pid, stage=None):
        return self.stored.get(pid, [])


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeController:
    """Seeds each program on ``contexts`` contexts, taking ``seconds`` of the fake clock."""

    def __init__(
        self,
        clock: FakeClock,
        *,
        contexts: int,
        seconds: float,
        train: int,
        validation: int = 0,
        promotion: bool = False,
    ) -> None:
        self.archive = FakeArchive()
        self.contexts = SimpleNamespace(
            train_ids=tuple(f"t{i}" for i in range(train)),
            validation_ids=tuple(f"v{i}" for i in range(validation)),
        )
        self.config = SimpleNamespace(search=SimpleNamespace(promotion=promotion))
        self.clock, self.per_seed, self.seconds = clock, contexts, seconds

    async def seed_archive(self, seeds):
        ids = {}
        for label, code in seeds.items():
            pid = program_id(code)
            ids[label] = pid
            if pid not in self.archive.stored:  # a resumed run's seeds are stored already
                self.archive.stored[pid] = [SimpleNamespace(contexts=[object()] * self.per_seed)]
                self.clock.now += self.seconds
        return ids


SEEDS = {
    "seed:a": "def generate(context, n, llm, rng):\n    return []\n",
    "seed:b": "def generate(context, n, llm, rng):\n    return [1]\n",
}


def test_the_expected_evaluations_follow_from_the_seeding_time_and_the_cap():
    clock = FakeClock()
    controller = FakeController(clock, contexts=40, seconds=30.0, train=20)  # 80 contexts in 60 s
    _, pace = asyncio.run(measured_seeding(controller, SEEDS, clock_s=clock))
    assert pace == Pace(seconds=60.0, contexts=80, contexts_per_evaluation=20)
    per = 60.0 * 20 / 80  # seconds per evaluation: one evaluation is the 20 train contexts
    assert pace.seconds_per_evaluation == pytest.approx(per)
    expect = expectation(pace, minutes=4.0, evaluations=None)
    assert expect["evaluations_in_minutes"] == int(4 * 60 / per)
    assert expect["seconds_per_evaluation"] == pytest.approx(per)
    assert expect["line"] == (
        f"expect about {int(4 * 60 / per)} evaluations in 4 minutes on this machine "
        f"(measured on the seeds: {per:.1f} s per evaluation)"
    )
    # twice as slow a machine: half the evaluations
    slow = expectation(
        Pace(seconds=120.0, contexts=80, contexts_per_evaluation=20), minutes=4.0, evaluations=None
    )
    assert slow["evaluations_in_minutes"] == int(4 * 60 / (2 * per))


def test_an_evaluation_cap_is_turned_into_time_and_both_caps_are_named():
    pace = Pace(seconds=30.0, contexts=60, contexts_per_evaluation=30)  # 15 s per evaluation
    only_evals = expectation(pace, minutes=None, evaluations=8)
    assert only_evals["minutes_for_evaluations"] == pytest.approx(8 * 15 / 60)
    assert "about 2m00s for 8 evaluations" in only_evals["line"]
    both = expectation(pace, minutes=1.0, evaluations=8)
    assert both["evaluations_in_minutes"] == 4 and "whichever comes first" in both["line"]
    assert expectation(None, minutes=4.0, evaluations=None) is None


def test_an_evaluation_brings_its_expected_races_and_validations():
    from evolve.budget.estimate import (
        CHAMPION_RACE_VALIDATION_EVALUATIONS,
        ISLAND_RACE_TRAIN_EVALUATIONS,
        VALIDATION_SHARE,
    )

    clock = FakeClock()
    racing = FakeController(clock, contexts=40, seconds=30.0, train=20, validation=10, promotion=True)
    _, pace = asyncio.run(measured_seeding(racing, SEEDS, clock_s=clock))
    per_eval_contexts = 20 * (1 + ISLAND_RACE_TRAIN_EVALUATIONS) + 10 * (
        VALIDATION_SHARE + CHAMPION_RACE_VALIDATION_EVALUATIONS
    )
    assert pace.contexts_per_evaluation == pytest.approx(per_eval_contexts)
    assert pace.seconds_per_evaluation == pytest.approx(60.0 * per_eval_contexts / 80)
    quiet = FakeController(FakeClock(), contexts=40, seconds=30.0, train=20, validation=10, promotion=False)
    _, calm = asyncio.run(measured_seeding(quiet, SEEDS, clock_s=quiet.clock))
    assert calm.contexts_per_evaluation == pytest.approx(20 + 10 * VALIDATION_SHARE)


def test_a_resumed_run_whose_seeds_are_stored_expects_nothing():
    clock = FakeClock()
    controller = FakeController(clock, contexts=40, seconds=30.0, train=20)
    asyncio.run(measured_seeding(controller, SEEDS, clock_s=clock))
    ids, pace = asyncio.run(measured_seeding(controller, SEEDS, clock_s=clock))  # the resume
    assert pace is None and set(ids) == set(SEEDS)


def test_the_line_stays_one_line_in_a_log():
    """Without a terminal (nohup, a cluster log) a note is one line however long, as the
    progress lines are, so the expectation can be found with grep."""
    import io

    from rich.console import Console

    from evolve.outputs.progress import Progress

    line = expectation(
        Pace(seconds=61.0, contexts=140, contexts_per_evaluation=47.5), minutes=4.0, evaluations=None
    )["line"]
    assert len(line) > 80
    progress = Progress(simulated=False, enabled=False)
    buffer = io.StringIO()
    progress.console = Console(file=buffer, width=80, force_terminal=False)
    progress.note(line)
    assert buffer.getvalue() == line + "\n"
