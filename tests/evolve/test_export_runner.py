"""The export runner is a real module (evolve/outputs/export_runner.py) copied verbatim into both
export formats; the exported module and `persona-evolve generate` give the same personas;
--format concordia gives a class that satisfies Concordia's persona-generator protocol,
checked end to end with gdm-concordia in a fresh Python 3.12 venv."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import evolve.outputs.export_runner as runner
from evolve.cli import main
from evolve.outputs.export import CONCORDIA_CLASS, render_module, runner_source
from generators.context_loader import resolve_context
from generators.evaluation import call_seed
from generators.population_record import RECORD_KEY
from generators.seeds import load_seed

INFO = {
    "program": {"id": "abc123", "label": "seed:sobol", "generation": 0, "island": 0},
    "run": {"id": 1, "status": "finished", "seed": 0, "db": "x.db"},
    "lineage_length": 1,
    "lineage_root": None,
    "simulated": True,
    "scores": {},
    "models": {"persona": "sim"},
    "mutation_models": [],
    "exported_at": "2026-12-01T00:00:00Z",
    "persona_evolve_version": "test",
}


@pytest.mark.parametrize("parts", [(0, "rng", "ctx"), (7, 0, 12), (123456789, "llm", "a", 3)])
def test_runner_seeds_match_persona_evolve(parts) -> None:
    assert runner._pe_seed(*parts) == call_seed(*parts)


@pytest.mark.parametrize("fmt", ["module", "concordia"])
def test_both_formats_embed_the_runner_verbatim(fmt: str) -> None:
    text, entry = render_module(load_seed("sobol"), INFO, filename="gen.py", fmt=fmt)
    assert entry == "main" and runner_source() in text
    assert (f"class {CONCORDIA_CLASS}(_PEConcordiaGenerator)" in text) == (fmt == "concordia")
    namespace: dict = {"__name__": "exported"}
    exec(compile(text, "gen.py", "exec"), namespace)  # importing runs nothing
    assert callable(namespace["main"]) and callable(namespace["generate"])


def test_exported_module_and_generate_give_the_same_personas(tmp_path: Path, capsys) -> None:
    text, _ = render_module(load_seed("sobol"), INFO, filename="gen.py", fmt="concordia")
    module = tmp_path / "gen.py"
    module.write_text(text)
    ctx = tmp_path / "ctx.json"
    ctx.write_text(json.dumps(resolve_context("airline_rebooking_desk").to_dict()))
    exported = subprocess.run(
        [sys.executable, str(module), "--context", str(ctx), "-n", "6", "--model", "sim", "--seed", "3"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert exported.returncode == 0, exported.stderr
    out = tmp_path / "p.jsonl"
    assert (
        main(
            [
                "generate",
                "--generator",
                str(module),
                "--context",
                str(ctx),
                "-n",
                "6",
                "--model",
                "sim",
                "--seed",
                "3",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    capsys.readouterr()
    ours = [json.loads(line) for line in out.read_text().splitlines()]
    theirs = [json.loads(line) for line in exported.stdout.splitlines()]
    assert all(p[RECORD_KEY]["n"] == 6 for p in ours)  # generate adds its record (origin, attestation)
    ours = [{k: v for k, v in p.items() if k != RECORD_KEY} for p in ours]
    assert len(ours) == 6 and ours == theirs


class ScriptedModel:
    """Duck-typed LanguageModel: answers every 'Persona i:' target line with a persona block."""

    def __init__(self) -> None:
        self.seeds: list[int] = []

    def sample_text(
        self,
        prompt,
        *,
        max_tokens=5000,
        terminators=(),
        temperature=1.0,
        top_p=0.95,
        top_k=64,
        timeout=60,
        seed=None,
    ):
        self.seeds.append(seed)
        count = len(re.findall(r"^Persona \d+:", prompt, re.M)) or 1
        return "\n".join(
            f"Persona {i + 1}\nName: Person {seed % 1000}-{i}\nDescription: Someone, seed {seed}."
            for i in range(count)
        )

    def sample_choice(self, prompt, responses, *, seed=None):
        return 0, responses[0], {}


def test_concordia_class_in_process_without_concordia() -> None:
    text, _ = render_module(load_seed("sobol"), INFO, filename="gen.py", fmt="concordia")
    namespace: dict = {"__name__": "exported"}
    exec(compile(text, "gen.py", "exec"), namespace)
    cls = namespace[CONCORDIA_CLASS]
    model = ScriptedModel()
    chars = cls(model, seed=2).generate_diverse_persona_characteristics(
        "A night market.", ["haggling/generosity", "risk"], 5
    )
    assert len(chars) == 5 and all(c["name"] and c["initial_context"] == "A night market." for c in chars)
    memories = cls(model).generate_single_persona_memories(chars[0])
    assert memories and all(isinstance(m, str) for m in memories)
    again = cls(ScriptedModel(), seed=2).generate_diverse_persona_characteristics(
        "A night market.", ["haggling/generosity", "risk"], 5
    )
    assert again == chars


DRIVER = (
    r"""
