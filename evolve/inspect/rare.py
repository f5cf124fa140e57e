"""``inspect rare``: the rare trait configurations the run found for one context.

Every persona position the archive holds for the context (all evaluations, all stages)
is binned on a regular grid over the axis cube [0, 1]^K (``bins`` per axis; default 5 for
K <= 3, 4 for K = 4, 3 for K >= 5). The occupied cells reached by the fewest distinct
programs are the rare regions; ties go to the more isolated cell (mean distance of its
personas to their ``neighbours``-th nearest persona, scikit-learn ``NearestNeighbors``).
Separately, the personas with the largest k-nearest-neighbour distance are listed as
outliers. Every region comes with an example persona's full text: the archive keeps, per
context and region of this default grid, the first persona text to land there
(``archive.exemplars``), besides the texts of validation, test and elite evaluations.

JSON shape (stable)::

    {"context": str, "axes": [axis names], "bins": int, "neighbours": int, "simulated": bool,
     "personas": int, "programs": int, "texts": int, "skipped": int,
     "cells_occupied": int, "cells_total": int,
     "regions": [{"rank": int, "cell": [int per axis],
                  "ranges": {axis: [low, high]}, "programs": int,
                  "program_ids": [up to 5 ids], "personas": int, "isolation": float,
                  "position": {axis: float},   # the cell's most isolated persona
                  "example": null | {"program_id", "stage", "evaluation_id", "index",
                                     "name", "description", "fields": {other persona fields},
                                     "position": {axis: float}}}],
     "outliers": [{"rank": int, "program_id": str, "stage": str, "evaluation_id": int,
                   "index": int, "knn_distance": float, "position": {axis: float},
                   "cell": [int], "cell_programs": int,
                   "example": null | {... as above, the persona itself}}],
     "contexts": [{"id": str, "personas": int, "texts": int, "programs": int}]}

``personas`` counts positions used; ``skipped`` those dropped for a missing axis answer.
"""

from __future__ import annotations

import textwrap
from typing import Any

import numpy as np

from archive.exemplars import default_bins
from evolve.inspect.render import SIM_LINE, fmt, shorten, table
from evolve.inspect.source import InspectError, Source

#: k of the k-nearest-neighbour distance.
NEIGHBOURS = 5

__all__ = ["NEIGHBOURS", "default_bins", "rare", "render_rare"]


def _load(src: Source, context_id: str) -> dict[str, Any]:
    ps = src.reader.context_positions(context_id)
    return {"k": ps.k, "z": ps.z, "programs": ps.program_ids, "stages": np.array([str(x) for x in ps.stages],
            dtype=object), "evals": ps.evaluation_ids, "idx": ps.indexes}


def _knn(z: np.ndarray, k: int) -> np.ndarray:
    """Distance of each row to its k-th nearest other row (0 when there are too few)."""
    if len(z) < 2 or k < 1:
        return np.zeros(len(z))
    from sklearn.neighbors import NearestNeighbors

    kk = min(k, len(z) - 1)
    dist, _ = NearestNeighbors(n_neighbors=kk + 1).fit(z).kneighbors(z)
    return dist[:, kk]


def rare(src: Source, *, context: str | None = None, k: int = 10, bins: int | None = None) -> dict[str, Any]:
    """The ``k`` rarest regions and the ``k`` most isolated personas of ``context`` (default:
    the context with the most stored personas)."""
    if k < 1:
        raise InspectError(f"-k must be >= 1, got {k}")
    contexts = src.context_counts()
    if not contexts:
        raise InspectError(f"no persona positions stored in run {src.run_id} of {src.db} (nothing evaluated yet)")
    if context is None:
        context = contexts[0]["id"]
    elif context not in {c["id"] for c in contexts}:
        import difflib

        ids = [c["id"] for c in contexts]
        close = difflib.get_close_matches(context, ids, n=3, cutoff=0.4) or ids[:3]
        raise InspectError(f"no personas stored for context {context!r} in run {src.run_id} "
                           f"(available: {', '.join(close)}{', ...' if len(ids) > len(close) else ''})")
    data = _load(src, context)
    kdim = data["k"]
    z_all = data["z"]
    keep = ~np.isnan(z_all).any(axis=1) if len(z_all) else np.zeros(0, dtype=bool)
    skipped = int((~keep).sum())
    z = z_all[keep]
    if len(z) == 0:
        raise InspectError(f"context {context!r}: every stored position misses an axis answer; nothing to rank")
    progs, stages = data["programs"][keep], data["stages"][keep]
    evals, idx = data["evals"][keep], data["idx"][keep]
    axes = list(src.context_axes(context, kdim))
    b = int(bins) if bins is not None else default_bins(kdim)
    if b < 1:
        raise InspectError(f"--bins must be >= 1, got {b}")
    texts = {(p.evaluation_id, p.index): p for p in src.reader.personas(context_id=context)}
    cells = np.clip(np.floor(z * b).astype(int), 0, b - 1)
    iso = _knn(z, NEIGHBOURS)
    keys, inverse = np.unique(cells, axis=0, return_inverse=True)
    inverse = np.asarray(inverse).reshape(-1)
    has_text = np.fromiter(((int(e), int(i)) in texts for e, i in zip(evals, idx)), dtype=bool, count=len(z))
    grouped = np.argsort(inverse, kind="stable")  # members of cell c: grouped[bounds[c]:bounds[c + 1]]
    bounds = np.searchsorted(inverse[grouped], np.arange(len(keys) + 1))

    def pos(i: int) -> dict[str, float]:
        return {a: round(float(v), 4) for a, v in zip(axes, z[i])}

    def example(i: int) -> dict[str, Any] | None:
        pv = texts.get((int(evals[i]), int(idx[i])))
        if pv is None:
            return None
        fields = {str(k): v for k, v in pv.persona.items() if k not in ("name", "description")}
        return {"program_id": str(progs[i]), "stage": str(stages[i]), "evaluation_id": int(evals[i]),
                "index": int(idx[i]), "name": pv.persona.get("name"), "description": pv.persona.get("description"),
                "fields": fields, "position": pos(i)}

    regions = []
    cell_programs = np.zeros(len(keys), dtype=int)
    for c, key in enumerate(keys):
        members = grouped[bounds[c]:bounds[c + 1]]
        ids = sorted({str(p) for p in progs[members]})
        cell_programs[c] = len(ids)
        order = members[np.argsort(-iso[members], kind="stable")]
        with_text = order[has_text[order]]
        regions.append({
            "cell": [int(x) for x in key],
            "ranges": {a: [round(int(x) / b, 4), round((int(x) + 1) / b, 4)] for a, x in zip(axes, key)},
            "programs": len(ids),
            "program_ids": ids[:5],
            "personas": int(len(members)),
            "isolation": float(iso[members].mean()),
            "position": pos(int(order[0])),
            "example": example(int(with_text[0])) if len(with_text) else None,
        })
    regions.sort(key=lambda r: (r["programs"], -r["isolation"], r["personas"], r["cell"]))
    for rank, r in enumerate(regions, 1):
        r["rank"] = rank
    outliers = []
    for rank, i in enumerate(np.argsort(-iso, kind="stable")[:k], 1):
        outliers.append({
            "rank": rank, "program_id": str(progs[i]), "stage": str(stages[i]), "evaluation_id": int(evals[i]),
            "index": int(idx[i]), "knn_distance": float(iso[i]), "position": pos(int(i)),
            "cell": [int(x) for x in cells[i]], "cell_programs": int(cell_programs[inverse[i]]),
            "example": example(int(i)),
        })
    return {
        "context": context,
        "axes": axes,
        "bins": b,
        "neighbours": min(NEIGHBOURS, max(len(z) - 1, 0)),
        "simulated": src.simulated(),
        "personas": int(len(z)),
        "programs": int(len({str(p) for p in progs})),
        "texts": int(has_text.sum()),
        "skipped": skipped,
        "cells_occupied": int(len(keys)),
        "cells_total": int(b ** kdim),
        "regions": [{"rank": r.pop("rank"), **r} for r in regions[:k]],
        "outliers": outliers,
        "contexts": contexts,
    }


