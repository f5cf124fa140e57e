"""``inspect lineage``: the chain from a program back to its seed.

JSON shape (stable)::

    {"program": str, "length": int, "complete": bool, "missing_parent": str|null,
     "simulated": bool,
     "steps": [  # the program first, its seed last
        {"id": str, "label": str|null, "generation": int, "island": int,
         "parent_id": str|null, "fitness": float|null,        # best train fitness
         "delta_fitness": float|null,                          # fitness - parent's fitness
         "metrics": {six}|null,                                # of that train evaluation
         "mutation": null | {"operator": str, "directive": str|null, "model": str|null,
                             "prompt_tokens": int, "completion_tokens": int}}]}

``complete`` is true when the chain ends at a program without a parent (a seed);
otherwise ``missing_parent`` is the id of the first ancestor the database does not hold.
"""

from __future__ import annotations

from typing import Any

from archive.records import METRIC_NAMES
from evolve.outputs.inspect.render import fmt, table
from evolve.outputs.inspect.source import InspectError, Source
from evolve.outputs.labels import SIM_LINE


def lineage(src: Source, ref: str) -> dict[str, Any]:
    """Lineage of the program ``ref`` (id, unique prefix or label)."""
    pid = src.resolve_program(ref)
    views = src.reader.lineage(pid).steps
    if not views:
        raise InspectError(f"program {pid} is not in the archive")
    steps = []
    for i, v in enumerate(views):
        parent = views[i + 1] if i + 1 < len(views) else None
        delta = None
        if parent is not None and v.fitness is not None and parent.fitness is not None:
            delta = float(v.fitness) - float(parent.fitness)
        mut = None
        if v.mutation is not None:
            mut = {
                "operator": v.mutation.operator,
                "directive": v.mutation.directive,
                "model": v.mutation.model,
                "prompt_tokens": v.mutation.prompt_tokens,
                "completion_tokens": v.mutation.completion_tokens,
            }
        steps.append(
            {
                "id": v.id,
                "label": v.label,
                "generation": v.generation,
                "island": v.island,
                "parent_id": v.parent_id,
                "fitness": v.fitness,
                "delta_fitness": delta,
                "metrics": None if v.metrics is None else {n: v.metrics.get(n) for n in METRIC_NAMES},
                "mutation": mut,
            }
        )
    last = views[-1]
    return {
        "program": pid,
        "length": len(steps),
        "complete": last.parent_id is None,
        "missing_parent": last.parent_id,
        "simulated": src.simulated(),
        "steps": steps,
    }


def render_lineage(data: dict[str, Any]) -> str:
    """Readable text of :func:`lineage` (program first, seed last)."""
    lines = [SIM_LINE] if data["simulated"] else []
    lines.append(
        f"lineage of {data['program']}: {data['length']} programs"
        + ("" if data["complete"] else f" (ends at missing ancestor {data['missing_parent']})")
    )
    rows = []
    for s in data["steps"]:
        m = s["mutation"] or {}
        delta = s["delta_fitness"]
        rows.append(
            [
                s["generation"],
                s["id"],
                s["label"] or "",
                fmt(s["fitness"]),
                "-" if delta is None else f"{delta:+.4f}",
                m.get("operator") or "",
                m.get("directive") or "",
                m.get("model") or "",
            ]
        )
    lines.append(
        table(
            ["gen", "program", "label", "train fitness", "Δ train", "operator", "directive", "model"],
            rows,
            right=[0, 3, 4],
        )
    )
    return "\n".join(lines)
