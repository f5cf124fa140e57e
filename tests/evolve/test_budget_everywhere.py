"""Budgets hold everywhere: per-evaluation allowances, the gate that grants them, the
backoff of repeated cheap rejections, caps that are not finite, progress that fits 80 columns."""

from __future__ import annotations

import asyncio
import io
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from evolve.budget.caps import AllowanceGate, RunBudget, rejection_backoff_s
from evolve.cli import main
from evolve.mutators import MutationRequest
from evolve.mutators.llm_mutator import LLMMutator
from evolve.outputs.progress import PANEL_WIDTH, Progress
from generators.context_loader import resolve_context
from generators.evaluation import BUDGET_CUT_ERROR, EvalSettings, evaluate_program
from generators.llm import BudgetExceeded, LLMClient
from generators.llm.allowance import Allowance, AllowanceClient
from generators.respondent import LLMRespondent
from generators.sandbox import SandboxLimits
from generators.seeds import load_seed


@settings(max_examples=150, deadline=None)
@given(
    cap=st.integers(1, 10_000),
    spent=st.integers(0, 10_000),
    slots=st.integers(1, 8),
    starts=st.integers(1, 8),
)
def test_grants_in_flight_never_exceed_what_is_left(cap, spent, slots, starts):
    budget = RunBudget(evaluations=None, llm_calls=cap, dollars=None, minutes=None)
    budget.spent.llm_calls = spent
    gate = AllowanceGate(budget, slots=slots)
    grants = [gate.grant(in_flight=i + 1) for i in range(min(starts, slots))]
    assert sum(g.calls for g in grants) <= max(0, cap - spent)
    for g in grants:
        gate.release(g, calls=0, dollars=0.0, contexts=1)
    assert gate._granted_calls == 0


def test_unknown_spend_is_charged_the_whole_allowance_and_the_reserve_follows_the_mean():
    budget = RunBudget(evaluations=None, llm_calls=1000, dollars=2.0, minutes=None)
    gate = AllowanceGate(budget, slots=2, final_contexts=4)
    a = gate.grant(in_flight=1)
    assert a.calls == 500 and a.dollars == pytest.approx(1.0)
    gate.release(a, calls=None, dollars=None, contexts=3)  # killed: calls unknown
    assert budget.spent.llm_calls == 500 and budget.spent.dollars == pytest.approx(1.0)
    b = gate.grant(in_flight=1)
    gate.release(b, calls=30, dollars=0.03, contexts=3)  # 10 calls per context
    assert budget.reserve_calls == pytest.approx(40.0)
    assert budget.exhausted() is None
    budget.spent.llm_calls = 961
    assert budget.exhausted() == "llm_calls (1000)"  # the test stage's reserve is kept back
    gate.final_stage = True
    first = gate.grant(in_flight=1)
    second = gate.grant(in_flight=2)
    assert (first.calls, second.calls) == (19, 20)  # the 39 left, shared by the two slots
    assert (
        AllowanceGate(RunBudget(evaluations=3, llm_calls=None, dollars=None, minutes=None), slots=2).grant(
            in_flight=1
        )
        is None
    )


def test_backoff_grows_after_a_run_of_cheap_rejections_and_is_bounded():
    assert [rejection_backoff_s(k) for k in range(5)] == [0.0] * 5
    assert rejection_backoff_s(6) == 2 * rejection_backoff_s(5) > 0
    assert rejection_backoff_s(1000) == 30.0


class _Client:
    def __init__(self):
        self.calls = []

    async def acomplete(self, role, messages, **kw):
        self.calls.append((messages, kw))
        return SimpleNamespace(text="", prompt_tokens=5, completion_tokens=1, cached=False, cost_usd=0.001)


