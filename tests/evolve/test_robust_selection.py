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
from test_run_e2e import SMALL as E2E_SMALL

from evolve.cli import main
from evolve.common.search import SearchSettings
from evolve.config import ConfigError, config_from_dict
from evolve.promotion.robust import choose_robust, robust_select

WORLDS = ("default", "literal", "yea-sayer")


def _units(values: Mapping[str, Mapping[str, float]], n: int = 1) -> dict[str, dict[str, dict[str, float]]]:
    """Per-unit tables with every unit at the given mean (no spread)."""
    return {p: {w: {f"0:c{i}": v for i in range(n)} for w, v in row.items()} for p, row in values.items()}


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_the_leader_maximises_the_worst_world_gain_and_only_a_confident_challenger_replaces(data):
    n = data.draw(st.integers(2, 6))
    pids = [f"p{i}" for i in range(n)]
    units = [f"{r}:c{c}" for r in range(2) for c in range(data.draw(st.integers(1, 4)))]
    value = st.floats(0.0, 1.0, allow_nan=False).map(lambda x: round(x, 2))  # ties happen
    values = {p: {w: {u: data.draw(value) for u in units} for w in WORLDS} for p in pids}
    seeds = pids[: data.draw(st.integers(1, n))]
    incumbent = data.draw(st.sampled_from(pids + [None]))
    choice = choose_robust(values, worlds=WORLDS, seeds=seeds, incumbent=incumbent, resamples=200)
    mean = {p: {w: sum(values[p][w].values()) / len(units) for w in WORLDS} for p in pids}
    best_seed = {w: max(mean[s][w] for s in seeds) for w in WORLDS}
    worst = {p: min(mean[p][w] - best_seed[w] for w in WORLDS) for p in pids}
    assert choice.worst == pytest.approx(worst)
    assert worst[choice.leader] == pytest.approx(max(worst.values()))
    assert max(choice.worst[s] for s in seeds) <= 1e-12  # no seed beats the best seed
    if incumbent is None:
        assert choice.chosen == choice.leader
    elif choice.chosen != incumbent:
        assert worst[choice.chosen] > worst[incumbent] and choice.tests[choice.chosen].confident
    if incumbent is not None and worst[incumbent] >= max(worst.values()) - 1e-12:
        assert choice.chosen == incumbent


def test_a_program_strong_in_one_world_loses_to_one_good_in_all_when_the_data_are_clear():
    fitness = {
        "seed": {"a": 0.70, "b": 0.70},
        "specialist": {"a": 0.90, "b": 0.65},
        "generalist": {"a": 0.78, "b": 0.76},
    }
    choice = choose_robust(_units(fitness, n=6), worlds=("a", "b"), seeds=("seed",), incumbent="specialist")
    assert choice.chosen == "generalist" and choice.tests["generalist"].confident
    assert choice.gain["specialist"] == pytest.approx({"a": 0.20, "b": -0.05})
    with pytest.raises(ValueError, match="no finite fitness for seed in world 'c'"):
        choose_robust(_units(fitness), worlds=("a", "c"), seeds=("seed",), incumbent=None)
    with pytest.raises(ValueError, match="at least one world and one seed"):
        choose_robust(_units(fitness), worlds=("a",), seeds=(), incumbent=None)


def _wobbly(
    means: Mapping[str, Mapping[str, float]], units: int, wobble: Mapping[str, float]
) -> dict[str, Any]:
    """Per-unit tables at exactly the given means: program ``p`` moves by +-``wobble[p]``
    on alternate units (mean unchanged), so its paired differences spread by that much."""
    return {
        p: {
            w: {f"{u // 10}:c{u % 10}": m + wobble.get(p, 0.0) * (1 if u % 2 else -1) for u in range(units)}
            for w, m in row.items()
        }
        for p, row in means.items()
    }


def test_a_small_worst_world_lead_within_noise_keeps_the_champion_a_large_one_replaces_it():
    close = {
        "seed": {"a": 0.70, "b": 0.70},
        "champion": {"a": 0.80, "b": 0.725},
        "challenger": {"a": 0.74, "b": 0.73},
    }  # worst-world lead +0.005, paired spread 0.06
    choice = choose_robust(
        _wobbly(close, 20, {"challenger": 0.06}), worlds=("a", "b"), seeds=("seed",), incumbent="champion"
    )
    assert choice.leader == "challenger" and choice.chosen == "champion"
    assert choice.tests["challenger"].mean == pytest.approx(0.005)
    assert not choice.tests["challenger"].confident and choice.tests["challenger"].low < 0.0
    clear = {
        "seed": {"a": 0.70, "b": 0.70},
        "champion": {"a": 0.80, "b": 0.68},
        "challenger": {"a": 0.76, "b": 0.75},
    }  # worst-world lead +0.07, paired spread 0.06
    choice = choose_robust(
        _wobbly(clear, 20, {"challenger": 0.06}), worlds=("a", "b"), seeds=("seed",), incumbent="champion"
    )
    assert choice.chosen == "challenger" and choice.tests["challenger"].low > 0.0


