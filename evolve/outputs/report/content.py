"""What the end-of-run report says, computed from the archive alone (read-only).

:func:`build_report` reads a run through :class:`archive.reader.ArchiveReader` and returns
plain values: ``report.md`` (:mod:`evolve.outputs.report.writer`) renders them as markdown with plots, and
the viewer's ``/report`` page as HTML, so both say the same thing. No plotting here.

Sections: the run and its counts (``evaluations`` = proposals fully evaluated on train, the
budget's unit; ``stored_evaluations`` = every stored evaluation), the configuration and the
budget used per cap (with each raise of a cap and the evaluations killed at the driver's
deadline, whose calls are estimated, not counted), LLM spend per role, the champion with its lineage back to
its seed and its diff against that seed, validation and test tables (the champion and the seeds: the
mean of each metric over contexts and its spread, min / median / max across contexts, next
to the noise floor and the random reference), and the champion's most extreme personas
per context (text excerpts with their positions), the personas whose text addressed the
respondent (not placed, scored as missing; :mod:`evolve.outputs.inspect.addressed`), and the cost
front (validation coverage against tokens per persona, ``evolve.outputs.report.front``).
"""

from __future__ import annotations

import difflib
from typing import Any, Mapping, Sequence

import numpy as np

from archive.reader import ArchiveReader
from archive.reader import finite_float as _finite
from archive.records import EvaluationView, ProgramView
from archive.vocab import Stage
from evolve.budget.spend import spend_of, spend_total
from metrics import HIGHER_IS_BETTER, METRIC_NAMES

#: Most extreme personas shown per context.
EXTREMES_PER_CONTEXT = 3
#: Longest excerpt of a persona text (characters); longer texts keep their start and end.
EXCERPT_CHARS = 700
#: Longest diff shown (lines).
DIFF_LINES = 400


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """``text`` on one line; when longer than ``limit`` characters, its first third and its
    last two thirds joined by `` … `` (persona texts often state their traits at the end)."""
    flat = " ".join(str(text).split())
    if len(flat) <= limit:
        return flat
    head = limit // 3
    tail = limit - head - 3
    return flat[:head].rstrip() + " … " + flat[-tail:].lstrip()


def spread(ev: EvaluationView | None) -> dict[str, tuple[float, float, float] | None]:
    """Per metric: (min, median, max) across the evaluation's contexts that have it."""
    out: dict[str, tuple[float, float, float] | None] = {}
    for name in METRIC_NAMES:
        vals = [
            v for c in (ev.contexts if ev else ()) if (v := _finite((c.metrics or {}).get(name))) is not None
        ]
        out[name] = (min(vals), float(np.median(vals)), max(vals)) if vals else None
    return out


def objective_text(run_config: Mapping[str, Any]) -> str:
    """The fitness objective as text: a metric name or ``w·metric + ...``."""
    fit = run_config.get("fitness")
    if isinstance(fit, Mapping):
        if fit.get("weights"):
            return " + ".join(f"{float(w):g}·{m}" for m, w in fit["weights"].items())
        if fit.get("objective"):
            return str(fit["objective"])
    return str(fit) if isinstance(fit, str) else "coverage"


def _objective(run_config: Mapping[str, Any]) -> Any:
    fit = run_config.get("fitness")
    if isinstance(fit, Mapping):
        return dict(fit["weights"]) if fit.get("weights") else (fit.get("objective") or "coverage")
    return fit if isinstance(fit, str) else "coverage"


def _references(reader: ArchiveReader, evs: Mapping[str, EvaluationView | None]) -> dict[str, Any]:
    """Floor and random references over the contexts of the given evaluations (per stage)."""
    from metrics import RANDOM_SEEDS, mean_references

    cfg = reader.run().run_config
    evaluation = cfg.get("evaluation") or {}
    n, mc = evaluation.get("n"), int(evaluation.get("mc_samples") or 10_000)
    out: dict[str, Any] = {"n": n, "mc_samples": mc, "random_seeds": RANDOM_SEEDS}
    for stage, ev in evs.items():
        shapes = [
            (int(n or c.positions.shape[0]), int(c.positions.shape[1]))
            for c in (ev.contexts if ev else ())
            if c.metrics and c.positions is not None and c.positions.ndim == 2
        ]
        try:
            out[stage] = mean_references(shapes, mc_samples=mc, objective=_objective(cfg)) if shapes else None
        except ValueError:
            out[stage] = None
    return out


