"""The interpreter that runs Concordia generators.

gdm-concordia >= 2.4 (the first release whose ``InteractiveDocument.open_question`` takes the
``temperature``/``top_p``/``top_k`` arguments the paper's generators pass) needs Python
>= 3.12, while persona-evolve runs on 3.11. So a program that imports ``concordia`` runs in
the sandbox under a second interpreter, found in this order:

1. ``$PERSONA_EVOLVE_CONCORDIA_PYTHON`` (a path to a python executable);
2. the running interpreter, when it is >= 3.12 and has gdm-concordia
   (``pip install 'persona-evolve[concordia]'`` on Python >= 3.12);
3. ``.venv-concordia/bin/python`` at the root of this source tree, made by
   ``scripts/concordia_env`` (a venv on Python 3.12 with gdm-concordia, numpy, scipy,
   pyseccomp).

Nothing here imports concordia into this process.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

ENV_VAR = "PERSONA_EVOLVE_CONCORDIA_PYTHON"
VENV_DIR = Path(__file__).resolve().parents[2] / ".venv-concordia"
SETUP_HINT = (
    f"set {ENV_VAR}=/path/to/python3.12 (with gdm-concordia), or run scripts/concordia_env "
    "(makes .venv-concordia), or install persona-evolve[concordia] on Python >= 3.12"
)
"""How to get a Concordia interpreter, most direct first (the error line must stay short
enough that nothing of it is cut)."""


class ConcordiaUnavailable(RuntimeError):
    """No interpreter with gdm-concordia >= 2.4 on Python >= 3.12; the message is one line."""


def _ok(python: str) -> str | None:
    """None if ``python`` is >= 3.12 and imports concordia, else why not (one phrase)."""
    try:
        out = subprocess.run(
            [
                python,
                "-I",
                "-c",
                "import sys; import concordia.language_model.language_model; "
                "print(sys.version_info[0], sys.version_info[1])",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"cannot run {python} ({type(exc).__name__})"
    if out.returncode != 0:
        return f"{python} has no gdm-concordia"
    major, minor = (int(x) for x in out.stdout.split()[:2])
    if (major, minor) < (3, 12):
        return f"{python} is Python {major}.{minor}, gdm-concordia >= 2.4 needs >= 3.12"
    return None


@lru_cache(maxsize=1)
def _resolve() -> tuple[str | None, str]:
    tried: list[str] = []
    explicit = os.environ.get(ENV_VAR)
    if explicit:
        why = _ok(explicit)
        return (explicit, "") if why is None else (None, f"{ENV_VAR}: {why}")
    if sys.version_info >= (3, 12) and importlib.util.find_spec("concordia") is not None:
        return sys.executable, ""
    tried.append(f"this Python is {sys.version_info[0]}.{sys.version_info[1]}")
    venv_python = VENV_DIR / "bin" / "python"
    if venv_python.exists():
        why = _ok(str(venv_python))
        if why is None:
            return str(venv_python), ""
        tried.append(why)
    else:
        tried.append(f"no {VENV_DIR.name}")
    return None, "; ".join(tried)


def concordia_python() -> str:
    """Path of the interpreter that runs Concordia generators (see the module docstring).

    Raises :class:`ConcordiaUnavailable` with one line saying what is missing and how to
    get it. The answer is cached for the process (:func:`reset` clears it)."""
    python, why = _resolve()
    if python is None:
        raise ConcordiaUnavailable(
            f"Concordia generators need Python >= 3.12 with gdm-concordia >= 2.4 ({why}): {SETUP_HINT}"
        )
    return python


def available() -> bool:
    """True when :func:`concordia_python` would succeed."""
    return _resolve()[0] is not None


def reset() -> None:
    """Forget the cached answer (tests, or after creating the venv)."""
    _resolve.cache_clear()
