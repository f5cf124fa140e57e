"""`run --estimate`: calls, tokens and dollars per role before a run starts."""

from __future__ import annotations

import dataclasses

import pytest

from evolve.budget.estimate import estimate_run
from evolve.cli import main
from evolve.config import RunConfig, replace_path
from evolve.loop.run import load_context_sets
from generators.llm import ModelConfig


def _by_role(estimate):
    return {r.role: r for r in estimate["per_evaluation"]}


def test_respondent_calls_are_exact_per_mode():
    config = replace_path(RunConfig(), "evaluation.n", 10)
    contexts = load_context_sets(config)
    item = _by_role(estimate_run(replace_path(config, "evaluation.respondent_mode", "item"), contexts))[
        "respondent"
    ]
    assert item.calls == pytest.approx(10 * sum(c.n_items for c in contexts.train))
    per_axis = _by_role(estimate_run(replace_path(config, "evaluation.respondent_per_axis", True), contexts))
    assert per_axis["respondent"].calls == pytest.approx(10 * sum(c.k for c in contexts.train))
    whole = _by_role(estimate_run(config, contexts))["respondent"]  # the default: questionnaire
    assert whole.calls == pytest.approx(10 * len(contexts.train))


def test_prices_known_unknown_and_sim():
    known = ModelConfig(model="openai/gpt-4o-mini")
    config = dataclasses.replace(
        RunConfig(),
        models=dataclasses.replace(
            RunConfig().models, persona=known, respondent=ModelConfig(model="openai/no-such-model-xyz")
        ),
    )
    roles = _by_role(estimate_run(config, load_context_sets(config)))
    assert roles["persona"].dollars > 0 and roles["persona"].calls > 0
    assert roles["respondent"].dollars is None
    assert roles["mutator"].dollars == 0.0  # sim


def test_cli_estimate(capsys):
    assert main(["run", "--estimate", "--model", "openai/gpt-4o-mini", "--budget-evals", "10"]) == 0
    out = capsys.readouterr().out
    assert "Whole run (10 evaluations)" in out and "total ≈ $" in out and "upper bound" in out


def test_races_are_counted_only_when_the_run_races():
    config = replace_path(replace_path(RunConfig(), "evaluation.n", 5), "budget.evaluations", 10)
    contexts = load_context_sets(config)
    racing = estimate_run(config, contexts)
    quiet_config = dataclasses.replace(config, search=dataclasses.replace(config.search, promotion=False))
    quiet = estimate_run(quiet_config, contexts)
    assert racing["stages"]["races"]["persona"] > 0 and racing["stages"]["races"]["respondent"] > 0
    assert quiet["stages"]["races"] == {"mutator": 0.0, "persona": 0.0, "respondent": 0.0}
    # everything else is the same run: only the races' calls differ, expected and upper bound
    for stage in ("seeds", "proposals", "validation", "test"):
        assert quiet["stages"][stage] == racing["stages"][stage]
    for role in ("persona", "respondent"):
        assert quiet["run_upper_calls"][role] < racing["run_upper_calls"][role]


def _priced(budget: dict) -> RunConfig:
    known = ModelConfig(model="openai/gpt-4o-mini")
    config = dataclasses.replace(RunConfig(), models=dataclasses.replace(RunConfig().models, persona=known))
    return dataclasses.replace(
        config, budget=dataclasses.replace(RunConfig().budget, evaluations=None, minutes=None, **budget)
    )


def test_a_dollar_or_call_cap_becomes_an_expected_number_of_evaluations():
    from evolve.budget.estimate import evaluations_within_caps

    config = _priced({"dollars": 5.0})
    contexts = load_context_sets(config)
    count, note = evaluations_within_caps(config, contexts)
    assert count and count > 0 and f"$5 buys about {count} evaluations" in note

    def spent(e: int) -> float:
        return sum(
            r.dollars or 0.0
            for r in estimate_run(replace_path(config, "budget.evaluations", e), contexts)["run"]
        )

    assert spent(count) <= 5.0 < spent(count + 2)  # the cap buys that many and not two more
    calls_config = _priced({"llm_calls": 200_000})
    count, note = evaluations_within_caps(calls_config, contexts)
    assert count and "200000 LLM calls buys about" in note
    sim_only = dataclasses.replace(RunConfig(), budget=dataclasses.replace(RunConfig().budget, dollars=5.0))
    assert evaluations_within_caps(sim_only, load_context_sets(sim_only))[0] is None
    assert evaluations_within_caps(RunConfig(), contexts) == (None, "")  # a minutes cap only: nothing to turn


def test_the_per_evaluation_table_and_the_whole_run_table_agree():
    """Issue 23: the per-evaluation table counted the costliest seed, the whole run's proposals
    the seeds' mean, so the two read as contradicting (240 against 157 persona calls). One
    model now: the proposals stage is the per-evaluation expectation times the evaluations,
    and the costliest seed is the upper bound column."""
    known = ModelConfig(model="openai/gpt-4o-mini")
    base = replace_path(replace_path(RunConfig(), "evaluation.n", 10), "budget.evaluations", 7)
    config = dataclasses.replace(
        base, models=dataclasses.replace(base.models, persona=known, respondent=known)
    )
    contexts = load_context_sets(config)
    est = estimate_run(config, contexts)
    per_eval = _by_role(est)
    for role in ("mutator", "persona", "respondent"):
        assert est["stages"]["proposals"][role] == pytest.approx(per_eval[role].calls * 7), role
        assert est["per_evaluation_upper_calls"][role] >= per_eval[role].calls, role
    seeds = est["seed_persona_calls"]
    assert per_eval["persona"].calls == pytest.approx(sum(seeds.values()) / len(seeds))
    assert est["per_evaluation_upper_calls"]["persona"] >= max(seeds.values())
    # the rendered tables: the persona row's expected calls times the evaluations is the proposals row
    from evolve.budget.estimate import render_estimate

    text = render_estimate(est).splitlines()
    row = next(line for line in text if line.startswith("persona") and "gpt-4o-mini" in line)
    proposals = next(line for line in text if line.startswith("proposals")).split()
    assert "expected calls" in text[1] and "upper bound" in text[1]
    assert float(row.split()[2]) * 7 == pytest.approx(float(proposals[2]), abs=7)
    assert any("seeds' mean persona cost" in line for line in text)
