"""Estimate of a run's LLM calls, tokens and dollars, printed before it starts.

Persona-role calls and tokens per context are measured by running ``seed:sobol`` (the
seed a run starts from that spends the most) in-process on the simulated world for a
few train contexts; respondent calls are exact (N × items per context, or N × axes
with ``respondent_per_axis``); the mutator is one call per proposal with a prompt of
the measured size. Tokens are estimated at 4 characters per token. Dollars use
litellm's price table; a model it has no price for is reported as unpriced.
The totals assume every proposal reaches the full train set (the cascade only
lowers them) and that about one evaluation in ten triggers a validation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from evolve.config import RunConfig
from evolve.contexts import ContextSets

VALIDATION_SHARE = 0.1  # assumed share of evaluations that validate a new island champion
MUTATOR_COMPLETION_TOKENS = 800
RESPONDENT_COMPLETION_TOKENS = 3


@dataclass(frozen=True)
class RoleEstimate:
    role: str
    model: str
    calls: float
    prompt_tokens: float
    completion_tokens: float
    dollars: float | None  # None: no price known for the model


def _price(model: str, prompt_tokens: float, completion_tokens: float) -> float | None:
    if model == "sim":
        return 0.0
    import os

    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    try:
        p, c = litellm.cost_per_token(model=model, prompt_tokens=int(prompt_tokens),
                                      completion_tokens=int(completion_tokens))
        return float(p + c)
    except Exception:  # noqa: BLE001 - unknown model: unpriced
        return None


def _measure_persona(contexts: ContextSets, n: int, samples: int = 3) -> tuple[float, float, float]:
    """Mean persona-role (calls, prompt tokens, completion tokens) per context for seed:sobol."""
    from generators.llm import estimate_tokens
    from generators.runtime import ContextView
    from generators.seeds import load_seed
    from generators.sim import SimLLM
    from generators.sim.inprocess import SimProgramLLM, load_program

    class CountingLLM(SimProgramLLM):
        prompt_tokens = 0
        completion_tokens = 0

        def _one(self, prompt: str, system: str | None) -> str:
            reply = super()._one(prompt, system)
            self.prompt_tokens += estimate_tokens((system or "") + prompt)
            self.completion_tokens += estimate_tokens(reply)
            return reply

    program = load_program(load_seed("sobol"))
    rows = []
    for ctx in contexts.train[:samples]:
        llm = CountingLLM(SimLLM(), seed=0)
        program.generate(ContextView.from_public_dict(ctx.public_dict()), n, llm, np.random.default_rng(0))
        rows.append((llm.calls, llm.prompt_tokens, llm.completion_tokens))
    calls, prompt, completion = np.mean(rows, axis=0)
    return float(calls), float(prompt), float(completion)


def estimate_run(config: RunConfig, contexts: ContextSets) -> dict[str, Any]:
    """Per-evaluation and whole-run estimates per role (see the module docstring)."""
    n = config.evaluation.n
    train = contexts.train
    calls, prompt, completion = _measure_persona(contexts, n)
    persona_text_tokens = completion / max(1.0, n)
    per_ctx_items = [(c.k if config.evaluation.respondent_per_axis else c.n_items) for c in train]
    resp_calls = n * float(np.mean(per_ctx_items))
    per_eval = {
        "persona": (calls * len(train), prompt * len(train), completion * len(train)),
        "respondent": (resp_calls * len(train), resp_calls * len(train) * (persona_text_tokens + 60),
                       resp_calls * len(train) * RESPONDENT_COMPLETION_TOKENS),
    }
    from evolve.directives import DIRECTIVES
    from evolve.prompts import ProgramBrief, build_mutation_prompt
    from generators.llm import estimate_tokens
    from generators.seeds import load_seed

    code = load_seed("sobol")
    brief = ProgramBrief("seed", code, None, None)
    system, user = build_mutation_prompt(brief, [brief] * config.mutation.inspirations, DIRECTIVES[0])
    per_eval["mutator"] = (1.0, float(estimate_tokens(system + user)), float(MUTATOR_COMPLETION_TOKENS))
    scale = {"persona": 1 + VALIDATION_SHARE * len(contexts.validation) / len(train),
             "respondent": 1 + VALIDATION_SHARE * len(contexts.validation) / len(train), "mutator": 1.0}
    evaluations = config.budget.evaluations
    roles = []
    for role in ("mutator", "persona", "respondent"):
        c, p, q = (v * scale[role] for v in per_eval[role])
        model = getattr(config.models, role).model
        roles.append(RoleEstimate(role, model, c, p, q, _price(model, p, q)))
    return {"evaluations": evaluations, "per_evaluation": roles,
            "train_contexts": len(train), "n": n}


def render_estimate(estimate: dict[str, Any]) -> str:
    """The table printed by ``run --estimate``."""
    evals = estimate["evaluations"]
    lines = [f"Estimate per evaluation ({estimate['train_contexts']} train contexts, N={estimate['n']}); "
             + (f"whole run = x{evals} evaluations" if evals else "no evaluation cap: per evaluation only"),
             f"{'role':<11}{'model':<28}{'calls':>10}{'tokens':>14}{'dollars':>12}"
             + (f"{'run calls':>12}{'run $':>12}" if evals else "")]
    total = 0.0
    unpriced = False
    for r in estimate["per_evaluation"]:
        dollars = "unpriced" if r.dollars is None else f"{r.dollars:.4f}"
        row = f"{r.role:<11}{r.model[:27]:<28}{r.calls:>10.0f}{r.prompt_tokens + r.completion_tokens:>14.0f}{dollars:>12}"
        if evals:
            row += f"{r.calls * evals:>12.0f}" + ("    unpriced" if r.dollars is None else f"{r.dollars * evals:>12.2f}")
        lines.append(row)
        unpriced |= r.dollars is None
        total += r.dollars or 0.0
    if evals:
        lines.append(f"total ≈ ${total * evals:.2f} for {evals} evaluations" + (" (plus unpriced models)" if unpriced else ""))
    lines.append("Upper bound: assumes every proposal passes the cascade; tokens at 4 characters each.")
    return "\n".join(lines)
