"""concordia:FILE.py[:Class] wrapping, and the in-sandbox Concordia runtime (adapter, lock
step, driver) exercised on Python 3.11 with Concordia-shaped classes (no concordia import)."""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from evolve.proposals.checks import first_rejection
from generators.concordia.wrap import ConcordiaRefError, load_concordia_generator, parse_ref, wrap_class
from generators.sandbox.inside.sandbox_imports import needs_concordia

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "generators" / "sandbox" / "inside"))
import sandbox_concordia as sc  # noqa: E402

FIXTURES = Path(__file__).resolve().parent / "concordia_fixtures"

TWO = """
class A:
    def generate_diverse_persona_characteristics(self, initial_context, diversity_axes, num_personas): ...
    def generate_single_persona_memories(self, persona_details): ...

class B(A):
    def generate_diverse_persona_characteristics(self, initial_context, diversity_axes, num_personas): ...
    def generate_single_persona_memories(self, persona_details): ...
"""


def test_wrapped_program_is_an_evolvable_concordia_program() -> None:
    code = load_concordia_generator(f"concordia:{FIXTURES / 'paper_style_generator.py'}")
    assert "# EVOLVE-BLOCK-START" in code and "# EVOLVE-BLOCK-END" in code
    assert "sandbox_concordia.drive(SpaceFillingJsonGenerator, context, n, llm, rng)" in code
    assert first_rejection(code) is None and needs_concordia(code)
    assert not needs_concordia("import numpy\ndef generate(context, n, llm, rng): return []")


@pytest.mark.parametrize(
    "ref, source, message",
    [
        ("concordia:x.py", TWO, "several protocol classes (A, B)"),
        ("concordia:x.py:C", TWO, "class C is not defined"),
        ("concordia:x.py", "class A: pass\n", "no class defines both"),
        ("concordia:x.py", "def generate(): pass\n" + TWO.replace("class B(A)", "class Z"), None),
        ("concordia:x.py", "def f(:\n", "SyntaxError"),
    ],
)
def test_wrap_errors_are_one_line(ref: str, source: str, message: str | None) -> None:
    path, name = parse_ref(ref)
    with pytest.raises(ConcordiaRefError) as err:
        wrap_class(source, name, origin=str(path))
    assert "\n" not in str(err.value)
    assert message is None or message in str(err.value)


def test_named_class_and_missing_file() -> None:
    assert "drive(B, context" in wrap_class(TWO, "B", origin="x.py")
    with pytest.raises(ConcordiaRefError, match="no such file"):
        load_concordia_generator("concordia:/nonexistent/gen.py")


class FakeLLM:
    """Records prompts (in order) and answers each with its own text reversed."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.lock = threading.Lock()

    def complete(self, prompt, *, system=None, temperature=None, max_tokens=None):
        return self.complete_many([prompt], system=system, temperature=temperature, max_tokens=max_tokens)[0]

    def complete_many(self, prompts, *, system=None, temperature=None, max_tokens=None):
        with self.lock:
            self.batches.append(list(prompts))
        return [f"reply to {p} STOP tail" for p in prompts]


class ShapedGenerator:
    """Concordia-shaped: stage 1 returns more personas than asked; stage 2 makes two calls."""

    def __init__(self, model):
        self.model = model

    def generate_diverse_persona_characteristics(self, initial_context, diversity_axes, num_personas):
        assert "low =" in initial_context and list(diversity_axes) == ["a", "b"]
        return [
            {"name": f"P{i}", "description": f"d{i}", "initial_context": initial_context}
            for i in range(num_personas + 2)
        ]

    def generate_single_persona_memories(self, persona_details):
        first = self.model.sample_text(f"one {persona_details['name']}", terminators=("STOP",))
        second = self.model.sample_text(f"two {persona_details['name']}", max_tokens=10**6)
        return [first.strip(), second]


def _context():
    axes = tuple(
        SimpleNamespace(name=n, description=f"{n} axis", low=f"low {n}", high=f"high {n}") for n in "ab"
    )
    return SimpleNamespace(id="ctx", description="A setting.", axes=axes)


def test_drive_runs_stage_2_in_lock_step_and_records_counts() -> None:
    llm = FakeLLM()
    personas = sc.drive(ShapedGenerator, _context(), 4, llm, np.random.default_rng(0))
    assert [p["name"] for p in personas] == ["P0", "P1", "P2", "P3"]  # 6 returned, cut to 4, recorded
    assert all(
        p["concordia"]["stage1_returned"] == 6 and p["concordia"]["n_requested"] == 4 for p in personas
    )
    assert personas[0]["memories"][0] == "reply to one P0"  # cut before the terminator
    assert "initial_context" not in personas[0]["characteristics"]
    assert personas[0]["description"].startswith("reply to one P0")
    # stage 2: one batch per round, in persona order: the call order (so the seeds) is fixed
    assert llm.batches == [[f"one P{i}" for i in range(4)], [f"two P{i}" for i in range(4)]]


def test_drive_waves_keep_order_when_personas_exceed_workers() -> None:
    llm = FakeLLM()
    sc.drive(ShapedGenerator, _context(), 5, llm, np.random.default_rng(0), workers=2)
    assert llm.batches[:2] == [["one P0", "one P1"], ["two P0", "two P1"]]
    assert llm.batches[-2:] == [["one P4"], ["two P4"]]


def test_sample_choice_and_adapter_caps() -> None:
    class Picky(FakeLLM):
        def complete_many(self, prompts, **kw):
            super().complete_many(prompts, **kw)
            return ["(b) because"]

    model = sc.SandboxLanguageModel(Picky())
    assert model.sample_choice("Which?", ["(a)", "(b)", "(c)"])[:2] == (1, "(b)")
    assert sc.match_choice("I pick yes", ["no", "yes"]) == 1
    assert sc.match_choice("nothing here", ["no", "yes"]) is None

    class Vague(FakeLLM):
        def complete_many(self, prompts, **kw):
            return ["hard to say"]

    with pytest.raises(sc.InvalidResponseError):
        sc.SandboxLanguageModel(Vague()).sample_choice("Which?", ["x", "y"])


def test_compat_sobol_points_are_seeded_dicts() -> None:
    sc._local.rng = np.random.default_rng(5)
    a = sc._sobol_points({"x": (0, 1), "y": (2, 4)}, ["x", "y"], 6)
    sc._local.rng = np.random.default_rng(5)
    b = sc._sobol_points({"x": (0, 1), "y": (2, 4)}, ["x", "y"], 6)
    assert a == b and len(a) == 6 and all(0 <= p["x"] <= 1 and 2 <= p["y"] <= 4 for p in a)
