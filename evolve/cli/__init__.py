"""The ``persona-evolve`` command line: one entry point with subcommands.

Each subcommand lives in its own module ``evolve/cli/cmd_<name>.py`` exposing
``register(subparsers) -> None``; the registered parser sets ``func`` to a handler
``(argparse.Namespace) -> int`` (the exit code). A handler reports a user error by
raising :class:`CLIError`; it is printed as one ``error: ...`` line on stderr.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Sequence

from evolve.cli.errors import CLIError
from evolve.safe_text import visible

COMMAND_MODULES: tuple[str, ...] = ("run", "generate", "score", "contexts", "worlds", "export", "inspect", "view")


def build_parser() -> argparse.ArgumentParser:
    """The full parser with every available subcommand registered."""
    parser = argparse.ArgumentParser(
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
