"""Runtime types a generator program sees, and the check of what it returns.

This module is imported inside the sandbox child, so it depends on the standard
library only (numpy is imported by the child separately for ``rng``).

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


def validate_personas(result: Any, n: int) -> list[dict[str, Any]]:
    """Check a ``generate`` result: a list of exactly ``n`` dicts with non-empty string
    ``name`` and ``description``; extra JSON-serialisable fields are kept.

    Returns the personas as plain dicts. Raises :class:`GeneratorOutputError` with a
    one-line message naming the first problem (e.g. ``persona 3: missing 'description'``).
    """
    if not isinstance(result, list):
        raise GeneratorOutputError(
            f"generate() returned {type(result).__name__}, expected list of dicts"
        )
    if len(result) != n:
        raise GeneratorOutputError(f"generate() returned {len(result)} personas, expected {n}")
    personas: list[dict[str, Any]] = []
    for index, persona in enumerate(result):
        if not isinstance(persona, dict):
            raise GeneratorOutputError(
                f"persona {index}: is {type(persona).__name__}, expected dict"
            )
        for key in ("name", "description"):
            if key not in persona:
                raise GeneratorOutputError(f"persona {index}: missing '{key}'")
            value = persona[key]
            if not isinstance(value, str) or not value.strip():
                raise GeneratorOutputError(f"persona {index}: '{key}' must be a non-empty string")
        personas.append({str(k): v for k, v in persona.items()})
    return personas