import json, re, sys
from concordia.language_model import language_model
from concordia.document import interactive_document
sys.path.insert(0, sys.argv[1])
import gen

class Scripted(language_model.LanguageModel):
    def __init__(self):
        self.calls = 0
    def sample_text(self, prompt, *, max_tokens=5000, terminators=(), temperature=1.0, top_p=0.95, top_k=64,
                    timeout=60, seed=None):
        self.calls += 1
        count = len(re.findall(r"^Persona \d+:", prompt, re.M)) or 1
"""
    r'        return "\n".join(f"Persona {i+1}\nName: Ana '
    r'{self.calls}-{i}\nDescription: A vendor." for i in range(count))'
    r"""
    def sample_choice(self, prompt, responses, *, seed=None):
        return 0, responses[0], {}

try:
    import generators  # noqa: F401
    leaked = True
except ImportError:
    leaked = False
model = Scripted()
g = gen.PersonaEvolveGenerator(model)
for method in ("generate_diverse_persona_characteristics", "generate_single_persona_memories"):
    assert callable(getattr(g, method)), method
chars = g.generate_diverse_persona_characteristics(initial_context="A crowded night market.",
"""
    r'                                                   diversity_axes=["haggling zeal", '
    r'"risk taking"], num_personas=4)'
    r"""
memories = [g.generate_single_persona_memories(c) for c in chars]
doc = interactive_document.InteractiveDocument(model)
doc.statement("Persona memories: " + " ".join(memories[0]))
print(json.dumps({"leaked": leaked, "chars": chars, "memories": memories, "calls": model.calls,
                  "python": list(sys.version_info[:2])}))
"""
)


def test_exported_class_in_a_fresh_venv_with_gdm_concordia(tmp_path: Path) -> None:
    from generators.concordia import environment

    environment.reset()
    if not environment.available():
        if os.environ.get("CI"):
            pytest.fail("no Concordia interpreter (run scripts/concordia_env; scripts/test does)")
        pytest.skip("no Concordia interpreter (run scripts/concordia_env)")
    base = environment.concordia_python()
    site = subprocess.run(
        [base, "-c", "import concordia, os; print(os.path.dirname(os.path.dirname(concordia.__file__)))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    venv = tmp_path / "fresh"
    subprocess.run([base, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    venv_site = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(venv_site, "concordia_deps.pth").write_text(
        site + "\n"
    )  # gdm-concordia, numpy, scipy; no persona-evolve
    text, _ = render_module(load_seed("sobol"), INFO, filename="gen.py", fmt="concordia")
    (tmp_path / "gen.py").write_text(text)
    proc = subprocess.run(
        [str(py), "-I", "-c", DRIVER, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=str(tmp_path),
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.splitlines()[-1])
    assert out["python"] >= [3, 12] and not out["leaked"]
    assert len(out["chars"]) == 4 and all(c["name"].startswith("Ana") for c in out["chars"])
    assert all(m and all(isinstance(s, str) for s in m) for m in out["memories"])
    assert out["calls"] >= 2  # stage 1 of seed:sobol: sketches, then expansions


def test_a_missing_key_is_one_line_naming_the_variable(tmp_path: Path) -> None:
    text, _ = render_module(load_seed("naive"), INFO, filename="gen.py", fmt="module")
    module = tmp_path / "gen.py"
    module.write_text(text)
    ctx = tmp_path / "ctx.json"
    ctx.write_text(json.dumps(resolve_context("airline_rebooking_desk").to_dict()))
    env = {k: v for k, v in os.environ.items() if k != "PE_TEST_MISSING_KEY"}
    out = subprocess.run(
        [
            sys.executable,
            str(module),
            "--context",
            str(ctx),
            "-n",
            "2",
            "--model",
            "openai/gpt-4o-mini",
            "--api-key-env",
            "PE_TEST_MISSING_KEY",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 1 and len(lines) == 1, out.stderr
    assert lines[0].startswith("error: environment variable PE_TEST_MISSING_KEY is not set")


def test_run_takes_the_key_variable_for_its_model(capsys) -> None:
    assert main(["run", "--print-config", "--model", "openai/gpt-4o-mini", "--api-key-env", "MY_KEY"]) == 0
    assert 'api_key_env = "MY_KEY"' in capsys.readouterr().out
    assert main(["run", "--print-config", "--api-key-env", "MY_KEY"]) == 2
    assert "apply to --model" in capsys.readouterr().err
