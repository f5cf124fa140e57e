"""The ``persona-evolve`` command line: one entry point with subcommands.

Each subcommand lives in its own module ``evolve/cli/cmd_<name>.py`` exposing
``register(subparsers) -> None``; the registered parser sets ``func`` to a handler
``(argparse.Namespace) -> int`` (the exit code). A handler reports a user error by
raising :class:`CLIError`; it is printed as one ``error: ...`` line on stderr.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import os
import re
import sys
from typing import NoReturn, Sequence

from evolve.cli.errors import CLIError
from evolve.outputs.safe_text import visible

COMMAND_MODULES: tuple[str, ...] = (
    "run",
    "generate",
    "score",
    "contexts",
    "worlds",
    "export",
    "inspect",
    "view",
)


class SuggestingParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors for an unknown command, choice or flag end with the
    closest valid one (``did you mean '--budget-evals'?``); subcommands inherit it."""

    def error(self, message: str) -> NoReturn:  # type: ignore[override]
        super().error(message + _suggestion(self, message))


def _option_strings(parser: argparse.ArgumentParser) -> list[str]:
    """Every flag of ``parser`` and of its subcommands."""
    found = list(parser._option_string_actions)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found += _option_strings(sub)
    return found


def _suggestion(parser: argparse.ArgumentParser, message: str) -> str:
    """`` (did you mean 'x'?)`` for the first unknown word of an argparse error, else ""."""
    choice = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
    if choice:
        candidates, word = re.findall(r"'([^']*)'", choice.group(2)), choice.group(1)
    else:
        unknown = re.search(r"unrecognized arguments: (.*)", message)
        flags = [
            w.split("=", 1)[0] for w in (unknown.group(1).split() if unknown else []) if w.startswith("-")
        ]
        if not flags:
            return ""
        candidates, word = _option_strings(parser), flags[0]
    match = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return f" (did you mean '{match[0]}'?)" if match else ""


def build_parser() -> argparse.ArgumentParser:
    """The full parser with every available subcommand registered."""
    parser = SuggestingParser(
        prog="persona-evolve",
        description="Evolve persona-generator programs for support-coverage diversity.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"evolve.cli.cmd_{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"evolve.cli.cmd_{name}":
                continue
            raise
        module.register(subparsers)
    return parser


from archive.identity import CodeMismatch  # noqa: E402 - light module (ast + hashlib)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default ``sys.argv[1:]``), run the subcommand, return its exit code."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except CLIError as exc:  # may quote a program's error line: shown, never acted on by the terminal
        print(f"error: {visible(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except CodeMismatch as exc:  # a tampered archive: refuse, one line, from any command
        print(f"error: {visible(str(exc))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `... | head`: the reader left; stop quietly, no traceback
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return 141


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
