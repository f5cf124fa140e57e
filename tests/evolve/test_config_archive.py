"""The [archive] table: descriptors declared once, ranges from data or fixed, one-line errors."""

from __future__ import annotations

import pytest

from archive.records import DescriptorSpec, declared_spec
from evolve.config import (
    ArchiveSettings,
    ConfigError,
    RunConfig,
    config_from_dict,
    config_to_dict,
    load_config,
    to_toml,
)
from evolve.loop.run import archive_config
from metrics.descriptors import DESCRIPTORS


@pytest.mark.parametrize(
    "archive, fragment",
    [
        ({"descriptors": [{"name": "centre_distanse"}]}, "did you mean 'centre_distance'"),
        (
            {"descriptors": [{"name": "tail_share", "low": 0.1}]},
            "archive.descriptors[0]: descriptor 'tail_share': give both low and high",
        ),
        (
            {"descriptors": [{"name": "tail_share", "bins": 0}]},
            "archive.descriptors[0]: descriptor 'tail_share': bins must be >= 1",
        ),
        (
            {"descriptors": [{"name": "tail_share"}, {"name": "tail_share"}]},
            "archive.descriptors: duplicate names",
        ),
        ({"descriptors": []}, "archive.descriptors: list at least one"),
        ({"calibrate_after": -1}, "archive.calibrate_after: must be >= 0"),
        ({"descriptors": [{"name": "text_length", "low": 0.0, "high": 10.0}]}, "log bins need low > 0"),
        ({"descriptors": [{"name": "tail_share", "low": 1.0, "high": 0.5}]}, "need finite low < high"),
        (
            {"descriptors": [{"name": "tail_share", "bins": 4, "colour": 1}]},
            "archive.descriptors[0].colour: unknown key",
        ),
        (
            {"descriptors": {"name": "tail_share", "bins": True}},
            "archive.descriptors[0].bins: expected an integer, got True",
        ),
        (
            {"descriptors": [{"name": "tail_share", "bins": "4"}]},
            "archive.descriptors[0].bins: expected an integer",
        ),
        ({"calibrate_aftr": 3}, "archive.calibrate_aftr: unknown key (did you mean 'calibrate_after'?)"),
    ],
)
def test_archive_errors_are_one_line_naming_the_key(archive, fragment):
    with pytest.raises(ConfigError) as info:
        config_from_dict({"archive": archive})
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_descriptors_in_both_places_is_one_clear_error():
    with pytest.raises(ConfigError, match="declared both at the top level and in \\[archive\\]"):
        config_from_dict(
            {"descriptors": [{"name": "tail_share"}], "archive": {"descriptors": [{"name": "tail_share"}]}}
        )


def test_top_level_descriptors_of_stored_runs_are_read_as_archive_descriptors():
    old = {"descriptors": [{"name": "tail_share", "low": 0.0, "high": 1.0, "bins": 10, "log": False}]}
    config = config_from_dict(old)
    assert config.archive.descriptors == (DescriptorSpec("tail_share", 0.0, 1.0, 10, log=False),)


def test_defaults_name_registered_descriptors_with_ranges_from_data():
    config = RunConfig()
    assert config.archive.descriptors and all(d.name in DESCRIPTORS for d in config.archive.descriptors)
    specs = archive_config(config).descriptors
    assert (
        all(s.calibrate for s in specs)
        and archive_config(config).calibrate_after == config.archive.calibrate_after
    )
    assert [s.log for s in specs] == [DESCRIPTORS[d.name].log for d in config.archive.descriptors]


def test_fixed_ranges_stay_fixed_and_round_trip_through_toml(tmp_path):
    archive = ArchiveSettings(
        descriptors=(
            declared_spec("axis_correlation", bins=5),
            declared_spec("text_length", bins=4, low=100.0, high=1e4),
        ),
        calibrate_after=12,
    )
    config = config_from_dict({"archive": config_to_dict(archive)})
    assert config.archive == archive
    path = tmp_path / "run.toml"
    path.write_text(to_toml(config_to_dict(config)))
    import tomllib

    written = tomllib.loads(path.read_text())["archive"]["descriptors"]
    assert [d["name"] for d in written] == ["axis_correlation", "text_length"] and written[1]["high"] == 1e4
    assert load_config(path).archive == archive
    calibrated, fixed = archive_config(config).descriptors
    assert calibrated.calibrate and not fixed.calibrate
    assert (fixed.low, fixed.high, fixed.bins, fixed.log) == (100.0, 1e4, 4, True)


def _legacy_stored() -> dict:
    stored = config_to_dict(RunConfig())
    del stored["archive"]
    stored["descriptors"] = [
        {"name": "tail_share", "low": 0.0, "high": 1.0, "bins": 10, "log": False},
        {"name": "llm_tokens_per_persona", "low": 10.0, "high": 10000.0, "bins": 8, "log": True},
    ]
    return stored


def test_a_run_stored_before_the_archive_table_resumes_with_its_descriptors():
    from evolve.loop.resume import _merge_resume_config

    merged = _merge_resume_config(_legacy_stored(), RunConfig(), set())
    assert [d.name for d in merged.archive.descriptors] == ["tail_share", "llm_tokens_per_persona"]
    assert all(d.low is not None for d in merged.archive.descriptors)


def test_resuming_a_stored_run_with_other_descriptors_is_refused_in_one_line():
    from evolve.loop.errors import RunError
    from evolve.loop.resume import _merge_resume_config

    with pytest.raises(RunError) as info:
        _merge_resume_config(_legacy_stored(), RunConfig(), {"config_file"})
    assert "archive stored" in str(info.value) and "\n" not in str(info.value)


def test_one_default_grid_for_runs_and_bare_archives():
    from archive.records import DEFAULT_DESCRIPTORS, ArchiveConfig

    assert RunConfig().archive.descriptors == ArchiveConfig().descriptors == DEFAULT_DESCRIPTORS
    assert archive_config(RunConfig()).descriptors == DEFAULT_DESCRIPTORS
    assert [d.name for d in DEFAULT_DESCRIPTORS] == ["outer_share", "axis_correlation"]


def test_a_config_stored_in_the_declared_form_reads_back_to_the_same_specs():
    """Runs stored before the declaration and the archive spec were one type hold
    ``{name, bins, low: None, high: None, log: None}``; they read back to the calibrated specs."""
    stored = config_to_dict(RunConfig())
    stored["archive"]["descriptors"] = [
        {"name": d.name, "bins": d.bins, "low": None, "high": None, "log": None}
        for d in RunConfig().archive.descriptors
    ]
    assert config_from_dict(stored).archive == RunConfig().archive
    assert (
        config_from_dict(config_to_dict(RunConfig())).archive == RunConfig().archive
    )  # the stored form today
