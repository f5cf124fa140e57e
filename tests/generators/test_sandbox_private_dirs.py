"""The sandbox runs wherever the project, its venv and its interpreter live.

As root, the sandbox child runs the program as an unprivileged uid that could not enter a
private (0700) directory: a clone in ``mktemp -d`` or under ``/root``, a venv there, a
pyenv interpreter under ``/root/.pyenv``. The child's own root (read-only bind mounts of
the allowed trees at their host paths, under skeleton directories of its own) makes them
reachable without loosening any permission. Each test copies what it needs into a fresh
0700 directory (hard links: same files, same modes) and runs the sandbox from there in a
separate process; nothing depends on where the host keeps its own files.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "concordia_fixtures"
PACKAGES = ("generators", "metrics", "archive", "evolve")

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="the sandbox changes uid only when it starts as root"
)

PROGRAM = """
import numpy as np
from scipy.stats import qmc


def generate(context, n, llm, rng):
    # Sobol reads its direction numbers from a data file of scipy's at call time, after
    # the child confined itself: unreadable, every point would come out the same
    points = qmc.Sobol(d=2, seed=3).random(8)
    return [{"name": f"p{i}", "description": f"{points[i][0]:.6f} {points[i][1]:.6f}"} for i in range(n)]
"""

DRIVER = (
    """
import asyncio, json, sys
import generators
from generators.sandbox import GenerationJob, SandboxLimits
from generators.sandbox.parent import _run_sandbox

assert generators.__file__.startswith(sys.argv[1]), generators.__file__
code = open(sys.argv[2]).read()
context = {"id": "ctx", "description": "a test setting",
           "axes": [{"name": "risk", "description": "appetite for risk", "low": "cautious", "high": "bold"}]}


async def no_llm(prompts, **_):
    return ["x"] * len(prompts)


results, _ = asyncio.run(_run_sandbox(code, [GenerationJob(context=context, n=8, seed=0)], llm=no_llm,
                                      limits=SandboxLimits(wall_timeout_s=60, cpu_time_s=60), parallel=1))
r = results[0]
"""
    'print(json.dumps({"error": r.error, "personas": r.personas, '
    '"isolation": list(r.isolation), "python": sys.executable}))'
    "\n"
)


def _private(tmp_path: Path) -> Path:
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    os.chmod(private, 0o700)
    assert stat.S_IMODE(private.stat().st_mode) == 0o700
    return private


def _link_tree(src: Path, dst: Path) -> None:
    """Copy ``src`` to ``dst`` as hard links (symlinks kept as symlinks)."""
    shutil.copytree(
        src, dst, symlinks=True, copy_function=os.link, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )


def _copy_project(private: Path) -> Path:
    clone = private / "clone"
    clone.mkdir()
    for package in PACKAGES:
        _link_tree(PROJECT_ROOT / package, clone / package)
    return clone


def _run_driver(python: str, clone: Path, private: Path) -> dict:
    (private / "driver.py").write_text(DRIVER)
    (private / "program.py").write_text(PROGRAM)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONPATH"] = str(clone)
    out = subprocess.run(
        [python, str(private / "driver.py"), str(clone), str(private / "program.py")],
        capture_output=True,
        text=True,
        cwd=clone,
        env=env,
        timeout=180,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def _assert_ran_confined(result: dict) -> None:
    assert result["error"] is None, result["error"]
    points = {p["description"] for p in result["personas"]}
    assert len(points) == 8, points  # scipy's data file was readable after the uid change
    layers = " | ".join(result["isolation"])
    assert "uid: uid/gid 3" in layers and "root: own mount namespace and root" in layers, layers


def test_a_project_inside_a_private_directory_runs_programs(tmp_path: Path) -> None:
    private = _private(tmp_path)
    clone = _copy_project(private)
    _assert_ran_confined(_run_driver(sys.executable, clone, private))


def _private_venv(private: Path) -> tuple[Path, Path]:
    """A venv in ``private`` holding numpy, scipy and pyseccomp (hard links of ours);
    returns (its python, its site-packages)."""
    venv = private / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    site = Path(sysconfig.get_paths(vars={"base": str(venv), "platbase": str(venv)})["purelib"])
    ours = Path(sysconfig.get_paths()["purelib"])
    for name in ("numpy", "numpy.libs", "scipy", "scipy.libs", "pyseccomp.py"):
        source = ours / name
        if source.is_dir():
            _link_tree(source, site / name)
        elif source.exists():
            os.link(source, site / name)
    return venv / "bin" / "python", site


def test_a_venv_inside_a_private_directory_runs_programs(tmp_path: Path) -> None:
    """The interpreter the child runs is a venv in the 0700 directory (its base
    interpreter is wherever this one's is)."""
    private = _private(tmp_path)
    clone = _copy_project(private)
    python, _ = _private_venv(private)
    result = _run_driver(str(python), clone, private)
    assert result["python"].startswith(str(private))
    _assert_ran_confined(result)


def test_a_package_the_sandbox_uid_cannot_read_is_named_in_one_line(tmp_path: Path) -> None:
    """A package directory installed private (mode 0700) cannot be read by the sandbox's
    uid: the error names the path, the uid and the mode, instead of a crash."""
    private = _private(tmp_path)
    clone = _copy_project(private)
    python, site = _private_venv(private)
    os.chmod(site / "scipy", 0o700)  # a directory of the copy (files are links; their modes stay)
    result = _run_driver(str(python), clone, private)
    error = result["error"]
    assert error is not None and "\n" not in error
    assert (
        error.startswith("sandbox: uid 3")
        and f"cannot read {site / 'scipy'} (mode 0700, owner uid 0)" in error
    )


def test_a_concordia_generator_runs_from_a_private_directory(tmp_path: Path, concordia_py: str) -> None:
    """The project and the Concordia venv both inside the 0700 directory."""
    concordia_venv = Path(concordia_py).parent.parent
    private = _private(tmp_path)
    clone = _copy_project(private)
    _link_tree(concordia_venv, private / "venv-concordia")
    out_file = private / "personas.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env.update(
        PYTHONPATH=str(clone),
        PERSONA_EVOLVE_CONCORDIA_PYTHON=str(private / "venv-concordia" / "bin" / "python"),
    )
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "evolve",
            "generate",
            "--generator",
            f"concordia:{FIXTURES / 'paper_style_generator.py'}",
            "--context",
            "airline_rebooking_desk",
            "-n",
            "4",
            "--model",
            "sim",
            "--out",
            str(out_file),
        ],
        capture_output=True,
        text=True,
        cwd=clone,
        env=env,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    personas = [json.loads(line) for line in out_file.read_text().splitlines()]
    assert len(personas) == 4 and all(p["description"] for p in personas)
