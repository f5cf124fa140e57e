"""``persona-evolve generate``: run one generator program on one context (sandboxed).

Every persona written carries its origin (context, population id, the ``-n`` asked for, its
index; :mod:`generators.population_record`) and, with ``--model sim``, the attestation of the
sim sentences it holds (:mod:`generators.sim.attestation`), so ``score`` can apply the run's
rules to the file."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from evolve.cli.common import (
    build_roles_client,
    check_model,
    load_context_arg,
    load_generator,
    sim_key,
    sim_knobs,
    warn_sim,
)
from evolve.cli.errors import CLIError


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("generate", help="run one generator on one context; JSONL personas out")
    p.add_argument(
        "--generator",
        required=True,
        help="a program file, seed:naive|seed:batch|seed:sobol, or concordia:FILE.py[:Class]",
    )
    p.add_argument("--context", required=True, help="a context JSON file or a shipped context id")
    p.add_argument("-n", type=int, default=25, help="number of personas (default 25)")
    p.add_argument("--model", default="sim", help="persona model: 'sim' or a litellm model string")
    p.add_argument("--api-base", help="api_base for a local OpenAI-compatible server")
    p.add_argument("--api-key-env", help="environment variable holding the API key (never the key itself)")
    p.add_argument(
        "--world", default="default", help="simulated world with --model sim (see: persona-evolve worlds)"
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--timeout", type=float, default=120.0, help="wall limit in seconds")
    p.add_argument("--out", help="write personas here (JSONL); default stdout")
    p.add_argument("--json", action="store_true", help="print one JSON object {personas, context, seed}")
    p.add_argument(
        "--allow-short",
        action="store_true",
        help="exit 0 when the program returns fewer personas than -n (default: an error)",
    )
    p.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    if args.n < 1:
        raise CLIError("-n must be >= 1", exit_code=2)
    code = load_generator(args.generator)
    context = load_context_arg(args.context)
    warn_sim(args.model, args.world)
    check_model("persona", args.model, args.api_base, args.api_key_env)
    from generators.evaluation import PersonaLLMHandler, call_seed
    from generators.sandbox import GenerationJob, SandboxLimits, run_generator_async

    client = build_roles_client(args.model, args.api_base, args.api_key_env, world=args.world)
    key, ledger = None, None
    if args.model == "sim":  # the sim's sentences are attested in the output (generators.sim.attestation)
        from generators.sim import SimLedger, SimLLM

        key, ledger = sim_key(create=True), SimLedger()
        client = client.with_sim_backend(SimLLM(knobs=sim_knobs(args.world), ledger=ledger))
    handler = PersonaLLMHandler(client, seed=args.seed)
    job = GenerationJob(context=context.public_dict(), n=args.n, seed=call_seed(args.seed, "rng", context.id))
    limits = SandboxLimits(wall_timeout_s=args.timeout, cpu_time_s=int(args.timeout) + 5)
    trusted = str(args.generator).startswith("seed:")  # shipped seeds may run on a weak kernel
    result = asyncio.run(
        run_generator_async(code, [job], llm=handler, limits=limits, parallel=1, trusted=trusted)
    )[0]
    if result.personas is None:
        raise CLIError(result.error or "generation failed")
    from generators.evaluation import scrub_text
    from generators.population_record import new_population_id, stamp

    personas = scrub_text(result.personas)  # a lone surrogate in program output must not crash the output
    personas = stamp(personas, context=context.id, n=args.n, population=new_population_id())
    if key is not None and ledger is not None:
        from generators.sim.attestation import attest

        personas = attest(personas, ledger, key)
    if args.json:
        text = json.dumps(
            {
                "context": context.id,
                "seed": args.seed,
                "simulated": args.model == "sim",
                "n": args.n,
                "personas": personas,
            },
            indent=2,
        )
    else:
        text = "\n".join(json.dumps(p, ensure_ascii=False) for p in personas)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
        print(f"wrote {plural(len(personas), 'persona')} to {args.out}", file=sys.stderr)
    else:
        print(text)
    if len(personas) < args.n:  # written all the same (nothing lost); score applies the worst-completion rule
        short = f"the program returned {len(personas)} of the {plural(args.n, 'persona')} asked for"
        if not args.allow_short:
            raise CLIError(f"{short} (they were written; --allow-short accepts a short population)")
        print(f"note: {short} (--allow-short)", file=sys.stderr)
    return 0


def plural(count: int, noun: str) -> str:
    """``"1 persona"``, ``"25 personas"``."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
