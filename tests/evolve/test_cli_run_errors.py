"""`persona-evolve run`: bad input gives one clear line and writes nothing."""

from __future__ import annotations

import json

import pytest

from evolve.cli import main
from evolve.config import load_config


def _errors(capsys) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]


def test_config_typo_names_key_and_suggests(tmp_path, capsys):
    cfg = tmp_path / "run.toml"
    cfg.write_text("[budget]\nevaluatons = 3\n")
    assert main(["run", "--config", str(cfg), "--db", str(tmp_path / "a.db")]) == 2
    err = _errors(capsys)
    assert len(err) == 1 and "budget.evaluatons: unknown key (did you mean 'evaluations'?)" in err[0]
    assert not (tmp_path / "a.db").exists()


def test_broken_context_file_is_one_line_and_nothing_written(tmp_path, capsys):
    ctx = tmp_path / "broken.json"
    ctx.write_text(
        json.dumps({"id": "x", "description": "d", "scale": {"min": 1, "max": 5}, "axes": [{"name": "a"}]})
    )
    cfg = tmp_path / "run.toml"
    cfg.write_text(f'[contexts]\ntrain = ["{ctx}"]\n[budget]\nevaluations = 1\n')
    db = tmp_path / "out" / "a.db"
    assert main(["run", "--config", str(cfg), "--db", str(db)]) == 1
    err = _errors(capsys)
    assert len(err) == 1
    assert f"contexts.train: {ctx}: $.axes: need 2-6 axes, got 1" in err[0] and "contexts validate" in err[0]
    assert not db.parent.exists()


def test_unknown_context_id_suggests(tmp_path, capsys):
    cfg = tmp_path / "run.toml"
    cfg.write_text('[contexts]\nvalidation = ["airline_rebookng_desk"]\n[budget]\nevaluations = 1\n')
    assert main(["run", "--config", str(cfg), "--db", str(tmp_path / "a.db")]) == 1
    assert "did you mean: airline_rebooking_desk" in _errors(capsys)[0]


def test_resume_needs_existing_db(tmp_path, capsys):
    assert main(["run", "--resume"]) == 2
    assert "--resume needs --db" in _errors(capsys)[0]
    assert main(["run", "--resume", "--db", str(tmp_path / "none.db")]) == 1
    assert f"--resume: no such database: {tmp_path / 'none.db'}" in _errors(capsys)[0]


def test_print_config_is_the_effective_config(tmp_path, capsys):
    assert (
        main(["run", "--print-config", "--budget-evals", "7", "--seed", "9", "-n", "12", "--islands", "5"])
        == 0
    )
    out = tmp_path / "effective.toml"
    out.write_text(capsys.readouterr().out)
    config = load_config(out)
    assert (config.budget.evaluations, config.seed, config.evaluation.n, config.islands.count) == (
        7,
        9,
        12,
        5,
    )
    assert config.budget.minutes is None  # --budget-evals alone replaces the default time cap
    assert config.models.persona.model == "sim"


def test_model_flag_sets_every_role(capsys):
    assert (
        main(
            ["run", "--print-config", "--model", "openai/gpt-4o-mini", "--api-base", "http://127.0.0.1:9/v1"]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert out.count('model = "openai/gpt-4o-mini"') == 4
    assert out.count('api_base = "http://127.0.0.1:9/v1"') == 4


@pytest.mark.parametrize(
    "argv, hint",
    [
        (["rnu"], "did you mean 'run'?"),
        (["inspect", "--db", "x.db", "smmary"], "did you mean 'summary'?"),
        (["worlds", "--jsn"], "did you mean '--json'?"),
        (["run", "--budget-evls", "3"], "did you mean '--budget-evals'?"),
    ],
)
def test_a_typo_in_a_command_or_flag_gets_the_closest_one(argv, hint, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].endswith(f"({hint})")
