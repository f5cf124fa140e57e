"""What each page shows, computed from an :class:`archive.reader.ArchiveReader`.

One function per page returns a dict of plain values for its template (and for the JSON
payloads the page's script reads). Nothing here escapes text: the templates do (Jinja2
autoescape; JSON through ``tojson``), and the browser script only ever sets
``textContent``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from archive.binning import bin_labels
from archive.reader import ArchiveReader, Lineage, RunInfo
from archive.reader import finite_float as finite
from archive.records import DescriptorSpec, EvaluationView, ProgramView
from archive.vocab import EventKind, Outcome, Stage
from evolve.outputs.viewer.contexts import ContextCatalog
from evolve.outputs.viewer.textdiff import TextDiff, unified
from generators.screening import ADDRESSED_KEY, count_in_error
from metrics import HIGHER_IS_BETTER, METRIC_NAMES

STAGE_ORDER: tuple[str, ...] = tuple(s.value for s in Stage)


# ----------------------------------------------------------------------------- helpers


def objective_of(run: RunInfo) -> str | dict[str, float]:
    """The run's fitness objective: a metric name or ``{metric: weight}`` (default coverage)."""
    fit = run.run_config.get("fitness")
    if isinstance(fit, Mapping):
        if fit.get("weights"):
            return {str(k): float(v) for k, v in fit["weights"].items()}
        if fit.get("objective"):
            return str(fit["objective"])
    if isinstance(fit, str):
        return fit
    return "coverage"


def objective_text(objective: str | Mapping[str, float]) -> str:
    """``coverage`` or ``0.5·coverage + 0.5·dispersion``."""
    if isinstance(objective, str):
        return objective
    return " + ".join(f"{w:g}·{m}" for m, w in objective.items())


def context_fitness(
    metrics: Mapping[str, float] | None, objective: str | Mapping[str, float]
) -> float | None:
    """Fitness of one context's metrics under the objective (None when not computable)."""
    if not metrics:
        return None
    from metrics import fitness

    try:
        value = float(fitness(metrics, objective))
    except (ValueError, TypeError):
        return None
    return value if math.isfinite(value) else None


_VIRIDIS = (
    (0.0, (68, 1, 84)),
    (0.25, (59, 82, 139)),
    (0.5, (33, 145, 140)),
    (0.75, (94, 201, 98)),
    (1.0, (253, 231, 37)),
)


def colour(t: float) -> tuple[str, str]:
    """(background, text colour) for t in [0, 1] on a viridis-like scale."""
    t = min(1.0, max(0.0, t))
    for (t0, c0), (t1, c1) in zip(_VIRIDIS, _VIRIDIS[1:]):
        if t <= t1:
            w = 0.0 if t1 == t0 else (t - t0) / (t1 - t0)
            rgb = tuple(round(a + (b - a) * w) for a, b in zip(c0, c1))
            break
    luminance = 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]
    return f"rgb({rgb[0]},{rgb[1]},{rgb[2]})", ("#000" if luminance > 140 else "#fff")


def program_summary(v: ProgramView) -> dict[str, Any]:
    """The short facts of a program used in links and tables."""
    return {
        "id": v.id,
        "label": v.label,
        "generation": v.generation,
        "island": v.island,
        "parent_id": v.parent_id,
        "fitness": v.fitness,
        "cell": list(v.cell) if v.cell else None,
    }


# ----------------------------------------------------------------------------- overview


