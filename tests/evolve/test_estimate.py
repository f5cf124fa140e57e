"""`run --estimate`: calls, tokens and dollars per role before a run starts."""

from __future__ import annotations

import dataclasses

import pytest

from evolve.cli import main
from evolve.config import RoleModel, RunConfig, replace_path
from evolve.estimate import VALIDATION_SHARE, estimate_run
from evolve.run import load_context_sets


def _by_role(estimate):
    return {r.role: r for r in estimate["per_evaluation"]}


def test_respondent_calls_are_exact_and_per_axis_is_cheaper():
    config = replace_path(RunConfig(), "evaluation.n", 10)
    contexts = load_context_sets(config)
    per_item = _by_role(estimate_run(config, contexts))["respondent"]
    scale = 1 + VALIDATION_SHARE * len(contexts.validation) / len(contexts.train)
    assert per_item.calls == pytest.approx(10 * sum(c.n_items for c in contexts.train) * scale)
    per_axis = _by_role(estimate_run(replace_path(config, "evaluation.respondent_per_axis", True), contexts))
    assert per_axis["respondent"].calls == pytest.approx(10 * sum(c.k for c in contexts.train) * scale)


def test_prices_known_unknown_and_sim():
    known = RoleModel(model="openai/gpt-4o-mini")
    config = dataclasses.replace(RunConfig(), models=dataclasses.replace(
        RunConfig().models, persona=known, respondent=RoleModel(model="openai/no-such-model-xyz")))
    roles = _by_role(estimate_run(config, load_context_sets(config)))
    assert roles["persona"].dollars > 0 and roles["persona"].calls > 0
    assert roles["respondent"].dollars is None
    assert roles["mutator"].dollars == 0.0  # sim


def test_cli_estimate(capsys):
    assert main(["run", "--estimate", "--model", "openai/gpt-4o-mini", "--budget-evals", "10"]) == 0
    out = capsys.readouterr().out
    assert "x10 evaluations" in out and "total ≈ $" in out
