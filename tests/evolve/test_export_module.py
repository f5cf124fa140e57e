"""``persona-evolve export``: the module's content, its errors, and its round trips
through ``persona-evolve generate --generator FILE.py --model sim`` and ``python FILE.py``."""

from __future__ import annotations

import ast
import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest
from test_inspect_archive_fixture import RARE_CONTEXT, Crafted, crafted  # noqa: F401

from archive import Archive, ArchiveConfig
from archive.testing import synthetic_candidate
from evolve.cli import main
from evolve.config import RunConfig, config_to_dict
from evolve.outputs.export import ExportError, export_program, render_module
from generators.context_loader import resolve_context
from generators.llm import ModelConfig

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def exported(crafted: Crafted, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("export") / "champion_gen.py"
    assert main(["export", "--db", str(crafted.db), "--best", "--out", str(out)]) == 0
    return out


def test_export_best_holds_the_program_verbatim_and_provenance(crafted: Crafted, exported: Path) -> None:
    text = exported.read_text()
    code = crafted.codes[crafted.champion]
    assert code in text  # verbatim, EVOLVE-BLOCK markers included
    assert "# EVOLVE-BLOCK-START" in text and "# EVOLVE-BLOCK-END" in text
    header = text[: text.index(code)]
    assert "SIMULATED SCORES" in header and crafted.champion in header
    assert "lineage:   4 programs back to seed:sobol" in header
    assert "validation" in header and "test" in header and "coverage" in header and "kl" in header
    assert "mutator=sim" in header and "openai/gpt-4o-mini" in header and "exported:" in header
    tree = ast.parse(text)
    top = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    assert {"generate", "main", "_PELiteLLM"} <= top
    runner = text[text.index("EXPORT_INFO = ") :]
    imports = [n for n in ast.walk(ast.parse(runner)) if isinstance(n, (ast.Import, ast.ImportFrom))]
    packages = {
        (n.module if isinstance(n, ast.ImportFrom) else n.names[0].name).split(".")[0] for n in imports
    }
    assert packages <= {
        "json",
        "sys",
        "os",
        "time",
        "argparse",
        "numpy",
        "litellm",
        "concurrent",
        "generators",
    }
    assert not [
        n
        for n in tree.body
        if isinstance(n, (ast.Import, ast.ImportFrom))
        and any(
            a.name.split(".")[0] in ("evolve", "generators", "archive", "metrics", "litellm") for a in n.names
        )
    ]


def test_export_info_is_a_plain_literal(crafted: Crafted, exported: Path) -> None:
    ns: dict = {}
    tree = ast.parse(exported.read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "EXPORT_INFO":
            ns["info"] = ast.literal_eval(node.value)
    info = ns["info"]
    assert info["program"]["id"] == crafted.champion and info["simulated"] is True
    assert info["scores"]["validation"]["metrics"]["coverage"] == pytest.approx(0.66)
    assert info["scores"]["test"]["metrics"]["coverage"] == pytest.approx(0.64)
    assert info["lineage_length"] == 4


def test_generate_command_runs_the_exported_file_in_the_sandbox(
    exported: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "p.jsonl"
    code = main(
        [
            "generate",
            "--generator",
            str(exported),
            "--context",
            RARE_CONTEXT,
            "-n",
            "4",
            "--model",
            "sim",
            "--out",
            str(out),
        ]
    )
    assert code == 0, capsys.readouterr().err
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 4 and all(r["name"] and "[SIMULATED]" in r["description"] for r in rows)


def _context_file(tmp_path: Path) -> Path:
    path = tmp_path / "ctx.json"
    path.write_text(json.dumps(resolve_context(RARE_CONTEXT).to_dict()))
    return path


def test_python_file_with_sim_model(exported: Path, tmp_path: Path) -> None:
    ctx = _context_file(tmp_path)
    out = tmp_path / "personas.jsonl"
    proc = subprocess.run(
        [
            sys.executable,
            str(exported),
            "--context",
            str(ctx),
            "-n",
            "5",
            "--model",
            "sim",
            "--seed",
            "3",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    assert "SIMULATED" in proc.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 5 and all(r["name"].strip() and r["description"].strip() for r in rows)
    again = subprocess.run(
        [sys.executable, str(exported), "--context", str(ctx), "-n", "5", "--model", "sim", "--seed", "3"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert [json.loads(line) for line in again.stdout.splitlines()] == rows  # seeded: reproducible


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--context", "missing.json", "-n", "2", "--model", "sim"], "cannot read missing.json"),
        (["--context", "{bad}", "-n", "2", "--model", "sim"], "not a JSON file"),
        (["--context", "{noaxes}", "-n", "2", "--model", "sim"], "'axes' must be a non-empty list"),
        (["--context", "{ctx}", "-n", "0", "--model", "sim"], "-n must be >= 1"),
    ],
)
def test_python_file_errors_are_one_line(
    exported: Path, tmp_path: Path, args: list[str], fragment: str
) -> None:
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "noaxes.json").write_text(json.dumps({"id": "x", "description": "d", "axes": []}))
    ctx = _context_file(tmp_path)
    subs = {"{bad}": str(tmp_path / "bad.json"), "{noaxes}": str(tmp_path / "noaxes.json"), "{ctx}": str(ctx)}
    proc = subprocess.run(
        [sys.executable, str(exported), *[subs.get(a, a) for a in args]],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1 and fragment in proc.stderr
    assert proc.stdout == ""


def test_importing_the_module_only_defines_names(exported: Path) -> None:
    probe = (
        "import importlib.util, sys, threading\n"
        f"spec = importlib.util.spec_from_file_location('exported_gen', {str(exported)!r})\n"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
        "assert 'litellm' not in sys.modules, 'litellm imported at import time'\n"
        "assert threading.active_count() == 1\n"
        "ctx = m._PEContext('c', 'd', [m._PEAxis('a', 'b', 'lo', 'hi')])\n"
        "assert ctx.axis_names == ('a',)\n"
        "try:\n    ctx.id = 'x'\nexcept AttributeError:\n    print('readonly')\n"
        "print(callable(m.generate), callable(m.main))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, cwd=exported.parent
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["readonly", "True", "True"]


def test_export_by_prefix_and_label_and_errors(crafted: Crafted, tmp_path: Path, capsys) -> None:
    child2 = crafted.lineage[1]
    r = export_program(crafted.db, out=tmp_path / "a.py", program=child2[:6])
    assert r.program_id == child2 and r.lineage_length == 3
    r = export_program(crafted.db, out=tmp_path / "b.py", program="seed:batch")
    assert r.program_id == crafted.seeds["seed:batch"] and r.lineage_length == 1
    assert "no validation" not in (tmp_path / "b.py").read_text()
    for kwargs, fragment in (
        ({"program": "ffffffffff"}, "unknown program"),
        ({"program": "abc"}, "too short"),
        ({"best": True, "out": tmp_path / "x.txt"}, "must end in .py"),
        ({"best": True, "db": crafted.empty_db}, "no evaluated program"),
        ({"best": True, "db": tmp_path / "none.db"}, "no such database"),
    ):
        args = {"out": tmp_path / "c.py", "db": crafted.db, **kwargs}
        with pytest.raises(ExportError, match=fragment):
            export_program(args.pop("db"), **args)
    code = main(["export", "--db", str(crafted.db), "--program", "zzzzzzzz", "--out", str(tmp_path / "d.py")])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("error: unknown program") and err.count("\n") == 1


def test_header_of_a_real_model_run_is_not_simulated(tmp_path: Path) -> None:
    import numpy as np

    role = ModelConfig(model="openai/gpt-4o-mini", api_key_env="OPENAI_API_KEY")
    config = dataclasses.replace(
        RunConfig(),
        models=dataclasses.replace(
            RunConfig().models, mutator=role, persona=role, respondent=role, author=role
        ),
    )
    db = tmp_path / "real.db"
    with Archive.create(
        url_or_path=db, config=ArchiveConfig(islands=1), run_config=config_to_dict(config), seed=1
    ) as a:
        a.add([synthetic_candidate(1, np.random.default_rng(0), contexts=2, personas=5, axes=2)])
    r = export_program(db, out=tmp_path / "real_gen.py", best=True, api_key_env="MY_KEY")
    text = r.path.read_text()
    assert not r.simulated and "SIMULATED" not in text.split('"""')[0]
    assert "persona=openai/gpt-4o-mini" in text and "_PE_API_KEY_ENV = 'MY_KEY'" in text


def test_a_program_with_its_own_main_gets_another_entry_point() -> None:
    code = "def main():\n    return 'mine'\n\ndef generate(context, n, llm, rng):\n    return []\n"
    info = {
        "program": {"id": "x", "label": None, "generation": 0, "island": 0},
        "run": {"id": 1, "status": "running", "seed": 0, "db": "d"},
        "lineage_length": 1,
        "lineage_root": None,
        "simulated": False,
        "scores": {},
        "models": {},
        "mutation_models": [],
        "exported_at": "now",
        "persona_evolve_version": "t",
    }
    text, entry = render_module(code, info, filename="g.py")
    assert entry == "persona_evolve_main" and "def main():\n    return 'mine'" in text
    ns: dict = {"__name__": "not_main"}
    exec(compile(text, "g.py", "exec"), ns)
    assert ns["main"]() == "mine" and callable(ns["persona_evolve_main"])
    with pytest.raises(ExportError, match="no top-level generate"):
        render_module("x = 1\n", info, filename="g.py")
