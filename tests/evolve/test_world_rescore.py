"""evolve.promotion.world_rescore: gains over the best comparator per world, the spread over run
seeds, the seed-cell cache (keyed by everything a cell depends on) and a real re-scoring
that runs each program once per world and replicate and then reads the cache."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import evolve.execution.workers as workers
from evolve.config import RunConfig, replace_path
from evolve.promotion.world_rescore import (
    RescoreSpec,
    ScoreCache,
    gain_over,
    rescore,
    score_key,
    spread,
    world_gains,
)
from generators.seeds import load_seed


def test_gains_are_over_the_best_comparator_of_each_world():
    table = {"a": {"champion": 0.80, "s1": 0.70, "s2": 0.75}, "b": {"champion": 0.60, "s1": 0.65, "s2": 0.50}}
    assert world_gains(table, "champion", ["s1", "s2"]) == pytest.approx({"a": 0.05, "b": -0.05})
    assert gain_over(table["a"], "s2", ["s1"]) == pytest.approx(0.05)
    with pytest.raises(ValueError, match="at least one comparator"):
        gain_over(table["a"], "champion", [])


def test_spread_names_the_worst_run_seed():
    s = spread([0.10, -0.02, 0.04])
    assert s["worst"] == -0.02 and s["best"] == 0.10 and s["range"] == pytest.approx(0.12)
    assert s["mean"] == pytest.approx(0.04) and s["sd"] > 0
    assert spread([0.3])["sd"] == 0.0
    with pytest.raises(ValueError):
        spread([])


def test_the_cache_key_changes_with_everything_a_cell_depends_on(tmp_path: Path):
    spec = RescoreSpec()
    key = score_key("code", "default", spec)
    others = [
        score_key("code2", "default", spec),
        score_key("code", "literal", spec),
        score_key("code", "default", dataclasses.replace(spec, replicates=3)),
        score_key("code", "default", dataclasses.replace(spec, split="validation")),
        score_key(
            "code", "default", dataclasses.replace(spec, base=replace_path(RunConfig(), "evaluation.n", 10))
        ),
    ]
    assert len({key, *others}) == 6
    cache = ScoreCache(tmp_path / "cells.json")
    cache.put(key, 0.5)
    assert ScoreCache(tmp_path / "cells.json").get(key) == 0.5 and ScoreCache().get(key) is None
    with pytest.raises(ValueError, match="replicates must be >= 1"):
        RescoreSpec(replicates=0)


def test_rescore_runs_each_program_once_per_replicate_and_then_reads_the_cache(tmp_path: Path, monkeypatch):
    calls = []
    real = workers.run_evaluation

    def counting(spec, code, contexts, ids, seed, allowance=None):
        calls.append((spec.world, seed))
        return real(spec, code, contexts, ids, seed, allowance)

    monkeypatch.setattr(workers, "run_evaluation", counting)
    spec = RescoreSpec(split="validation", replicates=2, base=replace_path(RunConfig(), "evaluation.n", 6))
    cache = ScoreCache(tmp_path / "cells.json")
    programs = {"naive": load_seed("naive"), "sobol": load_seed("sobol")}
    first = rescore(programs, "literal", spec, cache)
    assert sorted(calls) == sorted([("literal", 1000), ("literal", 1001)] * 2)
    assert all(0.0 < v <= 1.0 for v in first.values()) and first["naive"] < first["sobol"]
    calls.clear()
    assert rescore(programs, "literal", spec, ScoreCache(tmp_path / "cells.json")) == first and calls == []
