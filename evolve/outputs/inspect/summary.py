"""``inspect summary``: the run at a glance.

JSON shape (stable)::

    {"db": str, "run": {"id", "status", "seed", "created_at", "updated_at"},
     "simulated": bool,
     "config": {"models": {role: model}, "contexts": {split: [refs]}, "n": int|null, "screen_contexts": int,
                "islands": int, "fitness": str|{metric: weight}|null,
                "budget": {...}|null, "descriptors": [{"name","low","high","bins","log"}]},
     "evaluations": int,            # proposals fully evaluated on train: the budget's unit
     "stored_evaluations": int, "stored_evaluations_by_stage": {stage: int},
     "programs": int, "elites": int,
     "statuses": {status: int}, "rejections": {reason: int},
     "grid": {"cells_total", "filled", "coverage", "qd_score", "best", "mean", "migrants"},
     "champion": null | {"id", "label", "generation", "island", "stage", "fitness",
                         "metrics": {six}, "test": {six}|null,
                         "references": {"n", "mc_samples", "random_seeds",
                                        "<stage>": {"floor": {six}, "random": {six},
                                                    "fitness": {"floor", "random"}} | null,
                                        "test": ... | null}},
     "spend": {role: {"calls", "cached", "errors", "prompt_tokens", "completion_tokens",
                      "cost_usd", "latency_s"}},
     "spend_total": {"calls", "tokens", "cost_usd"},
     "spend_by_stage": {"total", "by_role", "by_stage": {stage: {role: calls}}, "stage_totals", "unstaged",
                        "proposals", "evaluated", "rejections", "rejected_smoke_calls", "rejected_share",
                        "wasted_calls", "wasted_share", "race_evaluations", "races_skipped"}
                       (:func:`evolve.budget.spend.spend_report`; uncached calls),
     "budget": {cap: {"limit": float|null, "used": float}},
     "budget_raises": [{"ts", "changes": {cap: {"from", "to"}}}],
     "search_changes": [{"ts", "changes": {key: {"from", "to"}}}],
     "killed": {"evaluations", "calls", "prompt_tokens", "completion_tokens", "dollars", "estimated"},
     "addressed": {"personas", "contexts", "programs", "by_program": [{"id", "personas", "contexts"}]}}

``addressed``: personas whose text addressed the respondent (not placed, scored as missing;
:mod:`evolve.outputs.inspect.addressed`).

``config.budget`` and the budget's limits are the caps in force: those of the last
``budget_raised`` event (a finished run resumed with a raised cap) when there is one.
``budget_raises`` lists every raise: when, and which caps changed from what to what
(:mod:`evolve.outputs.inspect.history`). ``killed`` counts the evaluations killed at the driver's
deadline: their calls are estimated (upper bound), not counted, and the budget's ``used``
includes what was charged for them.

``evaluations`` is what ``run`` prints and ``--budget-evals`` caps: proposed programs fully
evaluated on the train contexts. ``stored_evaluations`` counts every stored evaluation
(seeds, smoke, validation and test included), per stage in ``stored_evaluations_by_stage``.

The champion's ``references`` are the noise floor (n identical personas at the centre of
the axis cube) and the random reference (n uniform positions, mean of ``random_seeds``
draws) over the same contexts as its scores (those that succeeded; n and K per context),
computed in metric space with no model (:mod:`metrics.references`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from archive.reader import ArchiveReader
from evolve.budget.spend import render_spend_lines, spend_of, spend_total
from evolve.outputs.inspect.addressed import addressed_line, addressed_summary
from evolve.outputs.inspect.history import budget_history, history_lines
from evolve.outputs.inspect.render import fmt, interval_basis, metric_cells, metric_headers, table
from evolve.outputs.inspect.source import Source
from evolve.outputs.labels import SIM_LINE, weak_sandbox_inspect
from metrics import RANDOM_SEEDS, mean_references


def _config(src: Source) -> dict[str, Any]:
    cfg = src.run_config()
    archive_config = src.reader.config
    fitness = cfg.get("fitness") or {}
    objective = fitness.get("weights") or fitness.get("objective") if isinstance(fitness, dict) else fitness
    return {
        "models": src.models(),
        "contexts": {k: list(v) for k, v in (cfg.get("contexts") or {}).items()},
        "n": (cfg.get("evaluation") or {}).get("n"),
        "screen_contexts": (cfg.get("cascade") or {}).get("screen_contexts") or 0,
        "islands": archive_config.islands,
        "fitness": objective or None,
        "budget": src.reader.budget_in_force() or None,
        "descriptors": [
            {"name": d.name, "low": d.low, "high": d.high, "bins": d.bins, "log": d.log}
            for d in archive_config.descriptors
        ],
    }


def _shapes(ev: Any, n: int | None) -> list[tuple[int, int]]:
    """(n, K) of each context of ``ev`` that was scored (n from the config, else the rows)."""
    return [
        (int(n or c.positions.shape[0]), int(c.positions.shape[1]))
        for c in (ev.contexts if ev else ())
        if c.metrics and c.positions is not None and c.positions.ndim == 2
    ]


def _references(src: Source, stage: str, ev: Any, test: Any) -> dict[str, Any]:
    evaluation = src.run_config().get("evaluation") or {}
    n, mc = evaluation.get("n"), int(evaluation.get("mc_samples") or 10_000)
    objective = _config(src)["fitness"] or "coverage"
    out: dict[str, Any] = {"n": n, "mc_samples": mc, "random_seeds": RANDOM_SEEDS}
    for key, e in ((stage, ev), ("test", test)):
        shapes = _shapes(e, n)
        try:
            out[key] = mean_references(shapes, mc_samples=mc, objective=objective) if shapes else None
        except ValueError:  # an objective or shape this version cannot score
            out[key] = None
    return out


def _champion(src: Source) -> dict[str, Any] | None:
    champ = src.reader.champion()
    if champ is None:
        return None
    view, stage, ev, test = champ.program, str(champ.stage), champ.evaluation, champ.test
    return {
        "id": view.id,
        "label": view.label,
        "generation": view.generation,
        "island": view.island,
        "stage": stage,
        "fitness": champ.fitness,
        "metrics": dict(ev.metrics or {}) if ev is not None else None,
        "test": dict(test.metrics or {}) if test is not None and test.metrics else None,
        "references": _references(src, stage, ev, test),
        "interval": champion_interval(src.reader, view.id),
    }


def champion_interval(reader: ArchiveReader, program_id: str) -> dict[str, Any] | None:
    """The validation fitness of ``program_id`` over contexts x replicates with its
    interval, from its latest ``champion`` event (issue 13; None when the run recorded
    none): mean, low, high, n, confidence, contexts, replicates (and advantage, incumbent)."""
    for event in reversed(reader.events(kind="champion")):
        if event.program_id == program_id and isinstance(event.detail, dict) and "mean" in event.detail:
            return dict(event.detail)
    return None


def summary(src: Source) -> dict[str, Any]:
    """The summary of the source's run (see the module docstring for the shape)."""
    r = src.reader
    info = r.run()
    counts = r.counts()
    qd = r.qd_stats()
    spend = {
        str(s.role): {
            "calls": s.calls,
            "cached": s.cached,
            "errors": s.errors,
            "prompt_tokens": s.prompt_tokens,
            "completion_tokens": s.completion_tokens,
            "cost_usd": s.cost_usd,
            "latency_s": s.latency_s,
        }
        for s in r.spend()
    }
    return {
        "db": src.db,
        "run": {
            "id": info.id,
            "status": str(info.status),
            "seed": info.seed,
            "created_at": info.created_at,
            "updated_at": info.updated_at,
        },
        "simulated": src.simulated(),
        "weak_sandbox": src.reader.weak_sandbox(),
        "config": _config(src),
        "evaluations": int(counts.proposal_evaluations),
        "stored_evaluations": int(counts.evaluations),
        "stored_evaluations_by_stage": dict(counts.evaluations_by_stage),
        "programs": int(counts.programs),
        "elites": int(counts.elites),
        "statuses": dict(counts.statuses),
        "rejections": dict(counts.rejections),
        "grid": {
            k: qd.get(k)
            for k in ("cells_total", "filled", "coverage", "qd_score", "best", "mean", "migrants")
        },
        "champion": _champion(src),
        "spend": spend,
        "spend_total": {"calls": counts.llm_calls, "tokens": counts.llm_tokens, "cost_usd": counts.cost_usd},
        "spend_by_stage": spend_of(r),  # uncached calls by stage and role, what they bought (issue 22)
        "budget": {str(b.cap): {"limit": b.limit, "used": b.used} for b in r.budget()},
        **budget_history(r),
        "addressed": addressed_summary(r),
    }


