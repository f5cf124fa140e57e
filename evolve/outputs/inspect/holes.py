"""``inspect holes``: the cells of a context's axis cube that no stored persona reached.

Same grid and binning as ``inspect rare`` (``bins`` per axis, default
``archive.exemplars.default_bins(K)``; cell of a position by ``archive.exemplars.cells_of``),
over every stored position of the context (all programs, all evaluations, all stages).
A hole is an unreached cell, listed with its value range and pole on every axis (``low``:
the bin lies below 0.5, toward the axis's low pole; ``high`` above; ``middle`` the centre
bin of an odd grid). Holes come deepest first: ``depth`` is the chessboard distance in cells
to the nearest reached cell (1 = next to one). With up to ~8 axes the K-D holes are many, so
the listing is capped at ``limit`` and counted by depth; the 2-D holes of every axis pair
(the (bin, bin) pairs no persona projects to) are what a user can act on.

JSON shape (stable)::

    {"context": str, "axes": [{"name": str, "low": str, "high": str}], "bins": int,
     "simulated": bool, "personas": int, "programs": int, "skipped": int,
     "cells_total": int, "cells_reached": int, "holes_total": int, "limit": int,
     "depths": {depth (str): count},
     "holes": [{"cell": [int], "depth": int, "ranges": {axis: [low, high]},
                "poles": {axis: "low"|"middle"|"high"}}],          # at most limit, deepest first
     "axis_holes": [{"axis": str, "bins": [int]}],                 # bins of one axis nobody reached
     "pairs": [{"axes": [str, str], "cells_total": int, "reached": int,
                "grid": [[bool]] (bins x bins; grid[i][j]: bin i of the first axis, bin j of the second),
                "holes": [{"cell": [int, int], "ranges": {axis: [low, high]},
                           "poles": {axis: "low"|"middle"|"high"}}]}],   # every axis pair, in axis order
     "contexts": [{"id": str, "personas": int, "texts": int, "programs": int}]}
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from archive.exemplars import cells_of, default_bins
from archive.support import MAX_CELLS, hole_cells, hole_depth, pair_reached, reached_mask
from evolve.outputs.inspect.positions import axis_poles, choose_context, load_positions
from evolve.outputs.inspect.render import shorten, table
from evolve.outputs.inspect.source import InspectError, Source
from evolve.outputs.labels import SIM_LINE

__all__ = ["LIMIT", "holes", "pole_of", "render_holes"]

#: Default cap on the K-D holes listed.
LIMIT = 20


def pole_of(i: int, bins: int) -> str:
    """``low`` / ``middle`` / ``high``: where bin ``i`` of ``bins`` lies on its axis
    (its centre below, at or above 0.5)."""
    twice = 2 * i + 1  # twice the centre, in units of 1 / bins
    return "middle" if twice == bins else "low" if twice < bins else "high"


def _describe(cell: Sequence[int], names: Sequence[str], bins: int) -> dict[str, Any]:
    return {
        "cell": [int(c) for c in cell],
        "ranges": {a: [round(int(c) / bins, 4), round((int(c) + 1) / bins, 4)] for a, c in zip(names, cell)},
        "poles": {a: pole_of(int(c), bins) for a, c in zip(names, cell)},
    }


def holes(
    src: Source, *, context: str | None = None, bins: int | None = None, limit: int = LIMIT
) -> dict[str, Any]:
    """The unreached cells of ``context`` (default: the context with the most stored
    personas) on the ``bins``-per-axis grid, deepest first, at most ``limit`` listed, and
    the 2-D holes of every axis pair (shape in the module docstring)."""
    if limit < 0:
        raise InspectError(f"--limit must be >= 0, got {limit}")
    context, contexts = choose_context(src, context)
    pos = load_positions(src, context)
    k = pos.k
    b = int(bins) if bins is not None else default_bins(k)
    if b < 1:
        raise InspectError(f"--bins must be >= 1, got {b}")
    if b**k > MAX_CELLS:
        raise InspectError(
            f"--bins {b} on {k} axes makes {b**k:,} cells, more than {MAX_CELLS:,}; use fewer bins"
        )
    poles = axis_poles(src, context, k)
    names = [p.name for p in poles]
    cells = cells_of(pos.z, b)
    mask = reached_mask(cells, b, k)
    unreached = hole_cells(mask)
    depth = hole_depth(mask)
    order = np.lexsort(tuple(unreached[:, a] for a in range(k - 1, -1, -1)) + (-depth,))
    listed = [{"depth": int(depth[i]), **_describe(unreached[i], names, b)} for i in order[:limit]]
    levels, counts = np.unique(depth, return_counts=True)
    pairs = []
    for (i, j), grid in pair_reached(cells, b, k).items():
        free = np.argwhere(~grid)
        pairs.append(
            {
                "axes": [names[i], names[j]],
                "cells_total": b * b,
                "reached": int(grid.sum()),
                "grid": grid.tolist(),
                "holes": [_describe(tuple(int(x) for x in f), (names[i], names[j]), b) for f in free],
            }
        )
    axis_holes = [
        {"axis": names[a], "bins": [int(x) for x in np.flatnonzero(~np.isin(np.arange(b), cells[:, a]))]}
        for a in range(k)
    ]
    return {
        "context": context,
        "axes": [{"name": p.name, "low": p.low, "high": p.high} for p in poles],
        "bins": b,
        "simulated": src.simulated(),
        "personas": int(len(pos.z)),
        "programs": int(len(set(pos.programs.tolist()))),
        "skipped": pos.skipped,
        "cells_total": int(b**k),
        "cells_reached": int(mask.sum()),
        "holes_total": int(len(unreached)),
        "limit": int(limit),
        "depths": {str(int(d)): int(n) for d, n in zip(levels, counts)},
        "holes": listed,
        "axis_holes": axis_holes,
        "pairs": pairs,
        "contexts": contexts,
    }


def _where(h: dict[str, Any], axes: Sequence[dict[str, Any]]) -> str:
    """``escalation 0.80-1.00 (high: escalates at once)``, one per axis, for a hole."""
    info = {a["name"]: a for a in axes}
    parts = []
    for name, (lo, hi) in h["ranges"].items():
        pole = h["poles"][name]
        text = info.get(name, {}).get(pole, "") if pole != "middle" else ""
        parts.append(f"{name} {lo:.2f}-{hi:.2f} ({pole}{': ' + shorten(text, 40) if text else ''})")
    return "; ".join(parts)


def render_holes(data: dict[str, Any], *, pairs_shown: int = 6) -> str:
    """Readable text of :func:`holes`: counts, the listed K-D holes, the axis pairs with the
    most 2-D holes (their holes named by range and pole)."""
    lines = [SIM_LINE] if data["simulated"] else []
    axes, b = data["axes"], data["bins"]
    k = len(axes)
    lines.append(f"context {data['context']} ({k} axes: {', '.join(a['name'] for a in axes)})")
    lines.append(
        f"{data['personas']} persona positions from {data['programs']} programs"
        f"{', %d skipped: missing answers' % data['skipped'] if data['skipped'] else ''}; "
        f"grid {b}^{k}: "
        f"{data['cells_reached']}/{data['cells_total']} cells reached, {data['holes_total']} holes"
    )
    if data["depths"]:
        lines.append(
            "holes by distance to the nearest reached cell (in cells): "
            + ", ".join(f"{d}: {n}" for d, n in data["depths"].items())
        )
    poles = [a for a in axes if a["low"] or a["high"]]
    if poles:
        lines += ["", "axis poles (0 = low, 1 = high):"]
        lines += [
            f"  {a['name']}: low = {shorten(a['low'], 50) or '-'}; high = {shorten(a['high'], 50) or '-'}"
            for a in axes
        ]
    for ah in data["axis_holes"]:
        if ah["bins"]:
            ranges = ", ".join(f"{i / b:.2f}-{(i + 1) / b:.2f}" for i in ah["bins"])
            lines.append(f"no persona at all on {ah['axis']} in {ranges}")
    if data["holes"]:
        shown = len(data["holes"])
        lines += ["", f"holes, deepest first ({shown} of {data['holes_total']}; --limit N for more):"]
        rows = [
            [
                n,
                h["depth"],
                *[
                    f"{h['ranges'][a['name']][0]:.2f}-{h['ranges'][a['name']][1]:.2f}"
                    f" {h['poles'][a['name']][0].upper()}"
                    for a in axes
                ],
            ]
            for n, h in enumerate(data["holes"], 1)
        ]
        lines.append(table(["#", "depth", *[a["name"] for a in axes]], rows, right=(0, 1)))
        lines.append(
            "(L / M / H: the bin lies toward the axis's low pole, at the centre, toward the high pole)"
        )
    elif data["holes_total"] == 0:
        lines += ["", "no holes: every cell of the grid was reached"]
    with_holes = sorted((p for p in data["pairs"] if p["holes"]), key=lambda p: (-len(p["holes"]), p["axes"]))
    if with_holes:
        lines += [
            "",
            f"2-D holes per axis pair ({len(with_holes)} of {len(data['pairs'])} pairs have some; "
            f"most first):",
        ]
        for p in with_holes[:pairs_shown]:
            lines.append(f"  {p['axes'][0]} x {p['axes'][1]}: {len(p['holes'])}/{p['cells_total']} unreached")
            for h in p["holes"][:4]:
                lines.append(f"    {_where(h, axes)}")
            if len(p["holes"]) > 4:
                lines.append(f"    +{len(p['holes']) - 4} more")
        if len(with_holes) > pairs_shown:
            lines.append(
                f"  +{len(with_holes) - pairs_shown} more pairs with holes (--json lists every pair)"
            )
    elif data["pairs"]:
        lines += ["", "no 2-D holes: every axis pair covers its whole grid"]
    return "\n".join(lines)
