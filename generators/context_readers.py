"""The registry of context file formats other than our own.

:func:`generators.context_loader.load_context` asks each reader in :data:`READERS`, in
order, whether it recognises a decoded document, and converts it with the first that
does; the loader itself knows no format but its own. A reader is any object with the two
methods of :class:`ContextReader`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Protocol

from generators.concordia.questionnaire import looks_like_questionnaire, questionnaire_to_context


class ContextReader(Protocol):
    """Converts one foreign format into the context JSON of :mod:`generators.context_loader`."""

    @property
    def name(self) -> str:
        """The format's name, for messages."""
        ...

    def recognises(self, data: Any) -> bool:
        """True when the decoded JSON ``data`` is in this reader's format."""
        ...

    def to_context_dict(self, data: Any, *, source: str) -> dict[str, Any]:
        """The context JSON for ``data``; raises :class:`generators.context.ContextError`
        listing every problem (``source: $.path: what``)."""
        ...


@dataclass(frozen=True)
class FunctionReader:
    """A :class:`ContextReader` made of two functions."""

    name: str
    recognise: Callable[[Any], bool]
    convert: Callable[..., dict[str, Any]]

    def recognises(self, data: Any) -> bool:
        return bool(self.recognise(data))

    def to_context_dict(self, data: Any, *, source: str) -> dict[str, Any]:
        return self.convert(data, source=source)


READERS: tuple[ContextReader, ...] = (
    FunctionReader(
        name="concordia-questionnaire", recognise=looks_like_questionnaire, convert=questionnaire_to_context
    ),
)
"""Formats read on the fly wherever a context file is accepted."""
