#!/usr/bin/env python3
"""What one evaluation costs per respondent mode, and how faithfully cheap modes rank programs.

Programs: the three seeds and descendants the offline mutator derives from them (lineages
deepen), until ``--programs`` *behaviourally distinct* ones are found: a child whose
personas are identical to an earlier program's on every context is a tie, not another
program, and is skipped. Every program writes N personas for each train context in the
sim world (in process, one shared ledger per program and context so the respondent reads
the sim's own text). The same personas are then answered through
:class:`generators.respondent.LLMRespondent` over the sim (role ``respondent``, which is
told what each statement measures, as a real model understands it) in each mode, and
scored (fitness = mean coverage over the contexts used):

* ``item``: one call per persona and item -- today's cost. The *reference* ranking is item
  mode's fitness averaged over ``--reference-draws`` further respondent draws, so the ``item`` row's
  Spearman is item mode's own ceiling (one draw against the reference);
* ``axis``: one call per persona and axis (numbered list);
* ``questionnaire``: one call per persona for the whole questionnaire as JSON (missing or
  invalid items re-asked one by one); answers given in one call share a response-style
  offset in the sim (``SimKnobs.call_halo_sd``), so this mode is not free of noise;
* ``questionnaire+screenS``: the same on a screening set of S train contexts, stratified
  by axis count, the same set for every program (what a run does, ``cascade.screen_contexts``);
  mean and 10th percentile over ``--draws`` screening sets;
* ``questionnaire+rotS``: S random contexts per program (unpaired), for contrast.

Calls and tokens are counted per evaluation (persona calls of the program included;
tokens at 4 characters each, as the sim has no tokenizer); dollars at litellm's
``gpt-4o-mini`` prices. Everything runs offline.

``--respondent-model M`` (with ``--api-base URL`` / ``--api-key-env NAME`` as a run's role
takes them) answers every mode through that model instead, via litellm: the check of the
sim's assumptions about a real respondent (how much answers given in one call lean
together). The personas are still the sim's texts, plain English that a model can read;
tokens are then the provider's counts. Mind the bill: item mode makes N x items calls per
context and draw, so start small, e.g. ``--programs 8 --contexts 8 --n 10 --reference-draws 2
--subset 4`` (about 25,000 calls).

Usage: .venv/bin/python scripts/bench_cost.py [--programs 20] [--n 25] [--contexts 30]
       [--subset 4 8 10] [--draws 200] [--reference-draws 16] [--mc 4000] [--seed 0] [--json]
       [--respondent-model M [--api-base URL] [--api-key-env NAME] [--concurrency 8]]
Default run: about 4-5 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

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


class SimRespondentClient:
    """A minimal client for the respondent role answered by one :class:`SimLLM`, with the
    sim's token estimates in each completion, as :class:`generators.llm.LLMClient` gives them."""

    def __init__(self, sim: Any) -> None:
        self.sim = sim

    async def acomplete_many(
        self,
        role: str,
        list_of_messages: Sequence[list[dict[str, str]]],
        *,
        temperature: Any = None,
        max_tokens: Any = None,
        seed: int | None = None,
    ) -> list[Any]:
        from generators.llm import estimate_messages_tokens, estimate_tokens

        out = []
        for i, messages in enumerate(list_of_messages):
            text = self.sim.respond(role, list(messages), seed=None if seed is None else (seed + i) % (2**62))
            out.append(_Completion(text, estimate_messages_tokens(messages), estimate_tokens(text)))
        return out