def _stage_table(
    reader: ArchiveReader, stage: str, programs: Sequence[tuple[str, ProgramView]]
) -> dict[str, Any]:
    rows = []
    for label, view in programs:
        ev = (
            reader.best_evaluation(view.id, stage)
            if stage != Stage.TEST
            else reader.latest_evaluation(view.id, stage)
        )
        if ev is None:
            continue
        rows.append(
            {
                "label": label,
                "program_id": view.id,
                "fitness": _finite(ev.fitness),
                "means": {m: _finite((ev.metrics or {}).get(m)) for m in METRIC_NAMES},
                "spread": spread(ev),
                "contexts": sum(1 for c in ev.contexts if c.metrics),
            }
        )
    return {"stage": stage, "rows": rows}


def _lineage(reader: ArchiveReader, pid: str) -> dict[str, Any]:
    lin = reader.lineage(pid)
    steps = []
    for i, v in enumerate(lin.steps):
        m = v.mutation
        steps.append(
            {
                "id": v.id,
                "label": v.label,
                "generation": v.generation,
                "island": v.island,
                "fitness": _finite(v.fitness),
                "delta": lin.delta_fitness(i),
                "operator": m.operator if m else None,
                "directive": m.directive if m else None,
                "model": m.model if m else None,
                "tokens": (m.prompt_tokens + m.completion_tokens) if m else 0,
            }
        )
    steps.reverse()  # seed first
    seed = lin.steps[-1] if lin.complete else None
    diff = None
    champion = lin.steps[0]
    if seed is not None and seed.id != champion.id:
        lines = list(
            difflib.unified_diff(
                seed.code.splitlines(),
                champion.code.splitlines(),
                fromfile=f"{seed.id} ({seed.label or 'seed'})",
                tofile=f"{champion.id} (champion)",
                lineterm="",
            )
        )
        diff = {
            "seed_id": seed.id,
            "seed_label": seed.label,
            "lines": lines[:DIFF_LINES],
            "truncated": max(0, len(lines) - DIFF_LINES),
            "added": sum(1 for x in lines if x.startswith("+") and not x.startswith("+++")),
            "removed": sum(1 for x in lines if x.startswith("-") and not x.startswith("---")),
        }
    return {
        "steps": steps,
        "complete": lin.complete,
        "missing_parent": None if lin.complete else lin.missing_parent,
        "seed": None if seed is None else {"id": seed.id, "label": seed.label},
        "diff": diff,
    }


