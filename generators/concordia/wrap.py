"""``concordia:FILE.py[:ClassName]``: a Concordia persona generator class as an evolvable program.

The class follows the protocol of Concordia's persona generation
(``concordia/contrib/components/game_master/persona_generation.py``): built with a
``LanguageModel``, stage 1 ``generate_diverse_persona_characteristics(initial_context,
diversity_axes, num_personas)`` -> list of dicts, stage 2
``generate_single_persona_memories(persona_details)`` -> list of strings.

:func:`wrap_class` puts the file's source verbatim between ``# EVOLVE-BLOCK-START`` and
``# EVOLVE-BLOCK-END`` and appends a ``generate(context, n, llm, rng)`` that drives the class
through ``sandbox_concordia.drive`` (the ``LanguageModel`` adapter over the sandbox's ``llm``
proxy). The result is an ordinary program: the sandbox runs it (on the Concordia
interpreter, see :mod:`generators.concordia.environment`), the mutators edit its block, the
archive stores it.
"""

from __future__ import annotations

import ast
from pathlib import Path

from generators.program_file import ProgramFileError, read_program

PREFIX = "concordia:"
STAGE1 = "generate_diverse_persona_characteristics"
STAGE2 = "generate_single_persona_memories"


class ConcordiaRefError(ValueError):
    """A ``concordia:`` reference that cannot be used; the message is one line."""


def is_concordia_ref(ref: str) -> bool:
    """True for ``concordia:...`` references."""
    return str(ref).startswith(PREFIX)


def parse_ref(ref: str) -> tuple[Path, str | None]:
    """(file, class name or None) of ``concordia:FILE.py[:ClassName]``."""
    body = str(ref)[len(PREFIX) :] if is_concordia_ref(ref) else str(ref)
    if not body:
        raise ConcordiaRefError("concordia: expected concordia:FILE.py or concordia:FILE.py:ClassName")
    if body.endswith(".py") or ":" not in body:
        return Path(body), None
    path, _, name = body.rpartition(":")
    if not name.isidentifier():
        raise ConcordiaRefError(f"{ref}: {name!r} is not a class name")
    return Path(path), name


def protocol_classes(source: str) -> list[str]:
    """Top-level classes of ``source`` that define both stage methods, in file order."""
    out = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.ClassDef):
            methods = {n.name for n in node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
            if STAGE1 in methods and STAGE2 in methods:
                out.append(node.name)
    return out


def wrap_class(source: str, class_name: str | None = None, *, origin: str = "<source>") -> str:
    """The evolvable program for class ``class_name`` of ``source`` (the only protocol class
    when None). Raises :class:`ConcordiaRefError` (one line) when the source does not parse,
    has no such class, several candidates, or already defines ``generate``."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise ConcordiaRefError(f"{origin}: line {exc.lineno}: SyntaxError: {exc.msg}") from None
    found = protocol_classes(source)
    top = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    if class_name is None:
        if not found:
            raise ConcordiaRefError(
                f"{origin}: no class defines both {STAGE1}() and {STAGE2}() "
                "(the Concordia persona generator protocol)"
            )
        if len(found) > 1:
            raise ConcordiaRefError(
                f"{origin}: several protocol classes ({', '.join(found)}); "
                f"name one: concordia:{origin}:{found[0]}"
            )
        class_name = found[0]
    elif class_name not in found:
        what = "lacks a stage method" if class_name in top else "is not defined"
        raise ConcordiaRefError(
            f"{origin}: class {class_name} {what} (protocol classes here: {', '.join(found) or 'none'})"
        )
    if "generate" in top or any(
        isinstance(n, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "generate" for t in n.targets)
        for n in tree.body
    ):
        raise ConcordiaRefError(
            f"{origin}: defines a top-level 'generate', which the wrapper needs; rename it"
        )
    body = source if source.endswith("\n") else source + "\n"
    return (
        f"# persona-evolve: the Concordia persona generator {class_name} from {Path(origin).name}, "
        "wrapped as an\n"
        "# evolvable program. It runs in the sandbox on Python >= 3.12 with gdm-concordia; its "
        "LanguageModel is\n"
        "# an adapter over the sandbox's llm proxy (sandbox_concordia), so cache, budget and keys "
        "stay outside.\n"
        "# EVOLVE-BLOCK-START\n"
        f"{body}"
        "# EVOLVE-BLOCK-END\n"
        "\n\n"
        "def generate(context, n, llm, rng):\n"
        f'    """Stage 1, then stage 2 per persona (concurrently), of {class_name} through a '
        'LanguageModel over llm."""\n'
        "    import sandbox_concordia\n"
        "\n"
        f"    return sandbox_concordia.drive({class_name}, context, n, llm, rng)\n"
    )


def load_concordia_generator(ref: str) -> str:
    """Program text for ``concordia:FILE.py[:ClassName]`` (see :func:`wrap_class`).
    Raises :class:`ConcordiaRefError` with one line (missing file, not UTF-8, no class...)."""
    path, name = parse_ref(ref)
    try:
        source = read_program(path)
    except ProgramFileError as exc:
        raise ConcordiaRefError(f"{ref}: {exc}") from None
    return wrap_class(source, name, origin=str(path))


def seed_label(ref: str) -> str:
    """The archive label of a Concordia seed: ``concordia:<file stem>[:Class]``."""
    path, name = parse_ref(ref)
    return f"{PREFIX}{path.stem}" + (f":{name}" if name else "")
