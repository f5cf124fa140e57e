"""Behaviour-descriptor binning: value -> bin index, stable for the life of a run.

Bin edges are ``linspace(low, high, bins+1)`` (or ``geomspace`` when ``log``); a value
falls in bin i when ``edges[i] <= value < edges[i+1]``; ``high`` itself is in the last bin.
Values outside [low, high] go to the edge bin and are reported as clipped.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np

from .records import DescriptorSpec


class DescriptorError(ValueError):
    """A descriptor value is missing or not a finite number."""


def bin_edges(spec: DescriptorSpec) -> np.ndarray:
    """The ``bins + 1`` edges of a descriptor, in the descriptor's own units."""
    if spec.log:
        return np.geomspace(spec.low, spec.high, spec.bins + 1)
    return np.linspace(spec.low, spec.high, spec.bins + 1)


def edge_text(x: float, log: bool) -> str:
    """A bin edge in a few characters: 0.25, 56, 1.8k, 2.5M (two decimals on linear
    descriptors below 100)."""
    if not log and abs(x) < 100:
        return f"{x:.2f}"
    for div, suffix in ((1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            return f"{x / div:.2g}{suffix}" if abs(x) / div < 10 else f"{x / div:.0f}{suffix}"
    return f"{x:.2g}" if abs(x) < 10 else f"{x:.0f}"


def edge_label(edges: Sequence[float], i: int, log: bool) -> str:
    """``[lo, hi)`` value range of bin ``i`` of ``edges`` (the last bin is closed)."""
    closing = "]" if i == len(edges) - 2 else ")"
    return f"[{edge_text(float(edges[i]), log)}, {edge_text(float(edges[i + 1]), log)}{closing}"


def bin_labels(spec: DescriptorSpec) -> list[str]:
    """The value range of every bin of a descriptor, as :func:`edge_label` writes it."""
    edges = [float(x) for x in bin_edges(spec)]
    return [edge_label(edges, i, spec.log) for i in range(spec.bins)]


def bin_index(spec: DescriptorSpec, value: float) -> tuple[int, bool]:
    """(bin index in [0, bins), clipped?) of one value. Raises DescriptorError on NaN/inf."""
    v = float(value)
    if not math.isfinite(v):
        raise DescriptorError(f"descriptor {spec.name!r} is not finite: {value!r}")
    if v < spec.low:
        return 0, True
    if v > spec.high:
        return spec.bins - 1, True
    edges = bin_edges(spec)
    i = int(np.searchsorted(edges, v, side="right")) - 1
    return min(max(i, 0), spec.bins - 1), False


def cell_of(
    specs: Sequence[DescriptorSpec], values: Mapping[str, float]
) -> tuple[tuple[int, ...], tuple[str, ...]]:
    """(cell, names of clipped descriptors) for a mapping of descriptor values."""
    cell: list[int] = []
    clipped: list[str] = []
    for spec in specs:
        if spec.name not in values or values[spec.name] is None:
            raise DescriptorError(f"descriptor {spec.name!r} missing (got {sorted(values)})")
        i, c = bin_index(spec, values[spec.name])
        cell.append(i)
        if c:
            clipped.append(spec.name)
    return tuple(cell), tuple(clipped)


def cell_key(cell: Sequence[int]) -> str:
    """Text form of a cell used in the database: ``"3,5"``."""
    return ",".join(str(int(i)) for i in cell)


def parse_cell(key: str) -> tuple[int, ...]:
    """Inverse of ``cell_key``."""
    return tuple(int(x) for x in key.split(",")) if key else ()
