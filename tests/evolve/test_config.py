"""Run config: TOML loading, unknown keys with suggestions, type errors, overrides."""

from __future__ import annotations

import pytest

from evolve.config import (
    ConfigError,
    RunConfig,
    config_from_dict,
    config_to_dict,
    load_config,
    replace_path,
    to_toml,
)


def test_defaults_are_valid_and_sim():
    config = config_from_dict({})
    assert config == RunConfig()
    assert config.models.uses_sim()
    assert config.budget.minutes == 4.0


def test_toml_round_trip(tmp_path):
    config = replace_path(RunConfig(), "budget.evaluations", 40)
    config = replace_path(config, "islands.count", 2)
    path = tmp_path / "run.toml"
    path.write_text(to_toml(config_to_dict(config)))
    assert load_config(path) == config


def test_role_model_as_string_or_table():
    config = config_from_dict(
        {
            "models": {
                "persona": "openai/gpt-4o-mini",
                "mutator": {"model": "openai/x", "api_base": "http://127.0.0.1:9/v1"},
            }
        }
    )
    assert config.models.persona.model == "openai/gpt-4o-mini"
    assert config.models.mutator.api_base == "http://127.0.0.1:9/v1"
    assert config.models.respondent.model == "sim"


@pytest.mark.parametrize(
    "data, fragment",
    [
        ({"budgte": {}}, "budgte: unknown key (did you mean 'budget'?)"),
        ({"budget": {"evaluatons": 3}}, "budget.evaluatons: unknown key (did you mean 'evaluations'?)"),
        (
            {"models": {"persona": {"modle": "x"}}},
            "models.persona.modle: unknown key (did you mean 'model'?)",
        ),
        ({"evaluation": {"n": "25"}}, "evaluation.n: expected an integer"),
        ({"evaluation": {"n": 1}}, "evaluation.n: must be >= 2"),
        ({"cascade": {"threshold": True}}, "cascade.threshold: expected a number"),
        ({"fitness": {"objective": "coverge"}}, "did you mean 'coverage'"),
        ({"budget": {}}, "budget: set at least one cap"),
        ({"mutation": {"parent_strategy": "best"}}, "mutation.parent_strategy"),
        (
            {"descriptors": [{"name": "tail_shar", "low": 0, "high": 1, "bins": 5}]},
            "did you mean 'tail_share'",
        ),
    ],
)
def test_errors_name_the_key(data, fragment):
    with pytest.raises(ConfigError) as info:
        config_from_dict(data)
    assert fragment in str(info.value)


def test_file_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[budget\nminutes = 3\n")
    with pytest.raises(ConfigError, match="bad.toml: invalid TOML"):
        load_config(bad)
    typo = tmp_path / "typo.toml"
    typo.write_text("[islands]\ncuont = 3\n")
    with pytest.raises(
        ConfigError, match=r"typo.toml: islands.cuont: unknown key \(did you mean 'count'\?\)"
    ):
        load_config(typo)
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "missing.toml")


def test_budget_table_replaces_the_default_budget(tmp_path):
    assert config_from_dict({}).budget.minutes == 4.0
    config = config_from_dict({"budget": {"evaluations": 40}})
    assert config.budget.evaluations == 40 and config.budget.minutes is None
    path = tmp_path / "run.toml"
    path.write_text(to_toml(config_to_dict(config)))
    assert load_config(path) == config


def test_weighted_fitness():
    config = config_from_dict({"fitness": {"weights": {"coverage": 1.0, "dispersion": 0.5}}})
    assert config.fitness.as_objective() == {"coverage": 1.0, "dispersion": 0.5}


def test_to_toml_round_trips_strings_toml_cannot_hold_raw() -> None:
    """Quotes, backslashes, newlines and tabs in a string survive the write and the read."""
    import tomllib

    data = {"run": {"name": 'a "quoted"\\ path\nwith\tcontrol', "skip": None, "seeds": [1, 2]}, "top": 0.5}
    back = tomllib.loads(to_toml(data))
    assert back == {"run": {"name": 'a "quoted"\\ path\nwith\tcontrol', "seeds": [1, 2]}, "top": 0.5}


def test_an_override_with_an_unknown_key_or_a_bad_value_is_one_line():
    from evolve.config import validate_config

    with pytest.raises(ConfigError, match=r"^evaluation\.nn: unknown key \(did you mean 'n'\?\)$"):
        replace_path(RunConfig(), "evaluation.nn", 3)
    with pytest.raises(ConfigError, match=r"^evaluaton: unknown key \(did you mean 'evaluation'\?\)$"):
        replace_path(RunConfig(), "evaluaton.n", 3)
    with pytest.raises(ConfigError, match=r"^evaluation\.n: expected an integer, got '25'$"):
        validate_config(replace_path(RunConfig(), "evaluation.n", "25"))


def test_a_role_is_the_llm_layers_model_config_and_keys_stay_out_of_it():
    from generators.llm import ModelConfig

    config = config_from_dict(
        {"models": {"persona": {"model": "openai/x", "extra": {"mock_response": "hi"}}}}
    )
    assert config.models.persona == ModelConfig(model="openai/x", extra={"mock_response": "hi"})
    assert hash(config.models.persona) == hash(
        ModelConfig(model="openai/x")
    )  # a dict extra does not unhash it
    assert "extra" not in config_to_dict(RunConfig())["models"]["persona"]  # the empty default is not written
    with pytest.raises(ConfigError, match=r"models\.persona\.extra\.api_key: keys never live in the config"):
        config_from_dict({"models": {"persona": {"model": "openai/x", "extra": {"api_key": "sk-1"}}}})
    with pytest.raises(ConfigError, match=r"^models\.persona: ModelConfig\.timeout_s must be > 0"):
        config_from_dict({"models": {"persona": {"timeout_s": 0}}})
