"""The exported module runs in a fresh virtual environment WITHOUT persona-evolve, against
the stdlib OpenAI-compatible stub server (tests/stub_openai_server.py) on 127.0.0.1.

The venv is made with ``--without-pip``; numpy/scipy/litellm come from the project's
.venv through a .pth path line that names only its site-packages directory. A path line
does not process the .pth files inside that directory, so persona-evolve's editable
finder is never installed, and /work/main itself is not on sys.path: the test proves it
by failing to import ``generators``/``evolve`` in that venv.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

from test_inspect_archive_fixture import RARE_CONTEXT, Crafted, crafted  # noqa: F401

from evolve.cli import main
from generators.context_loader import resolve_context

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from stub_openai_server import StubServer  # noqa: E402

REPLY = "Persona 1\nName: Stub Person\nDescription: A persona written by the stub server."


def batch_reply(messages: list[dict]) -> str:
    """As many persona blocks as the prompt asks for ("Write N personas"), else one: the
    seeds keep only personas a reply states, so a one-block reply to a batch is a short one."""
    import re

    asked = re.search(r"Write (\d+) personas", messages[-1]["content"])
    count = int(asked.group(1)) if asked else 1
    return "\n".join(
        f"Persona {i + 1}\nName: Stub Person\nDescription: A persona written by the stub server."
        for i in range(count)
    )


def _venv(path: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True, timeout=120)
    python = path / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    project_site = sysconfig.get_paths()["purelib"]  # the project's .venv site-packages
    assert "__editable__" not in project_site
    Path(site, "project_deps.pth").write_text(project_site + "\n")
    return python


def _env(tmp: Path) -> dict[str, str]:
    keep = {"PATH", "LANG", "LC_ALL", "TMPDIR"}
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(
        HOME=str(tmp),
        PE_TEST_KEY="sk-dummy-for-stub",
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
    )
    return env


def test_exported_module_in_a_fresh_venv_against_the_stub(crafted: Crafted, tmp_path: Path, capsys) -> None:
    t0 = time.perf_counter()
    gen = tmp_path / "gen.py"
    assert (
        main(["export", "--db", str(crafted.db), "--best", "--out", str(gen), "--api-key-env", "PE_TEST_KEY"])
        == 0
    )
    capsys.readouterr()
    ctx = tmp_path / "ctx.json"
    ctx.write_text(json.dumps(resolve_context(RARE_CONTEXT).to_dict()))
    python = _venv(tmp_path / "venv")
    env = _env(tmp_path)

    probe = (
        "import importlib.util as u, sys\n"
        "print([m for m in ('generators', 'evolve', 'archive', 'metrics') if u.find_spec(m)])\n"
        "import numpy, scipy, litellm  # noqa\n"
        "print(sys.prefix)\n"
    )
    proc = subprocess.run(
        [str(python), "-c", probe], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    found, prefix = proc.stdout.splitlines()
    assert found == "[]", f"persona-evolve is importable in the fresh venv: {found}"
    assert Path(prefix) == tmp_path / "venv"

    out = tmp_path / "personas.jsonl"
    with StubServer(reply=batch_reply) as stub:
        proc = subprocess.run(
            [
                str(python),
                str(gen),
                "--context",
                str(ctx),
                "-n",
                "5",
                "--model",
                "openai/stub-model",
                "--api-base",
                stub.base_url,
                "--seed",
                "1",
                "--out",
                str(out),
            ],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=180,
        )
        requests = list(stub.requests)
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 5
    assert all(r["name"] == "Stub Person" and r["description"].startswith("A persona written") for r in rows)
    # champion (BATCH_SIZE 4): 2 sketch batches + 5 expansions, all through the stub
    assert len(requests) == 7 and all(r.status == 200 for r in requests)
    assert {r.body["model"] for r in requests} == {"stub-model"}
    assert all(r.headers.get("authorization") == "Bearer sk-dummy-for-stub" for r in requests)
    assert any("Stub Person" in m["content"] for r in requests for m in r.messages)  # stage 2 saw stage 1

    proc = subprocess.run(
        [str(python), str(gen), "--context", str(ctx), "-n", "2", "--model", "sim"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert proc.returncode == 1 and proc.stderr.startswith("error: --model sim needs persona-evolve")
    assert proc.stderr.count("\n") == 1
    elapsed = time.perf_counter() - t0
    assert elapsed < 120, elapsed


def test_model_errors_are_one_line(crafted: Crafted, tmp_path: Path, capsys) -> None:
    gen = tmp_path / "gen.py"
    assert main(["export", "--db", str(crafted.db), "--program", "seed:naive", "--out", str(gen)]) == 0
    capsys.readouterr()
    ctx = tmp_path / "ctx.json"
    ctx.write_text(json.dumps(resolve_context(RARE_CONTEXT).to_dict()))
    env = {**_env(tmp_path), "OPENAI_API_KEY": "sk-dummy"}
    with StubServer(reply=REPLY, failures=[401] * 10) as stub:
        proc = subprocess.run(
            [
                sys.executable,
                str(gen),
                "--context",
                str(ctx),
                "-n",
                "2",
                "--model",
                "openai/stub-model",
                "--api-base",
                stub.base_url,
                "--timeout",
                "10",
            ],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=120,
        )
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and "model call failed" in last and "stub-model" in last


def test_transient_failures_are_retried_and_no_key_works_for_a_local_server(
    crafted: Crafted, tmp_path: Path, capsys
) -> None:
    gen = tmp_path / "gen.py"
    assert main(["export", "--db", str(crafted.db), "--program", "seed:naive", "--out", str(gen)]) == 0
    capsys.readouterr()
    ctx = tmp_path / "ctx.json"
    ctx.write_text(json.dumps(resolve_context(RARE_CONTEXT).to_dict()))
    reply = "\n".join(f"Persona {i}\nName: P{i}\nDescription: D{i}" for i in range(1, 4))
    with StubServer(reply=reply, failures=[429, 503]) as stub:
        proc = subprocess.run(
            [
                sys.executable,
                str(gen),
                "--context",
                str(ctx),
                "-n",
                "3",
                "--model",
                "openai/stub-model",
                "--api-base",
                stub.base_url,
            ],
            capture_output=True,
            text=True,
            env=_env(tmp_path) | {"PE_TEST_KEY": ""},
            cwd=tmp_path,
            timeout=120,
        )
        statuses = [r.status for r in stub.requests]
    assert proc.returncode == 0, proc.stderr
    assert statuses[:2] == [429, 503] and statuses[-1] == 200
    assert [json.loads(line)["name"] for line in proc.stdout.splitlines()] == ["P1", "P2", "P3"]
