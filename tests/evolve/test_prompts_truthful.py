"""Prompts that tell the truth (issue 13, item 4): the parent's own errors only, a child's
failure labelled as the child's with the child's code, directives that apply to the parent."""

from __future__ import annotations

import asyncio

import numpy as np

from evolve.loop.controller import changed_lines
from evolve.proposals.directives import (
    DIRECTIVES,
    applicable,
    code_features,
    directive_by_key,
    draw_directive,
)
from evolve.proposals.prompts import ChildNote, ContextFeedback, ProgramBrief, build_mutation_prompt
from generators.seeds import load_seed


def test_a_child_failure_is_labelled_as_the_child_s_with_its_own_code():
    parent_code = "# EVOLVE-BLOCK-START\nX = 1\n# EVOLVE-BLOCK-END\n"
    child_code = parent_code.replace("X = 1", "X = undefined_name")
    brief = ProgramBrief(
        program_id="p",
        code=parent_code,
        fitness=0.5,
        metrics={"coverage": 0.5},
        contexts=[ContextFeedback("ctx_own", ("a",), None, None, error="parent timed out")],
        children=[
            ChildNote(
                "failed in the smoke stage: NameError: undefined_name (line 2)",
                changed_lines(parent_code, child_code),
            )
        ],
    )
    _, user = build_mutation_prompt(brief, [], directive_by_key("simplify"))
    own = user.index("Errors of this program's own last evaluation (data):")
    child = user.index("Recent proposals made from this program that failed")
    assert own < child and "ctx_own: parent timed out" in user[own:child]
    assert "NameError" not in user[own:child]  # the child's crash is not listed under the parent's errors
    section = user[child:]
    assert "NOT the program above" in section and "- a child (what happened, data):" in section
    assert "failed in the smoke stage: NameError" in section
    assert (
        "+X = undefined_name" in section and "-X = 1" in section
    )  # the child's code, which the prompt shows


def test_changed_lines_show_only_the_edit():
    a = "\n".join(f"L{i}" for i in range(30))
    b = a.replace("L15", "L15 changed")
    diff = changed_lines(a, b)
    assert "-L15" in diff and "+L15 changed" in diff and "L2\n" not in diff and len(diff.splitlines()) <= 5


def test_directives_are_drawn_among_those_that_apply_to_the_parent():
    naive, sobol = load_seed("naive"), load_seed("sobol")
    assert "planned_positions" not in code_features(naive) and "planned_positions" in code_features(sobol)
    keys = {d.key for d in applicable(naive)}
    assert {"anti_clustering", "stretch", "corners", "restate_targets", "crossover"}.isdisjoint(keys)
    assert "crossover" in {d.key for d in applicable(naive, inspirations=2)}
    assert {d.key for d in applicable(sobol, inspirations=1)} == {d.key for d in DIRECTIVES}
    rng = np.random.default_rng(0)
    drawn = {draw_directive(rng, code=naive).key for _ in range(400)}
    assert drawn == keys  # every applicable one, and nothing else
    assert len({draw_directive(rng).key for _ in range(600)}) == len(DIRECTIVES)  # no code: all of them


def test_the_controller_feeds_a_child_failure_back_as_the_child_s(tmp_path):
    from test_controller_fakes import (  # noqa: F401
        TEST,
        TRAIN,
        VALIDATION,
        FakeEvaluator,
        FakeMutator,
        RunBudget,
        edit,
        make,
        resolve_contexts,
    )

    from evolve.common.context_sets import ContextSets

    found = {c.id: c for c in resolve_contexts(TRAIN + VALIDATION + TEST)}
    contexts = ContextSets.build(
        [found[i] for i in TRAIN], [found[i] for i in VALIDATION], [found[i] for i in TEST], smoke=1, seed=0
    )
    mutator = FakeMutator(lambda code, k: edit("EXTRA = 0", f"EXTRA = 0\nBROKEN = {k}") if k < 2 else "")
    c = make(
        tmp_path,
        contexts,
        evaluator=FakeEvaluator(),
        mutator=mutator,
        budget=RunBudget(evaluations=None, llm_calls=None, dollars=None, minutes=None),
    )
    c.evaluator.max_in_flight = 1

    async def main() -> None:
        await c.seed_archive({"seed:base": __import__("test_controller_fakes").SEED})
        for _ in range(3):
            await c._guarded_candidate()

    asyncio.run(main())
    third = mutator.requests[2].user
    assert "- a child (what happened, data):" in third
    assert "failed in the smoke stage: generate() raised ValueError" in third
    assert (
        "+BROKEN = 1" in third and "Errors of this program's own" not in third
    )  # the seed itself never failed
    c.archive.close()
