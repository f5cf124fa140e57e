"""``persona-evolve export``: write the champion (or any program) as a standalone module."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from evolve.cli.errors import CLIError
from evolve.outputs.labels import EXPORT_SIM_NOTE, SIM_TOKENS_TAG


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "export",
        help="write the champion (or any program) as a standalone Python module",
        description="Write a stored generator program as a standalone module: provenance header, the program "
        "verbatim, an llm adapter over litellm and main(). Run it with: python FILE.py --context ctx.json "
        "-n 25 --model openai/... --out personas.jsonl",
    )
    p.add_argument("--db", required=True, help="archive database (path or SQLAlchemy URL)")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--best", action="store_true", help="the champion (best on validation, else on train)")
    which.add_argument(
        "--program", metavar="ID", help="program id, unique prefix (>= 6 chars) or label (seed:sobol)"
    )
    which.add_argument(
        "--max-tokens-per-persona",
        type=float,
        metavar="X",
        help="the best program on validation coverage whose persona-role LLM tokens "
        "per persona (on validation) is <= X (see inspect front)",
    )
    p.add_argument("--out", required=True, help="the module to write (FILE.py)")
    p.add_argument(
        "--api-key-env",
        default="OPENAI_API_KEY",
        help="environment variable the module reads the API key from (default OPENAI_API_KEY)",
    )
    p.add_argument("--run", type=int, help="run id (default: the latest run)")
    p.add_argument(
        "--format",
        choices=("module", "concordia"),
        default="module",
        help="module (default): a standalone module with main(); concordia: the same plus a class "
        "PersonaEvolveGenerator(model) following Concordia's persona-generator protocol",
    )
    p.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    from evolve.outputs.export import ExportError, export_program

    try:
        result = export_program(
            args.db,
            out=args.out,
            best=args.best,
            program=args.program,
            api_key_env=args.api_key_env,
            run_id=args.run,
            fmt=args.format,
            max_tokens_per_persona=args.max_tokens_per_persona,
        )
    except ExportError as exc:
        raise CLIError(str(exc)) from None
    if result.simulated:
        print(EXPORT_SIM_NOTE, file=sys.stderr)
    if result.cost is not None:
        print(
            f"chosen under the cost cap: validation coverage {result.cost['coverage']:.4f} at "
            f"{result.cost['tokens_per_persona']:.1f} tokens per persona"
            f"{SIM_TOKENS_TAG if result.simulated else ''}",
            file=sys.stderr,
        )
    print(
        f"wrote {result.path} (program {result.program_id}, run {result.run_id}, lineage "
        f"{result.lineage_length}); run it: python {result.path} --context ctx.json -n 25 --model MODEL "
        "--out personas.jsonl"
    )
    return 0
