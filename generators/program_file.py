"""Reading a generator program's source file, with every failure as one phrase.

Used by the refs that name a file of the user's: ``concordia:FILE.py`` and ``file:PATH.py``
seed programs. Each caller prefixes the ref it was given.
"""

from __future__ import annotations

from pathlib import Path


class ProgramFileError(ValueError):
    """A program file that cannot be read; the message is one phrase naming the path."""


def read_program(path: Path) -> str:
    """The UTF-8 text of ``path``; raises :class:`ProgramFileError` (missing, a directory,
    not UTF-8, unreadable)."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProgramFileError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise ProgramFileError(f"{path} is a directory, expected a .py file") from None
    except UnicodeDecodeError as exc:
        raise ProgramFileError(f"{path} is not UTF-8 (byte {exc.start})") from None
    except OSError as exc:
        raise ProgramFileError(f"cannot read {path}: {exc.strerror or exc}") from None
