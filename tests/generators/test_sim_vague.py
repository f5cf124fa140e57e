"""Vague text lands where a real model puts it: text the sim cannot read is answered near the
middle, the same for the same text, so a vague population scores about the floor, never above
seed:naive; the sim's ranking of the seeds on hidden contexts still holds."""

from __future__ import annotations

import numpy as np
import pytest

import metrics
from generators.context_loader import load_split
from generators.positions import positions
from generators.respondent import SimRespondent, persona_text
from generators.seeds import load_seed
from generators.sim import SimKnobs
from generators.sim.answering import vague_guess, vague_key
from generators.sim_calibration import score_program

VAGUE = """
JOBS = ["nurse", "driver", "teacher", "clerk", "cook", "welder", "student", "farmer"]

def generate(context, n, llm, rng):
    return [{"name": f"Person {i}", "description": f"[SIMULATED] Person {i}, {20 + 2 * i}, works as a "
             f"{JOBS[i % len(JOBS)]} and has ordinary views on most things."} for i in range(n)]
"""
"""No model call, no trait, every persona worded differently."""


def _mean(rows: list[dict[str, float]], name: str = "coverage") -> float:
    return float(np.mean([r[name] for r in rows]))


def _floor(contexts, n: int = 25) -> float:
    return float(np.mean([metrics.references(n, c.k).floor["coverage"] for c in contexts]))


@pytest.fixture(scope="module")
def validation():
    return load_split("validation")


def test_a_vague_population_scores_about_the_floor_and_below_naive(validation):
    vague = _mean(score_program(VAGUE, validation, seeds=(0, 1)))
    naive = _mean(score_program(load_seed("naive"), validation, seeds=(0, 1)))
    floor = _floor(validation)
    assert abs(vague - floor) < 0.1
    assert vague < naive - 0.05


def test_no_wording_spreads_vague_text_beyond_naive(validation):
    """An adversary that picks, among many bland texts, those whose (hash-chosen) guesses lie
    farthest apart gains a bounded spread only: still below seed:naive."""
    knobs = SimKnobs()
    covs = []
    for ctx in validation:
        cands = [
            {"name": f"Person {i}", "description": f"[SIMULATED] Person {i} lives here."} for i in range(400)
        ]
        guesses = np.array(
            [[vague_guess(vague_key(persona_text(p)), a.name, knobs) for a in ctx.axes] for p in cands]
        )
        chosen, dist = [0], np.linalg.norm(guesses - guesses[0], axis=1)
        while len(chosen) < 25:  # farthest-point selection
            j = int(np.argmax(dist))
            chosen.append(j)
            dist = np.minimum(dist, np.linalg.norm(guesses - guesses[j], axis=1))
        Z = positions(SimRespondent().answer_sync([cands[j] for j in chosen], ctx, seed=0), ctx).Z
        covs.append(metrics.evaluate(Z, mc_samples=10_000, seed=0)["coverage"])
    naive = _mean(score_program(load_seed("naive"), validation, seeds=(0, 1)))
    assert float(np.mean(covs)) < naive


def test_the_same_text_gets_the_same_answers_whatever_the_seed(validation):
    ctx = validation[0]
    personas = [{"name": "Person A", "description": "A clerk with ordinary views."}] * 3 + [
        {"name": "Person B", "description": "A cook who likes quiet evenings."}
    ] * 3
    a, b = (SimRespondent().answer_sync(personas, ctx, seed=s).values for s in (0, 7))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a[0], a[2])
    mid = (ctx.scale_min + ctx.scale_max) / 2
    assert np.all(np.abs(a - mid) <= (ctx.scale_max - ctx.scale_min) / 4 + 0.5)  # near the middle


def test_seed_ranking_holds_on_hidden_contexts_between_floor_and_random():
    contexts = load_split("test")
    cov = {
        name: _mean(score_program(load_seed(name), contexts, seeds=(0,)))
        for name in ("naive", "batch", "sobol")
    }
    floor = _floor(contexts)
    rand = float(np.mean([metrics.references(25, c.k).random["coverage"] for c in contexts]))
    assert floor + 0.1 < cov["naive"]
    assert cov["naive"] + 0.08 < cov["batch"]
    assert cov["batch"] + 0.08 < cov["sobol"]
    assert cov["sobol"] + 0.1 < rand