def fitness_series(reader: ArchiveReader) -> dict[str, Any]:
    """Fitness over proposal evaluations: every evaluation's train fitness and each
    island's best-so-far (monotone; raised by inserts, seeding and migration), from the
    event log in order. ``index`` is the budget's evaluation count."""
    islands = reader.config.islands
    best: dict[int, float] = {}
    points: list[dict[str, Any]] = []
    steps: dict[int, list[tuple[int, float]]] = {i: [] for i in range(islands)}
    index = 0

    def bump(island: int | None, value: Any) -> None:
        f = finite(value)
        if island is None or f is None:
            return
        if island not in best or f > best[island]:
            best[island] = f
            steps.setdefault(island, []).append((index, f))

    for e in reader.events():
        d = e.detail
        if e.kind == EventKind.INSERTED and d.get("status") in (Outcome.NEW_CELL, Outcome.IMPROVED):
            bump(e.island, d.get("fitness"))
        elif e.kind in (EventKind.SEEDED, EventKind.MIGRATED):
            bump(e.island, d.get("fitness"))
        elif e.kind == EventKind.EVALUATED and d.get("stage") == Stage.TRAIN:
            index += 1
            points.append(
                {
                    "index": index,
                    "program_id": e.program_id,
                    "island": e.island,
                    "fitness": finite(d.get("fitness")),
                    "status": d.get("status"),
                }
            )
    lines = []
    for island in sorted(steps):
        xs: list[int] = []
        ys: list[float] = []
        for x, y in steps[island]:
            if xs and xs[-1] == x:
                ys[-1] = y
            else:
                xs.append(x)
                ys.append(y)
        if xs:
            xs.append(index)
            ys.append(ys[-1])
        lines.append({"island": island, "x": xs, "y": ys})
    return {"evaluations": index, "points": points, "best": lines}


def fitness_figure(
    series: Mapping[str, Any], seeds: Sequence[ProgramView], objective: str, url: Any
) -> dict[str, Any]:
    """The plotly figure (data + layout) of fitness over evaluations."""
    palette = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")
    data: list[dict[str, Any]] = []
    for line in series["best"]:
        c = palette[line["island"] % len(palette)]
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": line["x"],
                "y": line["y"],
                "line": {"shape": "hv", "color": c, "width": 2},
                "name": f"island {line['island']} best so far",
                "hoverinfo": "x+y+name",
            }
        )
    by_island: dict[int, list[dict[str, Any]]] = {}
    for p in series["points"]:
        if p["fitness"] is not None:
            by_island.setdefault(p["island"] if p["island"] is not None else -1, []).append(p)
    for island, pts in sorted(by_island.items()):
        c = palette[island % len(palette)] if island >= 0 else "#777"
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "x": [p["index"] for p in pts],
                "y": [p["fitness"] for p in pts],
                "marker": {"color": c, "size": 7, "opacity": 0.55},
                "name": f"island {island} evaluations",
                "customdata": [url.path(f"/program/{p['program_id']}") for p in pts],
                "text": [f"{p['program_id']} ({p['status'] or '-'})" for p in pts],
                "hoverinfo": "x+y+text",
            }
        )
    end = max(1, series["evaluations"])
    for s in seeds:
        if s.fitness is None:
            continue
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": [0, end],
                "y": [s.fitness, s.fitness],
                "line": {"dash": "dash", "width": 1, "color": "#555"},
                "name": f"{s.label or s.id} (seed)",
                "customdata": [url.path(f"/program/{s.id}")] * 2,
                "hoverinfo": "y+name",
            }
        )
    layout = {
        "margin": {"l": 55, "r": 10, "t": 10, "b": 45},
        "height": 360,
        "xaxis": {
            "title": {"text": "evaluations (proposals fully evaluated on train)"},
            "rangemode": "tozero",
        },
        "yaxis": {"title": {"text": f"train fitness ({objective})"}},
        "legend": {"orientation": "h", "y": -0.25},
        "hovermode": "closest",
    }
    return {"data": data, "layout": layout}


