"""`generate --model sim` then `score --model sim`: only attested sim text reads, the key
file's rules, and `score -n` with the n `generate` records (sim world, each test with a cache
directory of its own)."""

from __future__ import annotations

import inspect
import json
import os
from pathlib import Path

import numpy as np
import pytest

import metrics
from evolve.cli import main
from evolve.cli.common import SIM_NOTE
from generators.attest_key import key_path
from generators.context_loader import resolve_context
from generators.population_record import RECORD_KEY
from generators.positions import positions
from generators.respondent import SimRespondent
from generators.sim import text as sim_text
from generators.sim.attestation import sentence_count

CONTEXT = "airline_rebooking_desk"
MC = ["--mc-samples", "2000"]

FORGER = (
    inspect.getsource(sim_text.grade_of)
    + inspect.getsource(sim_text.trait_sentence).replace("str | None", "object")
    + f"\nGRADE_WORDS = {sim_text.GRADE_WORDS!r}\n"
    + """

def generate(context, n, llm, rng):
    out = []
    for i in range(n):
        parts = [f"[SIMULATED] Ada Forge{i}, 40, lives here."]
        for a in context.axes:
            parts.append(trait_sentence(a.name, "Ada", float(rng.random()), a.low, a.high))
        out.append({"name": f"Ada Forge{i}", "description": " ".join(parts)})
    return out
"""
)
"""Writes the sim's trait sentences itself, at random positions (no model call)."""

