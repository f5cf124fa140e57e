"""The Concordia-style seed programs of docs/examples/concordia_style (team-written, in the
style of the two-stage Concordia generators) load as ``file:`` seeds and write a full
population in every simulated world: stage 1's JSON batches with nested attitude / stance
objects come back in the shape asked for (code fences and prose around them included), and
stage 2 expands every persona."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from evolve.common.seed_programs import label_of, load_seed_programs
from generators.context_loader import load_split
from generators.sim import SimLLM
from generators.sim.inprocess import load_program, run_program
from generators.sim.text import norm_axis
from generators.sim.worlds import WORLDS, get_world
from generators.sim_calibration import score_program

FILES = sorted((Path(__file__).resolve().parents[2] / "docs" / "examples" / "concordia_style").glob("*.py"))


def test_there_are_two_and_they_load_as_file_seeds():
    assert [f.name for f in FILES] == ["attitude_batches.py", "stance_profiles.py"]
    programs = load_seed_programs([f"file:{f}" for f in FILES])
    assert list(programs) == [label_of(f"file:{f}") for f in FILES]
    for code in programs.values():
        assert "# EVOLVE-BLOCK-START" in code
        assert (
            "import concordia" not in code and "from concordia" not in code
        )  # our own protocol, no Concordia


class Recording(SimLLM):
    """The sim, keeping every reply it wrote."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.replies: list[str] = []

    def respond(self, role, messages, *, seed=None):
        reply = super().respond(role, messages, seed=seed)
        self.replies.append(reply)
        return reply


def _json_replies(replies: list[str]) -> list[dict]:
    out = []
    for r in replies:
        start, end = r.find("{"), r.rfind("}")
        if start >= 0 and end > start:
            try:
                out.append(json.loads(r[start : end + 1]))
            except json.JSONDecodeError:
                pass
    return out


@pytest.mark.parametrize("world", list(WORLDS))
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_a_full_population_in_every_world(path: Path, world: str):
    context = load_split("test")[0]
    personas = run_program(path.read_text(), context, 12, sim=SimLLM(knobs=get_world(world).knobs), seed=3)
    assert len(personas) == 12
    assert all("(expanded)" in p["description"] for p in personas)  # stage 2 ran on every persona
    assert len({p["name"] for p in personas}) == 12


def test_stage_one_gets_the_nested_shapes_it_asked_for():
    context = load_split("test")[0]
    axes = [norm_axis(a) for a in context.axis_names]
    for path, check in zip(FILES, ("attitudes", "stance")):
        sim = Recording()
        module = load_program(path.read_text())
        run_program(module, context, 6, sim=sim, seed=1)
        batches = [d for d in _json_replies(sim.replies) if d]
        assert batches, path.name
        if check == "attitudes":
            personas = [p for d in batches for p in d.values()]
            assert all(isinstance(p["specific_attitudes"], dict) for p in personas)
            assert all([norm_axis(k) for k in p["specific_attitudes"]] == axes for p in personas)
        else:
            personas = [p for d in batches for p in d["people"]]
            for p in personas:
                assert [norm_axis(k) for k in p["stance"]] == axes
                assert all(isinstance(e["score"], (int, float)) for e in p["stance"].values())
                assert isinstance(p["quotes"], list) and isinstance(p["background"], dict)


def test_they_score_between_the_floor_seed_and_the_space_filling_seed():
    """A sanity band, not a figure: with no numeric targets the attitude batches score like
    the batch seed (above the naive one); the stance profiles state targets and score above
    the attitude batches."""
    from generators.seeds import load_seed

    contexts = load_split("test")[:3]

    def cov(code: str) -> float:
        return float(
            np.mean([r["coverage"] for r in score_program(code, contexts, seeds=(0,), mc_samples=2000)])
        )

    naive, attitudes, stances = cov(load_seed("naive")), cov(FILES[0].read_text()), cov(FILES[1].read_text())
    assert naive < attitudes < stances