def overview(reader: ArchiveReader, catalog: ContextCatalog, url: Any) -> dict[str, Any]:
    """Everything the overview page shows."""
    run = reader.run()
    objective = objective_of(run)
    counts = reader.counts()
    series = fitness_series(reader)
    seeds = reader.seeds()
    champion = reader.champion()
    qd = reader.qd_stats()
    per_island = [reader.qd_stats(i) for i in range(run.config.islands)]
    spend = reader.spend()
    cfg = run.run_config
    top_val = reader.top(10, stage=Stage.VALIDATION)
    top_train = reader.top(10, stage=Stage.TRAIN)
    last = reader.snapshot().last_event_id
    recent = list(reader.events(after=max(0, last - 25)))
    recent.reverse()
    return {
        "run": run,
        "objective": objective_text(objective),
        "counts": counts,
        "budget": reader.budget(),
        "spend": spend,
        "spend_total": {
            "calls": sum(s.calls for s in spend),
            "cached": sum(s.cached for s in spend),
            "tokens": sum(s.tokens for s in spend),
            "cost_usd": sum(s.cost_usd for s in spend),
        },
        "champion": champion,
        "seeds": seeds,
        "qd": qd,
        "per_island": per_island,
        "models": run.models,
        "contexts": run.contexts,
        "n": (cfg.get("evaluation") or {}).get("n"),
        "descriptors": [{"spec": d, "labels": bin_labels(d)} for d in run.config.descriptors],
        "config_sections": {
            k: v for k, v in cfg.items() if isinstance(v, Mapping) and k not in ("models", "contexts")
        },
        "top_validation": top_val,
        "top_train": top_train,
        "events": recent,
        "figure": fitness_figure(series, seeds, objective_text(objective), url),
        "evaluations_done": series["evaluations"],
    }


def reference_shapes(reader: ArchiveReader, catalog: ContextCatalog) -> tuple[list[tuple[int, int]], int]:
    """(one (n, K) per train context, mc_samples) of the run, for reference lines."""
    run = reader.run()
    ev = run.run_config.get("evaluation") or {}
    n = int(ev.get("n") or 25)
    mc = int(ev.get("mc_samples") or 10_000)
    refs = list(run.contexts.get("train", ()))
    try:  # the refs as the run read them: split names, directories, files or shipped ids
        from generators.context_loader import ContextError, resolve_contexts

        return [(n, context.k) for context in resolve_contexts(refs)], mc
    except (ContextError, OSError):  # files moved since the run: the ids the catalog still knows
        shapes = []
        for cid in refs:
            info = catalog.get(cid)
            if info.known and info.axes:
                shapes.append((n, len(info.axes)))
        return shapes, mc


# ----------------------------------------------------------------------------- grids


@dataclass(frozen=True)
class GridCell:
    """One cell of a rendered grid (None fields = empty cell)."""

    program_id: str | None
    fitness: float | None
    island: int | None
    migrant_from: int | None
    background: str
    foreground: str
    title: str


def _grid_table(
    elites: Sequence[Any], specs: Sequence[DescriptorSpec], lo: float, hi: float
) -> dict[str, Any]:
    """Rows (descriptor 1, high bins first) × columns (descriptor 0) of GridCells, the best
    elite per cell over the given elites (and over any further descriptors)."""
    cols = specs[0].bins
    rows = specs[1].bins if len(specs) > 1 else 1
    best: dict[tuple[int, int], Any] = {}
    for e in elites:
        key = (e.cell[0], e.cell[1] if len(e.cell) > 1 else 0)
        if key not in best or e.fitness > best[key].fitness:
            best[key] = e
    table = []
    for r in reversed(range(rows)):
        row = []
        for c in range(cols):
            e = best.get((c, r))
            if e is None:
                row.append(GridCell(None, None, None, None, "", "", "empty"))
                continue
            t = 0.5 if hi <= lo else (e.fitness - lo) / (hi - lo)
            bg, fg = colour(t)
            desc = ", ".join(f"{k} = {v:.4g}" for k, v in sorted(e.descriptors.items()))
            mig = f", migrant from island {e.migrant_from}" if e.migrant_from is not None else ""
            row.append(
                GridCell(
                    e.program_id,
                    e.fitness,
                    e.island,
                    e.migrant_from,
                    bg,
                    fg,
                    f"{e.program_id}: fitness {e.fitness:.4f} (island {e.island}{mig}); {desc}",
                )
            )
        table.append({"bin": r, "cells": row})
    return {"rows": table, "filled": len(elites)}


