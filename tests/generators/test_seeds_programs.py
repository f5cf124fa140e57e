"""The three seed programs: loading, EVOLVE-BLOCKs and levers, imports, exactly n personas."""

from __future__ import annotations

import ast

import numpy as np
import pytest

from generators.context_loader import context_from_dict
from generators.runtime import ContextView
from generators.seeds import SEED_NAMES, load_seed
from generators.sim import SimLLM, load_program, run_program

CTX = context_from_dict(
    {
        "id": "test_night_market",
        "description": "Stall holders at a night market.",
        "scale": {"min": 1, "max": 5},
        "axes": [
            {
                "name": "haggling",
                "description": "willingness to haggle",
                "low": "fixed prices",
                "high": "haggles over everything",
                "items": [
                    {"text": "I love to bargain.", "reverse": False},
                    {"text": "A price is a price.", "reverse": True},
                ],
            },
            {
                "name": "night_owl",
                "description": "energy at night",
                "low": "wants to sleep",
                "high": "comes alive after dark",
                "items": [
                    {"text": "Midnight is my best hour.", "reverse": False},
                    {"text": "I count the minutes to closing.", "reverse": True},
                ],
            },
            {
                "name": "rivalry",
                "description": "rivalry with neighbours",
                "low": "cooperates",
                "high": "sees rivals everywhere",
                "items": [
                    {"text": "The next stall is my enemy.", "reverse": False},
                    {"text": "We share customers gladly.", "reverse": True},
                ],
            },
        ],
    }
)
ALLOWED_TOP = {
    "re",
    "math",
    "json",
    "random",
    "itertools",
    "collections",
    "functools",
    "string",
    "textwrap",
    "numpy",
    "scipy",
}


def test_names_and_loading():
    assert SEED_NAMES == ("naive", "batch", "sobol")
    for name in SEED_NAMES:
        assert load_seed(name) == load_seed(f"seed:{name}")
    with pytest.raises(ValueError, match="unknown seed"):
        load_seed("seed:nope")


