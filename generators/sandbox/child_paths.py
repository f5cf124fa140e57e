"""Where a sandbox child runs from and what it may read.

:func:`child_paths_for` asks the interpreter that will run the child (this one, or the
Concordia venv's) for its ``site`` directories and the read-only tree Landlock leaves open,
by running :mod:`generators.sandbox.inside.sandbox_paths` once per process;
:func:`deny_read_prefixes` names the home directories (and the sim attestation key's
directory) no program may read.
"""

from __future__ import annotations

import functools
import json
import os
import pwd
import sys
from pathlib import Path


def deny_read_prefixes() -> list[str]:
    """Home directories, and the directory of the sim attestation key wherever
    ``XDG_CACHE_HOME`` puts it (:func:`generators.attest_key.key_dir`), whose content the
    program must not read (the weak sandbox's guard; Landlock allows far less)."""
    from generators.attest_key import key_dir

    out = {"/root", "/home", os.path.expanduser("~"), str(key_dir())}
    try:
        out.add(pwd.getpwuid(os.getuid()).pw_dir)
    except KeyError:
        pass
    return sorted(p for p in out if p and p != "/")


PATHS_SCRIPT = str(Path(__file__).resolve().parent / "inside" / "sandbox_paths.py")
BASE_MODULES = ("numpy", "scipy", "pyseccomp")
"""What a child of this interpreter may load from site-packages (besides the stdlib)."""


@functools.lru_cache(maxsize=8)
def _locate(python: str, modules: tuple[str, ...]) -> str:
    import subprocess

    try:
        out = subprocess.run(
            [python, "-I", "-B", PATHS_SCRIPT, json.dumps(list(modules))],
            capture_output=True,
            text=True,
            timeout=120,
            cwd="/",
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RuntimeError(
            f"cannot run {python} to locate its packages: {type(exc).__name__}: {exc}"
        ) from None
    if out.returncode != 0:
        tail = (out.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"{python} failed to locate its packages: {tail}")
    return out.stdout


def child_paths_for(python: str, modules: tuple[str, ...]) -> dict[str, list[str]]:
    """``site`` (added to the child's ``sys.path``) and ``read_only`` (what Landlock leaves
    readable) for a child run by ``python`` that preloads ``modules``: asked of that
    interpreter once per process (:mod:`generators.sandbox.inside.sandbox_paths`). Raises
    RuntimeError (one line) if the interpreter cannot answer."""
    data = json.loads(_locate(python, tuple(modules)))
    return {"site": list(data["site"]), "read_only": list(data["read_only"])}


def child_paths() -> dict[str, list[str]]:
    """:func:`child_paths_for` this interpreter and :data:`BASE_MODULES`."""
    return child_paths_for(sys.executable, BASE_MODULES)


def concordia_launch() -> tuple[str, dict[str, list[str]]]:
    """(interpreter, child paths) for a program in the ``concordia`` profile; raises
    :class:`generators.concordia.environment.ConcordiaUnavailable` (one line)."""
    from generators.concordia.environment import concordia_python
    from generators.sandbox.inside.sandbox_imports import CONCORDIA_PRELOAD

    python = concordia_python()
    modules = ("numpy", "pyseccomp") + tuple(m for m in CONCORDIA_PRELOAD if m != "sandbox_concordia")
    return python, child_paths_for(python, modules)
