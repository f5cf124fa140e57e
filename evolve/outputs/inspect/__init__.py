"""Read-only inspection of an archive: summary, top, lineage, grid, rare, holes, front, diff.

Each command is a function ``(Source, ...) -> dict`` returning a stable JSON shape
(documented in its module and in docs/EXPORT_INSPECT.md) and a ``render_*`` function
turning that dict into readable text. Open the source with :func:`open_source`; it is
read-only, so inspecting a database while a run writes to it is safe.

    from evolve.outputs.inspect import open_source, top
    with open_source("runs/x/archive.db") as src:
        best = top(src, k=5, stage="validation")["programs"]
"""

from evolve.outputs.inspect.diff import diff, render_diff
from evolve.outputs.inspect.front import front, render_front
from evolve.outputs.inspect.grid import grid, render_grid, write_png
from evolve.outputs.inspect.holes import holes, render_holes
from evolve.outputs.inspect.jsonout import clean, dumps
from evolve.outputs.inspect.lineage import lineage, render_lineage
from evolve.outputs.inspect.rare import default_bins, rare, render_rare
from evolve.outputs.inspect.source import MIN_PREFIX, InspectError, Source, open_source
from evolve.outputs.inspect.summary import render_summary, summary
from evolve.outputs.inspect.top import render_top, top

__all__ = [
    "InspectError",
    "MIN_PREFIX",
    "Source",
    "open_source",
    "clean",
    "dumps",
    "summary",
    "render_summary",
    "top",
    "render_top",
    "lineage",
    "render_lineage",
    "grid",
    "render_grid",
    "write_png",
    "rare",
    "render_rare",
    "default_bins",
    "diff",
    "render_diff",
    "holes",
    "render_holes",
    "front",
    "render_front",
]