def test_more_challengers_make_each_test_stricter():
    means = {"seed": {"a": 0.70}, "champion": {"a": 0.72}, "c1": {"a": 0.75}}
    one = choose_robust(
        _wobbly(means, 20, {"c1": 0.05}), worlds=("a",), seeds=("seed",), incumbent="champion"
    )
    more = dict(means, c2={"a": 0.73}, c3={"a": 0.725})
    three = choose_robust(
        _wobbly(more, 20, {"c1": 0.05}), worlds=("a",), seeds=("seed",), incumbent="champion"
    )
    assert three.tests["c1"].level > one.tests["c1"].level
    assert three.tests["c1"].low < one.tests["c1"].low


class FakeRun:
    """A run with stored validation tables in its own world and fixed tables elsewhere
    (the same at every replicate)."""

    def __init__(self, tables: Mapping[tuple[str, str], dict[str, float]], champion: str | None) -> None:
        self.tables = dict(tables)
        self.champion = champion
        self.events: list[tuple[str, str | None, dict[str, Any]]] = []
        self.crowned: list[tuple[str, dict[str, Any]]] = []
        self.asked: list[tuple[str, str, int]] = []

    def champion_id(self) -> str | None:
        return self.champion

    def validation_leaders(self, k: int) -> list[str]:
        return ["spec", "gen", "never-validated"][:k]

    def stored_validation(self, pid: str) -> dict[str, float]:
        return self.tables.get((pid, "default"), {})

    async def validate_in_world(self, pid: str, world: str, replicate: int) -> dict[str, float]:
        self.asked.append((pid, world, replicate))
        return self.tables[(pid, world)]

    def record_event(self, kind: str, *, program_id: str | None, detail: Mapping[str, Any]) -> None:
        self.events.append((kind, program_id, dict(detail)))

    async def crown(self, pid: str, basis: Mapping[str, Any]) -> None:
        self.crowned.append((pid, dict(basis)))


def _tables() -> dict[tuple[str, str], dict[str, float]]:
    rows = {"seed": (0.70, 0.70), "spec": (0.90, 0.60), "gen": (0.78, 0.76)}
    return {
        (pid, world): {f"c{i}": v[j] + 0.01 * (i % 3) for i in range(6)}
        for pid, v in rows.items()
        for j, world in enumerate(("default", "literal"))
    }


def test_robust_select_records_every_table_and_crowns_the_robust_program():
    run = FakeRun(_tables(), champion="spec")
    choice = asyncio.run(
        robust_select(
            run, own_world="default", other_worlds=["literal", "default"], seed_ids=["seed"], replicates=2
        )
    )
    assert choice is not None and choice.chosen == "gen" and choice.worlds == ("default", "literal")
    # the own world's replicate 0 is the stored evaluation; everything else is asked once
    assert sorted(run.asked) == sorted(
        (p, w, r)
        for p in ("gen", "seed", "spec")
        for w in ("default", "literal")
        for r in (0, 1)
        if (w, r) != ("default", 0)
    )
    validated = [
        (pid, d["world"], d["replicate"]) for kind, pid, d in run.events if kind == "robust_validated"
    ]
    assert sorted(validated) == sorted(a for a in run.asked if a[1] == "literal")
    selection = [d for kind, _, d in run.events if kind == "robust_selection"]
    assert len(selection) == 1 and selection[0]["chosen"] == "gen" and selection[0]["incumbent"] == "spec"
    assert selection[0]["units"] == 12 and selection[0]["tests"]["gen"]["confident"] is True
    assert run.crowned[0][0] == "gen"
    assert run.crowned[0][1]["worst_world_gain"] == pytest.approx(0.06)
    assert run.crowned[0][1]["replaces"] == "spec" and run.crowned[0][1]["advantage"]["low"] > 0


def test_robust_select_keeps_a_robust_incumbent_without_crowning():
    run = FakeRun(_tables(), champion="gen")
    choice = asyncio.run(robust_select(run, own_world="default", other_worlds=["literal"], seed_ids=["seed"]))
    assert choice is not None and choice.chosen == "gen" and run.crowned == [] and choice.tests == {}
    assert (
        asyncio.run(
            robust_select(FakeRun({}, None), own_world="default", other_worlds=["literal"], seed_ids=["seed"])
        )
        is None
    )


