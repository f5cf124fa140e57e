"""``inspect rare``: the rare trait configurations the run found for one context.

Every persona position the archive holds for the context (all evaluations, all stages)
is binned on a regular grid over the axis cube [0, 1]^K (``bins`` per axis; default 5 for
K <= 3, 4 for K = 4, 3 for K >= 5). The occupied cells reached by the fewest distinct
programs are the rare regions; ties go to the more isolated cell (mean distance of its
personas to their ``neighbours``-th nearest persona, exact: a scipy KD-tree over the distinct positions).
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

from archive.exemplars import cells_of, default_bins
from evolve.outputs.inspect.positions import choose_context, load_positions
from evolve.outputs.inspect.render import fmt, shorten, table
from evolve.outputs.inspect.source import InspectError, Source
from evolve.outputs.labels import SIM_LINE

#: k of the k-nearest-neighbour distance.
NEIGHBOURS = 5

__all__ = ["NEIGHBOURS", "default_bins", "rare", "render_rare"]


def _row_keys(a: np.ndarray, base: int) -> np.ndarray:
    """One sortable key per row of the N×K int array ``a`` (values in [0, base)): equal keys
    exactly for equal rows, in the lexicographic order of the rows (an int64 when base^K
    fits, else the rows' bytes, big-endian)."""
    a = np.asarray(a, dtype=np.int64).reshape(len(a), -1)
    if base ** a.shape[1] < 2**62:
        if not a.shape[1]:
            return np.zeros(len(a), np.int64)
        return np.asarray(np.ravel_multi_index(tuple(a.T), (base,) * a.shape[1]), dtype=np.int64)
    return np.ascontiguousarray(a.astype(">u8")).view(f"V{8 * a.shape[1]}").ravel()


def _knn(z: np.ndarray, k: int) -> np.ndarray:
    """Distance of each row to its k-th nearest other row (0 when there are too few).

    Exact, on the distinct rows with their multiplicities (copies of a row are neighbours at
    distance 0), with a scipy KD-tree: positions are stored as uint16 codes, so copies are
    exact and common (common random numbers give neutral edits identical populations)."""
    n = len(z)
    if n < 2 or k < 1:
        return np.zeros(n)
    from scipy.spatial import cKDTree

    kk = min(k, n - 1)
    _, first, inverse, counts = np.unique(
        _row_keys(np.rint(z * 65534).astype(np.int64), 65535),
        return_index=True,
        return_inverse=True,
        return_counts=True,
    )
    uniq, inverse = z[first], np.asarray(inverse).reshape(-1)
    q = min(kk + 1, len(uniq))
    tree = cKDTree(uniq, leafsize=32, balanced_tree=False)
    walk = tree.indices  # query in the tree's own order: neighbouring queries share cache (~2x faster)
    d_walk, i_walk = tree.query(uniq[walk], k=q, workers=-1)
    dist, idx = np.empty((len(uniq), q)), np.empty((len(uniq), q), dtype=np.int64)
    dist[walk], idx[walk] = d_walk.reshape(len(uniq), q), i_walk.reshape(len(uniq), q)
    mult = counts[idx]
    mult[:, 0] = counts - 1  # the nearest distinct row is the row itself: its other copies
    reach = np.argmax(np.cumsum(mult, axis=1) >= kk, axis=1)
    return dist[np.arange(len(uniq)), reach][inverse]


def _codes(keys: np.ndarray, evals: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Whether each (evaluation, index) row is among the M×2 ``keys``."""
    if not len(keys):
        return np.zeros(len(evals), dtype=bool)
    width = int(max(int(idx.max(initial=0)), int(keys[:, 1].max())) + 1)
    return np.isin(evals * width + idx, keys[:, 0] * width + keys[:, 1])


def rare(src: Source, *, context: str | None = None, k: int = 10, bins: int | None = None) -> dict[str, Any]:
    """The ``k`` rarest regions and the ``k`` most isolated personas of ``context`` (default:
    the context with the most stored personas)."""
    if k < 1:
        raise InspectError(f"-k must be >= 1, got {k}")
    context, contexts = choose_context(src, context)
    pos = load_positions(src, context)
    kdim, z = pos.k, pos.z
    progs, stages, evals, idx = pos.programs, pos.stages, pos.evaluations, pos.indexes
    axes = list(src.context_axes(context, kdim))
    b = int(bins) if bins is not None else default_bins(kdim)
    if b < 1:
        raise InspectError(f"--bins must be >= 1, got {b}")
    cells = cells_of(z, b)
    iso = _knn(z, NEIGHBOURS)
    _, first_of_cell, inverse = np.unique(_row_keys(cells, b), return_index=True, return_inverse=True)
    keys, inverse = cells[first_of_cell], np.asarray(inverse).reshape(-1)  # occupied cells, lexicographic
    has_text = _codes(src.reader.text_keys(context), evals, idx)
    # program of each row as a small int: via the evaluations (far fewer than rows)
    ev_ids, ev_first, ev_inv = np.unique(evals, return_index=True, return_inverse=True)
    prog_names = sorted({str(progs[i]) for i in ev_first})
    prog_code = {p: c for c, p in enumerate(prog_names)}
    eval_prog = np.array([prog_code[str(progs[i])] for i in ev_first], dtype=np.int64)
    row_prog = eval_prog[np.asarray(ev_inv).reshape(-1)]
    personas = np.bincount(inverse, minlength=len(keys))
    isolation = np.bincount(inverse, weights=iso, minlength=len(keys)) / np.maximum(personas, 1)
    pairs = np.unique(inverse * len(prog_names) + row_prog)
    cell_programs = np.bincount(pairs // len(prog_names), minlength=len(keys))
    order = sorted(
        range(len(keys)),
        key=lambda c: (
            int(cell_programs[c]),
            -float(isolation[c]),
            int(personas[c]),
            [int(x) for x in keys[c]],
        ),
    )
    chosen = order[:k]
    grouped = np.argsort(inverse, kind="stable")  # members of cell c: grouped[bounds[c]:bounds[c + 1]]
    bounds = np.searchsorted(inverse[grouped], np.arange(len(keys) + 1))
    members = {c: grouped[bounds[c] : bounds[c + 1]] for c in chosen}
    picks = {}
    for c in chosen:
        ranked = members[c][np.argsort(-iso[members[c]], kind="stable")]
        with_text = ranked[has_text[ranked]]
        picks[c] = (int(ranked[0]), int(with_text[0]) if len(with_text) else None)
    top_iso = np.argsort(-iso, kind="stable")[:k]
    wanted = [(int(evals[i]), int(idx[i])) for i in top_iso if has_text[i]]
    wanted += [(int(evals[t]), int(idx[t])) for _, t in picks.values() if t is not None]
    texts = src.reader.personas_at(context, wanted)

    def pos_of(i: int) -> dict[str, float]:
        return {a: round(float(v), 4) for a, v in zip(axes, z[i])}

    def example(i: int | None) -> dict[str, Any] | None:
        pv = None if i is None else texts.get((int(evals[i]), int(idx[i])))
        if pv is None or i is None:
            return None
        fields = {str(key): v for key, v in pv.persona.items() if key not in ("name", "description")}
        return {
            "program_id": str(progs[i]),
            "stage": str(stages[i]),
            "evaluation_id": int(evals[i]),
            "index": int(idx[i]),
            "name": pv.persona.get("name"),
            "description": pv.persona.get("description"),
            "fields": fields,
            "position": pos_of(i),
        }

    regions = []
    for rank, c in enumerate(chosen, 1):
        key = keys[c]
        ids = sorted({prog_names[int(p)] for p in np.unique(row_prog[members[c]])})
        regions.append(
            {
                "rank": rank,
                "cell": [int(x) for x in key],
                "ranges": {a: [round(int(x) / b, 4), round((int(x) + 1) / b, 4)] for a, x in zip(axes, key)},
                "programs": len(ids),
                "program_ids": ids[:5],
                "personas": int(personas[c]),
                "isolation": float(isolation[c]),
                "position": pos_of(picks[c][0]),
                "example": example(picks[c][1]),
            }
        )
    outliers = []
    for rank, i in enumerate(top_iso, 1):
        outliers.append(
            {
                "rank": rank,
                "program_id": str(progs[i]),
                "stage": str(stages[i]),
                "evaluation_id": int(evals[i]),
                "index": int(idx[i]),
                "knn_distance": float(iso[i]),
                "position": pos_of(int(i)),
                "cell": [int(x) for x in cells[i]],
                "cell_programs": int(cell_programs[inverse[i]]),
                "example": example(int(i)) if has_text[i] else None,
            }
        )
    return {
        "context": context,
        "axes": axes,
        "bins": b,
        "neighbours": min(NEIGHBOURS, max(len(z) - 1, 0)),
        "simulated": src.simulated(),
        "personas": int(len(z)),
        "programs": int(len(prog_names)),
        "texts": int(has_text.sum()),
        "skipped": pos.skipped,
        "cells_occupied": int(len(keys)),
        "cells_total": int(b**kdim),
        "regions": regions,
        "outliers": outliers,
        "contexts": contexts,
    }


def _example_lines(rank: int, ex: dict[str, Any], width: int = 100) -> list[str]:
    """A region's example persona: name, position, program and its whole text, wrapped
    (never cut: the trait statements are often at the end)."""
    where = ", ".join(f"{a} {v:.2f}" for a, v in ex["position"].items())
    out = [f"  #{rank} {ex['name'] or '(no name)'}  [{where}]  program {ex['program_id']} ({ex['stage']})"]
    body = " ".join(str(ex.get("description") or "").split())
    out += textwrap.wrap(body, width=width, initial_indent="      ", subsequent_indent="      ") or [
        "      (no description)"
    ]
    for key, value in (ex.get("fields") or {}).items():
        text = value if isinstance(value, str) else str(value)
        out += textwrap.wrap(
            f"{key}: {' '.join(text.split())}",
            width=width,
            initial_indent="      ",
            subsequent_indent="        ",
        )
    return out


def _values(position: dict[str, float]) -> list[str]:
    return [f"{v:.2f}" for v in position.values()]


def render_rare(data: dict[str, Any]) -> str:
    """Readable text of :func:`rare`."""
    lines = [SIM_LINE] if data["simulated"] else []
    axes = data["axes"]
    lines.append(f"context {data['context']} ({len(axes)} axes: {', '.join(axes)})")
    lines.append(
        f"{data['personas']} persona positions from {data['programs']} programs "
        f"({data['texts']} with stored "
        f"text{', %d skipped: missing answers' % data['skipped'] if data['skipped'] else ''}); "
        f"grid {data['bins']}^{len(axes)}: {data['cells_occupied']}/{data['cells_total']} cells reached"
    )
    lines.append("")
    lines.append(
        (
            "rarest regions (cells reached by the fewest programs; values = the cell's most isolated "
            "persona, 0..1):"
        )
    )
    rows = []
    for r in data["regions"]:
        rows.append(
            [
                r["rank"],
                r["programs"],
                r["personas"],
                fmt(r["isolation"], 3),
                *_values(r["position"]),
                ",".join(r["program_ids"][:2]) + ("…" if len(r["program_ids"]) > 2 else ""),
            ]
        )
    lines.append(
        table(
            ["#", "programs", "personas", "isolation", *axes, "program ids"],
            rows,
            right=range(0, 4 + len(axes)),
        )
    )
    examples = [(r["rank"], r["example"]) for r in data["regions"] if r["example"]]
    if examples:
        lines.append("")
        lines.append("example persona of each region (full text):")
        for rank, ex in examples:
            lines.extend(_example_lines(rank, ex))
    lines.append("")
    lines.append(f"most isolated personas (distance to the {data['neighbours']}th nearest persona):")
    rows = [
        [
            o["rank"],
            fmt(o["knn_distance"], 3),
            o["cell_programs"],
            *_values(o["position"]),
            o["program_id"],
            shorten((o["example"] or {}).get("name") or "-", 30),
        ]
        for o in data["outliers"]
    ]
    lines.append(
        table(["#", "knn_dist", "cell_progs", *axes, "program", "name"], rows, right=range(0, 3 + len(axes)))
    )
    others = [c for c in data["contexts"] if c["id"] != data["context"]]
    if others:
        shown = ", ".join(f"{c['id']} ({c['personas']})" for c in others[:12])
        lines.append("")
        lines.append(
            f"other contexts (--context ID; personas stored): {shown}"
            + (f", +{len(others) - 12} more" if len(others) > 12 else "")
        )
    return "\n".join(lines)
