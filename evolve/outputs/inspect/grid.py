"""``inspect grid``: the MAP-Elites grid as a text table and a PNG heatmap.

JSON shape (stable)::

    {"island": int|null, "islands": int, "simulated": bool,
     "descriptors": [{"name", "low", "high", "bins", "log", "edges": [bins+1 floats]}],
     "shape": [bins per descriptor], "filled": int, "cells_total": int,
     "best": float|null,
     "fitness": nested lists of shape ``shape``: best elite fitness per cell, null = empty
                (over all islands when island is null),
     "cells": [{"island": int, "cell": [int...], "program_id": str, "fitness": float,
                "descriptors": {name: float}, "migrant_from": int|null}],
     "png": str|null}

The text form shows descriptor 0 along columns and descriptor 1 along rows (high bins on
top); with more than two descriptors a cell shows the best over the others.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from archive import bin_edges
from archive.binning import edge_label, edge_text
from evolve.outputs.inspect.render import table
from evolve.outputs.inspect.source import InspectError, Source
from evolve.outputs.labels import SIM_LINE, SIM_TAG


def _with_nulls(arr: np.ndarray) -> list:
    """``arr`` as nested lists with every NaN (an empty cell) as None (JSON null)."""
    cells = arr.astype(object)
    cells[np.isnan(arr)] = None
    return cells.tolist()


def _plane(arr: np.ndarray) -> np.ndarray:
    """2-D view (descriptor 0 x descriptor 1) of a fitness array; max over extra axes."""
    if arr.ndim == 1:
        return arr[:, None]
    if arr.ndim == 2:
        return arr
    with np.errstate(all="ignore"):
        flat = arr.reshape(arr.shape[0], arr.shape[1], -1)
        out = np.full(flat.shape[:2], np.nan)
        for i in range(flat.shape[0]):
            for j in range(flat.shape[1]):
                vals = flat[i, j][~np.isnan(flat[i, j])]
                if vals.size:
                    out[i, j] = vals.max()
        return out


def grid(src: Source, *, island: int | None = None, png: str | None = None) -> dict[str, Any]:
    """The elite grid of ``island`` (all islands, best per cell, when None); with ``png``
    also writes a heatmap there."""
    islands = src.reader.config.islands
    if island is not None and not 0 <= island < islands:
        raise InspectError(f"--island {island} out of range: the run has islands 0..{islands - 1}")
    view = src.reader.grid(island)
    if not view.elites:
        where = f"island {island}" if island is not None else "any island"
        raise InspectError(f"the grid of {where} is empty in run {src.run_id} of {src.db} (no elites yet)")
    arr = view.fitness_array()
    specs = view.descriptors
    descriptors = [
        {
            "name": d.name,
            "low": d.low,
            "high": d.high,
            "bins": d.bins,
            "log": d.log,
            "edges": [float(x) for x in bin_edges(d)],
        }
        for d in specs
    ]
    cells_total = math.prod(view.shape) * (islands if island is None else 1)
    data: dict[str, Any] = {
        "island": island,
        "islands": islands,
        "simulated": src.simulated(),
        "descriptors": descriptors,
        "shape": list(view.shape),
        "filled": len(view.elites),
        "cells_total": cells_total,
        "best": float(np.nanmax(arr)),
        "fitness": _with_nulls(arr),
        "cells": [
            {
                "island": e.island,
                "cell": list(e.cell),
                "program_id": e.program_id,
                "fitness": e.fitness,
                "descriptors": dict(e.descriptors),
                "migrant_from": e.migrant_from,
            }
            for e in view.elites
        ],
        "png": None,
    }
    if png:
        data["png"] = str(write_png(data, Path(png)))
    return data


def _array(data: dict[str, Any]) -> np.ndarray:
    """The 2-D fitness plane of a grid result (NaN = empty)."""
    return _plane(np.array(data["fitness"], dtype=float))  # None -> NaN


def render_grid(data: dict[str, Any]) -> str:
    """Text table: rows = descriptor 1 bins (highest first), columns = descriptor 0 bins."""
    lines = [SIM_LINE] if data["simulated"] else []
    where = (
        f"island {data['island']}"
        if data["island"] is not None
        else f"all {data['islands']} islands (best per cell)"
    )
    lines.append(
        f"elite grid, {where}: {data['filled']}/{data['cells_total']} cells filled, best fitness "
        f"{data['best']:.4f}"
    )
    plane = _array(data)
    d0 = data["descriptors"][0]
    d1 = data["descriptors"][1] if len(data["descriptors"]) > 1 else None
    # columns headed by their lower edge only, so ten bins fit in 80 columns; the legend gives the ranges
    cols = [edge_text(float(d0["edges"][i]), d0["log"]) for i in range(plane.shape[0])]
    rows = []
    for j in reversed(range(plane.shape[1])):
        label = edge_label(d1["edges"], j, d1["log"]) if d1 else ""
        rows.append(
            [label] + ["·" if np.isnan(plane[i, j]) else f"{plane[i, j]:.3f}" for i in range(plane.shape[0])]
        )
    lines.append(
        f"columns: {d0['name']}, bins from the edge shown "
        f"(the last {edge_label(d0['edges'], plane.shape[0] - 1, d0['log'])})"
    )
    if d1:
        lines.append(f"rows: {d1['name']}")
    lines.append(table(["", *cols], rows, right=range(1, len(cols) + 1)))
    if len(data["descriptors"]) > 2:
        lines.append(
            "(more than two descriptors: each cell shows the best over "
            + ", ".join(d["name"] for d in data["descriptors"][2:])
            + ")"
        )
    if data.get("png"):
        lines.append(f"heatmap: {data['png']}")
    return "\n".join(lines)


def write_png(data: dict[str, Any], path: Path) -> Path:
    """Heatmap of the grid (matplotlib Agg): descriptor 0 on x, descriptor 1 on y."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plane = _array(data)
    d0 = data["descriptors"][0]
    d1 = data["descriptors"][1] if len(data["descriptors"]) > 1 else None
    fig, ax = plt.subplots(figsize=(1.1 + 0.75 * plane.shape[0], 1.4 + 0.5 * plane.shape[1]))
    masked = np.ma.masked_invalid(plane.T)
    im = ax.imshow(masked, origin="lower", aspect="auto", cmap="viridis")
    for i in range(plane.shape[0]):
        for j in range(plane.shape[1]):
            if not np.isnan(plane[i, j]):
                ax.text(i, j, f"{plane[i, j]:.2f}", ha="center", va="center", fontsize=7, color="white")
    ax.set_xticks(
        range(plane.shape[0]),
        [edge_label(d0["edges"], i, d0["log"]) for i in range(plane.shape[0])],
        rotation=45,
        ha="right",
        fontsize=7,
    )
    ax.set_xlabel(d0["name"])
    if d1:
        ax.set_yticks(
            range(plane.shape[1]),
            [edge_label(d1["edges"], j, d1["log"]) for j in range(plane.shape[1])],
            fontsize=7,
        )
        ax.set_ylabel(d1["name"])
    else:
        ax.set_yticks([])
    where = f"island {data['island']}" if data["island"] is not None else "all islands"
    ax.set_title(f"Elite fitness, {where}" + (SIM_TAG if data["simulated"] else ""), fontsize=9)
    fig.colorbar(im, ax=ax, shrink=0.8, label="fitness")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fig.savefig(path, dpi=110)
    except OSError as exc:
        raise InspectError(f"--png: cannot write {path}: {exc.strerror or exc}") from None
    finally:
        plt.close(fig)
    return path
