"""The ``[search]`` table of the run config: it reaches the controller, bad values are
one-line errors naming the key, ``--print-config`` shows it, the run stores it and a resume
keeps it or (given a config file) changes it with a ``search_changed`` event. Also the
yield book a resumed run rebuilds from its events equals the live one."""

from __future__ import annotations

import dataclasses
import re
import sqlite3
import tomllib
from pathlib import Path
from typing import Any

import pytest
from test_controller_fakes import FakeEvaluator, FakeMutator, contexts, edit, quality_edit, run  # noqa: F401

from archive import Archive
from archive.records import AddStatus, ArchiveConfig
from archive.selection import ChildOutcome
from evolve.budget.caps import RunBudget
from evolve.cli import main
from evolve.common.search import DEFAULT_SEARCH, SearchSettings
from evolve.config import ConfigError, RunConfig, config_from_dict, load_config, replace_path
from evolve.loop import run as run_module
from evolve.loop.controller import Controller
from evolve.loop.run import execute_run
from evolve.loop.yields import child_outcome, stored_yields

SEARCH_TOML = """
[search]
confidence = 0.9
max_replicates = 3
champion_replicates = 2
selection = "config"
truthful_prompts = false
"""
CONFIGURED = SearchSettings(
    confidence=0.9, max_replicates=3, champion_replicates=2, selection="config", truthful_prompts=False
)


def _toml(tmp_path: Path, text: str, name: str = "run.toml") -> Path:
    path = tmp_path / name
    path.write_text("[budget]\nevaluations = 2\n" + text)
    return path


def _controller(
    tmp_path: Path,
    contexts,
    config: RunConfig,
    *,
    evaluator,
    mutator,
    evaluations: int,
    archive: Archive | None = None,
    smoke: int = 0,
    threshold: float = 0.0,
) -> Controller:
    """A controller on the fakes, built the way the run builds it (no ``search`` argument)."""
    config = replace_path(config, "islands.count", 1)
    config = replace_path(config, "cascade.smoke_contexts", smoke)
    config = replace_path(config, "cascade.threshold", threshold)
    config = replace_path(config, "mutation.full_rewrite_rate", 0.0)
    config = replace_path(config, "evaluation.n", 10)
    archive = archive or Archive.create(
        url_or_path=tmp_path / "archive.db", config=ArchiveConfig(islands=1), run_config={}, seed=config.seed
    )
    return Controller(
        config=config,
        archive=archive,
        mutator=mutator,
        evaluator=evaluator,
        contexts=contexts,
        budget=RunBudget(evaluations=evaluations, llm_calls=None, dollars=None, minutes=None),
    )


# ---- the config table ---------------------------------------------------------------------------


def test_the_table_has_one_key_per_setting_with_its_defaults(tmp_path):
    assert RunConfig().search == DEFAULT_SEARCH == SearchSettings()
    config = load_config(_toml(tmp_path, SEARCH_TOML))
    assert config.search == CONFIGURED
    assert config_from_dict({"search": {"paired": False, "promotion": False}}).search.paired is False


