"""``persona-evolve contexts import FILE|DIR [--out DIR]``: Concordia questionnaires -> contexts.

Every ``*.json`` given (a file, or all under a directory) is read as a Concordia
questionnaire (:mod:`generators.concordia.questionnaire`), converted, validated as a context
and written to ``--out/<id>.json`` (default: the current directory). A bad file prints its
problems (``file: $.path: what``) and is skipped; the exit code is 1 when any file failed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from evolve.cli.errors import CLIError


def register(sub: Any) -> None:
    """Add ``import`` to the ``contexts`` subparsers."""
    p = sub.add_parser(
        "import",
        help="convert Concordia questionnaire JSON into contexts",
        description="Convert Concordia questionnaires (name, context, dimensions, questions) into "
        "validated contexts. Poles, which the format lacks, get the neutral default 'low <dimension>' "
        "/ 'high <dimension>', marked in the context's origin.",
    )
    p.add_argument(
        "paths", nargs="+", metavar="FILE|DIR", help="a questionnaire .json file or a directory of them"
    )
    p.add_argument("--out", default=".", help="directory to write <id>.json contexts into (default: .)")
    p.add_argument("--force", action="store_true", help="overwrite existing files in --out")
    p.add_argument("--json", action="store_true", help="print a JSON list of results")
    p.set_defaults(func=cmd_import)


def _files(paths: list[str]) -> list[Path]:
    out: list[Path] = []
    for ref in paths:
        path = Path(ref)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*.json") if p.is_file())
            if not found:
                raise CLIError(f"{path}: no *.json questionnaire files")
            out += found
        elif path.is_file():
            out.append(path)
        else:
            raise CLIError(f"{path}: no such file or directory")
    return out


def cmd_import(args: argparse.Namespace) -> int:
    from generators.concordia.questionnaire import looks_like_questionnaire, questionnaire_to_context
    from generators.context_loader import ContextError, _decode, context_from_dict

    out_dir = Path(args.out)
    results: list[dict[str, Any]] = []
    seen: dict[str, str] = {}
    for file in _files(list(args.paths)):
        source = str(file)
        try:
            try:
                raw = file.read_bytes()
            except OSError as exc:
                raise ContextError(f"{source}: cannot read: {exc.strerror or exc}") from None
            data = _decode(raw, source)
            if not looks_like_questionnaire(data):
                raise ContextError(
                    f"{source}: $: not a Concordia questionnaire (needs 'dimensions' and 'questions')"
                )
            ctx = context_from_dict(questionnaire_to_context(data, source=source), source=source)
            if ctx.id in seen:
                raise ContextError(f"{source}: $.name: id {ctx.id!r} already produced by {seen[ctx.id]}")
            target = out_dir / f"{ctx.id}.json"
            if target.exists() and not args.force:
                raise ContextError(f"{source}: {target} exists (use --force to overwrite)")
            out_dir.mkdir(parents=True, exist_ok=True)
            target.write_text(
                json.dumps(ctx.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
            )
            seen[ctx.id] = source
            results.append(
                {
                    "file": source,
                    "ok": True,
                    "id": ctx.id,
                    "out": str(target),
                    "k": ctx.k,
                    "items": ctx.n_items,
                    "problems": [],
                }
            )
        except ContextError as exc:
            results.append(
                {"file": source, "ok": False, "id": None, "out": None, "problems": list(exc.problems)}
            )
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for r in results:
            if r["ok"]:
                print(
                    (
                        f"ok    {r['file']} -> {r['out']} ({r['k']} axes, {r['items']} items; poles: "
                        "neutral default)"
                    )
                )
            else:
                for line in r["problems"]:
                    print(f"error {line}", file=sys.stderr)
        good = sum(r["ok"] for r in results)
        print(f"imported {good} of {len(results)} questionnaire(s) into {out_dir}", file=sys.stderr)
    return 0 if all(r["ok"] for r in results) else 1
