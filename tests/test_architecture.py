"""The package layering and the absence of import cycles, checked on every test run.

The contracts live in ``pyproject.toml`` (``[tool.importlinter]``) and are checked with
import-linter; a module-level cycle check with grimp (the graph import-linter builds)
counts imports inside functions too, so a cycle cannot hide behind a lazy import. mypy checks
the four packages, and ruff (``[tool.ruff]``: lint and format at 110 columns) the whole tree.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import grimp
import numpy as np
import pytest
from importlinter.cli import lint_imports
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("metrics", "generators", "archive", "evolve")


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(*PACKAGES, cache_dir=None)


def test_every_import_contract_in_pyproject_is_kept(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.chdir(ROOT)
    code = lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True)
    out = capsys.readouterr().out
    assert code == 0, out
    assert "0 broken" in out and "5 kept" in out, out


def _strongly_connected(graph: grimp.ImportGraph) -> list[list[str]]:
    modules = sorted(graph.modules)
    index = {m: i for i, m in enumerate(modules)}
    rows, cols = [], []
    for module in modules:
        for target in graph.find_modules_directly_imported_by(module):
            if target in index:
                rows.append(index[module])
                cols.append(index[target])
    matrix = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(modules), len(modules)))
    _, labels = connected_components(matrix, directed=True, connection="strong")
    groups: dict[int, list[str]] = {}
    for module, label in zip(modules, labels):
        groups.setdefault(int(label), []).append(module)
    return [members for members in groups.values() if len(members) > 1]


def test_no_module_imports_itself_back_even_through_a_lazy_import(graph: grimp.ImportGraph) -> None:
    assert len(graph.modules) > 100  # the whole project was read
    assert _strongly_connected(graph) == []


def test_the_cycle_finder_sees_a_cycle_made_of_function_level_imports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check above can fail: two modules importing each other inside functions form a cycle."""
    pkg = tmp_path / "cyclic_pkg_for_test"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from cyclic_pkg_for_test import b\n    return b\n")
    (pkg / "b.py").write_text("def g():\n    from cyclic_pkg_for_test import a\n    return a\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert _strongly_connected(grimp.build_graph("cyclic_pkg_for_test", cache_dir=None)) == [
        ["cyclic_pkg_for_test.a", "cyclic_pkg_for_test.b"]
    ]


def test_metrics_imports_only_numpy_scipy_and_the_standard_library(graph: grimp.ImportGraph) -> None:
    import sys

    outside = set()
    for module in graph.find_descendants("metrics") | {"metrics"}:
        for target in graph.find_modules_directly_imported_by(module):
            top = target.split(".")[0]
            if top not in PACKAGES and top not in sys.stdlib_module_names:
                outside.add(top)
    assert outside <= {"numpy", "scipy"}, outside


def test_the_sandbox_child_imports_only_the_standard_library_and_its_own_modules(
    graph: grimp.ImportGraph,
) -> None:
    import sys

    inside_dir = ROOT / "generators" / "sandbox" / "inside"
    own = {p.stem for p in inside_dir.glob("*.py")}
    bad = set()
    for module in graph.find_descendants("generators.sandbox.inside"):
        for target in graph.find_modules_directly_imported_by(module):
            top = target.split(".")[0]
            if top not in sys.stdlib_module_names and top not in own and top != "pyseccomp":
                bad.add(f"{module} -> {target}")
    assert bad == set()
    assert os.path.isdir(inside_dir) and own


TYPED_PACKAGES = ("metrics", "generators", "archive", "evolve")
"""Packages mypy must pass cleanly (``[tool.mypy]`` in pyproject.toml)."""


@pytest.mark.slow
def test_mypy_finds_no_error_in_the_typed_packages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mypy import api

    monkeypatch.chdir(ROOT)
    out, err, code = api.run(
        ["--config-file", str(ROOT / "pyproject.toml"), "--cache-dir", str(tmp_path), *TYPED_PACKAGES]
    )
    assert code == 0, out + err
    assert "Success: no issues found" in out


def _ruff(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """``ruff`` of this environment with the project's ``[tool.ruff]`` settings, no cache."""
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args, "--no-cache", "--config", str(ROOT / "pyproject.toml")],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_ruff_lint_and_format_find_nothing_in_the_repository() -> None:
    lint = _ruff("check", ".")
    assert lint.returncode == 0, lint.stdout + lint.stderr
    fmt = _ruff("format", "--check", ".")
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


def test_ruff_with_the_project_settings_refuses_a_long_line_and_unsorted_imports(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import sys\nimport os\n\nVALUE = '" + "x" * 120 + "'\nprint(os, sys, VALUE)\n")
    lint = _ruff("check", "--output-format", "concise", str(bad), cwd=tmp_path)
    assert lint.returncode == 1 and "E501" in lint.stdout and "I001" in lint.stdout
    fmt = _ruff("format", "--check", str(bad), cwd=tmp_path)
    assert fmt.returncode == 1
