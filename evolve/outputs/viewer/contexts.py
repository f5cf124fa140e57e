"""Axis names and poles of the contexts a run used (for labels; the archive stores none).

Looked up from the run config's context references, then among the shipped contexts by
id; a context that cannot be found gets generic names ``axis_1 .. axis_K``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Mapping, Sequence


@dataclass(frozen=True)
class AxisInfo:
    """One diversity axis: ``name``, its ``description`` and the ``low``/``high`` poles
    (empty strings when unknown)."""

    name: str
    description: str = ""
    low: str = ""
    high: str = ""


@dataclass(frozen=True)
class ContextInfo:
    """A context's id, description (may be empty) and axes, in stored column order."""

    id: str
    description: str
    axes: tuple[AxisInfo, ...]
    known: bool

    @property
    def axis_names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.axes)


class ContextCatalog:
    """Context lookup for one run config; thread-safe and cached (contexts never change)."""

    def __init__(self, refs: Mapping[str, Sequence[str]]) -> None:
        self._refs = {k: tuple(v) for k, v in refs.items()}
        self._loaded: dict[str, Any] | None = None
        self._lock = threading.Lock()

    def _contexts(self) -> dict[str, Any]:
        with self._lock:
            if self._loaded is None:
                found: dict[str, Any] = {}
                try:
                    from generators.context_loader import resolve_contexts
                except ImportError:  # pragma: no cover - part of the project
                    resolve_contexts = None  # type: ignore[assignment]
                for split in ("train", "validation", "test"):
                    for ref in self._refs.get(split, ()):
                        if resolve_contexts is None:
                            break
                        try:
                            for ctx in resolve_contexts([str(ref)]):
                                found.setdefault(ctx.id, ctx)
                        except Exception:  # noqa: BLE001 - a moved file: fall back to shipped ids
                            continue
                self._loaded = found
            return self._loaded

    def split_of(self, context_id: str) -> str | None:
        """``train``/``validation``/``test`` when the run config lists the id there."""
        for split, refs in self._refs.items():
            if context_id in refs:
                return split
        ctx = self._contexts().get(context_id)
        return getattr(ctx, "split", None) if ctx is not None else None

    def get(self, context_id: str, k: int | None = None) -> ContextInfo:
        """The context ``context_id`` with ``k`` axes (names fall back to ``axis_i`` when
        the context is unknown or its axis count differs from ``k``)."""
        ctx = self._contexts().get(context_id)
        if ctx is None:
            try:
                from generators.context_loader import resolve_context

                ctx = resolve_context(context_id)
            except Exception:  # noqa: BLE001 - unknown context: generic names
                ctx = None
        if ctx is not None and (k is None or len(ctx.axes) == k):
            axes = tuple(AxisInfo(a.name, a.description, a.low, a.high) for a in ctx.axes)
            return ContextInfo(context_id, ctx.description, axes, True)
        return ContextInfo(context_id, "", tuple(AxisInfo(f"axis_{i + 1}") for i in range(k or 0)), False)
