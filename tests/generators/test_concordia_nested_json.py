"""Concordia-protocol generators that ask for nested JSON (written by the team in the style of
the paper's two-stage generators) run end to end on the sim through ``generate``: stage 1
gets the nested shapes it asked for (attitudes keyed by axis, per-axis stance objects with
the stated targets copied, lists of quotes), stage 2 iterates over them and expands each
persona, and the final descriptions keep the sim's trait sentences."""

from __future__ import annotations

import json
from pathlib import Path

from evolve.cli import main
from generators.context_loader import resolve_context
from generators.sim.text import norm_axis

FIXTURES = Path(__file__).resolve().parent / "concordia_fixtures"
CONTEXT = "airline_rebooking_desk"


def _generate(tmp_path: Path, fixture: str, n: int = 6, seed: int = 2) -> list[dict]:
    out = tmp_path / f"{fixture}.jsonl"
    code = main(
        [
            "generate",
            "--generator",
            f"concordia:{FIXTURES / fixture}",
            "--context",
            CONTEXT,
            "-n",
            str(n),
            "--model",
            "sim",
            "--seed",
            str(seed),
            "--out",
            str(out),
        ]
    )
    assert code == 0
    return [json.loads(line) for line in out.read_text().splitlines()]


def _axes() -> list[str]:
    return [norm_axis(a) for a in resolve_context(CONTEXT).axis_names]


def test_attitude_batches_get_dictionaries_keyed_by_axis(concordia_py: str, tmp_path: Path, capsys) -> None:
    personas = _generate(tmp_path, "attitudes_batch_generator.py")
    assert len(personas) == 6
    for p in personas:
        chars = p["characteristics"]
        assert p["concordia"]["stage1_returned"] == 6 and not p["concordia"]["name_missing"]
        attitudes = chars["specific_attitudes"]
        assert isinstance(attitudes, dict) and [norm_axis(k) for k in attitudes] == _axes()
        assert all(isinstance(v, str) and v for v in attitudes.values())
        assert isinstance(chars["axis_position"], dict) and isinstance(chars["core_motivation"], str)
        assert p["memories"] and "(expanded)" in p["memories"][0]  # stage 2 ran on the dictionary
        assert "When it comes to" in p["description"]  # sim text the respondent can read
    capsys.readouterr()


def test_nested_profiles_keep_the_stated_targets(concordia_py: str, tmp_path: Path, capsys) -> None:
    personas = _generate(tmp_path, "nested_profile_generator.py")
    assert len(personas) == 6
    points = set()
    for p in personas:
        chars = p["characteristics"]
        stance = chars["stance"]
        assert [norm_axis(k) for k in stance] == _axes()
        for entry in stance.values():
            assert set(entry) == {"score", "reason"} and 0.0 <= entry["score"] <= 1.0
            assert isinstance(entry["reason"], str)
        points.add(tuple(entry["score"] for entry in stance.values()))
        assert isinstance(chars["background"]["age"], int) and isinstance(
            chars["background"]["occupation"], str
        )
        assert len(chars["quotes"]) == 2 and all(isinstance(q, str) for q in chars["quotes"])
        assert p["memories"] and "When it comes to" in p["description"]
    assert len(points) == 6  # each persona's own targets copied, not one shared value
    capsys.readouterr()