class CountingClient:
    """Counts the calls and tokens of the completions ``client`` returns (the sim's
    :class:`SimRespondentClient`, or a shared :class:`generators.llm.LLMClient` for a real
    respondent model): one population's answers."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.calls = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0

    async def acomplete_many(
        self,
        role: str,
        list_of_messages: Sequence[list[dict[str, str]]],
        *,
        temperature: Any = None,
        max_tokens: Any = None,
        seed: int | None = None,
    ) -> list[Any]:
        out = await self.client.acomplete_many(
            role, list_of_messages, temperature=temperature, max_tokens=max_tokens, seed=seed
        )
        self.calls += len(out)
        self.prompt_tokens += sum(c.prompt_tokens for c in out)
        self.completion_tokens += sum(c.completion_tokens for c in out)
        return out


def respondent_client(model: str, api_base: str | None, api_key_env: str | None, concurrency: int) -> Any:
    """A litellm client whose ``respondent`` role is ``model`` (no response cache: every
    respondent draw is a fresh call)."""
    from generators.llm import LLMClient, ModelConfig

    return LLMClient(
        models={"respondent": ModelConfig(model=model, api_base=api_base, api_key_env=api_key_env)},
        max_concurrency=concurrency,
    )


def candidate_programs(seed: int = 0) -> Iterator[tuple[str, str]]:
    """(label, code): the three seeds, then offline-mutator descendants (children of any
    program yielded so far, so lineages deepen), each a new program id; endless."""
    from archive.identity import program_id
    from evolve.loop.controller import apply_proposal
    from evolve.mutators import MutationRequest
    from evolve.mutators.offline import OfflineMutator
    from evolve.proposals.checks import first_rejection
    from generators.seeds import SEED_NAMES, load_seed

    programs = [(f"seed:{name}", load_seed(name)) for name in SEED_NAMES]
    yield from programs
    seen = {program_id(code) for _, code in programs}
    mutator = OfflineMutator()
    rng = np.random.default_rng(seed)
    while True:
        label, parent = programs[int(rng.integers(len(programs)))]
        others = [(program_id(c), c) for _, c in programs if c is not parent][:2]
        request = MutationRequest(
            parent_code=parent,
            parent_id=program_id(parent),
            inspirations=others,
            directive="explore",
            system="",
            user="",
            seed=int(rng.integers(2**31)),
        )
        text = mutator.mutate(request).proposal.text
        child, rejection, _ = apply_proposal(parent, text, False)
        if rejection is not None or first_rejection(child) is not None or program_id(child) in seen:
            continue
        seen.add(program_id(child))
        programs.append((f"{label.split('>')[0]}>{len(programs)}", child))
        yield programs[-1]


def population_digest(pops: Sequence[tuple[Any, list[dict] | None, Any, tuple]]) -> str:
    """One digest of every persona a program wrote on every context: two programs with the
    same digest behave identically here (an edit that changed nothing observable)."""
    h = hashlib.blake2b(digest_size=16)
    for _, personas, _, _ in pops:
        h.update(json.dumps(personas, sort_keys=True, default=str).encode())
    return h.hexdigest()


def populations(
    code: str, contexts: Sequence[Any], n: int, seed: int
) -> list[tuple[Any, list[dict], Any, tuple]]:
    """Per context: (context, personas or None, the SimLLM that wrote them, persona (calls, prompt,
    completion))."""
    from generators.runtime import ContextView, validate_personas
    from generators.sim import SimLLM
    from generators.sim.answering import statement_key
    from generators.sim.inprocess import SimProgramLLM, load_program
    from generators.sim.text import stable_hash

    module = load_program(code)
    out = []
    for ctx in contexts:
        sim = SimLLM(
            statements=statement_key(ctx.axes)
        )  # a fresh ledger: the respondent reads only what this program wrote here
        llm = SimProgramLLM(sim, seed=stable_hash("llm", seed, ctx.id) >> 1)
        rng = np.random.default_rng(stable_hash("rng", seed, ctx.id) >> 1)
        try:
            personas = validate_personas(
                module.generate(ContextView.from_public_dict(ctx.public_dict()), n, llm, rng), n
            )
        except Exception:  # noqa: BLE001 - a failing program scores 0 on this context
            personas = None
        out.append((ctx, personas, sim, (llm.calls, llm.prompt_tokens, llm.completion_tokens)))
    return out


def score(
    ctx: Any,
    personas: list[dict] | None,
    sim: Any,
    mode: str,
    n: int,
    mc: int,
    seed: int,
    model_client: Any = None,
) -> tuple[float, tuple]:
    """(coverage, (respondent calls, prompt tokens, completion tokens)) of one population,
    answered by the sim that wrote it, or by ``model_client`` (a real model) when given."""
    import metrics
    from generators.positions import positions
    from generators.respondent import LLMRespondent

    if not personas:
        return 0.0, (0, 0, 0)
    client = CountingClient(SimRespondentClient(sim) if model_client is None else model_client)
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

    p, c = litellm.cost_per_token(
        model=PRICE_MODEL, prompt_tokens=int(prompt_tokens), completion_tokens=int(completion_tokens)
    )
    return float(p + c)


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    """Spearman's rank correlation; NaN when either side ranks every program the same."""
    from scipy.stats import spearmanr

    if np.ptp(np.asarray(a, dtype=float)) == 0 or np.ptp(np.asarray(b, dtype=float)) == 0:
        return float("nan")
    return float(spearmanr(a, b).statistic)


