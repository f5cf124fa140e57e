"""Concordia generators run in the sandbox on the Python 3.12 interpreter with gdm-concordia
(.venv-concordia from scripts/concordia_env): protocol end to end on the sim, reproducible,
still confined (no reads of the project, no writes outside the working dir), and the one-line
error when no such interpreter exists."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evolve.cli import main
from generators.concordia import environment
from generators.concordia.wrap import load_concordia_generator
from generators.context_loader import resolve_context
from generators.population_record import RECORD_KEY
from generators.sandbox import GenerationJob, run_generator

FIXTURES = Path(__file__).resolve().parent / "concordia_fixtures"
ROOT = Path(__file__).resolve().parents[2]


def _generate(tmp_path: Path, fixture: str, seed: int, n: int = 6) -> list[dict]:
    out = tmp_path / f"{fixture}-{seed}.jsonl"
    code = main(
        [
            "generate",
            "--generator",
            f"concordia:{FIXTURES / fixture}",
            "--context",
            "airline_rebooking_desk",
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
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert all(r[RECORD_KEY]["n"] == n for r in rows)
    return [
        {k: v for k, v in r.items() if k != RECORD_KEY} for r in rows
    ]  # its population id is fresh per call


@pytest.mark.parametrize("fixture", ["paper_style_generator.py", "batch_style_generator.py"])
def test_protocol_end_to_end_on_the_sim(concordia_py: str, tmp_path: Path, fixture: str, capsys) -> None:
    personas = _generate(tmp_path, fixture, seed=4)
    assert len(personas) == 6
    for p in personas:
        assert p["name"] and p["description"] and isinstance(p["memories"], list) and p["memories"]
        assert p["concordia"]["stage1_returned"] == 6 and not p["concordia"]["name_missing"]
        assert "When it comes to" in p["description"]  # sim text the respondent can read
    if fixture == "paper_style_generator.py":  # JSON targets copied as axis_position, as asked
        assert set(personas[0]["characteristics"]["axis_position"]) == set(
            resolve_context("airline_rebooking_desk").axis_names
        )
    assert _generate(tmp_path, fixture, seed=4) == personas  # reproducible (lock-step stage 2)
    assert _generate(tmp_path, fixture, seed=5) != personas
    capsys.readouterr()


def test_a_concordia_generator_stays_confined(concordia_py: str) -> None:
    code = load_concordia_generator(f"concordia:{FIXTURES / 'hostile_generator.py'}")
    ctx = resolve_context("airline_rebooking_desk").public_dict()
    ctx["description"] += f" ROOT={ROOT}"

    async def no_llm(prompts, **_):
        return ["x"] * len(prompts)

    result = run_generator(code, [GenerationJob(context=ctx, n=1, seed=0)], llm=no_llm)[0]
    assert result.error is None, f"{result.error}\n{result.detail}"
    assert any(layer.startswith("landlock") for layer in result.isolation)
    assert any(layer.startswith("seccomp") for layer in result.isolation)
    probes = result.personas[0]["characteristics"]["results"]
    assert probes["write_cwd"] == "mine"
    for name in (
        "read_project",
        "list_project",
        "read_concordia_source_dir_parent",
        "write_tmp",
        "write_project",
    ):
        assert probes[name] in ("PermissionError", "OSError", "FileNotFoundError"), (name, probes[name])
    assert not Path("/tmp/pe_concordia_escape.txt").exists() and not (ROOT / "escape.txt").exists()


def test_on_python_3_11_without_concordia_the_error_is_one_line(monkeypatch, tmp_path: Path, capsys) -> None:
    import sys

    monkeypatch.setenv(environment.ENV_VAR, sys.executable)  # this 3.11 interpreter: no gdm-concordia
    environment.reset()
    try:
        code = main(
            [
                "generate",
                "--generator",
                f"concordia:{FIXTURES / 'paper_style_generator.py'}",
                "--context",
                "airline_rebooking_desk",
                "-n",
                "3",
                "--model",
                "sim",
            ]
        )
    finally:
        monkeypatch.delenv(environment.ENV_VAR)
        environment.reset()
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert err[-1].startswith("error: Concordia generators need Python >= 3.12 with gdm-concordia >= 2.4")
    assert "scripts/concordia_env" in err[-1]
    # whole, not cut: it names the variable to set and ends with the last way out
    assert f"set {environment.ENV_VAR}=/path/to/python3.12" in err[-1] and not err[-1].endswith("...")