class LuckyEarlyRun(FakeRun):
    """``lucky`` leads by 0.05 everywhere on the replicates the races used (0-5) and is
    level with the champion on later ones: its lead was the seeds', not the program's."""

    async def validate_in_world(self, pid: str, world: str, replicate: int) -> dict[str, float]:
        self.asked.append((pid, world, replicate))
        lift = 0.05 if pid == "lucky" and replicate < 6 else 0.0
        return (
            {c: v + lift for c, v in self.tables[("champ", world)].items()}
            if pid == "lucky"
            else self.tables[(pid, world)]
        )

    def validation_leaders(self, k: int) -> list[str]:
        return ["lucky"][:k]

    def stored_validation(self, pid: str) -> dict[str, float]:
        base = self.tables[("champ" if pid == "lucky" else pid, "default")]
        return {c: v + (0.05 if pid == "lucky" else 0.0) for c, v in base.items()}


def _lucky_tables() -> dict[tuple[str, str], dict[str, float]]:
    rows = {"seed": 0.70, "champ": 0.75}
    return {
        (pid, world): {f"c{i}": v + 0.02 * (i % 3) for i in range(10)}
        for pid, v in rows.items()
        for world in ("default", "literal")
    }


def test_fresh_replicates_test_the_leaders_on_seeds_that_did_not_pick_them():
    reused = LuckyEarlyRun(_lucky_tables(), champion="champ")
    choice = asyncio.run(
        robust_select(reused, own_world="default", other_worlds=["literal"], seed_ids=["seed"])
    )
    assert choice is not None and choice.chosen == "lucky"  # replicates 0-1: the lucky draw decides
    fresh = LuckyEarlyRun(_lucky_tables(), champion="champ")
    choice = asyncio.run(
        robust_select(
            fresh, own_world="default", other_worlds=["literal"], seed_ids=["seed"], first_replicate=6
        )
    )
    assert choice is not None and choice.chosen == "champ" and fresh.crowned == []
    assert choice.worst["lucky"] == pytest.approx(choice.worst["champ"])
    # every world is asked on replicates 6 and 7 only, the run's own world included
    assert sorted(fresh.asked) == sorted(
        (p, w, r) for p in ("champ", "lucky", "seed") for w in ("default", "literal") for r in (6, 7)
    )
    validated = [
        (pid, d["world"], d["replicate"]) for kind, pid, d in fresh.events if kind == "robust_validated"
    ]
    assert sorted(validated) == sorted(fresh.asked)
    with pytest.raises(ValueError, match="first_replicate must be >= 0"):
        asyncio.run(
            robust_select(
                fresh, own_world="default", other_worlds=["literal"], seed_ids=["seed"], first_replicate=-1
            )
        )


def test_world_validate_is_checked():
    assert config_from_dict({"world": {"validate": ["literal"]}}).world.validate == ("literal",)
    with pytest.raises(ConfigError, match=r"^world\.validate_replicates: must be >= 1"):
        config_from_dict({"world": {"validate": ["literal"], "validate_replicates": 0}})
    with pytest.raises(ConfigError, match=r"^world\.validate\[1\]: unknown world 'colapsed'.*'collapsed'"):
        config_from_dict({"world": {"validate": ["literal", "colapsed"]}})
    real = {"models": {"persona": "openai/gpt-4o-mini", "respondent": "openai/gpt-4o-mini"}}
    with pytest.raises(
        ConfigError, match=r"^world\.validate: robust selection .* needs the persona or respondent"
    ):
        config_from_dict({**real, "world": {"validate": ["literal"]}})


SMALL = (
    E2E_SMALL.replace("evaluations = 6", "evaluations = 4")
    + """
[world]
validate = ["literal", "yea-sayer"]
"""
)


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
        rows = conn.execute(
            "SELECT kind, program_id, detail FROM events WHERE kind LIKE 'robust%' ORDER BY id"
        ).fetchall()
        champions = conn.execute(
            "SELECT program_id, detail FROM events WHERE kind = 'champion' ORDER BY id"
        ).fetchall()
    selection = [json.loads(d) for kind, _, d in rows if kind == "robust_selection"]
    assert len(selection) == 1 and selection[0]["chosen"] == robust["chosen"] == summary["champion"]["id"]
    validated = {(pid, json.loads(d)["world"]) for kind, pid, d in rows if kind == "robust_validated"}
    # fresh replicates (after the races' max_replicates) in every world, the run's own included
    assert {w for _, w in validated} == {"default", "literal", "yea-sayer"}
    assert {pid for pid, _ in validated} == set(selection[0]["fitness"])
    replicates = {json.loads(d)["replicate"] for kind, _, d in rows if kind == "robust_validated"}
    assert min(replicates) >= SearchSettings().max_replicates  # none the races could have used
    if robust["chosen"] != robust["incumbent"]:
        assert champions[-1][0] == robust["chosen"] and json.loads(champions[-1][1])["basis"] == "robust"
    report = (Path(summary["report"])).read_text()
    assert "## Robust selection across simulated worlds" in report
    assert "`default`, `literal`, `yea-sayer`" in report