def grids(reader: ArchiveReader, island: int | None) -> dict[str, Any]:
    """The combined grid and one grid per island (or only ``island``), with bin ranges."""
    run = reader.run()
    specs = run.config.descriptors
    view = reader.grid(None)
    fits = [e.fitness for e in view.elites]
    lo, hi = (min(fits), max(fits)) if fits else (0.0, 1.0)
    col_labels = bin_labels(specs[0])
    row_labels = bin_labels(specs[1]) if len(specs) > 1 else [""]
    panels = []
    if island is None:
        panels.append(
            {
                "title": "all islands (best elite per cell)",
                "island": None,
                **_grid_table(view.elites, specs, lo, hi),
                "stats": reader.qd_stats(),
            }
        )
    for i in range(run.config.islands):
        if island is not None and i != island:
            continue
        elites = [e for e in view.elites if e.island == i]
        panels.append(
            {
                "title": f"island {i}",
                "island": i,
                **_grid_table(elites, specs, lo, hi),
                "stats": reader.qd_stats(i),
            }
        )
    legend = [
        {"value": lo + (hi - lo) * t, "background": colour(t)[0], "foreground": colour(t)[1]}
        for t in ((0.0, 0.25, 0.5, 0.75, 1.0) if hi > lo else (0.5,))
    ]
    return {
        "run": run,
        "specs": specs,
        "col_labels": col_labels,
        "row_labels": list(reversed(row_labels)),
        "panels": panels,
        "legend": legend,
        "island": island,
        "extra_descriptors": [d.name for d in specs[2:]],
    }


# ----------------------------------------------------------------------------- program


def _metric_row(metrics: Mapping[str, float] | None) -> list[float | None]:
    return [finite((metrics or {}).get(m)) for m in METRIC_NAMES]


def _best(evs: Sequence[EvaluationView]) -> EvaluationView | None:
    if not evs:
        return None
    return max(evs, key=lambda e: (e.fitness is not None, e.fitness if e.fitness is not None else 0.0, e.id))


def evaluations_by_stage(reader: ArchiveReader, pid: str) -> dict[str, list[EvaluationView]]:
    """The program's evaluations grouped by stage, in cascade order."""
    out: dict[str, list[EvaluationView]] = {}
    for ev in reader.evaluations(pid):
        out.setdefault(ev.stage, []).append(ev)
    return {s: out[s] for s in sorted(out, key=lambda s: STAGE_ORDER.index(s) if s in STAGE_ORDER else 99)}


def lineage_chain(lin: Lineage) -> list[dict[str, Any]]:
    """The lineage seed first, with each step's fitness change and mutation."""
    out = []
    for i, v in enumerate(lin.steps):
        out.append({**program_summary(v), "delta": lin.delta_fitness(i), "mutation": v.mutation})
    out.reverse()
    return out


def context_rows(
    ev: EvaluationView, objective: str | Mapping[str, float], catalog: ContextCatalog
) -> list[dict[str, Any]]:
    """Per-context results of an evaluation, weakest first (failed contexts first, then by
    the context's fitness under the run objective, ascending)."""
    rows = []
    for c in ev.contexts:
        f = context_fitness(c.metrics, objective)
        n = 0 if c.positions is None else int(c.positions.shape[0])
        k = 0 if c.positions is None else int(c.positions.shape[1])
        rows.append(
            {
                "context_id": c.context_id,
                "split": catalog.split_of(c.context_id),
                "fitness": f,
                "metrics": _metric_row(c.metrics),
                "n": n,
                "k": k,
                "missing": c.missing_answers,
                "addressed": int((c.metrics or {}).get(ADDRESSED_KEY) or count_in_error(c.error) or 0),
                "error": c.error,
                "has_positions": c.positions is not None,
            }
        )
    rows.sort(
        key=lambda r: (
            r["fitness"] is not None,
            r["fitness"] if r["fitness"] is not None else 0.0,
            r["context_id"],
        )
    )
    return rows


