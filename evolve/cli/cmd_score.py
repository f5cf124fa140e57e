"""``persona-evolve score``: answer a context's questionnaire for a population and
print its six metrics."""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from evolve.cli.errors import CLIError
from evolve.cli.common import (build_roles_client, check_model, load_context_arg, read_personas, sim_knobs,
                               warn_sim)


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("score", help="score a population file (JSONL) on a context's six metrics")
    p.add_argument("--personas", required=True, help="JSONL file, one persona object per line")
    p.add_argument("--context", required=True, help="a context JSON file or a shipped context id")
    p.add_argument("--model", default="sim", help="respondent model: 'sim' or a litellm model string")
    p.add_argument("--api-base", help="api_base for a local OpenAI-compatible server")
    p.add_argument("--api-key-env", help="environment variable holding the API key (never the key itself)")
    p.add_argument("--world", default="default", help="simulated world with --model sim (see: persona-evolve worlds)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--mc-samples", type=int, default=10_000)
    p.add_argument("--json", action="store_true", help="print {metrics, positions, missing}")
    p.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    personas = read_personas(args.personas)
    context = load_context_arg(args.context)
    warn_sim(args.model, args.world)
    check_model("respondent", args.model, args.api_base, args.api_key_env)
    import metrics
    from generators.positions import positions
    from generators.respondent import LLMRespondent, SimRespondent
    from generators.screening import answer_screened

    if args.model == "sim":
        respondent: Any = SimRespondent(knobs=sim_knobs(args.world))
    else:
        respondent = LLMRespondent(client=build_roles_client(args.model, args.api_base, args.api_key_env))
    # personas addressing the respondent are not placed: scored as missing (docs/SCORING.md)
    screened = asyncio.run(answer_screened(respondent, personas, context, seed=args.seed))
    placed = positions(screened.answers, context)
    # answers asked for and not parsed (the rows of addressed personas were never asked)
    missing = int(placed.missing) - screened.addressed * int(screened.answers.values.shape[1])
    try:  # unanswered axes are NaN: scored by the documented worst-completion rule (docs/SCORING.md)
        scores = metrics.evaluate_incomplete(placed.Z, n=len(personas), mc_samples=args.mc_samples, seed=0)
        failure = None
    except ValueError as exc:
        scores, failure = None, f"{args.personas}: cannot score this population: {exc}"
    if args.json:
        positions_json = [[None if v != v else v for v in row] for row in placed.Z.tolist()]  # NaN -> null
        print(json.dumps({"context": context.id, "simulated": args.model == "sim", "metrics": scores,
                          "positions": positions_json, "missing": missing,
                          "addressed": sorted(screened.findings), "error": failure}, indent=2))
        return 1 if failure else 0
    if failure or scores is None:
        raise CLIError(failure or "cannot score this population")
    print(f"context {context.id}: {len(personas)} personas, K={context.k}, missing answers {missing}")
    if screened.addressed:
        print(f"  {screened.addressed} personas addressed the respondent (not placed, scored as missing): "
              + ", ".join(f"#{i + 1} {f.kind}" for i, f in sorted(screened.findings.items())))
    for name, value in scores.items():
        print(f"  {name:24} {value:.4f}")
    return 0