def _reference_rows(refs: dict[str, Any] | None) -> list[list[str]]:
    if not refs:
        return []
    return [["  floor", *metric_cells(refs["floor"])], ["  random", *metric_cells(refs["random"])]]


def _when(ts: Any) -> str:
    if not isinstance(ts, (int, float)):
        return "-"
    return dt.datetime.fromtimestamp(float(ts)).strftime("%Y-%m-%d %H:%M:%S")


def _pairs(d: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(d.items(), key=lambda kv: (-kv[1], kv[0]))) or "none"


def render_summary(data: dict[str, Any]) -> str:
    """Readable text of :func:`summary`."""
    lines: list[str] = []
    if data["simulated"]:
        lines.append(SIM_LINE)
    if data.get("weak_sandbox"):
        lines.append(weak_sandbox_inspect(data["weak_sandbox"]))
    run, cfg = data["run"], data["config"]
    lines.append(
        f"run {run['id']} ({run['status']})  db: {data['db']}  seed: {run['seed']}  "
        f"started: {_when(run['created_at'])}  updated: {_when(run['updated_at'])}"
    )
    if cfg["models"]:
        lines.append("models: " + "  ".join(f"{r}={m}" for r, m in cfg["models"].items()))
    if cfg["contexts"]:
        lines.append(
            "contexts: " + "  ".join(f"{s}={','.join(map(str, v))}" for s, v in cfg["contexts"].items())
        )
    fitness = cfg["fitness"]
    if isinstance(fitness, dict):
        fitness = " + ".join(f"{w:g}·{m}" for m, w in fitness.items())
    screen = cfg.get("screen_contexts") or 0
    lines.append(
        f"n: {cfg['n'] if cfg['n'] is not None else '-'}  islands: {cfg['islands']}  "
        + (f"train fitness on a screening set of {screen} train contexts  " if screen else "")
        + f"fitness: {fitness or '-'}  descriptors: "
        + ", ".join(
            f"{d['name']}[{d['low']:g}..{d['high']:g}]x{d['bins']}{' log' if d['log'] else ''}"
            for d in cfg["descriptors"]
        )
    )
    if cfg["budget"]:
        lines.append("budget: " + "  ".join(f"{k}={v}" for k, v in cfg["budget"].items() if v is not None))
    lines.extend(history_lines(data))
    by_stage = ", ".join(f"{s} {n}" for s, n in data["stored_evaluations_by_stage"].items())
    cap = (data.get("budget") or {}).get("evaluations") or {}
    limit = f" of {cap['limit']:g}" if cap.get("limit") is not None else ""
    lines.append(
        f"evaluations: {data['evaluations']}{limit} (proposals fully evaluated on train: what the run "
        f"prints and --budget-evals caps)  programs: {data['programs']}  elites: {data['elites']}"
    )
    lines.append(
        f"stored evaluations: {data['stored_evaluations']}"
        + (f" ({by_stage})" if by_stage else "")
        + " (every stage, seeds included)"
    )
    lines.append(f"statuses: {_pairs(data['statuses'])}")
    lines.append(f"rejections: {_pairs(data['rejections'])}")
    if data.get("addressed") is not None:
        lines.append(addressed_line(data["addressed"]))
    g = data["grid"]
    lines.append(
        f"grid: {g['filled']}/{g['cells_total']} cells filled ({fmt(g['coverage'], 3)})  "
        f"qd_score: {fmt(g['qd_score'], 3)}  best: {fmt(g['best'])}  migrants: {g['migrants']}"
    )
    champ = data["champion"]
    if champ is None:
        lines.append("champion: none yet (no program evaluated)")
    else:
        label = f" ({champ['label']})" if champ["label"] else ""
        lines.append(
            f"champion: {champ['id']}{label}  generation {champ['generation']}  "
            f"{champ['stage']} fitness {fmt(champ['fitness'])}"
        )
        iv = champ.get("interval")
        if iv:
            lines.append(
                f"champion's validation fitness over {interval_basis(iv)}: "
                f"mean {fmt(iv['mean'])} [{fmt(iv['low'])}, {fmt(iv['high'])}] "
                f"({float(iv['confidence']) * 100:g} % interval)"
            )
        refs = champ.get("references") or {}
        rows = [[champ["stage"], *metric_cells(champ["metrics"])]]
        rows += _reference_rows(refs.get(champ["stage"]))
        if champ["test"]:
            rows.append(["test", *metric_cells(champ["test"])])
            rows += _reference_rows(refs.get("test"))
        lines.append(table(["stage", *metric_headers()], rows, right=range(1, 7)))
        if refs.get(champ["stage"]) or refs.get("test"):
            fits = "  ".join(
                f"{s} fitness: floor {fmt(r['fitness']['floor'])}, random {fmt(r['fitness']['random'])}"
                for s, r in ((champ["stage"], refs.get(champ["stage"])), ("test", refs.get("test")))
                if r and r.get("fitness")
            )
            lines.append(
                f"  floor = n identical personas at the centre; random = n uniform positions, mean of "
                f"{refs.get('random_seeds')} draws (no model involved). {fits}"
            )
    if data["spend"]:
        rows = [
            [
                role,
                s["calls"],
                s["cached"],
                s["errors"],
                s["prompt_tokens"],
                s["completion_tokens"],
                f"{s['cost_usd']:.4f}",
                f"{s['latency_s']:.1f}",
            ]
            for role, s in data["spend"].items()
        ]
        total = spend_total(data["spend"].values())
        rows.append(
            [
                "total",
                total["calls"],
                total["cached"],
                total["errors"],
                total["prompt_tokens"],
                total["completion_tokens"],
                f"{total['cost_usd']:.4f}",
                f"{total['latency_s']:.1f}",
            ]
        )
        lines.append("spend per role:")
        lines.append(
            table(
                [
                    "role",
                    "calls",
                    "cached",
                    "errors",
                    "prompt_tok",
                    "completion_tok",
                    "cost_usd",
                    "latency_s",
                ],
                rows,
                right=range(1, 8),
            )
        )
    else:
        lines.append("spend: no LLM calls recorded")
    lines.extend(render_spend_lines(data.get("spend_by_stage")))
    return "\n".join(lines)
