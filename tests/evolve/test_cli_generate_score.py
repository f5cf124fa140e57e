"""`generate` and `score` commands: sim world, error lines, and the real litellm path
against a local OpenAI-compatible stub server (127.0.0.1, no key)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from evolve.cli import main
from generators.context_loader import resolve_context
from generators.population_record import RECORD_KEY
from metrics import METRIC_NAMES

sys.path.append(str(Path(__file__).resolve().parents[1]))
from stub_openai_server import StubServer  # noqa: E402

CONTEXT = "airline_rebooking_desk"


def _write_personas(path: Path, n: int) -> Path:
    rows = [{"name": f"P{i}", "description": f"[SIMULATED] person {i}"} for i in range(n)]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def test_generate_sim_writes_jsonl(tmp_path, capsys):
    out = tmp_path / "p.jsonl"
    assert (
        main(
            [
                "generate",
                "--generator",
                "seed:sobol",
                "--context",
                CONTEXT,
                "-n",
                "6",
                "--out",
                str(out),
                "--seed",
                "4",
            ]
        )
        == 0
    )
    lines = out.read_text().splitlines()
    assert len(lines) == 6
    personas = [json.loads(line) for line in lines]
    assert all(p["name"] and "[SIMULATED]" in p["description"] for p in personas)
    assert "SIMULATED WORLD" in capsys.readouterr().err


def test_generate_is_deterministic_per_seed(capsys):
    runs = []
    for seed in ("1", "1", "2"):
        assert (
            main(
                [
                    "generate",
                    "--generator",
                    "seed:batch",
                    "--context",
                    CONTEXT,
                    "-n",
                    "4",
                    "--json",
                    "--seed",
                    seed,
                ]
            )
            == 0
        )
        out = json.loads(capsys.readouterr().out)
        assert out["n"] == 4
        # each call is its own population (a fresh id, so a fresh attestation): compare the personas
        runs.append([{k: v for k, v in p.items() if k != RECORD_KEY} for p in out["personas"]])
    assert runs[0] == runs[1] and runs[0] != runs[2]


@pytest.mark.parametrize(
    "program, message",
    [
        ("def generate(context, n, llm, rng)\n    return []\n", "error: SyntaxError"),
        (
            "def generate(context, n, llm, rng):\n    return [{'name': 'a', 'description': 'b'}] * 4\n",
            "error: generate() returned 4 personas, expected at most 3",
        ),
        (
            "def generate(context, n, llm, rng):\n    return []\n",
            "error: generate() returned no personas, expected 3",
        ),
        ("def generate(context, n, llm, rng):\n    raise RuntimeError('boom')\n", "boom"),
    ],
)
def test_generate_failures_are_one_line(tmp_path, capsys, program, message):
    path = tmp_path / "prog.py"
    path.write_text(program)
    assert (
        main(["generate", "--generator", str(path), "--context", CONTEXT, "-n", "3", "--timeout", "20"]) == 1
    )
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(err) == 1 and message in err[0]


def test_generate_unknown_inputs(capsys):
    assert main(["generate", "--generator", "seed:nope", "--context", CONTEXT]) == 1
    assert "unknown seed 'nope'" in capsys.readouterr().err
    assert main(["generate", "--generator", "seed:naive", "--context", "airline_rebookng_desk"]) == 1
    assert "airline_rebooking_desk" in capsys.readouterr().err  # suggests the close id


def test_score_sim_json(tmp_path, capsys):
    out = tmp_path / "p.jsonl"
    assert (
        main(["generate", "--generator", "seed:sobol", "--context", CONTEXT, "-n", "10", "--out", str(out)])
        == 0
    )
    capsys.readouterr()
    assert (
        main(["score", "--personas", str(out), "--context", CONTEXT, "--json", "--mc-samples", "2000"]) == 0
    )
    result = json.loads(capsys.readouterr().out)
    assert set(result["metrics"]) == set(METRIC_NAMES)
    Z = result["positions"]
    assert len(Z) == 10 and all(len(row) == resolve_context(CONTEXT).k for row in Z)
    assert all(0.0 <= v <= 1.0 for row in Z for v in row)
    assert result["simulated"] is True


def test_score_bad_file(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"name": "a", "description": "x"}\n{not json}\n')
    assert main(["score", "--personas", str(bad), "--context", CONTEXT]) == 1
    assert f"{bad}:2: not JSON" in capsys.readouterr().err


def test_real_path_generate_and_score_against_stub(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    context = resolve_context(CONTEXT)

    def persona_reply(messages):
        return "\n".join(
            f"{i}. Name: Person {i}\nDescription: a traveller who is very angry." for i in range(1, 7)
        )

    with StubServer(reply=persona_reply) as server:
        out = tmp_path / "real.jsonl"
        assert (
            main(
                [
                    "generate",
                    "--generator",
                    "seed:naive",
                    "--context",
                    CONTEXT,
                    "-n",
                    "5",
                    "--model",
                    "openai/stub-model",
                    "--api-base",
                    server.base_url,
                    "--out",
                    str(out),
                ]
            )
            == 0
        )
        assert len(out.read_text().splitlines()) == 5
        assert len(server.requests) >= 1
        assert server.requests[0].headers.get("authorization", "").endswith("sk-no-key")
    capsys.readouterr()
    with StubServer(reply="4") as server:
        assert (
            main(
                [
                    "score",
                    "--personas",
                    str(out),
                    "--context",
                    CONTEXT,
                    "--json",
                    "--mc-samples",
                    "2000",
                    "--model",
                    "openai/stub-model",
                    "--api-base",
                    server.base_url,
                ]
            )
            == 0
        )
        result = json.loads(capsys.readouterr().out)
        assert (
            len(server.requests) == 1 + 5 * context.n_items
        )  # pre-flight, then one call per persona and item
    assert result["missing"] == 0 and result["simulated"] is False
    for k, axis in enumerate(context.axes):  # every answer is 4: reverse items count as 2
        rev = sum(item.reverse for item in axis.items)
        mean = (4 * (len(axis.items) - rev) + 2 * rev) / len(axis.items)
        expected = (mean - context.scale_min) / (context.scale_max - context.scale_min)
        assert all(abs(row[k] - expected) < 1e-6 for row in result["positions"])


def test_real_path_unparseable_answers_are_missing_not_guessed(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    personas = _write_personas(tmp_path / "p.jsonl", 3)
    with StubServer(reply="I would rather not say") as server:
        assert (
            main(
                [
                    "score",
                    "--personas",
                    str(personas),
                    "--context",
                    CONTEXT,
                    "--json",
                    "--mc-samples",
                    "2000",
                    "--model",
                    "openai/stub-model",
                    "--api-base",
                    server.base_url,
                ]
            )
            == 1
        )
    result = json.loads(capsys.readouterr().out)
    assert result["missing"] == 3 * resolve_context(CONTEXT).n_items
    assert result["metrics"] is None and "no" in result["error"] and "placed" in result["error"]
    assert all(v is None for row in result["positions"] for v in row)


def test_generate_tells_the_truth_about_a_short_population(tmp_path, capsys):
    program = tmp_path / "short.py"
    program.write_text(
        "def generate(context, n, llm, rng):\n    return [{'name': 'solo', 'description': 'the only one'}]\n"
    )
    out = tmp_path / "p.jsonl"
    args = [
        "generate",
        "--generator",
        str(program),
        "--context",
        "airline_rebooking_desk",
        "-n",
        "25",
        "--out",
        str(out),
    ]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "wrote 1 persona to" in err
    assert "error: the program returned 1 of the 25 personas asked for" in err and "--allow-short" in err
    assert len(out.read_text().splitlines()) == 1  # written all the same: nothing lost
    assert main(args + ["--allow-short"]) == 0
    assert "note: the program returned 1 of the 25 personas asked for" in capsys.readouterr().err
    assert main(args[:-4] + ["-n", "1", "--out", str(out)]) == 0
    assert "error" not in capsys.readouterr().err


def test_score_prints_the_floor_and_random_references_beside_every_metric(tmp_path, capsys):
    import metrics

    out = tmp_path / "p.jsonl"
    assert (
        main(
            [
                "generate",
                "--generator",
                "seed:sobol",
                "--context",
                "airline_rebooking_desk",
                "-n",
                "10",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert (
        main(["score", "--personas", str(out), "--context", "airline_rebooking_desk", "--mc-samples", "2000"])
        == 0
    )
    text = capsys.readouterr().out
    refs = metrics.references(10, 3, mc_samples=2000)
    assert "floor" in text and "random" in text and "no model" in text
    for name in METRIC_NAMES:
        line = next(line for line in text.splitlines() if line.strip().startswith(name))
        assert f"{refs.floor[name]:.4f}" in line and f"{refs.random[name]:.4f}" in line
    assert (
        main(
            [
                "score",
                "--personas",
                str(out),
                "--context",
                "airline_rebooking_desk",
                "--mc-samples",
                "2000",
                "--json",
            ]
        )
        == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert data["references"]["floor"] == pytest.approx(dict(refs.floor))
    assert data["references"]["random"] == pytest.approx(dict(refs.random))
