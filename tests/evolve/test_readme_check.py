"""The README is a contract (issue 23): every ```bash command of README.md runs in a scratch
folder and does what the README says (scripts/readme_check.py holds the claims), and a
command the check does not know fails it."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load():
    spec = importlib.util.spec_from_file_location("readme_check", ROOT / "scripts" / "readme_check.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["readme_check"] = module
    spec.loader.exec_module(module)
    return module


rc = _load()


def test_every_readme_command_is_covered_and_no_claim_is_stale():
    pairs, problems = rc.coverage((ROOT / "README.md").read_text())
    assert problems == []
    assert len(pairs) > 20


def test_a_new_command_block_fails_the_check_and_names_its_line():
    readme = (ROOT / "README.md").read_text()
    extra = readme + "\n## New\n\n```bash\npersona-evolve frobnicate --hard\n```\n"
    line = len(readme.splitlines()) + 4  # the opening fence of the new block
    _, problems = rc.coverage(extra)
    assert problems == [p for p in problems if p.startswith(f"README block at line {line} is not covered")]
    assert len(problems) == 1 and "persona-evolve frobnicate --hard" in problems[0]


def test_a_claim_whose_command_left_the_readme_is_stale():
    readme = (ROOT / "README.md").read_text().replace("persona-evolve worlds ", "persona-evolve world-list ")
    _, problems = rc.coverage(readme)
    assert any("not covered" in p and "world-list" in p for p in problems)
    assert any(p.startswith("claim /^persona-evolve worlds$/ matches no README command") for p in problems)


def test_commands_are_parsed_with_continuations_and_comments():
    text = 'x\n```bash\nfoo --a 1 \\\n    --b 2    # a comment\n# only a comment\n\nbar "#x"   # c\n```\n'
    (block,) = rc.blocks(text)
    assert block.lang == "bash" and block.line == 2
    assert [(c.text, c.line) for c in rc.commands(block)] == [("foo --a 1 --b 2", 3), ('bar "#x"', 7)]


def test_json_shape_keys_are_the_top_level_ones():
    assert rc._top_level_keys('{"a": {"b": int, "c": [{"d": 1}]},\n "e": str}   # "f": no') == {"a", "e"}
    shapes = rc.json_shapes((ROOT / "README.md").read_text())
    assert {"summary", "top", "lineage", "grid", "rare", "holes", "front", "diff"} <= set(shapes)
    assert "simulated" in shapes["summary"] and "steps" in shapes["lineage"]


@pytest.mark.slow  # one short run (3 evaluations) and ~35 CLI commands: 1-3 minutes on 2 idle cores
def test_every_readme_command_does_what_the_readme_says(tmp_path):
    venv = Path(sys.prefix)  # scripts/test runs pytest from the clone's .venv
    assert (venv / "bin" / "persona-evolve").exists(), (
        f"{venv} has no bin/persona-evolve: install the project"
    )
    lines: list[str] = []
    problems = rc.check(ROOT / "README.md", venv=venv, scratch=tmp_path, log=lines.append)
    print("\n".join(lines))
    assert problems == [], "\n".join(problems)


def test_commands_that_read_a_failed_run_are_one_problem(tmp_path):
    """When the one run fails, the commands reading its archive are not run, and the check
    says so once (the run's own failure is its own problem)."""
    claim = next(c for c in rc.CLAIMS if "--best --out my_generator" in c.pattern)
    cmd = rc.Command("persona-evolve export --db runs/<stamp>/archive.db --best --out my_generator.py", 7, 5)
    state = rc.State(scratch=tmp_path, env={}, readme="")
    for run in claim.runs:
        rc.execute(cmd, claim, run, state, lambda line: None)
    assert state.problems == [] and state.without_run == ["line 7"]
    assert not (tmp_path / "my_generator.py").exists()
