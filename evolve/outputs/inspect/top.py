"""``inspect top``: the best programs at one stage, with their six metrics.

The default stage is the one that chooses the champion: validation once any program was
validated, train before that (``ArchiveReader.champion_stage``).

JSON shape (stable)::

    {"stage": "train"|"validation"|"test"|"smoke", "k": int, "simulated": bool,
     "champion_stage": "validation"|"train",
     "programs": [{"rank": int, "id": str, "label": str|null, "generation": int,
                   "island": int, "parent_id": str|null, "fitness": float,
                   "metrics": {six metric names: float|null}, "evaluation_id": int|null,
                   "evaluations": int}]}

``evaluations`` of a program: its stored evaluations at that stage.
"""

from __future__ import annotations

from typing import Any

from archive.records import METRIC_NAMES, STAGES
from evolve.outputs.inspect.render import fmt, metric_cells, metric_headers, table
from evolve.outputs.inspect.source import InspectError, Source
from evolve.outputs.labels import SIM_LINE


def top(src: Source, *, k: int = 10, stage: str | None = None) -> dict[str, Any]:
    """The ``k`` best programs by their best fitness at ``stage`` (higher is better);
    ``stage`` None: the stage that chooses the champion."""
    champion_stage = str(src.reader.champion_stage())
    stage = champion_stage if stage is None else stage
    if stage not in STAGES:
        raise InspectError(f"unknown stage {stage!r} (one of {', '.join(STAGES)})")
    if k < 1:
        raise InspectError(f"-k must be >= 1, got {k}")
    views = src.reader.top(k, stage=stage)
    if not views:
        raise InspectError(
            f"no program has a {stage} evaluation with a fitness in run {src.run_id} of {src.db}"
        )
    rows = []
    for rank, view in enumerate(views, 1):
        evs = src.reader.evaluations(view.id, stage=stage)
        best = max(evs, key=lambda e: (e.fitness is not None, e.fitness or 0.0, e.id)) if evs else None
        metrics = dict(best.metrics or {}) if best is not None else {}
        rows.append(
            {
                "rank": rank,
                "id": view.id,
                "label": view.label,
                "generation": view.generation,
                "island": view.island,
                "parent_id": view.parent_id,
                "fitness": view.fitness,
                "metrics": {name: metrics.get(name) for name in METRIC_NAMES},
                "evaluation_id": best.id if best is not None else None,
                "evaluations": len(evs),
            }
        )
    return {
        "stage": stage,
        "k": k,
        "simulated": src.simulated(),
        "champion_stage": champion_stage,
        "programs": rows,
    }


def render_top(data: dict[str, Any]) -> str:
    """Readable text of :func:`top`."""
    lines = [SIM_LINE] if data["simulated"] else []
    chooses = " (the stage that chooses the champion)" if data["stage"] == data.get("champion_stage") else ""
    lines.append(
        f"top {len(data['programs'])} programs by {data['stage']} fitness{chooses}; six metrics at that "
        "stage; ↓ = lower is better"
    )
    rows = [
        [
            p["rank"],
            p["id"],
            p["label"] or "",
            p["generation"],
            p["island"],
            fmt(p["fitness"]),
            *metric_cells(p["metrics"]),
        ]
        for p in data["programs"]
    ]
    lines.append(
        table(
            ["#", "program", "label", "gen", "isl", f"{data['stage']} fitness", *metric_headers()],
            rows,
            right=[0, 3, 4, 5, 6, 7, 8, 9, 10, 11],
        )
    )
    return "\n".join(lines)
