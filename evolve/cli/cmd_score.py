"""``persona-evolve score``: answer a context's questionnaire for a population and
print its six metrics.

The population is scored as the ``n`` personas asked for (``-n``; default the ``n`` that
``generate`` recorded in the file, else its rows), by the run's worst-completion rule
(:func:`metrics.evaluate_incomplete`, docs/SCORING.md). With ``--model sim`` the respondent
believes only sim sentences attested by ``generate`` (:mod:`generators.sim.attestation`);
the others are read as generic text, and their count is printed."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any, Mapping, Sequence

from evolve.cli.common import (
    build_roles_client,
    check_model,
    load_context_arg,
    read_personas,
    sim_key,
    sim_knobs,
    warn_sim,
)
from evolve.cli.errors import CLIError


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("score", help="score a population file (JSONL) on a context's six metrics")
    p.add_argument("--personas", required=True, help="JSONL file, one persona object per line")
    p.add_argument("--context", required=True, help="a context JSON file or a shipped context id")
    p.add_argument(
        "-n",
        type=int,
        help="personas asked for (default: the n generate recorded in the "
        "file, else its rows); a shorter file is scored by the worst-completion rule",
    )
    p.add_argument("--model", default="sim", help="respondent model: 'sim' or a litellm model string")
    p.add_argument("--api-base", help="api_base for a local OpenAI-compatible server")
    p.add_argument("--api-key-env", help="environment variable holding the API key (never the key itself)")
    p.add_argument(
        "--world", default="default", help="simulated world with --model sim (see: persona-evolve worlds)"
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--mc-samples", type=int, default=10_000)
    p.add_argument("--json", action="store_true", help="print {metrics, positions, missing, n, ...}")
    p.set_defaults(func=handle)


def asked_for(args: argparse.Namespace, personas: Sequence[Mapping[str, Any]]) -> tuple[int, str]:
    """(n personas asked for, where n came from: ``-n``, ``generate`` or ``rows``). Raises
    :class:`CLIError` (one line) for n < 2 or a file holding more than n personas."""
    from generators.population_record import asked_n

    k = len(personas)
    if args.n is not None:
        n, source = int(args.n), "-n"
        if n < 2:
            raise CLIError(f"-n must be >= 2, got {n}", exit_code=2)
    else:
        try:
            recorded = asked_n(personas)
        except ValueError as exc:
            raise CLIError(f"{args.personas}: {exc}") from None
        n, source = (recorded, "generate") if recorded is not None else (k, "rows")
    if k > n:
        where = "-n" if source == "-n" else "generate recorded n ="
        raise CLIError(f"{args.personas}: {k} personas, more than the {n} asked for ({where} {n})")
    return n, source


def sim_respondent(personas: Sequence[Mapping[str, Any]], context_id: str, knobs: Any) -> tuple[Any, int]:
    """(the sim respondent for a file in the world of ``knobs``, sim sentences it could not
    verify): it believes only attested sim sentences; prints one note when some could not be
    verified."""
    from generators.attest_key import key_path
    from generators.respondent import SimRespondent
    from generators.sim.attestation import sentence_count, verify

    key = sim_key(create=False) if any(sentence_count(p) for p in personas) else None
    checked = verify(personas, context_id, key)
    if checked.unverified_sentences:
        cause = f"no attestation key at {key_path()}" if key is None else "no valid attestation from generate"
        print(
            f"note: {checked.unverified_sentences} sim trait sentences in {checked.unverified_personas} "
            f"personas could not be verified ({cause}): read as generic text",
            file=sys.stderr,
        )
    respondent = SimRespondent(knobs=knobs, reader=lambda rows: verify(rows, context_id, key).stated)
    return respondent, checked.unverified_sentences


def handle(args: argparse.Namespace) -> int:
    personas = read_personas(args.personas)
    n, source = asked_for(args, personas)
    context = load_context_arg(args.context)
    warn_sim(args.model, args.world)
    check_model("respondent", args.model, args.api_base, args.api_key_env)
    import metrics
    from generators.positions import positions
    from generators.respondent import LLMRespondent
    from generators.screening import answer_screened

    k = len(personas)
    if k < n:
        origin = "asked for by generate" if source == "generate" else "given by -n"
        print(
            f"note: {args.personas} has {k} of the {n} personas {origin}: scored as {n} by the "
            f"worst-completion rule (docs/SCORING.md)",
            file=sys.stderr,
        )
    unverified = 0
    if args.model == "sim":
        respondent, unverified = sim_respondent(personas, context.id, sim_knobs(args.world))
    else:
        respondent = LLMRespondent(client=build_roles_client(args.model, args.api_base, args.api_key_env))
    # personas addressing the respondent are not placed: scored as missing (docs/SCORING.md)
    screened = asyncio.run(answer_screened(respondent, personas, context, seed=args.seed))
    placed = positions(screened.answers, context)
    # answers asked for and not parsed (the rows of addressed personas were never asked)
    missing = int(placed.missing) - screened.addressed * int(screened.answers.values.shape[1])
    try:  # unanswered axes are NaN: scored by the documented worst-completion rule (docs/SCORING.md)
        scores = metrics.evaluate_incomplete(placed.Z, n=n, mc_samples=args.mc_samples, seed=0)
        failure = None
    except ValueError as exc:
        scores, failure = None, f"{args.personas}: cannot score this population: {exc}"
    refs = metrics.references(n, context.k, mc_samples=args.mc_samples)  # no model: the floor and random
    if args.json:
        positions_json = [[None if v != v else v for v in row] for row in placed.Z.tolist()]  # NaN -> null
        print(
            json.dumps(
                {
                    "context": context.id,
                    "simulated": args.model == "sim",
                    "metrics": scores,
                    "positions": positions_json,
                    "missing": missing,
                    "n": n,
                    "personas_returned": k,
                    "unverified_sentences": unverified,
                    "addressed": sorted(screened.findings),
                    "references": {"floor": dict(refs.floor), "random": dict(refs.random)},
                    "error": failure,
                },
                indent=2,
            )
        )
        return 1 if failure else 0
    if failure or scores is None:
        raise CLIError(failure or "cannot score this population")
    asked = f" (of {n} asked)" if k < n else ""
    print(f"context {context.id}: {k} personas{asked}, K={context.k}, missing answers {missing}")
    if screened.addressed:
        print(
            f"  {screened.addressed} personas addressed the respondent (not placed, scored as missing): "
            + ", ".join(f"#{i + 1} {f.kind}" for i, f in sorted(screened.findings.items()))
        )
    print(f"  {'':24} {'score':>8} {'floor':>8} {'random':>8}")
    for name, value in scores.items():
        print(f"  {name:24} {value:8.4f} {refs.floor[name]:8.4f} {refs.random[name]:8.4f}")
    print(
        f"  (floor: {n} identical personas at the centre; random: {n} uniform positions, "
        f"mean of {refs.random_seeds} draws; no model in either)"
    )
    return 0