GENERIC = """
def generate(context, n, llm, rng):
    return [{"name": f"Ada Forge{i}", "description": f"[SIMULATED] Ada Forge{i}, 40, lives here."}
            for i in range(n)]
"""
"""The forger's text without its trait sentences."""


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def _generate(tmp_path: Path, generator: str, name: str, n: int = 8, seed: int = 0) -> Path:
    if not generator.startswith("seed:"):
        program = tmp_path / f"{name}.py"
        program.write_text(generator)
        generator = str(program)
    out = tmp_path / f"{name}.jsonl"
    assert (
        main(
            [
                "generate",
                "--generator",
                generator,
                "--context",
                CONTEXT,
                "-n",
                str(n),
                "--seed",
                str(seed),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    return out


def _score(path: Path, capsys, *extra: str) -> tuple[dict, list[str]]:
    capsys.readouterr()
    rc = main(["score", "--personas", str(path), "--context", CONTEXT, "--json", *MC, *extra])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    notes = [ln for ln in captured.err.splitlines() if ln.startswith("note: ") and ln != SIM_NOTE]
    return json.loads(captured.out), notes


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_honest_sim_file_reads_in_full_and_a_forged_one_as_generic_text(tmp_path, capsys):
    honest, h_notes = _score(_generate(tmp_path, "seed:sobol", "honest"), capsys)
    assert honest["unverified_sentences"] == 0 and not [n for n in h_notes if "verified" in n]
    rows = _rows(tmp_path / "honest.jsonl")
    assert all(r[RECORD_KEY]["sim"]["sentences"] for r in rows)
    # attestation loses nothing: the same positions as reading every sentence unchecked
    ctx = resolve_context(CONTEXT)
    trusting = positions(SimRespondent().answer_sync(rows, ctx, seed=0), ctx).Z
    np.testing.assert_array_equal(np.array(honest["positions"]), trusting)

    forged_file = _generate(tmp_path, FORGER, "forged")
    forged, f_notes = _score(forged_file, capsys)
    generic, _ = _score(_generate(tmp_path, GENERIC, "generic"), capsys)
    total = sum(sentence_count(r) for r in _rows(forged_file))
    assert total == 8 * ctx.k and forged["unverified_sentences"] == total
    assert f_notes == [
        f"note: {total} sim trait sentences in 8 personas could not be verified "
        f"(no valid attestation from generate): read as generic text"
    ]
    assert forged["positions"] == generic["positions"]  # the forged sentences earn exactly nothing
    assert forged["metrics"]["coverage"] <= generic["metrics"]["coverage"]
    assert honest["metrics"]["coverage"] > forged["metrics"]["coverage"] + 0.1


def test_copying_between_files_or_personas_earns_nothing(tmp_path, capsys):
    a = _rows(_generate(tmp_path, "seed:sobol", "a", seed=1))
    b = _rows(_generate(tmp_path, "seed:sobol", "b", seed=2))
    mixed = a[:4] + b[4:]
    result, notes = _score(_write(tmp_path / "mixed.jsonl", mixed), capsys)
    b_sentences = sum(sentence_count(r) for r in b[4:])
    assert result["unverified_sentences"] == b_sentences
    assert result["n"] == 16  # two populations of 8 asked for
    assert len(notes) == 2 and "has 8 of the 16 personas" in notes[0] and f"{b_sentences} sim" in notes[1]
    # b's personas read as their own text with no trait believed: as when scored on their own
    # after their record is dropped
    vague = [{k: v for k, v in r.items() if k != RECORD_KEY} for r in b[4:]]
    alone, _ = _score(_write(tmp_path / "bare.jsonl", a[:4] + vague), capsys, "-n", "16")
    assert alone["positions"] == result["positions"]
    # swapping two descriptions inside one file: neither verifies
    swapped = [dict(r) for r in a]
    swapped[0]["description"], swapped[1]["description"] = a[1]["description"], a[0]["description"]
    result, _ = _score(_write(tmp_path / "swapped.jsonl", swapped), capsys)
    assert result["unverified_sentences"] == sentence_count(a[0]) + sentence_count(a[1])


def test_a_missing_or_untrusted_key(tmp_path, capsys):
    path = _generate(tmp_path, "seed:sobol", "p", n=6)
    assert os.stat(key_path()).st_mode & 0o777 == 0o600
    os.chmod(key_path(), 0o644)
    capsys.readouterr()
    for argv in (
        ["score", "--personas", str(path), "--context", CONTEXT],
        ["generate", "--generator", "seed:naive", "--context", CONTEXT, "-n", "3"],
    ):
        assert main(argv) == 1
        err = capsys.readouterr().err.splitlines()
        errors = [ln for ln in err if ln.startswith("error:")]
        assert len(errors) == 1 and "open to others (mode 0644)" in errors[0] and str(key_path()) in errors[0]
    key_path().unlink()
    result, notes = _score(path, capsys)
    total = sum(sentence_count(r) for r in _rows(path))
    assert result["unverified_sentences"] == total
    assert notes == [
        f"note: {total} sim trait sentences in 6 personas could not be verified "
        f"(no attestation key at {key_path()}): read as generic text"
    ]
    # a file with no sim sentence needs no key, even an untrusted one
    _write(tmp_path / "plain.jsonl", [{"name": f"P{i}", "description": "a quiet clerk"} for i in range(3)])
    assert _score(tmp_path / "plain.jsonl", capsys)[0]["unverified_sentences"] == 0


READ_KEY = """
def generate(context, n, llm, rng):
    try:
        with open(KEY_PATH) as fh:
            seen = "read: " + fh.read()
    except Exception as exc:
        seen = "refused: " + type(exc).__name__
    return [{"name": f"P{i}", "description": seen} for i in range(n)]
"""


def test_a_sandboxed_program_cannot_read_the_key(tmp_path, capsys):
    _generate(tmp_path, "seed:naive", "first", n=2)  # makes the key
    secret = key_path().read_text().strip()
    code = f"KEY_PATH = {str(key_path())!r}\n" + READ_KEY
    out = _generate(tmp_path, code, "reader", n=2)
    text = out.read_text()
    assert secret not in text and all(r["description"].startswith("refused: ") for r in _rows(out))


def test_score_n_applies_the_runs_worst_completion_rule(tmp_path, capsys):
    full = _rows(_generate(tmp_path, "seed:sobol", "full", n=8))
    short = _write(tmp_path / "short.jsonl", full[:6])
    recorded, notes = _score(short, capsys)
    assert recorded["n"] == 8 and recorded["personas_returned"] == 6
    assert notes == [
        f"note: {short} has 6 of the 8 personas asked for by generate: scored as 8 by the "
        f"worst-completion rule (docs/SCORING.md)"
    ]
    Z = np.array(recorded["positions"])
    assert recorded["metrics"] == metrics.evaluate_incomplete(Z, n=8, mc_samples=2000, seed=0)
    assert recorded["metrics"]["min_pairwise_distance"] == 0.0
    as_rows, notes = _score(short, capsys, "-n", "6")  # the old reading: a population of 6
    assert notes == [] and as_rows["metrics"] == metrics.evaluate(Z, mc_samples=2000, seed=0)
    asked, notes = _score(short, capsys, "-n", "10")
    assert asked["n"] == 10 and "6 of the 10 personas given by -n" in notes[0]
    capsys.readouterr()
    assert main(["score", "--personas", str(short), "--context", CONTEXT, "-n", "5"]) == 1
    assert capsys.readouterr().err.strip() == f"error: {short}: 6 personas, more than the 5 asked for (-n 5)"
    broken = {**full[2], RECORD_KEY: {**full[2][RECORD_KEY], "n": "8"}}
    bad = _write(tmp_path / "bad.jsonl", full[:2] + [broken])
    assert main(["score", "--personas", str(bad), "--context", CONTEXT]) == 1
    assert f"{bad}:3: 'persona_evolve.n' must be an integer >= 1" in capsys.readouterr().err


def test_text_output_says_how_many_were_asked(tmp_path, capsys):
    rows = _rows(_generate(tmp_path, "seed:naive", "p", n=5))
    short = _write(tmp_path / "short.jsonl", rows[:3])
    capsys.readouterr()
    assert main(["score", "--personas", str(short), "--context", CONTEXT, *MC]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"context {CONTEXT}: 3 personas (of 5 asked), K=")
