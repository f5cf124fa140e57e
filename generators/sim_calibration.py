"""Score generator programs in the simulated world, in process (calibration and tests).

Each (seed, context): run the program with :class:`SimLLM`, answer with
:class:`SimRespondent`, place with :func:`positions`, score with :func:`metrics.evaluate`
(10,000 Monte Carlo points, seed 0, as the evaluator does). Each seed is one evaluation:
writer and respondent share a fresh :class:`SimLedger`, as in the real pipeline.
"""

from __future__ import annotations

import re
from typing import Sequence

import metrics
from generators.context import Context
from generators.positions import positions
from generators.respondent import SimRespondent
from generators.sim.inprocess import load_program, run_program
from generators.sim.knobs import SimKnobs
from generators.sim.ledger import SimLedger
from generators.sim.llm import SimLLM
from generators.sim.text import stable_hash
from metrics.descriptors import tail_share


def score_program(
    code: str,
    contexts: Sequence[Context],
    *,
    n: int = 25,
    seeds: Sequence[int] = (0, 1, 2),
    knobs: SimKnobs = SimKnobs(),
    mc_samples: int = 10_000,
    descriptors: bool = False,
) -> list[dict[str, float]]:
    """The six metrics per (seed, context), seed-major: the program run in the sim,
    answered by :class:`SimRespondent`, placed by :func:`positions` and scored. With
    ``descriptors``, each row also holds ``tail_share`` (share in [0, 1] of personas with
    an axis outside [0.1, 0.9])."""
    module = load_program(code)
    out = []
    for seed in seeds:
        ledger = SimLedger()
        sim, resp = SimLLM(knobs=knobs, ledger=ledger), SimRespondent(knobs=knobs, ledger=ledger)
        for ctx in contexts:
            personas = run_program(module, ctx, n, sim=sim, seed=seed)
            Z = positions(resp.answer_sync(personas, ctx, seed=stable_hash("resp", seed) >> 1), ctx).Z
            row = dict(metrics.evaluate(Z, mc_samples=mc_samples, seed=0))
            if descriptors:
                row["tail_share"] = tail_share(Z)
            out.append(row)
    return out


def set_constant(code: str, name: str, value: str) -> str:
    """Replace the module-level assignment ``NAME = ...`` (one line) by ``NAME = value``."""
    new, hits = re.subn(rf"(?m)^{name} = .*$", f"{name} = {value}", code, count=1)
    if not hits:
        raise ValueError(f"set_constant: no line '{name} = ...' in program")
    return new


def set_list(code: str, name: str, items: Sequence[str]) -> str:
    """Replace the module-level list ``NAME = [ ... ]`` by a list of the given strings."""
    body = "".join(f"    {item!r},\n" for item in items)
    new, hits = re.subn(rf"(?ms)^{name} = \[\n.*?^\]", f"{name} = [\n{body}]", code, count=1)
    if not hits:
        raise ValueError(f"set_list: no list '{name} = [' in program")
    return new


def improved_sobol(sobol_code: str) -> str:
    """A hand-tuned variant of seed:sobol (only its EVOLVE-BLOCK levers changed): wider
    targets, emphatic style notes, one persona per call, independence cues (in the style
    notes too, so they reach the expansion prompt that writes the final text)."""
    code = set_constant(sobol_code, "SPREAD", "1.4")
    code = set_constant(code, "BATCH_SIZE", "1")
    code = set_list(
        code,
        "STYLE_NOTES",
        [
            "Be vivid and concrete; do not soften the positions.",
            "Extreme, uncompromising positions are welcome where the targets call for them.",
            "Treat the axes as independent: unexpected combinations are intended.",
        ],
    )
    code = set_list(
        code,
        "TARGET_NOTES",
        [
            "Each persona must match its target position on every axis (0 = low end, 1 = high end).",
            "Treat the axes as independent: unexpected combinations are intended.",
        ],
    )
    return code
