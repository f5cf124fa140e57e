"""The context (questionnaire) data model.

A context is the setting a population is written for: a free-text description, a
Likert scale, and 2-6 diversity axes, each measured by 3-6 questionnaire items.
Loading and validation of JSON files lives in :mod:`generators.context_loader`.
Generator programs never see this object: they get :class:`generators.runtime.ContextView`,
built from :meth:`Context.public_dict`, which leaves the items out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping


class ContextError(ValueError):
    """A context could not be loaded or is invalid.

    ``problems`` holds one line per problem (``file: json.path: what is wrong``);
    ``str()`` is all of them joined by newlines.
    """

    def __init__(self, problems: str | Iterable[str]) -> None:
        lines = [problems] if isinstance(problems, str) else list(problems)
        if not lines:
            lines = ["invalid context"]
        self.problems: list[str] = lines
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class Item:
    """One questionnaire statement; ``reverse`` items agree with the *low* pole."""

    text: str
    reverse: bool = False


@dataclass(frozen=True)
class Axis:
    """A diversity axis: a named trait with a description of each pole and its items."""

    name: str
    description: str
    low: str
    high: str
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Context:
    """A questionnaire context.

    ``scale_min``/``scale_max`` bound the Likert answers (integers, min < max).
    ``split`` is ``"train"``, ``"validation"``, ``"test"`` for shipped contexts, else None.
    ``source`` is the file it was loaded from (for error messages), if any.
    ``origin`` (optional) records where an imported context came from.
    """

    id: str
    description: str
    scale_min: int
    scale_max: int
    axes: tuple[Axis, ...]
    split: str | None = None
    source: str | None = None
    origin: Mapping[str, Any] | None = field(default=None, compare=False, hash=False)
    """Where an imported context came from (e.g. a Concordia questionnaire: format, file,
    name, how its poles were made); None for contexts written in this format."""

    @property
    def k(self) -> int:
        """Number of axes (the dimension of the position space)."""
        return len(self.axes)

    @property
    def axis_names(self) -> tuple[str, ...]:
        return tuple(axis.name for axis in self.axes)

    @property
    def n_items(self) -> int:
        return sum(len(axis.items) for axis in self.axes)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of the design (round-trips through the loader)."""
        return {
            "id": self.id,
            "description": self.description,
            "scale": {"min": self.scale_min, "max": self.scale_max},
            "axes": [
                {
                    "name": axis.name,
                    "description": axis.description,
                    "low": axis.low,
                    "high": axis.high,
                    "items": [{"text": it.text, "reverse": it.reverse} for it in axis.items],
                }
                for axis in self.axes
            ],
            **({"origin": dict(self.origin)} if self.origin else {}),
        }

    def public_dict(self) -> dict[str, Any]:
        """What a generator program may see: description and axes, never the items."""
        return {
            "id": self.id,
            "description": self.description,
            "axes": [
                {"name": a.name, "description": a.description, "low": a.low, "high": a.high}
                for a in self.axes
            ],
        }
