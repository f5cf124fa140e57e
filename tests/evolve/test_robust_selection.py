"""Robust selection: the champion whose worst simulated world is best."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any, Mapping

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evolve.cli import main
from evolve.config import ConfigError, config_from_dict
from evolve.robust import choose_robust, robust_select
from test_run_e2e import SMALL as E2E_SMALL

WORLDS = ("default", "literal", "yea-sayer")


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_the_choice_maximises_the_worst_world_gain_and_prefers_the_incumbent(data):
    n = data.draw(st.integers(2, 6))
    pids = [f"p{i}" for i in range(n)]
    value = st.floats(0.0, 1.0, allow_nan=False).map(lambda x: round(x, 2))  # ties happen
    fitness = {p: {w: data.draw(value) for w in WORLDS} for p in pids}
    seeds = pids[: data.draw(st.integers(1, n))]
    incumbent = data.draw(st.sampled_from(pids + [None]))
    choice = choose_robust(fitness, worlds=WORLDS, seeds=seeds, incumbent=incumbent)
    best_seed = {w: max(fitness[s][w] for s in seeds) for w in WORLDS}
    worst = {p: min(fitness[p][w] - best_seed[w] for w in WORLDS) for p in pids}
    assert choice.worst == pytest.approx(worst)
    assert worst[choice.chosen] == max(worst.values())
    if incumbent is not None and worst[incumbent] == max(worst.values()):
        assert choice.chosen == incumbent
    assert max(choice.worst[s] for s in seeds) <= 0.0  # no seed beats the best seed


def test_a_program_strong_in_one_world_loses_to_one_good_in_all():
    fitness = {"seed": {"a": 0.70, "b": 0.70}, "specialist": {"a": 0.90, "b": 0.65},
               "generalist": {"a": 0.78, "b": 0.76}}
    choice = choose_robust(fitness, worlds=("a", "b"), seeds=("seed",), incumbent="specialist")
    assert choice.chosen == "generalist"
    assert choice.gain["specialist"] == pytest.approx({"a": 0.20, "b": -0.05})
    with pytest.raises(ValueError, match="no finite fitness for seed in world 'c'"):
        choose_robust(fitness, worlds=("a", "c"), seeds=("seed",), incumbent=None)
    with pytest.raises(ValueError, match="at least one world and one seed"):
        choose_robust(fitness, worlds=("a",), seeds=(), incumbent=None)


class FakeRun:
    """A run with stored validation tables in its own world and fixed tables elsewhere."""

    def __init__(self, tables: Mapping[tuple[str, str], dict[str, float]], champion: str | None) -> None:
        self.tables = dict(tables)
        self.champion = champion
        self.events: list[tuple[str, str | None, dict[str, Any]]] = []
        self.crowned: list[tuple[str, dict[str, Any]]] = []
        self.asked: list[tuple[str, str]] = []

    def champion_id(self) -> str | None:
        return self.champion

    def validation_leaders(self, k: int) -> list[str]:
        return ["spec", "gen", "never-validated"][:k]

    def stored_validation(self, pid: str) -> dict[str, float]:
        return self.tables.get((pid, "default"), {})

    async def validate_in_world(self, pid: str, world: str) -> dict[str, float]:
        self.asked.append((pid, world))
        return self.tables[(pid, world)]

    def record_event(self, kind: str, *, program_id: str | None, detail: Mapping[str, Any]) -> None:
        self.events.append((kind, program_id, dict(detail)))

    async def crown(self, pid: str, basis: Mapping[str, Any]) -> None:
        self.crowned.append((pid, dict(basis)))


def _tables() -> dict[tuple[str, str], dict[str, float]]:
    rows = {"seed": (0.70, 0.70), "spec": (0.90, 0.60), "gen": (0.78, 0.76)}
    return {(pid, world): {"c1": v[i], "c2": v[i]} for pid, v in rows.items()
            for i, world in enumerate(("default", "literal"))}


def test_robust_select_records_every_table_and_crowns_the_robust_program():
    run = FakeRun(_tables(), champion="spec")
    choice = asyncio.run(robust_select(run, own_world="default", other_worlds=["literal", "default"],
                                       seed_ids=["seed"]))
    assert choice is not None and choice.chosen == "gen" and choice.worlds == ("default", "literal")
    assert sorted(run.asked) == [("gen", "literal"), ("seed", "literal"), ("spec", "literal")]  # own world reused
    validated = [(pid, d["world"]) for kind, pid, d in run.events if kind == "robust_validated"]
    assert sorted(validated) == sorted(run.asked)
    selection = [d for kind, _, d in run.events if kind == "robust_selection"]
    assert len(selection) == 1 and selection[0]["chosen"] == "gen" and selection[0]["incumbent"] == "spec"
    assert run.crowned == [("gen", {"basis": "robust", "worlds": ["default", "literal"],
                                    "worst_world_gain": pytest.approx(0.06), "replaces": "spec"})]


def test_robust_select_keeps_a_robust_incumbent_without_crowning():
    run = FakeRun(_tables(), champion="gen")
    choice = asyncio.run(robust_select(run, own_world="default", other_worlds=["literal"], seed_ids=["seed"]))
    assert choice is not None and choice.chosen == "gen" and run.crowned == []
    assert asyncio.run(robust_select(FakeRun({}, None), own_world="default", other_worlds=["literal"],
                                     seed_ids=["seed"])) is None


def test_world_validate_is_checked():
    assert config_from_dict({"world": {"validate": ["literal"]}}).world.validate == ("literal",)
    with pytest.raises(ConfigError, match=r"^world\.validate\[1\]: unknown world 'colapsed'.*'collapsed'"):
        config_from_dict({"world": {"validate": ["literal", "colapsed"]}})
    real = {"models": {"persona": "openai/gpt-4o-mini", "respondent": "openai/gpt-4o-mini"}}
    with pytest.raises(ConfigError, match=r"^world\.validate: robust selection .* needs the persona or respondent"):
        config_from_dict({**real, "world": {"validate": ["literal"]}})


SMALL = E2E_SMALL.replace("evaluations = 6", "evaluations = 4") + """
[world]
validate = ["literal", "yea-sayer"]
"""


@pytest.mark.ray
def test_a_run_with_robust_selection_stores_and_reports_it(ray_session, tmp_path: Path, capsys):
    config = tmp_path / "run.toml"
    config.write_text(SMALL)
    db = tmp_path / "archive.db"
    assert main(["run", "--config", str(config), "--db", str(db), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    robust = summary["robust"]
    assert robust["worlds"] == ["default", "literal", "yea-sayer"]
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        rows = conn.execute("SELECT kind, program_id, detail FROM events WHERE kind LIKE 'robust%' ORDER BY id").fetchall()
        champions = conn.execute("SELECT program_id, detail FROM events WHERE kind = 'champion' ORDER BY id").fetchall()
    selection = [json.loads(d) for kind, _, d in rows if kind == "robust_selection"]
    assert len(selection) == 1 and selection[0]["chosen"] == robust["chosen"] == summary["champion"]["id"]
    validated = {(pid, json.loads(d)["world"]) for kind, pid, d in rows if kind == "robust_validated"}
    assert {w for _, w in validated} == {"literal", "yea-sayer"}
    assert {pid for pid, _ in validated} == set(selection[0]["fitness"])
    if robust["chosen"] != robust["incumbent"]:
        assert champions[-1][0] == robust["chosen"] and json.loads(champions[-1][1])["basis"] == "robust"
    report = (Path(summary["report"])).read_text()
    assert "## Robust selection across simulated worlds" in report
    assert "`default`, `literal`, `yea-sayer`" in report