def _example_lines(rank: int, ex: dict[str, Any], width: int = 100) -> list[str]:
    """A region's example persona: name, position, program and its whole text, wrapped
    (never cut: the trait statements are often at the end)."""
    where = ", ".join(f"{a} {v:.2f}" for a, v in ex["position"].items())
    out = [f"  #{rank} {ex['name'] or '(no name)'}  [{where}]  program {ex['program_id']} ({ex['stage']})"]
    body = " ".join(str(ex.get("description") or "").split())
    out += textwrap.wrap(body, width=width, initial_indent="      ", subsequent_indent="      ") or ["      (no description)"]
    for key, value in (ex.get("fields") or {}).items():
        text = value if isinstance(value, str) else str(value)
        out += textwrap.wrap(f"{key}: {' '.join(text.split())}", width=width, initial_indent="      ",
                             subsequent_indent="        ")
    return out


def _values(position: dict[str, float]) -> list[str]:
    return [f"{v:.2f}" for v in position.values()]


def render_rare(data: dict[str, Any]) -> str:
    """Readable text of :func:`rare`."""
    lines = [SIM_LINE] if data["simulated"] else []
    axes = data["axes"]
    lines.append(f"context {data['context']} ({len(axes)} axes: {', '.join(axes)})")
    lines.append(f"{data['personas']} persona positions from {data['programs']} programs "
                 f"({data['texts']} with stored text{', %d skipped: missing answers' % data['skipped'] if data['skipped'] else ''}); "
                 f"grid {data['bins']}^{len(axes)}: {data['cells_occupied']}/{data['cells_total']} cells reached")
    lines.append("")
    lines.append("rarest regions (cells reached by the fewest programs; values = the cell's most isolated persona, 0..1):")
    rows = []
    for r in data["regions"]:
        rows.append([r["rank"], r["programs"], r["personas"], fmt(r["isolation"], 3), *_values(r["position"]),
                     ",".join(r["program_ids"][:2]) + ("…" if len(r["program_ids"]) > 2 else "")])
    lines.append(table(["#", "programs", "personas", "isolation", *axes, "program ids"], rows,
                       right=range(0, 4 + len(axes))))
    examples = [(r["rank"], r["example"]) for r in data["regions"] if r["example"]]
    if examples:
        lines.append("")
        lines.append("example persona of each region (full text):")
        for rank, ex in examples:
            lines.extend(_example_lines(rank, ex))
    lines.append("")
    lines.append(f"most isolated personas (distance to the {data['neighbours']}th nearest persona):")
    rows = [[o["rank"], fmt(o["knn_distance"], 3), o["cell_programs"], *_values(o["position"]), o["program_id"],
             shorten((o["example"] or {}).get("name") or "-", 30)] for o in data["outliers"]]
    lines.append(table(["#", "knn_dist", "cell_progs", *axes, "program", "name"], rows,
                       right=range(0, 3 + len(axes))))
    others = [c for c in data["contexts"] if c["id"] != data["context"]]
    if others:
        shown = ", ".join(f"{c['id']} ({c['personas']})" for c in others[:12])
        lines.append("")
        lines.append(f"other contexts (--context ID; personas stored): {shown}"
                     + (f", +{len(others) - 12} more" if len(others) > 12 else ""))
    return "\n".join(lines)