@pytest.mark.parametrize("name", SEED_NAMES)
def test_structure_evolve_block_and_imports(name):
    code = load_seed(name)
    assert code.count("# EVOLVE-BLOCK-START") == 1 and code.count("# EVOLVE-BLOCK-END") == 1
    block = code.split("# EVOLVE-BLOCK-START")[1].split("# EVOLVE-BLOCK-END")[0]
    assert "def generate(context, n, llm, rng)" in block
    assert "TEMPERATURE = " in block and "STYLE_NOTES = [" in block
    tree = ast.parse(code)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            assert all(a.name.split(".")[0] in ALLOWED_TOP for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.module.split(".")[0] in ALLOWED_TOP


def test_levers_are_plain_constants():
    batch = load_program(load_seed("batch"))
    sobol = load_program(load_seed("sobol"))
    assert batch.BATCH_SIZE == 10 and isinstance(batch.DIFFER_NOTES, list)
    assert sobol.SPREAD == 1.0 and sobol.BATCH_SIZE == 5
    assert all(isinstance(s, str) for s in sobol.STYLE_NOTES + sobol.TARGET_NOTES + sobol.EXPAND_NOTES)
    assert [w for _, w in sobol.LEVEL_WORDS][0] == "very low"


@pytest.mark.parametrize("name", SEED_NAMES)
@pytest.mark.parametrize("n", [1, 7, 25])
def test_exactly_n_valid_personas_in_the_sim(name, n):
    personas = run_program(load_seed(name), CTX, n, seed=3)
    assert len(personas) == n
    assert all("[SIMULATED]" in p["description"] for p in personas)


class _BadLLM:
    """Replies that are useless or short: the seeds return only what parsed."""

    def __init__(self, reply: str):
        self.reply = reply
        self.calls = 0

    def complete(self, prompt, *, system=None, temperature=None, max_tokens=None):
        self.calls += 1
        return self.reply

    def complete_many(self, prompts, *, system=None, temperature=None, max_tokens=None):
        self.calls += len(prompts)
        return [self.reply for _ in prompts]


def _generate(name: str, reply: str, n: int = 6) -> list[dict]:
    module = load_program(load_seed(name))
    view = ContextView.from_public_dict(CTX.public_dict())
    return module.generate(view, n, _BadLLM(reply), np.random.default_rng(0))


@pytest.mark.parametrize("name", SEED_NAMES)
@pytest.mark.parametrize("reply", ["", "I cannot help with that.", "Description: a text with no name line."])
def test_unparseable_replies_give_no_persona_at_all(name, reply):
    """Nothing is made up when a reply does not parse (the runtime then reports 0 personas)."""
    assert _generate(name, reply) == []


@pytest.mark.parametrize(("name", "count"), [("naive", 2), ("batch", 6), ("sobol", 2)])
def test_short_replies_give_only_the_personas_that_parsed(name, count):
    """naive: the reply and one follow-up; batch: one per stage-1 call until n; sobol: one
    per batch of 5 targets. Every persona is the one the reply wrote, none padded."""
    personas = _generate(name, "Name: Solo\nDescription: The only one.")
    assert len(personas) == count
    assert all(p["name"] == "Solo" and p["description"] == "The only one." for p in personas)
    if name == "sobol":  # each kept persona carries the target it was written for
        assert all(len(p["targets"]) == 3 for p in personas)


@pytest.mark.parametrize("name", SEED_NAMES)
def test_prompts_carry_no_sim_cue_words(name):
    """The seeds' instructions are neutral: no softening or emphasis cue of the sim."""
    from generators.sim.request import parse_request

    prompts: list[str] = []

    class Recorder(_BadLLM):
        def complete(self, prompt, **kw):
            prompts.append(prompt)
            return "Name: Solo\nDescription: The only one."

        def complete_many(self, ps, **kw):
            prompts.extend(ps)
            return ["Name: Solo\nDescription: The only one." for _ in ps]

    module = load_program(load_seed(name))
    module.generate(
        ContextView.from_public_dict(CTX.public_dict()), 6, Recorder(""), np.random.default_rng(0)
    )
    assert prompts
    for prompt in prompts:
        req = parse_request([{"role": "user", "content": prompt}])
        assert (req.softening, req.emphasis) == (0, 0), prompt
        assert "natural" not in prompt.lower() and "realistic" not in prompt.lower()


def test_sobol_targets_are_space_filling_and_spread_lever_widens_them():
    module = load_program(load_seed("sobol"))
    t = np.array(module.draw_targets(3, 32, np.random.default_rng(0)))
    assert t.shape == (32, 3) and t.min() >= 0 and t.max() <= 1
    assert np.all(np.histogram(t[:, 0], bins=4, range=(0, 1))[0] == 8)
    module.SPREAD = 1.4
    wide = np.array(module.draw_targets(3, 32, np.random.default_rng(0)))
    assert (np.abs(wide - 0.5) >= np.abs(t - 0.5) - 1e-12).all() and (wide == 1.0).any()


def test_sobol_prompts_use_the_sim_grammar():
    module = load_program(load_seed("sobol"))
    view = ContextView.from_public_dict(CTX.public_dict())
    prompt = module.sketch_prompt(view, [[0.1, 0.5, 0.9], [0.8, 0.2, 0.4]])
    from generators.sim.request import parse_request

    req = parse_request([{"role": "user", "content": prompt}])
    assert [a.name for a in req.axes] == ["haggling", "night_owl", "rivalry"]
    assert req.targets == (
        {"haggling": 0.1, "night owl": 0.5, "rivalry": 0.9},
        {"haggling": 0.8, "night owl": 0.2, "rivalry": 0.4},
    )
    module.USE_LEVEL_WORDS = True
    req = parse_request([{"role": "user", "content": module.sketch_prompt(view, [[0.05, 0.5, 0.95]])}])
    assert req.targets[0]["haggling"] < 0.2 and req.targets[0]["rivalry"] > 0.8


def test_run_program_is_deterministic_per_seed():
    code = load_seed("batch")
    a = run_program(code, CTX, 12, sim=SimLLM(), seed=5)
    b = run_program(code, CTX, 12, sim=SimLLM(), seed=5)
    c = run_program(code, CTX, 12, sim=SimLLM(), seed=6)
    assert a == b and a != c
