"""Choosing a simulated world: the ``worlds`` command, ``--world`` and ``[world] preset``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evolve.cli import main
from evolve.config import ConfigError, RunConfig, config_from_dict, config_to_dict
from evolve.loop.errors import RunError
from evolve.loop.resume import _merge_resume_config
from generators.sim.worlds import WORLDS


def test_worlds_lists_every_world_on_one_line_each(capsys):
    assert main(["worlds"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "SIMULATED" in out[0]
    listed = [line.split()[0] for line in out[1:]]
    assert listed == list(WORLDS)
    assert main(["worlds", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [w["name"] for w in data] == list(WORLDS)
    assert all(set(w["knobs"]) == set(WORLDS[w["name"]].changes) for w in data)


def test_world_preset_in_the_config_is_checked_with_a_suggestion():
    assert config_from_dict({"world": {"preset": "literal"}}).world.preset == "literal"
    with pytest.raises(ConfigError, match=r"^world\.preset: unknown world 'chaty'.*did you mean 'chatty'\?$"):
        config_from_dict({"world": {"preset": "chaty"}})
    with pytest.raises(ConfigError, match=r"world\.presets: unknown key \(did you mean 'preset'\?\)"):
        config_from_dict({"world": {"presets": "literal"}})


def test_world_flag_of_run_generate_and_score(capsys, tmp_path: Path):
    assert main(["run", "--world", "yea-sayer", "--print-config"]) == 0
    assert 'preset = "yea-sayer"' in capsys.readouterr().out
    assert main(["run", "--world", "nope", "--print-config"]) == 2
    assert capsys.readouterr().err.strip().startswith("error: config: world.preset: unknown world 'nope'")
    out = tmp_path / "p.jsonl"
    assert (
        main(
            [
                "generate",
                "--generator",
                "seed:naive",
                "--context",
                "airline_rebooking_desk",
                "-n",
                "4",
                "--world",
                "chatty",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert "(world 'chatty')" in capsys.readouterr().err
    default = main(["score", "--personas", str(out), "--context", "airline_rebooking_desk", "--json"])
    base = json.loads(capsys.readouterr().out)["metrics"]
    assert default == 0
    assert (
        main(
            [
                "score",
                "--personas",
                str(out),
                "--context",
                "airline_rebooking_desk",
                "--json",
                "--world",
                "extreme-responder",
            ]
        )
        == 0
    )
    extreme = json.loads(capsys.readouterr().out)["metrics"]
    assert extreme != base  # the respondent of that world answered differently
    assert main(["score", "--personas", str(out), "--context", "airline_rebooking_desk", "--world", "x"]) == 2
    assert capsys.readouterr().err.strip().startswith("error: --world: unknown world 'x'")


def test_a_resume_cannot_change_the_world():
    stored = config_to_dict(RunConfig())
    with pytest.raises(RunError, match=r"world\.preset stored default, given literal"):
        _merge_resume_config(
            stored, config_from_dict({"world": {"preset": "literal"}}), {"world.preset", "world"}
        )
    same = _merge_resume_config(stored, RunConfig(), {"budget"})
    assert same.world.preset == "default"
    # robust selection is a final-stage choice, not what stored scores mean: a resume may add it
    robust = _merge_resume_config(stored, config_from_dict({"world": {"validate": ["literal"]}}), {"world"})
    assert robust.world.preset == "default" and robust.world.validate == ("literal",)


def test_the_simulation_banner_fits_80_columns_and_names_a_world():
    from evolve.outputs.labels import RUN_ROLES, simulation_label

    default = simulation_label(list(RUN_ROLES))
    assert default.startswith("SIMULATED WORLD") and len(default) <= 80
    assert "world 'literal'" in simulation_label(list(RUN_ROLES), "literal")
    assert "world 'literal'" in simulation_label(["persona"], "literal")
