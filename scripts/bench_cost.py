#!/usr/bin/env python3
"""What one evaluation costs per respondent mode, and how faithfully cheap modes rank programs.

For ``--programs`` generator programs (the three seeds and children the offline mutator
derives from them), every program writes N personas for each train context in the sim
world (in process, one shared ledger per program and context so the sim respondent reads
the sim's own text). The same personas are then answered through
:class:`generators.respondent.LLMRespondent` over the sim (role ``respondent``) in each
mode, and scored (fitness = mean coverage over contexts):

* ``item``: one call per persona and item -- today's cost, the reference ranking;
* ``item(reseeded)``: item mode again with other respondent seeds -- the noise ceiling
  (how well per-item answering agrees with itself);
* ``axis``: one call per persona and axis (numbered list);
* ``questionnaire``: one call per persona for the whole questionnaire as JSON (missing or
  invalid items re-asked one by one);
* ``questionnaire+subsetS``: the same on a fixed subset of S train contexts (what the
  cascade's smoke stage screens on), and ``+rotS`` on a rotating subset (a different S
  contexts for each program, GEPA-style minibatches).

Calls and tokens are counted per evaluation (persona calls of the program included;
tokens at 4 characters each, as the sim has no tokenizer); dollars at litellm's
``gpt-4o-mini`` prices. Fidelity: Spearman rank correlation of the programs' fitness in
a mode with their fitness in ``item`` mode on all contexts. Everything runs offline.

Usage: .venv/bin/python scripts/bench_cost.py [--programs 20] [--n 25] [--contexts 30]
       [--subset 6] [--mc 4000] [--json]
Default run: about 2-4 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

PRICE_MODEL = "gpt-4o-mini"


@dataclass
class _Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int
    cached: bool = False
    cost_usd: float = 0.0


class CountingSimClient:
    """A minimal client for the respondent role answered by one :class:`SimLLM`: counts
    calls and tokens (the sim's estimates), like :class:`generators.llm.LLMClient` does."""

    def __init__(self, sim: Any) -> None:
        self.sim = sim
        self.calls = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0

    async def acomplete_many(self, role: str, list_of_messages: Sequence[list[dict[str, str]]], *,
                             temperature: Any = None, max_tokens: Any = None, seed: int | None = None) -> list[Any]:
        from generators.llm import estimate_messages_tokens, estimate_tokens

        out = []
        for i, messages in enumerate(list_of_messages):
            text = self.sim.respond(role, list(messages), seed=None if seed is None else (seed + i) % (2**62))
            pt, ct = estimate_messages_tokens(messages), estimate_tokens(text)
            self.calls += 1
            self.prompt_tokens += pt
            self.completion_tokens += ct
            out.append(_Completion(text, pt, ct))
        return out


def make_programs(count: int, seed: int = 0) -> list[tuple[str, str]]:
    """(label, code) of the three seeds and offline-mutator descendants, all distinct."""
    from archive.identity import program_id
    from evolve.controller import apply_proposal
    from evolve.checks import first_rejection
    from evolve.mutators import MutationRequest
    from evolve.mutators.offline import OfflineMutator
    from generators.seeds import SEED_NAMES, load_seed

    programs = [(f"seed:{name}", load_seed(name)) for name in SEED_NAMES]
    seen = {program_id(code) for _, code in programs}
    mutator = OfflineMutator()
    rng = np.random.default_rng(seed)
    attempts = 0
    while len(programs) < count and attempts < 50 * count:
        attempts += 1
        label, parent = programs[int(rng.integers(len(programs)))]
        others = [(program_id(c), c) for _, c in programs if c is not parent][:2]
        request = MutationRequest(parent_code=parent, parent_id=program_id(parent), inspirations=others,
                                  directive="explore", prompt="", seed=int(rng.integers(2**31)))
        text = mutator.mutate(request).proposal.text
        child, rejection, _ = apply_proposal(parent, text, False)
        if rejection is not None or first_rejection(child) is not None or program_id(child) in seen:
            continue
        seen.add(program_id(child))
        programs.append((f"{label.split('>')[0]}>{len(programs)}", child))
    return programs


def populations(code: str, contexts: Sequence[Any], n: int, seed: int) -> list[tuple[Any, list[dict], Any, tuple]]:
    """Per context: (context, personas or None, the SimLLM that wrote them, persona (calls, prompt, completion))."""
    from generators.runtime import ContextView, validate_personas
    from generators.sim import SimLLM
    from generators.sim.inprocess import SimProgramLLM, load_program
    from generators.sim.text import stable_hash

    module = load_program(code)
    out = []
    for ctx in contexts:
        sim = SimLLM()  # a fresh ledger: the respondent reads only what this program wrote here
        llm = SimProgramLLM(sim, seed=stable_hash("llm", seed, ctx.id) >> 1)
        rng = np.random.default_rng(stable_hash("rng", seed, ctx.id) >> 1)
        try:
            personas = validate_personas(module.generate(ContextView.from_public_dict(ctx.public_dict()), n, llm, rng), n)
        except Exception:  # noqa: BLE001 - a failing program scores 0 on this context
            personas = None
        out.append((ctx, personas, sim, (llm.calls, llm.prompt_tokens, llm.completion_tokens)))
    return out


def score(ctx: Any, personas: list[dict] | None, sim: Any, mode: str, n: int, mc: int, seed: int) -> tuple[float, tuple]:
    """(coverage, (respondent calls, prompt tokens, completion tokens)) of one population."""
    import metrics
    from generators.positions import positions
    from generators.respondent import LLMRespondent

    if not personas:
        return 0.0, (0, 0, 0)
    client = CountingSimClient(sim)
    respondent = LLMRespondent(client=client, mode=mode)
    answers = asyncio.run(respondent.answer(personas, ctx, seed=seed))
    placed = positions(answers, ctx)
    try:
        value = float(metrics.evaluate_incomplete(placed.Z, n=n, mc_samples=mc, seed=0)["coverage"])
    except ValueError:
        value = 0.0
    return value, (client.calls, client.prompt_tokens, client.completion_tokens)


def dollars(prompt_tokens: float, completion_tokens: float) -> float:
    import litellm

    p, c = litellm.cost_per_token(model=PRICE_MODEL, prompt_tokens=int(prompt_tokens),
                                  completion_tokens=int(completion_tokens))
    return float(p + c)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--programs", type=int, default=20)
    ap.add_argument("--n", type=int, default=25)
    ap.add_argument("--contexts", type=int, default=30, help="train contexts used (the shipped set has 30)")
    ap.add_argument("--subset", type=int, nargs="+", default=[6, 10], help="sizes of the context subsets")
    ap.add_argument("--mc", type=int, default=4000, help="Monte Carlo points of the coverage metric")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)

    from scipy.stats import spearmanr

    from generators.context_loader import resolve_contexts

    t0 = time.perf_counter()
    contexts = resolve_contexts(["train"])[: args.contexts]
    programs = make_programs(args.programs, seed=args.seed)
    modes = ("item", "item(reseeded)", "axis", "questionnaire")
    fitness = {m: np.zeros((len(programs), len(contexts))) for m in modes}
    resp = {m: np.zeros((len(programs), len(contexts), 3)) for m in modes}
    persona = np.zeros((len(programs), len(contexts), 3))
    for i, (label, code) in enumerate(programs):
        for j, (ctx, personas, sim, pcost) in enumerate(populations(code, contexts, args.n, args.seed)):
            persona[i, j] = pcost
            for m in modes:
                mode, shift = (m, 0) if m != "item(reseeded)" else ("item", 10_000)
                fitness[m][i, j], resp[m][i, j] = score(ctx, personas, sim, mode, args.n, args.mc, args.seed + j + shift)
        print(f"  program {i + 1}/{len(programs)} {label}: item-mode fitness {fitness['item'][i].mean():.4f}",
              file=sys.stderr, flush=True)

    reference = fitness["item"].mean(axis=1)
    rows = []

    def row(name: str, mode: str, cols_per_program: list[np.ndarray]) -> None:
        fit = np.array([fitness[mode][i, cols].mean() for i, cols in enumerate(cols_per_program)])
        pc = np.array([persona[i, cols].sum(axis=0) for i, cols in enumerate(cols_per_program)]).mean(axis=0)
        rc = np.array([resp[mode][i, cols].sum(axis=0) for i, cols in enumerate(cols_per_program)]).mean(axis=0)
        usd = dollars(pc[1] + rc[1], pc[2] + rc[2])
        persona_usd = dollars(pc[1], pc[2])
        rho = float(spearmanr(fit, reference).statistic) if len(programs) > 2 else float("nan")
        rows.append({"mode": name, "contexts": int(len(cols_per_program[0])), "persona_calls": float(pc[0]),
                     "respondent_calls": float(rc[0]), "tokens": float(pc[1] + pc[2] + rc[1] + rc[2]),
                     "dollars": usd, "persona_dollars": persona_usd, "spearman": rho})

    everything = [np.arange(len(contexts))] * len(programs)
    for m in modes:
        row(m, m, everything)
    rng = np.random.default_rng([args.seed, 99])
    for size in args.subset:
        if size >= len(contexts):
            continue
        fixed = np.sort(rng.choice(len(contexts), size=size, replace=False))
        row(f"questionnaire+subset{size}", "questionnaire", [fixed] * len(programs))
        rotating = [np.sort(rng.choice(len(contexts), size=size, replace=False)) for _ in programs]
        row(f"questionnaire+rot{size}", "questionnaire", rotating)
    base = rows[0]["dollars"]
    for r in rows:
        r["share_of_item"] = r["dollars"] / base if base else float("nan")
    elapsed = time.perf_counter() - t0
    if args.json:
        print(json.dumps({"programs": len(programs), "n": args.n, "contexts": len(contexts), "rows": rows,
                          "price_model": PRICE_MODEL, "seconds": elapsed}, indent=2))
        return 0
    print(f"Cost per evaluation (N={args.n}, {len(contexts)} train contexts, {len(programs)} programs, "
          f"SIMULATED world, {PRICE_MODEL} prices); fidelity = Spearman vs item mode on all contexts")
    print(f"{'mode':<24}{'ctx':>4}{'pers.calls':>11}{'resp.calls':>11}{'tokens':>10}{'persona $':>10}"
          f"{'total $':>9}{'vs item':>8}{'Spearman':>9}")
    for r in rows:
        print(f"{r['mode']:<24}{r['contexts']:>4}{r['persona_calls']:>11.0f}{r['respondent_calls']:>11.0f}"
              f"{r['tokens']:>10.0f}{r['persona_dollars']:>10.4f}{r['dollars']:>9.4f}{100 * r['share_of_item']:>7.1f}%"
              f"{r['spearman']:>9.3f}")
    print(f"({elapsed:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
