"""Data of the viewer's ``/front`` (cost front) and ``/holes`` (unreached cells) pages.

Both are the inspect functions (``evolve.outputs.inspect.front`` / ``evolve.outputs.inspect.holes``) on a
read-only source, plus what the pages draw: a plotly figure of the front (drawn by the
viewer's generic ``data-figure`` code, a click opens the program) and, per axis pair, the
cells of a small SVG grid (drawn by the template; every text in it is autoescaped).
"""

from __future__ import annotations

from typing import Any

from archive.reader import ArchiveReader
from evolve.outputs.labels import SIM_FIGURE_TAG

#: Side of one small-multiples grid on /holes, in CSS pixels.
PAIR_PX = 120


def _plain(text: Any) -> str:
    """Text for a plotly hover label (plotly renders a subset of HTML: escape it)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def front_figure(data: dict[str, Any], url: Any) -> dict[str, Any]:
    """The plotly figure of :func:`evolve.outputs.inspect.front.front`: every validated program as a
    point (x: tokens per persona, log scale; y: validation coverage), the front as a step
    line through its programs, the champion ringed."""

    def trace(rows: list[dict[str, Any]], name: str, **style: Any) -> dict[str, Any]:
        return {
            "type": "scatter",
            "x": [r["tokens_per_persona"] for r in rows],
            "y": [r["coverage"] for r in rows],
            "customdata": [url.path(f"/program/{r['id']}") for r in rows],
            "text": [_plain(f"{r['id']} {r['label'] or ''}") for r in rows],
            "hoverinfo": "x+y+text",
            "name": name,
            **style,
        }

    sim = SIM_FIGURE_TAG if data["tokens_simulated"] else ""
    traces = [
        trace(
            data["dominated"],
            "dominated",
            mode="markers",
            marker={"color": "#999", "size": 7, "opacity": 0.6},
        ),
        trace(
            data["front"],
            "front",
            mode="lines+markers",
            line={"shape": "hv", "color": "#d62728", "width": 2},
            marker={"color": "#d62728", "size": 9},
        ),
    ]
    champ = [r for r in data["front"] + data["dominated"] if r["champion"]]
    if champ:
        traces.append(
            trace(
                champ,
                "champion",
                mode="markers",
                marker={"size": 16, "color": "rgba(0,0,0,0)", "line": {"color": "#1f77b4", "width": 2}},
            )
        )
    layout = {
        "margin": {"l": 55, "r": 10, "t": 10, "b": 45},
        "height": 380,
        "hovermode": "closest",
        "xaxis": {"title": {"text": f"persona-role LLM tokens per persona{sim}"}, "type": "log"},
        "yaxis": {"title": {"text": "validation coverage"}},
        "legend": {"orientation": "h", "y": -0.25},
    }
    return {"data": traces, "layout": layout}


def front_page(reader: ArchiveReader, url: Any) -> dict[str, Any]:
    """``front`` (the inspect dict, None when nothing was validated), ``figure`` and
    ``error`` (the one-line reason when there is no front)."""
    from evolve.outputs.inspect import InspectError, Source
    from evolve.outputs.inspect.front import front
    from evolve.outputs.labels import SIM_TOKENS_LINE

    try:
        data = front(Source.of(reader))
    except InspectError as exc:
        return {"front": None, "figure": None, "error": str(exc), "sim_tokens": SIM_TOKENS_LINE}
    return {"front": data, "figure": front_figure(data, url), "error": None, "sim_tokens": SIM_TOKENS_LINE}


def holes_page(reader: ArchiveReader, *, context: str | None, bins: int | None, limit: int) -> dict[str, Any]:
    """The inspect ``holes`` dict with, per axis pair, ``squares``: one ``{x, y, reached,
    title}`` per 2-D cell in SVG pixels (first axis along x, second along y upwards)."""
    from evolve.outputs.inspect import Source
    from evolve.outputs.inspect.holes import holes

    data = holes(Source.of(reader), context=context, bins=bins, limit=limit)
    b = int(data["bins"])
    side = PAIR_PX / b
    for pair in data["pairs"]:
        a, c = pair["axes"]
        pair["squares"] = [
            {
                "x": round(i * side, 2),
                "y": round((b - 1 - j) * side, 2),
                "w": round(side, 2),
                "reached": bool(pair["grid"][i][j]),
                "title": f"{a} {i / b:.2f}-{(i + 1) / b:.2f}, {c} {j / b:.2f}-{(j + 1) / b:.2f}: "
                f"{'reached' if pair['grid'][i][j] else 'no persona'}",
            }
            for i in range(b)
            for j in range(b)
        ]
    data["pair_px"] = PAIR_PX
    return data
