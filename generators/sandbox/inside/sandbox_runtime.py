"""Runtime types a generator program sees, and the check of what it returns.

This module is imported inside the sandbox child (as the top-level module
``sandbox_runtime``; programs may ``from sandbox_runtime import LLMUnavailable``) and in
the parent (as :mod:`generators.runtime`, which re-exports it), so it depends on the
standard library only (numpy is imported by the child separately for ``rng``).

A generator program defines ``generate(context, n, llm, rng) -> list[dict]`` where

* ``context`` is a :class:`ContextView` (read-only; description and axes, no items),
* ``n`` is the number of personas wanted,
* ``llm`` follows :class:`LLM` (``complete`` / ``complete_many``),
* ``rng`` is a seeded ``numpy.random.Generator``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Protocol, Sequence


@dataclass(frozen=True)
class AxisView:
    """One axis as a program sees it: name, description and the two pole descriptions."""

    name: str
    description: str
    low: str
    high: str


@dataclass(frozen=True)
class ContextView:
    """Read-only view of a context for generator programs (no questionnaire items)."""

    id: str
    description: str
    axes: tuple[AxisView, ...]

    @classmethod
    def from_public_dict(cls, data: Mapping[str, Any]) -> "ContextView":
        """Build from :meth:`generators.context.Context.public_dict` output."""
        return cls(
            id=str(data["id"]),
            description=str(data["description"]),
            axes=tuple(
                AxisView(
                    name=str(a["name"]),
                    description=str(a["description"]),
                    low=str(a["low"]),
                    high=str(a["high"]),
                )
                for a in data["axes"]
            ),
        )

    @property
    def axis_names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.axes)


class LLM(Protocol):
    """The language-model handle given to ``generate``.

    Calls made through ``complete_many`` are run concurrently by the parent process.
    ``temperature`` is in [0, 2]; ``max_tokens`` bounds the reply length in tokens.
    """

    def complete(
        self,
        prompt: str,
        *,
        system: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> str: ...

    def complete_many(
        self,
        prompts: Sequence[str],
        *,
        system: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> list[str]: ...


class GeneratorOutputError(ValueError):
    """The value returned by ``generate`` is not a valid population."""


class LLMUnavailable(RuntimeError):
    """Raised inside the program's ``llm.complete``/``complete_many`` call when the
    parent refused or failed the request (or the pipe to the parent is gone)."""


def _check_text(value: Any, where: str, depth: int = 0) -> None:
    """Raise :class:`GeneratorOutputError` if a (nested) value holds a string that is not
    valid Unicode text (a lone surrogate cannot be stored, printed or sent as UTF-8)."""
    if depth > 32:
        raise GeneratorOutputError(f"{where}: nested more than 32 levels deep")
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise GeneratorOutputError(f"{where}: text contains a lone surrogate character") from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key, where, depth + 1)
            _check_text(item, where, depth + 1)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _check_text(item, where, depth + 1)


def validate_personas(result: Any, n: int) -> list[dict[str, Any]]:
    """Check a ``generate`` result: a list of 1 to ``n`` dicts with non-empty string
    ``name`` and ``description``; extra JSON-serialisable fields are kept. Fewer than
    ``n`` personas is a *short population* (recorded and scored by its own rule by the
    evaluator, never hidden); none, or more than ``n``, is an error. Every string must be
    valid Unicode (no lone surrogates).

    Returns the personas as plain dicts. Raises :class:`GeneratorOutputError` with a
    one-line message naming the first problem (e.g. ``persona 3: missing 'description'``).
    """
    if not isinstance(result, list):
        raise GeneratorOutputError(f"generate() returned {type(result).__name__}, expected list of dicts")
    if not result:
        raise GeneratorOutputError(f"generate() returned no personas, expected {n}")
    if len(result) > n:
        raise GeneratorOutputError(f"generate() returned {len(result)} personas, expected at most {n}")
    personas: list[dict[str, Any]] = []
    for index, persona in enumerate(result):
        if not isinstance(persona, dict):
            raise GeneratorOutputError(f"persona {index}: is {type(persona).__name__}, expected dict")
        for key in ("name", "description"):
            if key not in persona:
                raise GeneratorOutputError(f"persona {index}: missing '{key}'")
            value = persona[key]
            if not isinstance(value, str) or not value.strip():
                raise GeneratorOutputError(f"persona {index}: '{key}' must be a non-empty string")
        for key, value in persona.items():
            if not isinstance(key, str):
                raise GeneratorOutputError(f"persona {index}: field name {key!r} is not a string")
            _check_text(key, f"persona {index}: field name")
            _check_text(value, f"persona {index}: field {key!r}")
        personas.append(dict(persona))
    return personas
