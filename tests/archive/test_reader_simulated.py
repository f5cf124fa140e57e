"""Scores are labelled simulated exactly when a scoring role (persona, respondent) ran on
``sim``; a sim mutator (the offline operator) or an unused author role changes no score."""

from __future__ import annotations

from pathlib import Path

import pytest

from archive import Archive, ArchiveConfig
from archive.reader import ArchiveReader


def _models(**roles: str) -> dict:
    base = {"mutator": "openai/m", "persona": "openai/p", "respondent": "openai/r", "author": "sim"}
    return {"models": {role: {"model": model} for role, model in {**base, **roles}.items()}}


@pytest.mark.parametrize(
    "roles, expected",
    [
        ({}, []),  # author = sim is never used by a run
        ({"mutator": "sim"}, []),  # offline operator: no simulated score
        ({"persona": "sim"}, ["persona"]),
        ({"respondent": "sim"}, ["respondent"]),
        ({"persona": "sim", "respondent": "sim", "mutator": "sim"}, ["persona", "respondent"]),
    ],
)
def test_simulated_names_only_scoring_roles(tmp_path: Path, roles, expected) -> None:
    db = tmp_path / "a.db"
    Archive.create(
        url_or_path=db, config=ArchiveConfig(islands=1), run_config=_models(**roles), seed=0
    ).close()
    with ArchiveReader.open(db) as reader:
        assert reader.simulated_roles() == expected
        assert reader.simulated() is bool(expected)