def test_llm_mutator_changes_what_it_asks_after_rejections():
    client = _Client()
    mutator = LLMMutator(client=client, model_label="openai/x", temperature=0.5)
    request = MutationRequest(
        parent_code="x", parent_id="p", inspirations=[], directive="d", system="sys", user="ask", seed=1
    )
    asyncio.run(mutator.propose(request))
    in_row = 4
    mutator.pressure = lambda: in_row
    asyncio.run(mutator.propose(request))
    (first, kw1), (second, kw2) = client.calls
    assert kw1["temperature"] == 0.5 and kw2["temperature"] == pytest.approx(0.95)
    # the two messages are the request's own, sent apart (never joined and split again)
    assert first == [{"role": "system", "content": "sys"}, {"role": "user", "content": "ask"}]
    assert (
        "last 4 proposals were rejected" in second[-1]["content"] and "rejected" not in first[-1]["content"]
    )


def test_allowance_client_refuses_past_the_allowance_and_refunds_cache_hits():
    inner = _Client()
    view = AllowanceClient(inner, Allowance(calls=2))
    msgs = [{"role": "user", "content": "hi"}]
    asyncio.run(view.acomplete("persona", msgs))
    asyncio.run(view.acomplete("persona", msgs))
    with pytest.raises(BudgetExceeded, match="allowance \\(2 calls\\) is spent"):
        asyncio.run(view.acomplete("respondent", msgs))
    assert len(inner.calls) == 2 and view.cut and view.calls == 2
    by_cost = AllowanceClient(inner, Allowance(dollars=0.0015))
    asyncio.run(by_cost.acomplete("persona", msgs))
    asyncio.run(by_cost.acomplete("persona", msgs))
    with pytest.raises(BudgetExceeded):
        asyncio.run(by_cost.acomplete("persona", msgs))
    with pytest.raises(ValueError):
        Allowance(calls=-1)
    with pytest.raises(ValueError):
        Allowance(dollars=float("nan"))


def test_an_evaluation_stops_at_its_allowance_and_says_so():
    ctx = resolve_context("esports_community")
    client = LLMClient(models={"persona": "sim", "respondent": "sim"})
    respondent = LLMRespondent(client=client, mode="questionnaire")
    settings_ = EvalSettings(
        n=6, mc_samples=500, limits=SandboxLimits(wall_timeout_s=60, allow_weak_isolation=True)
    )
    outcome = asyncio.run(
        evaluate_program(
            load_seed("batch"),
            [ctx],
            client=client,
            respondent=respondent,
            settings=settings_,
            seed=1,
            allowance=Allowance(calls=3),
        )
    )
    records = client.drain_records()
    assert outcome.budget_cut
    assert outcome.contexts[0].error == BUDGET_CUT_ERROR and outcome.contexts[0].metrics is None
    assert len([r for r in records if not r.cached]) <= 3
    full = asyncio.run(
        evaluate_program(
            load_seed("batch"),
            [ctx],
            client=client,
            respondent=respondent,
            settings=settings_,
            seed=1,
            allowance=Allowance(calls=10_000),
        )
    )
    assert not full.budget_cut and full.contexts[0].metrics is not None