def scatter_payload(
    reader: ArchiveReader, catalog: ContextCatalog, ev: EvaluationView, context_id: str
) -> dict[str, Any] | None:
    """Positions of one context of an evaluation with the persona texts stored for it
    (``text`` null for a persona whose text was not kept)."""
    ctx = next((c for c in ev.contexts if c.context_id == context_id), None)
    if ctx is None or ctx.positions is None:
        return None
    z = np.asarray(ctx.positions, dtype=float)
    info = catalog.get(context_id, int(z.shape[1]))
    texts = {
        p.index: p.persona
        for p in reader.personas(context_id=context_id, program_id=ev.program_id, evaluation_id=ev.id)
    }
    points = []
    for i, row in enumerate(z):
        persona = texts.get(i)
        extra = None
        if persona is not None:
            extra = {
                str(k): v if isinstance(v, (str, int, float, bool)) or v is None else str(v)
                for k, v in persona.items()
                if k not in ("name", "description")
            }
        points.append(
            {
                "index": i,
                "position": [None if not math.isfinite(float(x)) else round(float(x), 4) for x in row],
                "name": None if persona is None else str(persona.get("name") or ""),
                "description": None if persona is None else str(persona.get("description") or ""),
                "fields": extra,
            }
        )
    return {
        "context_id": context_id,
        "description": info.description,
        "stage": ev.stage,
        "evaluation_id": ev.id,
        "axes": [
            {"name": a.name, "description": a.description, "low": a.low, "high": a.high} for a in info.axes
        ],
        "points": points,
        "texts": len(texts),
    }


def _diff(a: ProgramView | None, b: ProgramView) -> TextDiff | None:
    if a is None:
        return None
    return unified(
        a.code,
        b.code,
        name_a=f"{a.id} ({a.label})" if a.label else a.id,
        name_b=f"{b.id} ({b.label})" if b.label else b.id,
    )


def program_page(
    reader: ArchiveReader, catalog: ContextCatalog, pid: str, *, stage: str | None, context: str | None
) -> dict[str, Any]:
    """Everything the program page shows; ``stage``/``context`` pick the per-context table
    and the scatter (defaults: train, its weakest context with positions)."""
    run = reader.run()
    objective = objective_of(run)
    view = reader.program(pid)
    lin = reader.lineage(pid)
    parent = lin.steps[1] if len(lin.steps) > 1 else None
    seed = lin.steps[-1] if lin.complete and len(lin.steps) > 1 else None
    by_stage = evaluations_by_stage(reader, pid)
    stage_rows = []
    for s, evs in by_stage.items():
        b = _best(evs)
        assert b is not None
        stage_rows.append({"stage": s, "evaluation": b, "count": len(evs), "metrics": _metric_row(b.metrics)})
    if stage not in by_stage:
        stage = Stage.TRAIN.value if Stage.TRAIN.value in by_stage else next(iter(by_stage), None)
    ev = _best(by_stage[stage]) if stage else None
    rows = context_rows(ev, objective, catalog) if ev is not None else []
    with_pos = [r["context_id"] for r in rows if r["has_positions"]]
    if context not in with_pos:
        context = with_pos[0] if with_pos else None
    scatter = scatter_payload(reader, catalog, ev, context) if (ev is not None and context) else None
    texts_elsewhere = []
    if context:
        for s, evs in by_stage.items():
            for e in evs:
                if e is not ev and any(c.context_id == context for c in e.contexts):
                    n = len(reader.personas(context_id=context, program_id=pid, evaluation_id=e.id))
                    if n:
                        texts_elsewhere.append({"stage": s, "evaluation_id": e.id, "texts": n})
    events = [e for e in reader.events(program_id=pid)][-40:]
    return {
        "run": run,
        "program": view,
        "objective": objective_text(objective),
        "lineage": lineage_chain(lin),
        "lineage_complete": lin.complete,
        "missing_parent": lin.missing_parent if not lin.complete else None,
        "parent": parent,
        "seed": seed,
        "diff_parent": _diff(parent, view),
        "diff_seed": _diff(seed, view) if seed is not None and seed is not parent else None,
        "stages": stage_rows,
        "stage": stage,
        "evaluation": ev,
        "context_rows": rows,
        "context": context,
        "scatter": scatter,
        "texts_elsewhere": texts_elsewhere,
        "events": events,
        "metric_names": METRIC_NAMES,
        "higher": HIGHER_IS_BETTER,
    }