def extreme_personas(
    reader: ArchiveReader, pid: str, *, per_context: int = EXTREMES_PER_CONTEXT, axes_of: Any = None
) -> list[dict[str, Any]]:
    """Per context of the champion's evaluations with stored texts (test, then validation,
    then train): its ``per_context`` personas farthest from the centre of the axis cube,
    with an excerpt of their text and their position per named axis."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for stage in (Stage.TEST, Stage.VALIDATION, Stage.TRAIN):
        ev = (
            reader.latest_evaluation(pid, stage)
            if stage == Stage.TEST
            else reader.best_evaluation(pid, stage)
        )
        if ev is None:
            continue
        for c in ev.contexts:
            if c.context_id in seen or c.positions is None or c.positions.ndim != 2 or not len(c.positions):
                continue
            texts = {
                p.index: p.persona
                for p in reader.personas(context_id=c.context_id, program_id=pid, evaluation_id=ev.id)
            }
            if not texts:
                continue
            z = np.asarray(c.positions, dtype=float)
            k = z.shape[1]
            names = tuple(axes_of(c.context_id, k)) if axes_of else tuple(f"axis_{i + 1}" for i in range(k))
            dist = np.sqrt(np.nansum((z - 0.5) ** 2, axis=1))
            order = [int(i) for i in np.argsort(-dist, kind="stable") if int(i) in texts][:per_context]
            personas = []
            for i in order:
                p = texts[i]
                personas.append(
                    {
                        "index": i,
                        "name": str(p.get("name") or ""),
                        "excerpt": excerpt(p.get("description") or ""),
                        "distance": float(dist[i]),
                        "position": {a: _finite(v) for a, v in zip(names, z[i])},
                    }
                )
            seen.add(c.context_id)
            out.append(
                {
                    "context": c.context_id,
                    "stage": str(stage),
                    "evaluation_id": ev.id,
                    "axes": list(names),
                    "personas": personas,
                }
            )
    return out


def build_report(
    reader: ArchiveReader, *, references: Mapping[str, Any] | None = None, stop_reason: str | None = None
) -> dict[str, Any]:
    """The report's content for the reader's run (see the module docstring). ``references``
    (``{"n", "mc_samples", "random_seeds", "validation": {...}, "test": {...}}``, as the run
    computes them from its contexts) replace the ones derived from the stored evaluations."""
    from evolve.outputs.inspect.addressed import addressed_summary
    from evolve.outputs.inspect.history import budget_history
    from evolve.outputs.inspect.source import Source
    from evolve.outputs.inspect.summary import champion_interval
    from evolve.outputs.report.front import front_content

    src = Source.of(reader)
    run = reader.run()
    cfg = run.run_config
    counts = reader.counts()
    champ = reader.champion()
    seeds = list(reader.seeds())
    programs: list[tuple[str, ProgramView]] = []
    if champ is not None:
        programs.append(("champion", champ.program))
    programs += [(s.label or s.id, s) for s in seeds if champ is None or s.id != champ.program.id]
    if champ is not None and champ.program.parent_id is None:  # the champion is a seed: say which
        programs[0] = (
            f"champion ({champ.program.label})" if champ.program.label else "champion",
            champ.program,
        )
    stages = [_stage_table(reader, s, programs) for s in (Stage.VALIDATION, Stage.TEST)]
    refs = (
        dict(references)
        if references
        else _references(
            reader,
            {
                s: (
                    reader.best_evaluation(champ.program.id, s)
                    if s != Stage.TEST
                    else reader.latest_evaluation(champ.program.id, s)
                )
                if champ
                else None
                for s in (Stage.VALIDATION, Stage.TEST)
            },
        )
    )
    for table in stages:
        table["references"] = refs.get(table["stage"])
    spend = [
        {
            "role": str(s.role),
            "calls": s.calls,
            "cached": s.cached,
            "errors": s.errors,
            "prompt_tokens": s.prompt_tokens,
            "completion_tokens": s.completion_tokens,
            "cost_usd": s.cost_usd,
            "latency_s": s.latency_s,
        }
        for s in reader.spend()
    ]
    evaluation = cfg.get("evaluation") or {}
    return {
        "simulated": reader.simulated(),
        "world": str((cfg.get("world") or {}).get("preset", "default")),
        "robust": robust_selection(reader),
        "weak_sandbox": reader.weak_sandbox(),
        "db": reader.db,
        "run": {
            "id": run.id,
            "status": str(run.status),
            "seed": run.seed,
            "created_at": run.created_at,
            "updated_at": run.updated_at,
        },
        "stop_reason": stop_reason,
        "counts": {
            "evaluations": counts.proposal_evaluations,
            "stored_evaluations": counts.evaluations,
            "stored_by_stage": dict(counts.evaluations_by_stage),
            "programs": counts.programs,
            "elites": counts.elites,
            "statuses": dict(counts.statuses),
            "rejections": dict(counts.rejections),
        },
        "config": {
            "models": run.models,
            "contexts": {k: list(v) for k, v in run.contexts.items()},
            "n": evaluation.get("n"),
            "mc_samples": evaluation.get("mc_samples"),
            "seed": run.seed,
            "islands": run.config.islands,
            "objective": objective_text(cfg),
            "descriptors": [
                {"name": d.name, "low": d.low, "high": d.high, "bins": d.bins, "log": d.log}
                for d in run.config.descriptors
            ],
            "sections": {
                k: dict(v)
                for k, v in cfg.items()
                if isinstance(v, Mapping) and k not in ("models", "contexts")
            },
        },
        "budget": [
            {"cap": str(b.cap), "limit": b.limit, "used": b.used, "fraction": b.fraction}
            for b in reader.budget()
        ],
        **budget_history(reader),
        "spend": spend,
        "spend_by_stage": spend_of(reader),  # calls by stage and role (issue 22 item 5)
        "spend_total": spend_total(spend),
        "champion": None
        if champ is None
        else {
            "id": champ.program.id,
            "label": champ.program.label,
            "generation": champ.program.generation,
            "island": champ.program.island,
            "stage": str(champ.stage),
            "fitness": _finite(champ.fitness),
            "code": champ.program.code,
            "interval": champion_interval(reader, champ.program.id),
        },
        "lineage": _lineage(reader, champ.program.id) if champ else None,
        "stages": stages,
        "references": refs,
        "extremes": extreme_personas(reader, champ.program.id, axes_of=src.context_axes) if champ else [],
        "addressed": addressed_summary(reader),
        "metric_names": list(METRIC_NAMES),
        "higher_is_better": dict(HIGHER_IS_BETTER),
        "cost_front": front_content(reader),
    }


def robust_selection(reader: ArchiveReader) -> dict[str, Any] | None:
    """The run's latest robust selection across simulated worlds (the ``robust_selection``
    event's detail: worlds, chosen, incumbent, seeds, and per program its fitness, gain over
    the best seed and worst-world gain per world); None when the run did none."""
    events = reader.events(kind="robust_selection")
    if not events or not isinstance(events[-1].detail, dict):
        return None
    return dict(events[-1].detail)
