"""Choosing a context and reading its stored positions, for ``rare`` and ``holes``.

One rule for both commands (and the viewer pages over them): without a context, the one
with the most stored positions; an unknown context is a one-line error naming close ids.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

import numpy as np

from evolve.outputs.inspect.source import InspectError, Source

__all__ = ["AxisPoles", "Positions", "axis_poles", "choose_context", "load_positions"]


def choose_context(src: Source, context: str | None) -> tuple[str, list[dict[str, Any]]]:
    """(context id, every context's counts as ``Source.context_counts`` gives them).
    ``context`` None: the context with the most stored positions. Raises InspectError when
    nothing is stored or ``context`` has no stored positions."""
    contexts = src.context_counts()
    if not contexts:
        raise InspectError(
            f"no persona positions stored in run {src.run_id} of {src.db} (nothing evaluated yet)"
        )
    if context is None:
        return contexts[0]["id"], contexts
    ids = [c["id"] for c in contexts]
    if context not in ids:
        close = difflib.get_close_matches(context, ids, n=3, cutoff=0.4) or ids[:3]
        raise InspectError(
            f"no personas stored for context {context!r} in run {src.run_id} "
            f"(available: {', '.join(close)}{', ...' if len(ids) > len(close) else ''})"
        )
    return context, contexts


@dataclass(frozen=True)
class Positions:
    """The answered positions of one context: ``z`` M×K in [0, 1] (rows with a missing
    answer dropped, counted in ``skipped``), per row its ``programs`` (str ids), ``stages``,
    ``evaluations`` and ``indexes`` (row within its population)."""

    context: str
    k: int
    z: np.ndarray
    programs: np.ndarray
    stages: np.ndarray
    evaluations: np.ndarray
    indexes: np.ndarray
    skipped: int


def load_positions(src: Source, context: str) -> Positions:
    """:class:`Positions` of ``context`` (every stored evaluation, every stage). Raises
    InspectError when every stored position misses an axis answer."""
    ps = src.reader.context_positions(context)
    z_all = np.asarray(ps.z, dtype=float)
    keep = ~np.isnan(z_all).any(axis=1) if len(z_all) else np.zeros(0, dtype=bool)
    if not keep.any():
        raise InspectError(
            f"context {context!r}: every stored position misses an axis answer; nothing to bin"
        )
    return Positions(
        context,
        int(ps.k),
        z_all[keep],
        np.asarray(ps.program_ids)[keep],
        np.asarray(ps.stages)[keep],
        np.asarray(ps.evaluation_ids)[keep],
        np.asarray(ps.indexes)[keep],
        int((~keep).sum()),
    )


@dataclass(frozen=True)
class AxisPoles:
    """An axis's ``name`` and its ``low`` / ``high`` pole texts (empty when unknown)."""

    name: str
    low: str = ""
    high: str = ""


def axis_poles(src: Source, context: str, k: int) -> list[AxisPoles]:
    """The ``k`` axes of ``context`` with their poles (generic ``axis_i`` names and empty
    poles when the context cannot be found or has another axis count)."""
    names = src.context_axes(context, k)
    ctx = src.context(context)
    axes = list(getattr(ctx, "axes", None) or ())
    if len(axes) == k and tuple(a.name for a in axes) == tuple(names):
        return [AxisPoles(a.name, str(a.low or ""), str(a.high or "")) for a in axes]
    return [AxisPoles(n) for n in names]
