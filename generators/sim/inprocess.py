"""Run a generator program in this process against the simulated world (tests, calibration).

No sandbox: only for trusted code (the shipped seeds and hand-written variants).
"""

from __future__ import annotations

import types
from typing import Any, Sequence

import numpy as np

from generators.context import Context
from generators.runtime import ContextView, validate_personas
from generators.sim.llm import SimLLM
from generators.sim.text import stable_hash
from generators.tokens import estimate_tokens


class SimProgramLLM:
    """The ``llm`` handle of a program, answered by a :class:`SimLLM` (role ``persona``).

    Every prompt is one call with seed ``hash(seed, call counter)``, so a re-run is
    reproducible and two identical prompts still get independent samples. ``calls`` counts
    calls made; ``prompt_tokens``/``completion_tokens`` their estimated tokens
    (:func:`generators.tokens.estimate_tokens`). ``temperature``/``max_tokens`` are
    accepted and ignored (the sim has none).
    """

    def __init__(self, sim: SimLLM, *, seed: int) -> None:
        self.sim = sim
        self.seed = int(seed)
        self.calls = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0

    def _one(self, prompt: str, system: str | None) -> str:
        messages = ([{"role": "system", "content": system}] if system else []) + [
            {"role": "user", "content": prompt}
        ]
        call_seed = stable_hash("call", self.seed, self.calls) >> 1
        self.calls += 1
        reply = self.sim.respond("persona", messages, seed=call_seed)
        self.prompt_tokens += estimate_tokens((system or "") + prompt)
        self.completion_tokens += estimate_tokens(reply)
        return reply

    def complete(
        self,
        prompt: str,
        *,
        system: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> str:
        return self._one(str(prompt), system)

    def complete_many(
        self,
        prompts: Sequence[str],
        *,
        system: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> list[str]:
        return [self._one(str(p), system) for p in prompts]


def load_program(code: str, name: str = "generator_program") -> types.ModuleType:
    """Exec program text into a fresh module namespace (trusted code only)."""
    module = types.ModuleType(name)
    exec(compile(code, f"<{name}>", "exec"), module.__dict__)
    if not callable(getattr(module, "generate", None)):
        raise ValueError(f"{name}: program defines no generate()")
    return module


def run_program(
    program: types.ModuleType | str, context: Context, n: int, *, sim: SimLLM | None = None, seed: int = 0
) -> list[dict[str, Any]]:
    """``generate`` of ``program`` on ``context`` (seen through ContextView) with the sim;
    the program's rng and the call seeds derive from ``seed`` and the context id."""
    module = load_program(program) if isinstance(program, str) else program
    view = ContextView.from_public_dict(context.public_dict())
    llm = SimProgramLLM(sim or SimLLM(), seed=stable_hash("llm", seed, context.id) >> 1)
    rng = np.random.default_rng(stable_hash("rng", seed, context.id) >> 1)
    return validate_personas(module.generate(view, n, llm, rng), n)