# ----------------------------------------------------------------------------- compare


def compare(reader: ArchiveReader, a: str, b: str) -> dict[str, Any]:
    """Two programs side by side: best evaluation per stage (six metrics, fitness, the
    difference b - a and whether it is better), per-context train results, the diff a -> b."""
    va, vb = reader.program(a), reader.program(b)
    sa, sb = evaluations_by_stage(reader, a), evaluations_by_stage(reader, b)
    objective = objective_of(reader.run())
    stages = []
    for s in STAGE_ORDER:
        ea, eb = _best(sa.get(s, [])), _best(sb.get(s, []))
        if ea is None and eb is None:
            continue
        rows = []
        for name in ("fitness", *METRIC_NAMES):
            x = finite(ea.fitness if name == "fitness" else (ea.metrics or {}).get(name)) if ea else None
            y = finite(eb.fitness if name == "fitness" else (eb.metrics or {}).get(name)) if eb else None
            delta = None if x is None or y is None else y - x
            up = True if name == "fitness" else HIGHER_IS_BETTER[name]
            better = None if delta is None or abs(delta) < 1e-12 else ((delta > 0) == up)
            rows.append({"name": name, "a": x, "b": y, "delta": delta, "better": better, "up": up})
        stages.append({"stage": s, "a": ea, "b": eb, "rows": rows})
    ctx = []
    ea, eb = _best(sa.get("train", [])), _best(sb.get("train", []))
    if ea is not None and eb is not None:
        mb = {c.context_id: c for c in eb.contexts}
        for c in ea.contexts:
            if c.context_id in mb:
                fa, fb = (
                    context_fitness(c.metrics, objective),
                    context_fitness(mb[c.context_id].metrics, objective),
                )
                ctx.append(
                    {
                        "context_id": c.context_id,
                        "a": fa,
                        "b": fb,
                        "delta": None if fa is None or fb is None else fb - fa,
                    }
                )
    return {
        "a": va,
        "b": vb,
        "stages": stages,
        "contexts": ctx,
        "objective": objective_text(objective),
        "diff": unified(va.code, vb.code, name_a=va.id, name_b=vb.id),
    }


# ----------------------------------------------------------------------------- rare


def rare_page(
    reader: ArchiveReader,
    catalog: ContextCatalog,
    *,
    context: str | None,
    k: int,
    bins: int | None,
    examples: int = 3,
) -> dict[str, Any]:
    """The regions ``inspect rare`` finds (its own function, on a read-only source), each
    with up to ``examples`` stored personas that fall in the region (the example
    ``inspect rare`` picked first)."""
    from archive.exemplars import cells_of
    from evolve.outputs.inspect import Source, rare

    data = rare(Source.of(reader), context=context, k=k, bins=bins)
    b = int(data["bins"])
    stored = reader.personas(context_id=data["context"])
    by_cell: dict[tuple[int, ...], list[Any]] = {}
    for p in stored:
        if p.position is None or np.isnan(p.position).any() or len(p.position) != len(data["axes"]):
            continue
        cell = tuple(int(x) for x in cells_of(p.position[None, :], b)[0])
        by_cell.setdefault(cell, []).append(p)
    info = catalog.get(data["context"], len(data["axes"]))
    for r in data["regions"]:
        chosen: list[dict[str, Any]] = []
        ex = r.get("example")
        if ex:
            chosen.append({**ex, "position": list(ex["position"].values())})
        for p in by_cell.get(tuple(r["cell"]), []):
            if len(chosen) >= examples:
                break
            if any(c["evaluation_id"] == p.evaluation_id and c["index"] == p.index for c in chosen):
                continue
            chosen.append(
                {
                    "program_id": p.program_id,
                    "stage": str(p.stage),
                    "evaluation_id": p.evaluation_id,
                    "index": p.index,
                    "name": p.persona.get("name"),
                    "description": p.persona.get("description"),
                    "position": [round(float(x), 4) for x in p.position],
                }
            )
        r["examples"] = chosen
    data["axis_info"] = info.axes
    return data
