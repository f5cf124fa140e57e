"""The seed programs of a run (config ``[seeds] programs``, ``run --seed-program``): shipped
seeds, Concordia persona generator classes and generator files of the user's own, as
``{archive label: program text}``.

* ``seed:NAME`` is a shipped seed (label ``seed:NAME``);
* ``concordia:FILE.py[:Class]`` is a Concordia class wrapped as an evolvable program
  (:func:`generators.concordia.wrap.wrap_class`, label ``concordia:<file stem>[:Class]``);
* ``file:PATH.py`` (or a bare path ending in ``.py``) is a generator program of the user's
  own, a file defining ``generate(context, n, llm, rng)`` (label ``file:<file name>``). It is
  read once, when the run starts, checked like any proposed program (it must compile and
  define ``generate`` with that signature; :mod:`evolve.proposals.checks`) and then stored in the
  archive and evaluated in the sandbox like any other program. A resumed run uses the
  stored text (:func:`resume_seed_programs`), never the file again.

The config file resolves a relative path against its own folder, ``--seed-program`` against
the current directory (:func:`resolve_file_ref`); the stored run config holds absolute paths.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

from evolve.proposals.checks import first_rejection
from generators.concordia.wrap import ConcordiaRefError, load_concordia_generator, seed_label
from generators.program_file import ProgramFileError, read_program
from generators.seeds import load_seed

FILE_PREFIX = "file:"


class SeedProgramError(ValueError):
    """A seed program that cannot be loaded; the message is one line."""


def is_file_ref(ref: str) -> bool:
    """True for ``file:PATH`` and for a bare path ending in ``.py``."""
    return ref.startswith(FILE_PREFIX) or (
        ref.endswith(".py") and not ref.startswith(("seed:", "concordia:"))
    )


def file_path(ref: str) -> Path:
    """The path of a file ref (``file:`` stripped, ``~`` expanded), as written."""
    return Path(ref[len(FILE_PREFIX) :] if ref.startswith(FILE_PREFIX) else ref).expanduser()


def resolve_file_ref(ref: str, base: Path) -> str:
    """``ref`` with a relative file path made absolute against ``base`` (``file:/abs/x.py``);
    any other ref unchanged."""
    if not is_file_ref(ref):
        return ref
    path = file_path(ref)
    return FILE_PREFIX + str(path if path.is_absolute() else (base / path).absolute())


def label_of(ref: str) -> str:
    """The archive label of a seed ref: ``seed:NAME``, ``concordia:<stem>[:Class]`` or
    ``file:<file name>``."""
    if ref.startswith("concordia:"):
        return seed_label(ref)
    if is_file_ref(ref):
        return FILE_PREFIX + file_path(ref).name
    return ref


def seed_key(label: str) -> str:
    """How the run's summary and final table name a seed: the shipped seed's name
    (``sobol``), the Concordia file stem, or the whole label of a file of the user's
    (``file:my_gen.py``)."""
    return label if label.startswith(FILE_PREFIX) else label.split(":", 1)[1]


def _signature_line(code: str) -> int | None:
    import ast

    for node in ast.parse(code).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == "generate":
            return node.lineno
    return None


def load_file_seed(ref: str) -> str:
    """The program text of a ``file:`` ref, checked like a proposed program. Raises
    :class:`SeedProgramError` with one line naming the file (and the line, for a syntax
    error or a bad ``generate``)."""
    path = file_path(ref)
    if path.suffix != ".py":
        raise SeedProgramError(f"seeds.programs: {ref}: expected a .py file")
    try:
        code = read_program(path)
    except ProgramFileError as exc:
        raise SeedProgramError(f"seeds.programs: {ref}: {exc}") from None
    rejection = first_rejection(code)
    if rejection is not None:
        if rejection.reason == "compile_error":
            where = rejection.message.split(" at line ", 1)
            if len(where) == 2:  # "SyntaxError at line N: msg" -> "path:N: SyntaxError: msg"
                line, _, msg = where[1].partition(": ")
                raise SeedProgramError(f"seeds.programs: {path}:{line}: {where[0]}: {msg}")
        signature_line = _signature_line(code) if rejection.reason == "bad_signature" else None
        at = f":{signature_line}" if signature_line else ""
        raise SeedProgramError(f"seeds.programs: {path}{at}: {rejection.message}")
    return code


def _load_one(ref: str) -> tuple[str, str]:
    if ref.startswith("concordia:"):
        try:
            return seed_label(ref), load_concordia_generator(ref)
        except ConcordiaRefError as exc:
            raise SeedProgramError(f"seeds.programs: {exc}") from None
    if is_file_ref(ref):
        return label_of(ref), load_file_seed(ref)
    try:
        return ref, load_seed(ref)
    except ValueError as exc:
        raise SeedProgramError(f"seeds.programs: {exc}") from None


def load_seed_programs(refs: Sequence[str]) -> dict[str, str]:
    """``{label: code}`` for ``refs`` in order. Raises :class:`SeedProgramError` (one line)."""
    return resume_seed_programs(refs, {})[0]


def resume_seed_programs(refs: Sequence[str], stored: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """``({label: code}, notes)`` for ``refs``: a user's file whose label is in ``stored``
    (label -> the code the archive holds) is not read again; its stored code is used, and a
    note says so when the file changed or is gone since. Raises :class:`SeedProgramError`."""
    out: dict[str, str] = {}
    notes: list[str] = []
    for ref in refs:
        label = label_of(ref)
        if is_file_ref(ref) and label in stored:
            code = stored[label]
            try:
                now: str | None = file_path(ref).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                now = None
            if now != code:
                state = "is gone" if now is None else "changed"
                notes.append(
                    f"seed {label}: {file_path(ref)} {state} since the run started; "
                    f"using the code stored in the archive"
                )
        else:
            label, code = _load_one(ref)
        if label in out:
            raise SeedProgramError(f"seeds.programs: two entries share the label {label!r}")
        out[label] = code
    return out, notes