@pytest.mark.parametrize(
    "table, message",
    [
        ("confidence = 1.0", "search.confidence: must be in (0, 1), got 1.0"),
        ("confidence = 0", "search.confidence: must be in (0, 1), got 0.0"),
        ("max_replicates = 0", "search.max_replicates: must be >= 1, got 0"),
        ("champion_replicates = -2", "search.champion_replicates: must be >= 1, got -2"),
        ('selection = "fitness"', "search.selection: must be 'balanced' or 'config', got 'fitness'"),
        ("paired = false", "search.promotion: needs paired = true"),
        ('paired = "yes"', "search.paired: expected true/false, got 'yes'"),
        ("max_replicates = 2.5", "search.max_replicates: expected an integer, got 2.5"),
        ("confidense = 0.9", "search.confidense: unknown key (did you mean 'confidence'?)"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_key(tmp_path, capsys, table, message):
    path = _toml(tmp_path, f"[search]\n{table}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert message in str(info.value) and "\n" not in str(info.value)
    assert main(["run", "--config", str(path), "--print-config"]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and message in err[0]


def test_print_config_shows_the_table(tmp_path, capsys):
    assert main(["run", "--config", str(_toml(tmp_path, SEARCH_TOML)), "--print-config"]) == 0
    out = capsys.readouterr().out
    table = out.split("[search]\n", 1)[1].split("\n\n", 1)[0]
    assert table.splitlines() == [
        "paired = true",
        "promotion = true",
        "confidence = 0.9",
        "max_replicates = 3",
        "champion_replicates = 2",
        'selection = "config"',
        "truthful_prompts = false",
        "twins = true",
        "restore_on_loss = false",
        "static_twins = true",
        "reach = false",
        "adaptive = false",
        "champion_share = 0.25",
    ]
    assert main(["run", "--print-config"]) == 0
    assert "[search]\npaired = true\npromotion = true\nconfidence = 0.8\n" in capsys.readouterr().out


# ---- the controller receives them ---------------------------------------------------------------


def test_the_configured_settings_reach_the_controller_and_its_races(tmp_path, contexts):
    config = load_config(_toml(tmp_path, SEARCH_TOML))
    c = _controller(
        tmp_path,
        contexts,
        config,
        evaluator=FakeEvaluator(),
        evaluations=1,
        mutator=FakeMutator(lambda code, k: quality_edit(code, 0.8) if k == 0 else ""),
    )
    assert c.search == CONFIGURED and c.racer.rule.confidence == 0.9 and c.racer.rule.max_replicates == 3
    run(c)
    raced = {e["detail"]["scope"]: e["detail"] for e in c.archive.events(kind="raced")}
    assert raced["island"]["decision"] == "accepted"
    assert {d["confidence"] for d in raced.values()} == {0.9}
    assert all(d["first_replicate"] + d["replicates"] <= 3 for d in raced.values())
    assert c.archive.events(kind="champion")[0]["detail"]["replicates"] == 2  # champion_replicates
    c.archive.close()


# ---- stored with the run, kept or changed by a resume -------------------------------------------


@pytest.fixture
def captured(monkeypatch) -> list[tuple[RunConfig, list[dict[str, Any]]]]:
    """``execute_run`` up to the controller: no sandbox probe, no Ray; records the config
    it would run with and the archive's ``search_changed`` events."""
    seen: list[tuple[RunConfig, list[dict[str, Any]]]] = []

    def fake_execute(config, archive, *args, **kwargs):
        seen.append((config, archive.events(kind="search_changed")))
        archive.close()
        return {}

    monkeypatch.setattr(run_module, "sandbox_weakness", lambda config: [])
    monkeypatch.setattr(run_module, "_execute", fake_execute)
    return seen


def test_the_run_stores_the_table_and_a_resume_keeps_or_changes_it(tmp_path, captured):
    db = tmp_path / "archive.db"
    first = dataclasses.replace(load_config(_toml(tmp_path, SEARCH_TOML)), db=str(db))
    execute_run(first)
    assert captured[-1][0].search == CONFIGURED
    stored = Archive.open(url_or_path=str(db), readonly=True)
    assert stored.run_info()["run_config"]["search"]["max_replicates"] == 3
    stored.close()

    execute_run(dataclasses.replace(RunConfig(), db=str(db)), resume=True, overridden={"budget"})
    assert captured[-1][0].search == CONFIGURED and captured[-1][1] == []  # no config file: the stored ones

    changed = _toml(tmp_path, '[search]\nconfidence = 0.95\nselection = "balanced"\n', "changed.toml")
    execute_run(
        dataclasses.replace(load_config(changed), db=str(db)), resume=True, overridden={"config_file"}
    )
    config, events = captured[-1]
    assert config.search == SearchSettings(confidence=0.95)
    assert len(events) == 1 and events[0]["detail"]["from"]["max_replicates"] == 3
    assert events[0]["detail"]["to"]["confidence"] == 0.95

    execute_run(dataclasses.replace(RunConfig(), db=str(db)), resume=True, overridden=set())
    config, events = captured[-1]
    assert config.search == SearchSettings(confidence=0.95) and len(events) == 1  # the change is kept, once


def test_a_run_stored_before_the_table_resumes_with_the_defaults(tmp_path, captured):
    db = tmp_path / "archive.db"
    execute_run(dataclasses.replace(RunConfig(), db=str(db)))
    with sqlite3.connect(db) as conn:  # the stored config as written before [search] existed
        (raw,) = conn.execute("SELECT run_config FROM runs").fetchone()
        conn.execute("UPDATE runs SET run_config = ?", (re.sub(r',\s*"search":\s*\{[^}]*\}', "", raw),))
    execute_run(dataclasses.replace(RunConfig(), db=str(db)), resume=True)
    assert captured[-1][0].search == DEFAULT_SEARCH and captured[-1][1] == []


# ---- the yield book of a resumed run ------------------------------------------------------------


def test_child_outcome_of_every_status():
    assert {s.value: child_outcome(s.value) for s in AddStatus} == {
        "new_cell": ChildOutcome.IMPROVED,
        "improved": ChildOutcome.IMPROVED,
        "not_improved": ChildOutcome.SURVIVED,
        "failed": ChildOutcome.WASTED,
        "duplicate": ChildOutcome.WASTED,
    }


def _mixed(code: str, k: int) -> str:
    """Every kind of child in turn: an edit that does not apply, a better one, a neutral one,
    a broken one, the neutral one again (a duplicate when its parent is the same), a mutator error."""
    step = k % 6
    if step == 0:
        return edit("NO SUCH LINE", "x = 1")
    if step == 1:
        return quality_edit(code, 0.5 + 0.004 * k)
    if step in (2, 4):
        return edit(re.search(r"EXTRA = \d+", code).group(0), f"EXTRA = {k - step + 2}")
    if step == 3:
        return edit(re.search(r"EXTRA = \d+", code).group(0), "EXTRA = 3\nBROKEN = 1")
    raise ConnectionError("mutator unreachable")


@pytest.mark.parametrize("smoke, share", [(0, 0.0), (1, 0.0), (0, 0.25), (1, 0.25)])
def test_the_rebuilt_yield_book_equals_the_live_one(tmp_path, contexts, smoke, share):
    config = replace_path(replace_path(RunConfig(), "seed", smoke), "search.champion_share", share)
    cascade = {
        "smoke": smoke,
        "threshold": 0.95 if smoke else 0.0,
    }  # on: some children stop at the smoke stage
    c = _controller(
        tmp_path,
        contexts,
        config,
        evaluator=FakeEvaluator(),
        mutator=FakeMutator(_mixed),
        evaluations=8,
        **cascade,
    )
    run(c)
    live = c.yields
    kinds = {e["detail"]["reason"] for e in c.archive.events(kind="rejected")}
    # with a smoke stage, children tying their parent are twins, rejected there; without, evaluated ties
    # (which kinds 8 evaluations meet depends on the order of parents: checked with the grid only)
    if share == 0.0:
        assert {
            "diff_failed",
            "mutator_error",
            "duplicate",
            *(("cascade", "twin") if smoke else ("failed",)),
        } <= kinds
        assert sum(live.children.values()) >= 12
    else:
        assert {e["detail"]["parent_source"] for e in c.archive.events(kind="proposed")} >= {
            "champion",
            "grid",
        }
    assert bool(c.stats.statuses.get("not_improved")) != bool(smoke)
    assert sum(live.hits.values()) and sum(live.children.values()) >= 8
    assert bool(c.stats.statuses.get("failed")) != bool(
        smoke
    )  # a broken child: failed in full, or at the smoke stage
    path = c.archive._target.path
    c.archive.close()

    reopened = Archive.open(url_or_path=str(path))
    rebuilt = stored_yields(reopened)
    assert (rebuilt.children, rebuilt.hits, rebuilt.survived) == (live.children, live.hits, live.survived)
    resumed = _controller(
        tmp_path,
        contexts,
        config,
        evaluator=FakeEvaluator(),
        mutator=FakeMutator(_mixed),
        evaluations=8,
        archive=reopened,
        **cascade,
    )  # what a resume builds
    assert resumed.yields.children == live.children and resumed.yields.hits == live.hits
    assert all(resumed.yields.yield_of(p) == live.yield_of(p) for p in live.children)
    reopened.close()


def test_a_new_run_starts_with_an_empty_book(tmp_path, contexts):
    c = _controller(
        tmp_path, contexts, RunConfig(), evaluator=FakeEvaluator(), mutator=FakeMutator(_mixed), evaluations=1
    )
    assert c.yields.children == {} and c.yields.hits == {}
    c.archive.close()


def test_the_readme_table_shows_the_defaults():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    block = readme.split("```toml\n[search]\n", 1)[1].split("```", 1)[0]
    assert config_from_dict({"search": tomllib.loads(block)}).search == DEFAULT_SEARCH
    assert set(tomllib.loads(block)) == {f.name for f in dataclasses.fields(SearchSettings)}


def test_a_search_change_is_one_history_line_naming_only_the_keys_that_changed(tmp_path):
    from archive import Archive
    from archive.reader import ArchiveReader
    from archive.records import ArchiveConfig
    from evolve.common.search import SearchSettings
    from evolve.config import config_to_dict
    from evolve.outputs.inspect.history import budget_history, history_lines

    db = tmp_path / "archive.db"
    archive = Archive.create(url_or_path=db, config=ArchiveConfig(islands=1), run_config={}, seed=0)
    before = config_to_dict(SearchSettings())
    after = {**before, "confidence": 0.9, "max_replicates": 4}
    archive.record_event("search_changed", detail={"from": before, "to": after})
    archive.close()
    reader = ArchiveReader.open(str(db))
    try:
        history = budget_history(reader)
    finally:
        reader.close()
    (change,) = history["search_changes"]
    assert change["changes"] == {
        "confidence": {"from": before["confidence"], "to": 0.9},
        "max_replicates": {"from": before["max_replicates"], "to": 4},
    }
    (line,) = history_lines(history)
    assert line.startswith("search settings changed ")
    assert line.endswith(
        f": confidence {before['confidence']} -> 0.9, max_replicates {before['max_replicates']} -> 4"
    )
