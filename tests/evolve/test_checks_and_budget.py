"""Cheap rejections, run budgets and context sets."""

from __future__ import annotations

import time

import pytest

from evolve.budget.caps import RunBudget, Spend
from evolve.common.context_sets import ContextSets
from evolve.proposals.checks import first_rejection
from generators.context_loader import load_split

GOOD = "def generate(context, n, llm, rng):\n    return []\n"


def test_good_program_passes():
    assert first_rejection(GOOD) is None


@pytest.mark.parametrize(
    "code, reason, fragment",
    [
        ("def generate(context, n, llm, rng)\n    pass\n", "compile_error", "line 1"),
        (
            "def make(context, n, llm, rng):\n    return []\n",
            "bad_signature",
            "no top-level function 'generate'",
        ),
        ("def generate(context, n):\n    return []\n", "bad_signature", "(context, n, llm, rng)"),
        ("async def generate(context, n, llm, rng):\n    return []\n", "bad_signature", "async"),
        ("x = '\0'\n", "compile_error", "null bytes"),
    ],
)
def test_rejections(code, reason, fragment):
    rejection = first_rejection(code)
    assert rejection is not None and rejection.reason == reason
    assert fragment in rejection.message


def test_budget_counts_in_flight_and_prior():
    budget = RunBudget(evaluations=5, llm_calls=None, dollars=None, minutes=None, prior=Spend(evaluations=3))
    budget.start()
    assert budget.exhausted(in_flight=1) is None
    assert budget.exhausted(in_flight=2) == "evaluations (5)"
    budget.add_evaluation()
    assert budget.exhausted(in_flight=1) == "evaluations (5)"


def test_budget_dollars_calls_and_minutes():
    budget = RunBudget(evaluations=None, llm_calls=10, dollars=1.0, minutes=None)
    budget.add_calls(9, 0.5)
    assert budget.exhausted() is None
    budget.add_calls(1, 0.0)
    assert budget.exhausted() == "llm_calls (10)"
    money = RunBudget(evaluations=None, llm_calls=None, dollars=1.0, minutes=None)
    money.add_calls(1, 1.25)
    assert money.exhausted().startswith("dollars")
    clock = RunBudget(
        evaluations=None, llm_calls=None, dollars=None, minutes=0.5 / 60, prior=Spend(seconds=0.4)
    )
    clock.start()
    assert clock.exhausted() is None
    time.sleep(0.15)
    assert clock.exhausted() == "minutes (0.00833333)"


def test_context_sets_smoke_is_stable_subset():
    train, val, test = load_split("train"), load_split("validation"), load_split("test")
    a = ContextSets.build(train, val, test, smoke=2, seed=5)
    b = ContextSets.build(train, val, test, smoke=2, seed=5)
    assert a.smoke_ids == b.smoke_ids and len(a.smoke_ids) == 2
    assert set(a.smoke_ids) <= set(a.train_ids)
    with pytest.raises(ValueError, match="more than one stage"):
        ContextSets.build(train, train[:1], test, smoke=2, seed=5)


PARENT = """import math
# EVOLVE-BLOCK-START
SPREAD = 1.0
NOTES = ["Write naturally."]
# EVOLVE-BLOCK-END
def generate(context, n, llm, rng):
    return [{"name": str(i), "description": NOTES[0]} for i in range(n)]
"""


def test_apply_proposal_counts_blocks_that_fail_beside_ones_that_apply():
    from evolve.loop.controller import apply_proposal

    text = (
        "<<<<<<< SEARCH\nSPREAD = 1.0\n=======\nSPREAD = 1.4\n>>>>>>> REPLACE\n"
        "<<<<<<< SEARCH\nNOT_THERE = 3\n=======\nNOT_THERE = 4\n>>>>>>> REPLACE\n"
    )
    code, rejection, failed = apply_proposal(PARENT, text, False)
    assert rejection is None and "SPREAD = 1.4" in code
    assert len(failed) == 1 and failed[0].startswith("block 2:")


def test_apply_proposal_rejections():
    from evolve.loop.controller import apply_proposal

    _, rejection, _ = apply_proposal(
        PARENT, "<<<<<<< SEARCH\nX = 1\n=======\nX = 2\n>>>>>>> REPLACE\n", False
    )
    assert rejection.reason == "diff_failed" and "block 1" in rejection.message
    outside = "<<<<<<< SEARCH\nimport math\n=======\nimport os\n>>>>>>> REPLACE\n"
    _, rejection, _ = apply_proposal(PARENT, outside, False)
    assert rejection.reason == "diff_failed" and "EVOLVE-BLOCK" in rejection.message
    rewrite = "```python\n" + PARENT.replace("import math", "import os") + "```"
    _, rejection, _ = apply_proposal(PARENT, rewrite, True)
    assert rejection.reason == "diff_failed" and rejection.message.startswith("full rewrite refused")
    assert apply_proposal(PARENT, "  ", False)[1].reason == "no_op"
