"""The mutation prompt carries code, feedback, inspirations and the directive."""

from __future__ import annotations

import numpy as np

from evolve.proposals.directives import DIRECTIVES, directive_by_key, draw_directive
from evolve.proposals.prompts import ContextFeedback, ProgramBrief, build_mutation_prompt, histogram_summary


def test_at_least_twenty_distinct_directives():
    assert len(DIRECTIVES) >= 20
    assert len({d.key for d in DIRECTIVES}) == len(DIRECTIVES)
    rng = np.random.default_rng(0)
    assert len({draw_directive(rng).key for _ in range(400)}) == len(DIRECTIVES)


def test_histogram_names_empty_bins():
    Z = np.array([[0.05, 0.5], [0.1, 0.55], [0.15, 0.6]])
    lines = histogram_summary(Z, ["trust", "anger"])
    assert lines[0].strip().startswith("trust: 3 0 0 0 0")
    assert "empty: 0.2-0.4, 0.4-0.6, 0.6-0.8, 0.8-1.0" in lines[0]
    assert "0.0-0.2" in lines[1]


def test_prompt_contents():
    Z = np.full((4, 2), 0.5)
    parent = ProgramBrief(
        program_id="p1",
        code="# EVOLVE-BLOCK-START\nX = 1\n# EVOLVE-BLOCK-END\n",
        fitness=0.4,
        metrics={"coverage": 0.4},
        contexts=[
            ContextFeedback("ctx_weak", ("a", "b"), {"coverage": 0.1}, Z),
            ContextFeedback("ctx_strong", ("a", "b"), {"coverage": 0.9}, Z),
            ContextFeedback("ctx_broken", ("a", "b"), None, None, error="timeout: too slow"),
        ],
        errors=["last proposal rejected: SyntaxError at line 3"],
    )
    insp = ProgramBrief("p2", "INSPIRATION_CODE = 2\n", 0.5, {"coverage": 0.5})
    system, user = build_mutation_prompt(parent, [insp], directive_by_key("empty_regions"))
    assert "EVOLVE-BLOCK" in system
    assert "X = 1" in user and "INSPIRATION_CODE = 2" in user
    assert user.index("ctx_weak") < user.index("ctx_strong")
    assert "ctx_broken: timeout: too slow" in user
    assert "SyntaxError at line 3" in user
    assert "empty regions" in user
    assert "<<<<<<< SEARCH" in user
    _, rewrite = build_mutation_prompt(parent, [], DIRECTIVES[0], full_rewrite=True)
    assert "```python" in rewrite and "<<<<<<< SEARCH" not in rewrite
