"""Calibration of the simulated world on the shipped validation contexts (N = 25, 3 seeds):
naive < batch < sobol with real gaps, sobol well below the ceiling, and room for search."""

from __future__ import annotations

import time

import numpy as np
import pytest

from generators.context_loader import load_split
from generators.positions import positions
from generators.respondent import SimRespondent
from generators.seeds import SEED_NAMES, load_seed
from generators.sim import SimLLM, load_program, run_program
from generators.sim.calibration import improved_sobol, score_program


@pytest.fixture(scope="module")
def coverage() -> dict[str, float]:
    contexts = load_split("validation")
    programs = {name: load_seed(name) for name in SEED_NAMES}
    programs["improved"] = improved_sobol(programs["sobol"])
    return {name: float(np.mean([r["coverage"] for r in score_program(code, contexts, n=25, seeds=(0, 1, 2))]))
            for name, code in programs.items()}


def test_known_strategies_rank_as_in_the_literature(coverage):
    assert coverage["naive"] + 0.08 < coverage["batch"]
    assert coverage["batch"] + 0.08 < coverage["sobol"]
    assert coverage["naive"] < 0.5
    assert 0.6 <= coverage["sobol"] <= 0.8


def test_search_has_room_above_sobol(coverage):
    assert coverage["improved"] > coverage["sobol"] + 0.15


def test_sobol_on_30_contexts_is_fast():
    contexts = load_split("train")
    module, sim, resp = load_program(load_seed("sobol")), SimLLM(), SimRespondent()
    t0 = time.perf_counter()
    for ctx in contexts:
        personas = run_program(module, ctx, 25, sim=sim, seed=0)
        Z = positions(resp.answer_sync(personas, ctx, seed=0), ctx).Z
        assert Z.shape == (25, ctx.k)
    assert time.perf_counter() - t0 < 2.0
