"""``persona-evolve contexts``: list shipped contexts, validate files, draft a new one.

persona-evolve contexts list [--split S] [--json]
persona-evolve contexts validate PATH... [--json]
persona-evolve contexts draft --description "..." --axes K [--model M] [--api-base URL]
                              [--out FILE] [--force]
persona-evolve contexts import FILE|DIR [--out DIR] [--force] [--json]   (Concordia questionnaires)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from evolve.cli.errors import CLIError
from generators.context import Context
from generators.context_loader import (
    AXES_MAX,
    AXES_MIN,
    SPLITS,
    ContextError,
    load_context,
    load_split,
    shipped_ids,
)

_DESC_WIDTH = 60


def register(subparsers: Any) -> None:
    """Add the ``contexts`` command and its ``list`` / ``validate`` / ``draft`` subcommands."""
    parser = subparsers.add_parser(
        "contexts",
        help="list, validate or draft questionnaire contexts",
        description="List the shipped contexts, validate context files, or draft a new one with an LLM.",
    )
    sub = parser.add_subparsers(dest="contexts_command", metavar="SUBCOMMAND")
    parser.set_defaults(func=lambda args: _no_subcommand(parser))

    p_list = sub.add_parser("list", help="list the shipped contexts")
    p_list.add_argument("--split", choices=SPLITS, help="only this split")
    p_list.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    p_list.set_defaults(func=cmd_list)

    p_show = sub.add_parser(
        "show", help="print a shipped context's JSON (e.g. for an exported module's --context)"
    )
    p_show.add_argument("context", metavar="ID", help="a shipped context id (see: contexts list)")
    p_show.add_argument("--out", default=None, help="write it to this file instead of printing it")
    p_show.set_defaults(func=cmd_show)

    p_val = sub.add_parser("validate", help="validate context files or directories")
    p_val.add_argument("paths", nargs="+", metavar="PATH", help="a context .json file or a directory of them")
    p_val.add_argument("--json", action="store_true", help="print a JSON list of results")
    p_val.set_defaults(func=cmd_validate)

    p_draft = sub.add_parser("draft", help="draft a new context from a description with an LLM")
    p_draft.add_argument("--description", required=True, help="the setting, in free text")
    p_draft.add_argument("--axes", required=True, type=int, help=f"number of axes ({AXES_MIN}-{AXES_MAX})")
    p_draft.add_argument("--model", default="sim", help="model of the author role (default: sim, simulated)")
    p_draft.add_argument("--api-base", default=None, help="base URL of an OpenAI-compatible server")
    p_draft.add_argument("--out", default=None, help="write the context JSON here (default: print it)")
    p_draft.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    p_draft.set_defaults(func=cmd_draft)

    from evolve.cli.contexts_import import register as register_import  # Concordia questionnaires

    register_import(sub)


def _no_subcommand(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _summary(ctx: Context) -> dict[str, Any]:
    return {
        "id": ctx.id,
        "split": ctx.split,
        "k": ctx.k,
        "items": ctx.n_items,
        "axes": list(ctx.axis_names),
        "scale": {"min": ctx.scale_min, "max": ctx.scale_max},
        "description": ctx.description,
        "source": ctx.source,
    }


def _truncate(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3].rstrip() + "..."


def cmd_list(args: argparse.Namespace) -> int:
    """Print the shipped contexts as a table (id, split, K, items, description) or JSON."""
    splits = [args.split] if args.split else list(SPLITS)
    try:
        contexts = [ctx for split in splits for ctx in load_split(split)]
    except ContextError as exc:
        raise CLIError(f"shipped contexts are invalid: {exc.problems[0]}") from None
    if args.json:
        print(json.dumps([_summary(c) for c in contexts], indent=2))
        return 0
    id_w = max([len("id")] + [len(c.id) for c in contexts])
    print(f"{'id':<{id_w}}  {'split':<10}  {'K':>1}  {'items':>5}  description")
    for c in contexts:
        print(
            (
                f"{c.id:<{id_w}}  {c.split or '':<10}  {c.k:>1}  {c.n_items:>5}  "
                f"{_truncate(c.description, _DESC_WIDTH)}"
            )
        )
    print(f"{len(contexts)} contexts")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    """Print (or write to ``--out``) the JSON of a shipped context, in the file format that
    ``contexts validate``, ``--context`` and an exported module read."""
    from generators.context_loader import resolve_context

    try:
        context = resolve_context(args.context)
    except ContextError as exc:
        raise CLIError(f"contexts show: {str(exc).splitlines()[0]}") from None
    text = json.dumps(context.to_dict(), indent=2, ensure_ascii=False) + "\n"
    if args.out:
        try:
            Path(args.out).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise CLIError(f"--out: cannot write {args.out}: {exc.strerror or exc}") from None
        print(f"wrote {context.id} to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _expand(paths: list[str]) -> list[tuple[Path, str | None]]:
    """(file, problem) pairs: every *.json under directories; problems for bad paths."""
    out: list[tuple[Path, str | None]] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*.json") if p.is_file())
            if not files:
                out.append((path, f"{path}: no *.json context files"))
            out.extend((f, None) for f in files)
        elif path.exists():
            out.append((path, None))
        else:
            out.append((path, f"{path}: cannot read: no such file or directory"))
    return out


def cmd_validate(args: argparse.Namespace) -> int:
    """Validate files/directories; ``ok  path (id, K axes, M items)`` or the problems. Exit 1
    if any file is invalid (two files with one id count as invalid)."""
    results: list[dict[str, Any]] = []
    seen: dict[str, str] = {}
    for path, problem in _expand(args.paths):
        entry: dict[str, Any] = {"path": str(path), "ok": False, "problems": []}
        if problem is not None:
            entry["problems"] = [problem]
        else:
            try:
                ctx = load_context(path)
            except ContextError as exc:
                entry["problems"] = exc.problems
            else:
                entry.update(id=ctx.id, k=ctx.k, items=ctx.n_items)
                if ctx.id in seen:
                    entry["problems"] = [
                        f"{path}: $.id: duplicate context id {ctx.id!r} (also in {seen[ctx.id]})"
                    ]
                else:
                    seen[ctx.id] = str(path)
                    entry["ok"] = True
        results.append(entry)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for r in results:
            if r["ok"]:
                print(f"ok  {r['path']} ({r['id']}, {r['k']} axes, {r['items']} items)")
            else:
                for line in r["problems"]:
                    print(line)
        bad = sum(not r["ok"] for r in results)
        print(f"{len(results) - bad} valid, {bad} invalid", file=sys.stderr)
    return 0 if all(r["ok"] for r in results) else 1


def _build_author_client(model: str, api_base: str | None) -> Any:
    try:
        from generators.llm import ModelConfig, build_client
    except ImportError as exc:  # pragma: no cover - depends on the LLM layer being installed
        raise CLIError(f"the LLM layer is not available: {exc}") from None
    try:
        client = build_client({"author": ModelConfig(model=model, api_base=api_base)})
    except (TypeError, ValueError) as exc:
        raise CLIError(f"cannot configure model {model!r}: {exc}") from None
    from evolve.cli.common import check_model

    check_model("author", model, api_base)  # one tiny call first: fail in seconds, in one line
    return client


def cmd_draft(args: argparse.Namespace) -> int:
    """Draft a context with the author model, validate it, print it or write ``--out``."""
    from generators.drafting import draft_context

    if not args.description.strip():
        raise CLIError("--description must not be empty")
    if not AXES_MIN <= args.axes <= AXES_MAX:
        raise CLIError(f"--axes must be between {AXES_MIN} and {AXES_MAX}, got {args.axes}")
    out = Path(args.out) if args.out else None
    if out is not None and out.exists() and not args.force:
        raise CLIError(f"{out}: already exists (use --force to overwrite)")

    client = _build_author_client(args.model, args.api_base)
    simulated = args.model == "sim"
    try:
        ctx = draft_context(args.description, axes=args.axes, client=client, model_label=args.model)
    except ContextError as exc:
        for line in exc.problems:
            print(line, file=sys.stderr)
        raise CLIError(
            f"model {args.model!r} did not produce a valid context ({len(exc.problems)} problems above)"
        ) from None
    except CLIError:
        raise
    except Exception as exc:  # the LLM call itself failed (network, auth, budget, ...)
        raise CLIError(f"drafting with model {args.model!r} failed: {type(exc).__name__}: {exc}") from None

    if simulated:
        print(
            "note: model 'sim' is the simulated author: this is a SIMULATED template, not a real "
            "draft; edit it or use --model with a real LLM",
            file=sys.stderr,
        )
    shipped = shipped_ids()
    if ctx.id in shipped:
        print(
            f"warning: id {ctx.id!r} is also a shipped context ({shipped[ctx.id]}); rename it before use",
            file=sys.stderr,
        )
    text = json.dumps(ctx.to_dict(), indent=2, ensure_ascii=False) + "\n"
    if out is None:
        sys.stdout.write(text)
        return 0
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CLIError(f"{out}: cannot write: {exc.strerror or exc}") from None
    print(f"wrote {out} ({ctx.id}, {ctx.k} axes, {ctx.n_items} items)")
    return 0
