"""Evaluations killed at the driver's deadline (issue 10): their calls cannot be counted, so
the run charges an upper bound for them (the estimate's per-evaluation arithmetic where no
allowance covered them), records the figures as estimated, and ``inspect summary`` and
``report.md`` say so. The controller runs on the Protocol fakes (no Ray); one test drives
the real Ray evaluator past a very short deadline."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest
from test_controller_fakes import (
    TRAIN,
    FakeEvaluator,
    FakeMutator,
    contexts,  # noqa: F401 - a pytest fixture, requested by name
    make,  # noqa: F401
    quality_edit,
    rows,
    run,
)

from archive import Archive
from archive.reader import ArchiveReader
from evolve.budget.caps import AllowanceGate, RunBudget
from evolve.budget.estimate import estimate_run
from evolve.cli import main
from evolve.common.context_sets import ContextSets
from evolve.execution.evaluator import EvaluationFailure
from evolve.loop.resume import _prior_spend
from evolve.outputs.report.content import build_report
from evolve.outputs.report.writer import render_markdown
from generators.llm import ModelConfig
from generators.llm.allowance import Allowance

PRICED = "openai/gpt-4o-mini"  # priced by litellm's local table; never called (the evaluator is a fake)
KILLED = "QUALITY = 0.310"  # the first child, killed by its evaluator
KILL_LINE = "1 evaluation killed; its calls are estimated (upper bound), not counted"


class KillingEvaluator(FakeEvaluator):
    """The fake evaluator, except that programs matching ``kill`` come back the way the Ray
    evaluator returns a task it killed at its deadline (holding ``allowance``)."""

    def __init__(self, *, kill: str, allowance: Allowance | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.kill, self.allowance = kill, allowance

    async def evaluate(self, code: str, context_ids, *, seed: int):
        if self.kill in code:
            return EvaluationFailure(
                error="evaluation task exceeded the driver's deadline of 1020 s and was killed",
                killed=True,
                allowance=self.allowance,
            )
        return await super().evaluate(code, context_ids, seed=seed)


def _controller(tmp_path, contexts, *, allowance=None, model="sim"):
    evaluator = KillingEvaluator(kill=KILLED, allowance=allowance, calls=2, cost=0.001)
    c = make(
        tmp_path,
        contexts,
        evaluator=evaluator,
        smoke=0,
        threshold=0.0,
        mutator=FakeMutator(lambda code, k: quality_edit(code, 0.31 + 0.01 * k)),
        budget=RunBudget(evaluations=3, llm_calls=None, dollars=None, minutes=None),
    )
    role = ModelConfig(model=model)
    c.config = dataclasses.replace(
        c.config, models=dataclasses.replace(c.config.models, persona=role, respondent=role)
    )
    c.evaluator.max_in_flight = 1
    return c


def _counted(c) -> tuple[int, float]:
    """(uncached calls, US dollars) stored in llm_calls: what was counted."""
    n, cost = rows(c, "SELECT COUNT(*), COALESCE(SUM(cost_usd), 0) FROM llm_calls WHERE cached = 0")[0]
    return int(n), float(cost)


def test_a_killed_evaluation_without_allowance_is_charged_an_upper_bound_marked_estimated(
    tmp_path, contexts, capsys
):
    c = _controller(tmp_path, contexts, model=PRICED)
    assert run(c) == "evaluations (3)"
    (event,) = c.archive.events(kind="evaluation_killed")
    detail = event["detail"]
    killed_id = rows(c, f"SELECT id FROM programs WHERE code LIKE '%{KILLED}%'")[0][0]
    assert event["program_id"] == killed_id
    assert detail["estimated"] is True and detail["contexts"] == list(TRAIN)
    assert detail["basis"] == {"calls": "estimate", "dollars": "estimate"}
    # an upper bound: above the estimate's expected cost of one evaluation on those contexts
    train = tuple(ctx for ctx in contexts.train)
    expected = [
        r
        for r in estimate_run(c.config, ContextSets(train, (), (), ()))["per_evaluation"]
        if r.role in ("persona", "respondent")
    ]
    assert detail["calls"] > sum(r.calls for r in expected)
    assert detail["dollars"] > sum(r.dollars for r in expected) > 0
    assert detail["prompt_tokens"] > sum(r.prompt_tokens for r in expected)
    # the budget counts it on top of the calls that were counted
    calls, dollars = _counted(c)
    assert c.budget.spent.llm_calls == calls + detail["calls"]
    assert math.isclose(c.budget.spent.dollars, dollars + detail["dollars"])
    c.archive.close()

    db = tmp_path / "archive.db"
    reopened = Archive.open(url_or_path=db)
    prior = _prior_spend(reopened)  # a resume restores the same spend
    reopened.close()
    assert prior.llm_calls == c.budget.spent.llm_calls and math.isclose(prior.dollars, c.budget.spent.dollars)

    capsys.readouterr()
    assert main(["inspect", "--db", str(db), "summary"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith(KILL_LINE)]
    assert len(lines) == 1 and f": {detail['calls']} calls, " in lines[0]
    assert main(["inspect", "--db", str(db), "summary", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["killed"]["evaluations"] == 1 and data["killed"]["calls"] == detail["calls"]
    assert data["killed"]["estimated"] is True
    assert data["budget"]["llm_calls"]["used"] == c.budget.spent.llm_calls  # inspect agrees with the run
    with ArchiveReader.open(db) as reader:
        markdown = render_markdown(build_report(reader))
    assert f"- {lines[0]}" in markdown.splitlines()


def test_an_allowance_already_charged_is_not_charged_twice(tmp_path, contexts):
    allowance = Allowance(calls=7, dollars=None)  # a call cap: the gate charged these 7 calls
    c = _controller(tmp_path, contexts, allowance=allowance)
    run(c)
    (event,) = c.archive.events(kind="evaluation_killed")
    detail = event["detail"]
    assert detail["estimated"] is True and detail["calls"] == allowance.calls
    assert detail["basis"] == {"calls": "allowance", "dollars": "estimate"}
    assert detail["dollars"] == 0.0  # sim models cost nothing
    calls, _ = _counted(c)
    assert c.budget.spent.llm_calls == calls  # the controller added nothing: the gate's charge stands alone
    c.archive.close()


@pytest.mark.ray
@pytest.mark.timeout(120)
@pytest.mark.parametrize("capped", [False, True])
def test_the_ray_evaluator_returns_a_task_killed_at_its_deadline_as_killed(ray_session, contexts, capped):
    import asyncio

    from evolve.execution.evaluator import RayEvaluator
    from evolve.execution.workers import WorkerSpec

    budget = RunBudget(evaluations=None, llm_calls=500 if capped else None, dollars=None, minutes=None)
    gate = AllowanceGate(budget, slots=1)
    evaluator = RayEvaluator(spec=WorkerSpec(), contexts=contexts.by_id(), max_in_flight=1, gate=gate)
    evaluator.deadline_s = 0.5
    spin = "def generate(context, n, llm, rng):\n    while True:\n        pass\n"
    result = asyncio.run(evaluator.evaluate(spin, [contexts.train[0].id], seed=0))
    assert isinstance(result, EvaluationFailure) and result.killed and "was killed" in result.error
    if capped:
        assert result.allowance is not None and budget.spent.llm_calls == result.allowance.calls > 0
    else:
        assert result.allowance is None and budget.spent.llm_calls == 0  # left to the controller to charge