@pytest.mark.parametrize(
    "flag", ["--budget-minutes=nan", "--budget-dollars=inf", "--budget-calls=-5", "--budget-evals=0"]
)
def test_caps_that_are_not_finite_positive_are_one_line_errors(flag, capsys):
    assert main(["run", "--print-config", flag]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "must be a finite number > 0" in err[0]


def _controller(evaluations=3):
    budget = RunBudget(evaluations=50, llm_calls=None, dollars=12.5, minutes=None)
    budget.start()
    budget.spent.evaluations = evaluations
    budget.spent.dollars = 2.5
    stats = SimpleNamespace(
        evaluated=evaluations,
        proposed=17,
        best_by_island={0: 0.712345, 1: 0.801234},
        statuses={"new_cell": 2, "improved": 1, "not_improved": 9, "failed": 1},
        rejections={"duplicate": 12, "diff_failed": 3, "no_op": 4, "cascade": 7, "mutator_error": 1},
        partial_diffs=2,
    )
    archive = SimpleNamespace(
        qd_stats=lambda i: {"filled": 12, "cells_total": 80, "qd_score": 9.87654},
        spend_by_role=lambda: {
            role: {
                "calls": 123456,
                "prompt_tokens": 98765432,
                "completion_tokens": 1234567,
                "cost_usd": 12.3456,
            }
            for role in ("mutator", "persona", "respondent")
        },
    )
    return SimpleNamespace(
        stats=stats,
        archive=archive,
        budget=budget,
        evaluator=SimpleNamespace(in_flight=2),
        config=SimpleNamespace(islands=SimpleNamespace(count=2)),
    )


def test_live_panel_fits_80_columns_with_every_number_whole():
    console = Console(file=io.StringIO(), width=PANEL_WIDTH, force_terminal=True, color_system=None)
    progress = Progress(simulated=True, console=console, enabled=False)
    console.print(progress.render(_controller()))
    text = console.file.getvalue()
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= PANEL_WIDTH
    assert "…" not in text
    for needle in ("0.8012", "0.7123", "12/80", "9.88", "duplicate 12", "$12.3456", "of dollars", "ETA"):
        assert needle in text, needle
    assert "[" in lines[2] and "20%" in lines[2]  # the bar toward the binding cap: $2.5 of $12.5


def test_without_a_terminal_a_plain_line_every_interval():
    out = io.StringIO()
    console = Console(file=out, width=200, force_terminal=False, color_system=None)
    progress = Progress(simulated=False, console=console, enabled=None, log_every_s=0.2)
    assert not progress.enabled
    controller = _controller()
    with progress:
        progress.update(controller)
        import time

        time.sleep(0.75)
    lines = [ln for ln in out.getvalue().splitlines() if " progress: " in ln]
    assert len(lines) >= 3
    assert "evaluations 3/50" in lines[0] and "best 0.8012" in lines[0] and "$2.5000" in lines[0]
    assert "ETA" in lines[0] and "evals/min" in lines[0]


def test_lone_surrogates_in_program_output_are_scrubbed_before_print_or_store():
    from generators.evaluation import scrub_text

    personas = [{"name": "\ud800x", "description": "ok", "tags": ["\udfff"], "n": 3}]
    clean = scrub_text(personas)
    assert clean[0]["name"] == "?x" and clean[0]["tags"] == ["?"] and clean[0]["n"] == 3
    for value in (clean[0]["name"], clean[0]["tags"][0]):
        value.encode("utf-8")
    assert scrub_text("fine é") == "fine é"


def test_an_evaluation_the_run_cannot_afford_is_not_started():
    budget = RunBudget(evaluations=None, llm_calls=1000, dollars=None, minutes=None)
    gate = AllowanceGate(budget, slots=2)
    first = gate.grant(in_flight=1, contexts=3)
    assert first.calls == 500  # nothing seen yet: the plain share
    gate.release(first, calls=30, dollars=0.0, contexts=3)  # 10 calls per context
    budget.spent.llm_calls = 30
    roomy = gate.grant(in_flight=1, contexts=3)
    assert roomy.calls == 485  # the share (970 / 2) covers the 30 expected
    gate.release(roomy, calls=0, dollars=0.0, contexts=0)
    budget.spent.llm_calls = 1000 - 50
    big = gate.grant(in_flight=1, contexts=4)
    assert big.calls == 40 and not gate.empty(big)  # share 25 < 40 expected <= 50 left: the expected cost
    gate.release(big, calls=0, dollars=0.0, contexts=0)
    budget.spent.llm_calls = 1000 - 20
    refused = gate.grant(in_flight=1, contexts=3)
    assert refused.calls == 0 and gate.empty_cap(refused) == "llm_calls"  # 20 left < 30 expected
    gate.release(refused, calls=0, dollars=0.0, contexts=0)
    gate.final_stage = True  # the closing test stage spends what is left, whatever it buys
    assert gate.grant(in_flight=1, contexts=3).calls == 10
    budget.run_out("llm_calls")
    assert budget.exhausted() == "llm_calls (1000)"
