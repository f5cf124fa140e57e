"""Which modules a generator program may import, loaded before the sandbox closes.

Once confined, the child can read nothing of the filesystem but its working directory,
so every module a program may use is imported *before* confinement: a base set, plus
the allowed modules the program's own ``import`` statements name (found by parsing, never
by running, the program). Afterwards :class:`ImportPolicy`, first on ``sys.meta_path``,
turns any other import into one clear ``ImportError``.

Only curated modules are imported early (their import runs with the child's start-up
privileges, so a stdlib module with side effects at import, e.g. ``antigravity``, must
never be on the list).
"""

from __future__ import annotations

import ast
import importlib
import sys
from typing import Iterable

ALLOWED_STDLIB = frozenset(
    {
        "abc",
        "array",
        "base64",
        "binascii",
        "bisect",
        "calendar",
        "cmath",
        "collections",
        "colorsys",
        "concurrent",
        "contextlib",
        "copy",
        "csv",
        "dataclasses",
        "datetime",
        "decimal",
        "difflib",
        "enum",
        "fractions",
        "functools",
        "hashlib",
        "heapq",
        "hmac",
        "html",
        "io",
        "itertools",
        "json",
        "keyword",
        "math",
        "numbers",
        "operator",
        "pprint",
        "queue",
        "random",
        "re",
        "reprlib",
        "secrets",
        "statistics",
        "string",
        "struct",
        "textwrap",
        "threading",
        "time",
        "types",
        "typing",
        "unicodedata",
        "warnings",
        "weakref",
        "zlib",
        "os",
        "sys",
        "_strptime",
    }
)
"""Standard-library top-level modules (and their submodules) a program may import."""

ALLOWED_PACKAGES = frozenset({"numpy", "scipy"})
"""Third-party packages (and their submodules) a program may import."""

RUNTIME_MODULES = frozenset({"sandbox_runtime"})
"""The sandbox's own runtime types (``from sandbox_runtime import LLMUnavailable``)."""

CONCORDIA_STDLIB = frozenset({"logging", "abc", "inspect"})
CONCORDIA_PACKAGES = frozenset({"concordia", "absl", "pandas"})
CONCORDIA_RUNTIME = frozenset({"sandbox_concordia"})
CONCORDIA_PRELOAD = (
    "logging",
    "sandbox_concordia",
    "concordia",
    "concordia.language_model.language_model",
    "concordia.document.interactive_document",
    "concordia.document.document",
    "concordia.utils.concurrency",
    "concordia.contrib.data.questionnaires.base_questionnaire",
    "absl.logging",
    "scipy.stats",
    "scipy.stats.qmc",
)
"""The ``concordia`` profile (programs that import ``concordia`` or ``sandbox_concordia``,
run by a Python >= 3.12 interpreter holding gdm-concordia): these modules are allowed
besides the base set, and the listed ones are always preloaded (with scipy's lazy imports),
so that Concordia's own lazy imports find them after confinement."""

_PROFILE = {"name": "base"}


def set_profile(name: str) -> None:
    """Select the import profile of this child (``"base"`` or ``"concordia"``)."""
    if name not in ("base", "concordia"):
        raise ValueError(f"unknown sandbox import profile {name!r}")
    _PROFILE["name"] = name


def needs_concordia(code: str) -> bool:
    """True when a program's import statements name ``concordia`` or ``sandbox_concordia``
    (it must run in the ``concordia`` profile, on an interpreter that has gdm-concordia)."""
    return any(n.split(".")[0] in ("concordia", "sandbox_concordia") for n in named_imports(code))


BASE_PRELOAD = (
    "json",
    "re",
    "math",
    "random",
    "collections",
    "itertools",
    "functools",
    "textwrap",
    "string",
    "heapq",
    "bisect",
    "copy",
    "concurrent.futures",
    "numpy",
    "numpy.random",
    "numpy.linalg",
)
"""Imported for every program (cheap, or loaded by numpy anyway); anything else allowed is
imported only when the program's own import statements name it."""


PACKAGE_SUPPORT = {
    "scipy": ("importlib.resources", "importlib.readers", "encodings.cp437", "zipfile"),
}
"""Modules a package imports lazily at call time (not at import), loaded with it. scipy's
Sobol sampler reads its direction numbers through ``importlib.resources``; refused, its
compiled code swallows the error and every point comes out the same."""


def allowed(name: str) -> bool:
    """True if ``name`` (dotted) may be imported by a program."""
    top = name.split(".")[0]
    if top in ALLOWED_STDLIB or top in ALLOWED_PACKAGES or name in RUNTIME_MODULES:
        return True
    return _PROFILE["name"] == "concordia" and (
        top in CONCORDIA_STDLIB or top in CONCORDIA_PACKAGES or name in CONCORDIA_RUNTIME
    )


def named_imports(code: str) -> list[str]:
    """Dotted module names the program's ``import`` statements name (anywhere in the
    file; ``from a import b`` yields ``a`` and ``a.b``). Empty if the code does not parse
    (the compile step reports that)."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return []
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.append(node.module)
            names.extend(f"{node.module}.{alias.name}" for alias in node.names if alias.name != "*")
    return names


def preload(names: Iterable[str]) -> list[str]:
    """Import the allowed modules among ``names`` (plus the base set). ``from a import b``
    where ``b`` is not a module is fine. Returns one line per allowed module that failed."""
    failures: list[str] = []
    wanted = [n for n in names if allowed(n)]
    if _PROFILE["name"] == "concordia":
        wanted = list(CONCORDIA_PRELOAD) + wanted
    support = [extra for n in wanted for extra in PACKAGE_SUPPORT.get(n.split(".")[0], ())]
    for name in list(BASE_PRELOAD) + support + wanted:
        if name in sys.modules:
            continue
        try:
            importlib.import_module(name)
        except ImportError:
            parent = name.rpartition(".")[0]
            if not parent or parent not in sys.modules:  # not a submodule of a loaded package
                failures.append(f"import {name}: not installed")
        except Exception as exc:  # noqa: BLE001 - a module that fails at import
            failures.append(f"import {name}: {type(exc).__name__}: {exc}")
    return failures


class ImportPolicy:
    """Meta-path finder that refuses every import not satisfied by ``sys.modules``."""

    _reported: set[str] = set()

    @classmethod
    def find_spec(cls, name: str, path: object = None, target: object = None) -> None:
        if name not in cls._reported:  # library code may swallow the ImportError: leave a trace
            cls._reported.add(name)
            try:
                sys.stderr.write(f"sandbox: refused import of {name!r} (not preloaded)\n")
            except Exception:  # noqa: BLE001 - stderr may be closed by the program
                pass
        if allowed(name):
            why = (
                "it was not imported by an import statement of the program (dynamic imports cannot be "
                "preloaded)"
            )
        else:
            why = (
                "generator programs may import only numpy, scipy, sandbox_runtime and the standard "
                "library's text, maths and data modules"
                + (
                    " (Concordia generators also concordia, absl, pandas, logging)"
                    if _PROFILE["name"] == "concordia"
                    else ""
                )
            )
        raise ImportError(f"sandbox: module {name!r} is not available: {why}", name=name)

    @staticmethod
    def invalidate_caches() -> None:
        return None


def install_policy() -> None:
    """Put :class:`ImportPolicy` first on ``sys.meta_path`` (idempotent)."""
    if not any(isinstance(f, ImportPolicy) or f is ImportPolicy for f in sys.meta_path):
        sys.meta_path.insert(0, ImportPolicy)