def main(argv: list[str] | None = None) -> int:
    """Run the bench (see the module docstring); 2 with one line when the respondent model fails."""
    from generators.llm import LLMError

    try:
        return _bench(argv)
    except LLMError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _bench(argv: list[str] | None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--programs", type=int, default=20, help="behaviourally distinct programs ranked")
    ap.add_argument("--n", type=int, default=25)
    ap.add_argument("--contexts", type=int, default=30, help="train contexts used (the shipped set has 30)")
    ap.add_argument("--subset", type=int, nargs="+", default=[4, 8, 10], help="sizes of the context subsets")
    ap.add_argument("--draws", type=int, default=200, help="subset draws averaged per subset row")
    ap.add_argument(
        "--reference-draws",
        type=int,
        default=16,
        help="item-mode respondent draws averaged into the reference ranking",
    )
    ap.add_argument("--mc", type=int, default=4000, help="Monte Carlo points of the coverage metric")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    ap.add_argument(
        "--respondent-model",
        default=None,
        help="answer through this litellm model instead of the sim (e.g. openai/gpt-4o-mini)",
    )
    ap.add_argument("--api-base", default=None, help="the respondent model's OpenAI-compatible server")
    ap.add_argument("--api-key-env", default=None, help="NAME of the environment variable holding its key")
    ap.add_argument("--concurrency", type=int, default=8, help="respondent calls in flight at once")
    args = ap.parse_args(argv)
    model_client = None
    if args.respondent_model:
        from generators.llm.preflight import PreflightError, preflight

        try:
            model_client = respondent_client(
                args.respondent_model, args.api_base, args.api_key_env, args.concurrency
            )
            preflight(
                model_client.models
            )  # one tiny call: a wrong model, key or server fails here, in seconds
        except (PreflightError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    respondent = args.respondent_model or "sim"

    from evolve.common.context_sets import stratified_pick
    from evolve.config import REAL_MODEL_SCREEN_CONTEXTS
    from generators.context_loader import resolve_contexts

    t0 = time.perf_counter()
    contexts = resolve_contexts(["train"])[: args.contexts]
    reference_draws = [f"item#{r + 2}" for r in range(args.reference_draws)]
    passes = {
        "item": ("item", 0),
        **{name: ("item", 10_000 * (r + 1)) for r, name in enumerate(reference_draws)},
        "axis": ("axis", 0),
        "questionnaire": ("questionnaire", 0),
    }
    fitness: dict[str, list[np.ndarray]] = {m: [] for m in passes}
    resp: dict[str, list[np.ndarray]] = {m: [] for m in passes}
    persona: list[np.ndarray] = []
    labels: list[str] = []
    digests: set[str] = set()
    skipped = 0
    for label, code in candidate_programs(args.seed):
        if len(labels) >= args.programs:
            break
        pops = populations(code, contexts, args.n, args.seed)
        digest = population_digest(pops)
        if digest in digests:  # behaves exactly like a program already ranked: a tie, not a program
            skipped += 1
            continue
        digests.add(digest)
        labels.append(label)
        persona.append(np.array([pc for *_, pc in pops], dtype=float))
        for m, (mode, shift) in passes.items():
            scored = [
                score(ctx, personas, sim, mode, args.n, args.mc, args.seed + j + shift, model_client)
                for j, (ctx, personas, sim, _) in enumerate(pops)
            ]
            fitness[m].append(np.array([v for v, _ in scored]))
            resp[m].append(np.array([c for _, c in scored], dtype=float))
        print(
            (
                f"  program {len(labels)}/{args.programs} {label}: item-mode fitness "
                f"{fitness['item'][-1].mean():.4f}"
            ),
            file=sys.stderr,
            flush=True,
        )
    F = {m: np.array(v) for m, v in fitness.items()}
    R = {m: np.array(v) for m, v in resp.items()}
    P = np.array(persona)
    programs, n_ctx = F["item"].shape

    # the reference: item mode, mean of further respondent draws; the ``item`` row (one
    # more draw against it) is item mode's own ceiling
    reference = np.mean([F[name].mean(axis=1) for name in reference_draws], axis=0)
    ceiling = spearman(F["item"].mean(axis=1), reference)
    usd_persona = np.array([[dollars(*P[i, j, 1:]) for j in range(n_ctx)] for i in range(programs)])
    usd_resp = {
        m: np.array([[dollars(*R[m][i, j, 1:]) for j in range(n_ctx)] for i in range(programs)])
        for m in passes
    }
    base = float((usd_persona + usd_resp["item"]).sum(axis=1).mean())
    rows: list[dict[str, Any]] = []

    def row(name: str, mode: str, picks: list[list[np.ndarray]]) -> None:
        """``picks``: per draw, per program, the context columns it is scored on."""
        rhos, cost, calls = [], [], []
        for draw in picks:
            rhos.append(spearman([F[mode][i, cols].mean() for i, cols in enumerate(draw)], reference))
            cost.append(
                np.mean(
                    [(usd_persona[i, cols] + usd_resp[mode][i, cols]).sum() for i, cols in enumerate(draw)]
                )
            )
            calls.append(
                np.mean(
                    [[P[i, cols, 0].sum(), R[mode][i, cols, 0].sum()] for i, cols in enumerate(draw)], axis=0
                )
            )
        c = np.mean(calls, axis=0)
        rows.append(
            {
                "mode": name,
                "contexts": int(len(picks[0][0])),
                "persona_calls": float(c[0]),
                "respondent_calls": float(c[1]),
                "dollars": float(np.mean(cost)),
                "share_of_item": float(np.mean(cost)) / base,
                "spearman": float(np.mean(rhos)),
                "spearman_p10": float(np.percentile(rhos, 10)),
                "draws": len(picks),
            }
        )

    every = [[np.arange(n_ctx)] * programs]
    for m in ("item", "axis", "questionnaire"):
        row(m, m, every)
    rng = np.random.default_rng([args.seed, 99])
    axes_count = [len(c.axes) for c in contexts]
    for size in args.subset:
        if size >= n_ctx:
            continue
        screens = [[np.array(stratified_pick(axes_count, size, rng))] * programs for _ in range(args.draws)]
        row(f"questionnaire+screen{size}", "questionnaire", screens)
        rotating = [
            [rng.choice(n_ctx, size=size, replace=False) for _ in range(programs)] for _ in range(args.draws)
        ]
        row(f"questionnaire+rot{size}", "questionnaire", rotating)
    elapsed = time.perf_counter() - t0
    result = {
        "programs": programs,
        "labels": labels,
        "identical_skipped": skipped,
        "n": args.n,
        "contexts": n_ctx,
        "rows": rows,
        "item_ceiling_spearman": ceiling,
        "item_dollars": base,
        "persona_share_of_item": float(usd_persona.sum(axis=1).mean()) / base,
        "default_screen": REAL_MODEL_SCREEN_CONTEXTS,
        "price_model": PRICE_MODEL,
        "seconds": elapsed,
        "respondent": respondent,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    world = (
        "SIMULATED world"
        if model_client is None
        else f"personas: SIMULATED world, respondent: {respondent} (real model)"
    )
    print(
        f"Cost per evaluation (N={args.n}, {n_ctx} train contexts, {programs} behaviourally distinct programs"
        f" ({skipped} identical ones skipped), {world}, {PRICE_MODEL} prices)"
    )
    print(
        f"Fidelity: Spearman vs item mode on all contexts, mean of {args.reference_draws} other respondent "
        f"draws (the item row, {ceiling:.3f}, is item mode's own ceiling). Subset rows: mean (10th "
        f"percentile) over {args.draws} draws."
    )
    print(
        f"{'mode':<26}{'ctx':>4}{'pers.calls':>11}{'resp.calls':>11}{'total $':>9}{'vs item':>8}"
        f"{'Spearman':>9}{'p10':>7}"
    )
    for r in rows:
        p10 = f"{r['spearman_p10']:>7.3f}" if r["draws"] > 1 else f"{'':>7}"
        print(
            f"{r['mode']:<26}{r['contexts']:>4}{r['persona_calls']:>11.0f}{r['respondent_calls']:>11.0f}"
            f"{r['dollars']:>9.4f}{100 * r['share_of_item']:>7.1f}%{r['spearman']:>9.3f}{p10}"
        )
    print(
        "screenS = the run's screening set (stratified by axis count; default "
        f"{REAL_MODEL_SCREEN_CONTEXTS} for real models);"
        f" rotS = a different random subset per program (unpaired). Persona calls are "
        f"{100 * result['persona_share_of_item']:.0f}% of item mode's dollars. ({elapsed:.0f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
