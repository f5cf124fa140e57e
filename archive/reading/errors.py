"""The reader's user-facing errors, each a one-line message."""

from __future__ import annotations


class ReaderError(Exception):
    """A user-facing problem reading an archive (no such file, not an archive, no run,
    unknown or ambiguous program id): the message is one line."""


class UnknownProgramError(ReaderError, LookupError):
    """A program reference that names no program (or several) of the run."""


def one_line(text: object) -> str:
    """The first non-blank line of ``str(text)``, stripped ("unknown error" when blank)."""
    for line in str(text).splitlines():
        if line.strip():
            return line.strip()
    return str(text).strip() or "unknown error"
