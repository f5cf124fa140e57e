"""The static twin check (evolve.loop.inert, issue 22 item 5) rejects only true twins.

Soundness is checked by behaviour: a program is run in process on a context with a
recording model that answers every request from a hash of everything it was sent (prompt,
system, temperature, max_tokens), so two programs that send the same requests and write
the same personas did the same thing. Whenever the check calls an edit inert, the child
must send exactly its parent's requests and return exactly its parent's personas.
"""

from __future__ import annotations

import hashlib
import random
import re
from typing import Any, Sequence

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evolve.loop.inert import canonical_form, inert_edit
from generators.context_loader import resolve_contexts
from generators.sandbox.inside.sandbox_runtime import ContextView
from generators.seeds import load_seed
from generators.sim.inprocess import load_program

SEEDS = {name: load_seed(name) for name in ("naive", "batch", "sobol")}
CONTEXT = resolve_contexts(["esports_community"])[0]


class RecordingLLM:
    """Answers each request with persona text derived from a hash of the whole request."""

    def __init__(self) -> None:
        self.requests: list[tuple[Any, ...]] = []

    def _one(self, prompt: str, system: str | None, temperature: float | None, max_tokens: int | None) -> str:
        key = (str(prompt), system, temperature, max_tokens)
        self.requests.append(key)
        h = hashlib.sha256(repr(key).encode()).hexdigest()
        return "\n".join(
            f"Persona {i + 1}\nName: P{h[i : i + 6]}\nDescription: someone {h[i + 6 : i + 20]}"
            for i in range(6)
        )

    def complete(
        self,
        prompt: str,
        *,
        system: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> str:
        return self._one(prompt, system, temperature, max_tokens)

    def complete_many(
        self,
        prompts: Sequence[str],
        *,
        system: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> list[str]:
        return [self._one(p, system, temperature, max_tokens) for p in prompts]


def behaviour(code: str) -> tuple[list[tuple[Any, ...]], Any]:
    """(requests sent, personas returned or the error raised) of ``code`` on one context."""
    llm = RecordingLLM()
    try:
        module = load_program(code)
        out: Any = module.generate(
            ContextView.from_public_dict(CONTEXT.public_dict()), 10, llm, np.random.default_rng(7)
        )
    except Exception as exc:  # noqa: BLE001 - a failure is behaviour too
        out = f"raised {type(exc).__name__}"
    return llm.requests, out


_NUMBER = re.compile(r"(?<![\w.])(\d+\.\d+|\d+)(?![\w.])")


def random_edit(code: str, rng: random.Random) -> str:
    """One local edit of the kinds a blind mutator makes: a number scaled, two adjacent
    lines swapped, a flag flipped, a line duplicated or dropped, a docstring reworded."""
    lines = code.splitlines()
    kind = rng.choice(("number", "swap", "flag", "dup", "drop", "doc"))
    i = rng.randrange(len(lines))
    if kind == "number":
        hits = [(j, m) for j, line in enumerate(lines) for m in _NUMBER.finditer(line)]
        if hits:
            j, m = rng.choice(hits)
            new = str(round(float(m.group(1)) * rng.choice((0.5, 0.9, 1.1, 2.0)), 3))
            lines[j] = lines[j][: m.start()] + new + lines[j][m.end() :]
    elif kind == "swap" and i + 1 < len(lines):
        lines[i], lines[i + 1] = lines[i + 1], lines[i]
    elif kind == "flag":
        j = rng.randrange(len(lines))
        lines[j] = lines[j].replace("True", "@@").replace("False", "True").replace("@@", "False")
    elif kind == "dup":
        lines.insert(i, lines[i])
    elif kind == "drop":
        del lines[i]
    else:
        lines[i] = lines[i].replace('"""', '"""Reworded. ', 1)
    return "\n".join(lines) + "\n"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(SEEDS)), seed=st.integers(0, 2**32 - 1), steps=st.integers(1, 3))
def test_an_edit_called_inert_sends_the_same_requests_and_writes_the_same_personas(name, seed, steps):
    rng = random.Random(seed)
    parent = SEEDS[name]
    child = parent
    for _ in range(steps):
        child = random_edit(child, rng)
    if inert_edit(parent, child) is None:
        return
    assert behaviour(child) == behaviour(parent)


def test_known_inert_edits_are_caught_before_any_call():
    sobol = SEEDS["sobol"]
    assert "USE_LEVEL_WORDS = False" in sobol and '(0.3, "low")' in sobol
    # LEVEL_WORDS is read only after `if not USE_LEVEL_WORDS: return ...`: never, while the flag is off
    assert inert_edit(sobol, sobol.replace('(0.3, "low")', '(0.33, "low")')) is not None
    # two module constants swapped
    swapped = sobol.replace("TEMPERATURE = 0.9\nMAX_TOKENS = 3000", "MAX_TOKENS = 3000\nTEMPERATURE = 0.9")
    assert swapped != sobol and inert_edit(sobol, swapped) is not None
    # a docstring reworded, a constant nothing reads added
    assert (
        inert_edit(
            sobol,
            sobol.replace(
                "def generate(context, n, llm, rng):",
                'def generate(context, n, llm, rng):\n    """Reworded."""',
            ),
        )
        is not None
    )
    assert inert_edit(sobol, sobol.replace("MAX_TOKENS = 3000", "MAX_TOKENS = 3000\nUNUSED = 7")) is not None


def test_edits_that_can_change_a_request_are_never_inert():
    sobol = SEEDS["sobol"]
    warmer = sobol.replace(
        "TEMPERATURE = 0.9", "TEMPERATURE = 0.8"
    )  # the sim ignores it; a real model does not
    flipped = sobol.replace("USE_LEVEL_WORDS = False", "USE_LEVEL_WORDS = True")  # the level words now run
    for child in (warmer, flipped):
        assert inert_edit(sobol, child) is None
        assert behaviour(child) != behaviour(sobol)
    assert (
        inert_edit(flipped, flipped.replace('(0.3, "low")', '(0.33, "low")')) is None
    )  # ... so their values matter


def test_reflection_or_rebinding_puts_a_program_out_of_reach():
    base = "X = 1\nY = 2\n\ndef generate(context, n, llm, rng):\n    return []\n"
    assert canonical_form(base) is not None
    assert inert_edit(base, base.replace("Y = 2", "Y = 3")) is not None
    for extra in (
        "    globals()['Y']\n",
        "    getattr(context, 'Y')\n",
        "    import sys\n",
        "    print(generate.__globals__)\n",
    ):
        reflective = base.replace("    return []\n", extra + "    return []\n")
        assert canonical_form(reflective) is None
        assert inert_edit(reflective, reflective.replace("Y = 2", "Y = 3")) is None
    starred = "from math import *\n" + base  # may bind Y: the order of Y and the import matters
    assert (
        inert_edit(
            starred, starred.replace("from math import *\nX = 1\nY = 2", "X = 1\nY = 2\nfrom math import *")
        )
        is None
    )
    rebound = base + "Y = 5\n"  # bound twice: its value at any time depends on the order
    assert inert_edit(rebound, rebound.replace("Y = 2", "Y = 3")) is None
