"""[seeds] programs: shipped seeds and Concordia classes, with one-line config errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from evolve.common.seed_programs import SeedProgramError, load_seed_programs
from evolve.config import ConfigError, config_from_dict

FIXTURE = (
    Path(__file__).resolve().parents[1] / "generators" / "concordia_fixtures" / "paper_style_generator.py"
)


def test_mixed_seeds_get_labels_and_wrapped_code() -> None:
    seeds = load_seed_programs(
        ["seed:sobol", f"concordia:{FIXTURE}", f"concordia:{FIXTURE}:SpaceFillingJsonGenerator"]
    )
    assert list(seeds) == [
        "seed:sobol",
        "concordia:paper_style_generator",
        "concordia:paper_style_generator:SpaceFillingJsonGenerator",
    ]
    assert "# EVOLVE-BLOCK-START" in seeds["concordia:paper_style_generator"]


def test_config_section_and_errors() -> None:
    cfg = config_from_dict({"seeds": {"programs": ["seed:naive", f"concordia:{FIXTURE}"]}})
    assert cfg.seeds.programs == ("seed:naive", f"concordia:{FIXTURE}")
    assert config_from_dict({}).seeds.programs == ("seed:naive", "seed:batch", "seed:sobol")
    with pytest.raises(ConfigError, match="unknown seed 'seed:sobel'"):
        config_from_dict({"seeds": {"programs": ["seed:sobel"]}})
    with pytest.raises(ConfigError, match="neither seed:NAME, concordia:FILE.py"):
        config_from_dict({"seeds": {"programs": ["gen.txt"]}})
    with pytest.raises(SeedProgramError, match="no such file"):
        load_seed_programs(["concordia:/nonexistent.py"])
