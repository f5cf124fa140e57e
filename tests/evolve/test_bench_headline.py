"""scripts/bench_headline.py's tables from fake rows: gains per world, the worst world, the
mean / worst / spread over run seeds, and the rows of the champion of the races (the
champion itself where robust selection kept it)."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench_headline.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_headline_under_test", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _row(seed: int, champion: dict[str, float], races: dict[str, float] | None = None) -> dict:
    row = {
        "arm": "full",
        "seed": seed,
        "evaluations": 60,
        "champion_test": 0.80,
        "best_seed_test": 0.75,
        "champion_code": "x",
        "races_code": "y" if races else None,
        "champion_world_gain": champion,
    }
    if races:
        row["races_world_gain"] = races
    return row


def test_parse_sets_reads_json_values_and_refuses_a_bare_key(bench):
    assert bench.parse_sets(["cascade.screen_contexts=8", 'world.validate=["literal"]', "x=abc"]) == [
        ("cascade.screen_contexts", 8),
        ("world.validate", ("literal",)),
        ("x", "abc"),
    ]
    with pytest.raises(SystemExit, match="expected KEY=VALUE"):
        bench.parse_sets(["cascade.screen_contexts"])


def test_gain_rows_take_the_worst_world_and_fall_back_to_the_champion(bench):
    rows = [_row(0, {"a": 0.05, "b": -0.01}, races={"a": 0.09, "b": -0.03}), _row(1, {"a": 0.02, "b": 0.04})]
    champ = bench.gain_rows(rows, "champion", ["a", "b"])
    assert [r["worst world"] for r in champ] == [-0.01, 0.02]
    assert champ[0]["gain (run)"] == pytest.approx(0.05)
    races = bench.gain_rows(rows, "races", ["a", "b"])
    assert [r["worst world"] for r in races] == [-0.03, 0.02]  # run seed 1: robust selection kept it
    assert races[0]["gain (run)"] is None


def test_the_table_counts_the_run_seeds_that_win_in_every_world(bench, capsys):
    rows = [
        _row(0, {"a": 0.05, "b": -0.01}),
        _row(1, {"a": 0.02, "b": 0.04}),
        _row(2, {"a": 0.01, "b": 0.03}),
    ]
    args = argparse.Namespace(
        worlds=["a", "b"],
        test_contexts=10,
        evaluations=60,
        replicates=2,
        seed_labels=["seed:naive"],
        run_seed_labels=["seed:naive"],
    )
    bench.print_tables(rows, args)
    out = capsys.readouterr().out
    assert "SIMULATED" in out
    assert "run seeds where it beats the best seed in every world: 2 of 3" in out
    worst_line = next(line for line in out.splitlines() if line.startswith("worst "))
    assert worst_line.split()[-1] == "-0.010"  # the worst run seed's worst world
