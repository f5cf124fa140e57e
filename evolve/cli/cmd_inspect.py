"""``persona-evolve inspect``: read an archive (safe while a run writes to it).

persona-evolve inspect --db PATH summary|top|lineage|grid|rare|holes|front|diff [options] [--json]
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Callable

from evolve.cli.errors import CLIError
from evolve.outputs.safe_text import json_safe, visible

_COMMON = ("db", "run", "json")


def _common(p: argparse.ArgumentParser, *, top_level: bool) -> None:
    # On the sub-commands the defaults are SUPPRESS so that `inspect --json top` and
    # `inspect top --json` both work (a sub-parser default would overwrite the parent's).
    default = (lambda v: v) if top_level else (lambda v: argparse.SUPPRESS)
    p.add_argument("--db", default=default(None), help="archive database (path or SQLAlchemy URL)")
    p.add_argument("--run", type=int, default=default(None), help="run id (default: the latest run)")
    p.add_argument("--json", action="store_true", default=default(False), help="print the stable JSON shape")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "inspect",
        help="inspect an archive: summary, top, lineage, grid, rare, holes, front, diff",
        description="Read an archive (read-only; fine while a run is writing it). Every command has --json.",
    )
    _common(p, top_level=True)
    sub = p.add_subparsers(dest="inspect_command", metavar="COMMAND")

    s = sub.add_parser("summary", help="run config, status, counts, rejections, champion, spend per role")
    _common(s, top_level=False)

    s = sub.add_parser("top", help="the best programs with their six metrics")
    _common(s, top_level=False)
    s.add_argument("-k", type=int, default=10, help="how many (default 10)")
    s.add_argument(
        "--stage",
        default=None,
        choices=("smoke", "train", "validation", "test"),
        help="rank by the fitness at this stage (default: the stage that chooses the champion, "
        "validation once anything was validated, else train)",
    )

    s = sub.add_parser("lineage", help="the chain from a program back to its seed")
    _common(s, top_level=False)
    s.add_argument(
        "program", metavar="ID", help="program id, unique prefix (>= 6 chars) or label (seed:sobol)"
    )

    s = sub.add_parser("grid", help="the elite grid as a table (and a PNG heatmap)")
    _common(s, top_level=False)
    s.add_argument("--island", type=int, help="one island (default: best per cell over all islands)")
    s.add_argument("--png", help="also write a heatmap PNG here")

    s = sub.add_parser("rare", help="rare trait configurations found for a context")
    _common(s, top_level=False)
    s.add_argument("--context", help="context id (default: the one with the most stored personas)")
    s.add_argument("-k", type=int, default=10, help="how many regions and outliers (default 10)")
    s.add_argument("--bins", type=int, help="grid bins per axis (default 5 for K<=3, 4 for K=4, 3 above)")

    s = sub.add_parser("holes", help="cells of a context's axis cube no stored persona reached")
    _common(s, top_level=False)
    s.add_argument("--context", help="context id (default: the one with the most stored personas)")
    s.add_argument(
        "--bins", type=int, help="grid bins per axis, as rare (default 5 for K<=3, 4 for K=4, 3 above)"
    )
    s.add_argument("--limit", type=int, default=20, help="K-D holes listed, deepest first (default 20)")

    s = sub.add_parser("front", help="Pareto front of validation coverage against LLM tokens per persona")
    _common(s, top_level=False)

    s = sub.add_parser("diff", help="unified diff between two programs")
    _common(s, top_level=False)
    s.add_argument("a", metavar="A", help="program id, prefix or label")
    s.add_argument("b", metavar="B", help="program id, prefix or label")

    p.set_defaults(func=handle)


def _commands() -> dict[
    str,
    tuple[Callable[..., dict[str, Any]], Callable[[dict[str, Any]], str], Callable[[Any], dict[str, Any]]],
]:
    import evolve.outputs.inspect as ins

    return {
        "summary": (ins.summary, ins.render_summary, lambda a: {}),
        "top": (ins.top, ins.render_top, lambda a: {"k": a.k, "stage": a.stage}),
        "lineage": (ins.lineage, ins.render_lineage, lambda a: {"ref": a.program}),
        "grid": (ins.grid, ins.render_grid, lambda a: {"island": a.island, "png": a.png}),
        "rare": (ins.rare, ins.render_rare, lambda a: {"context": a.context, "k": a.k, "bins": a.bins}),
        "holes": (
            ins.holes,
            ins.render_holes,
            lambda a: {"context": a.context, "bins": a.bins, "limit": a.limit},
        ),
        "front": (ins.front, ins.render_front, lambda a: {}),
        "diff": (ins.diff, ins.render_diff, lambda a: {"ref_a": a.a, "ref_b": a.b}),
    }


def handle(args: argparse.Namespace) -> int:
    command = getattr(args, "inspect_command", None)
    if not command:
        raise CLIError(
            "inspect: give a command: summary, top, lineage, grid, rare, holes, front or diff", exit_code=2
        )
    if not args.db:
        raise CLIError("inspect: --db PATH is required", exit_code=2)
    from evolve.outputs.inspect import InspectError, dumps, open_source

    run, render, kwargs = _commands()[command]
    try:
        with open_source(args.db, run_id=args.run) as src:
            data = run(src, **kwargs(args))
    except InspectError as exc:
        raise CLIError(str(exc)) from None
    sys.stdout.write((json_safe(dumps(data)) if args.json else visible(render(data))) + "\n")
    return 0
