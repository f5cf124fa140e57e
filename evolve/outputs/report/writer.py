"""The end-of-run report: ``report.md`` plus PNG plots in the run's folder.

The content comes from :func:`evolve.outputs.report.content.build_report`, read from the archive
through the read-only :class:`archive.reader.ArchiveReader` (the viewer's ``/report`` page
renders the same content). A sim run's report says on its first line that it is simulated.

Sections: run and counts, configuration and budget, spend per role, the champion's lineage
and diff against its seed, validation and test tables (means over contexts with the noise
floor and the random reference as italic rows; then the spread, min / median / max across
contexts), the champion's most extreme personas per context, the champion's code.

Plots (every axis labelled with what it measures, ticks with values): fitness over
evaluations (each proposal's train fitness, the best so far, the seeds' train fitness);
the elite grid of each island with the descriptor bin ranges on the axes and each cell's
fitness written in it; the six test metrics of the champion and the seeds with each bar's
value and the floor/random references as lines; and the personas of one test context on
every pair of its axes (small multiples, champion against ``seed:sobol``), naming the context.
"""

from __future__ import annotations

import functools
import itertools
from pathlib import Path
from typing import Any, Mapping, Sequence

import jinja2
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from archive.binning import bin_labels  # noqa: E402
from archive.reader import ArchiveReader  # noqa: E402
from evolve.budget.spend import render_spend_lines
from evolve.outputs.inspect.addressed import addressed_line  # noqa: E402
from evolve.outputs.inspect.history import history_lines  # noqa: E402
from evolve.outputs.inspect.render import interval_basis  # noqa: E402
from evolve.outputs.labels import REPORT_SIM_NOTE, SIM_TAG, SIM_TOKENS_LINE, weak_sandbox_report
from evolve.outputs.report.front import DOMINATED_SHOWN
from evolve.outputs.safe_text import visible
from metrics import METRIC_NAMES  # noqa: E402

IN_PROCESS_RESPONDENT = (
    "The respondent is the sim, which answers every questionnaire in process, with no "
    "model call: it has no row of calls, tokens or dollars."
)
"""Why a sim run's spend shows no respondent row (report and live panel)."""
TEMPLATES = Path(__file__).resolve().parent / "report_templates"
"""The report's Jinja2 templates: ``report.md.j2`` with ``tables.md.j2`` and ``front.md.j2``."""
ARROW = {name: ("↓" if name in ("dispersion", "kl_divergence") else "↑") for name in METRIC_NAMES}


# ----------------------------------------------------------------------------- plots


def _saved(fig: Any, path: Path) -> Path:
    """``fig`` laid out, written to ``path`` as a 110-dpi PNG and closed; returns ``path``."""
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_fitness(reader: ArchiveReader, path: Path, *, simulated: bool, objective: str = "coverage") -> Path:
    """Train fitness of every proposal evaluation, the best so far, and the seeds' train
    fitness as dashed lines; x = the budget's evaluation count."""
    props = reader.proposal_evaluations()
    xs = [p.index for p in props if p.fitness is not None]
    ys = [p.fitness for p in props if p.fitness is not None]
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    if ys:
        ax.scatter(xs, ys, s=10, alpha=0.45, label="an evaluation")
        ax.step(xs, np.maximum.accumulate(ys), where="post", color="C3", label="best so far")
    end = max(xs, default=1)
    for i, s in enumerate(reader.seeds()):
        if s.fitness is not None:
            ax.hlines(
                s.fitness,
                0,
                end,
                colors="0.4",
                linestyles=("--", ":", "-.")[i % 3],
                linewidth=1,
                label=f"{s.label or s.id} (seed)",
            )
    ax.set_xlabel("evaluations (proposed programs fully evaluated on the train contexts)")
    ax.set_ylabel(f"train fitness ({objective}, mean over contexts)")
    ax.set_xlim(left=0)
    ax.grid(alpha=0.3)
    ax.set_title("Fitness over evaluations" + (SIM_TAG if simulated else ""))
    ax.legend(loc="lower right", fontsize=7)
    return _saved(fig, path)


def plot_grid(reader: ArchiveReader, path: Path, *, simulated: bool = False) -> Path:
    """Heatmap of elite fitness per island over the first two descriptors, bins labelled by
    their value ranges and each filled cell by its fitness."""
    config = reader.config
    specs = config.descriptors
    islands = range(config.islands)
    shape = (specs[0].bins, specs[1].bins if len(specs) > 1 else 1)
    fig, axes = plt.subplots(
        1,
        len(islands),
        figsize=(1.6 + 0.62 * shape[0] * len(islands) + 1.2 * len(islands), 2.0 + 0.42 * shape[1]),
        squeeze=False,
    )
    elites = reader.grid(None).elites
    fits = [e.fitness for e in elites]
    lo, hi = (min(fits), max(fits)) if fits else (0.0, 1.0)
    xlabels = bin_labels(specs[0])
    ylabels = bin_labels(specs[1]) if len(specs) > 1 else [""]
    for ax, i in zip(axes[0], islands):
        data = np.full(shape, np.nan)
        for e in elites:
            if e.island != i:
                continue
            index = (e.cell[0], e.cell[1] if len(e.cell) > 1 else 0)
            if np.isnan(data[index]) or e.fitness > data[index]:
                data[index] = e.fitness
        im = ax.imshow(
            np.ma.masked_invalid(data.T),
            origin="lower",
            aspect="auto",
            cmap="viridis",
            vmin=lo,
            vmax=hi if hi > lo else lo + 1e-9,
        )
        for x in range(shape[0]):
            for y in range(shape[1]):
                if not np.isnan(data[x, y]):
                    ax.text(
                        x,
                        y,
                        f"{data[x, y]:.2f}",
                        ha="center",
                        va="center",
                        fontsize=6,
                        color="white" if data[x, y] < (lo + hi) / 2 else "black",
                    )
        ax.set_xticks(range(shape[0]), xlabels, rotation=60, ha="right", fontsize=6)
        ax.set_yticks(range(shape[1]), ylabels, fontsize=6)
        ax.set_xlabel(specs[0].name + (" (log bins)" if specs[0].log else ""), fontsize=8)
        ax.set_ylabel(
            (specs[1].name + (" (log bins)" if specs[1].log else "")) if len(specs) > 1 else "", fontsize=8
        )
        filled = int((~np.isnan(data)).sum())
        ax.set_title(f"island {i}: {filled}/{data.size} cells", fontsize=9)
    fig.colorbar(im, ax=list(axes[0]), shrink=0.85, label="elite train fitness")
    extra = f" (best over {', '.join(d.name for d in specs[2:])})" if len(specs) > 2 else ""
    fig.suptitle("Elite grid: train fitness per cell" + extra + (SIM_TAG if simulated else ""), fontsize=10)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def plot_test_bars(
    test: Mapping[str, Any], path: Path, *, simulated: bool, references: Mapping[str, Any] | None = None
) -> Path:
    """Bars of the six test metrics per program, each labelled with its value;
    ``references`` (``{"floor": {six}, "random": {six}}``) drawn as a dashed (floor) and a
    dotted (random) line."""
    labels = [k for k, v in test.items() if v]
    fig, axes = plt.subplots(1, len(METRIC_NAMES), figsize=(17, 3.8))
    for ax, name in zip(axes, METRIC_NAMES):
        values = [float((test[k] or {}).get(name, np.nan)) for k in labels]
        bars = ax.bar(range(len(labels)), values, color=[f"C{i}" for i in range(len(labels))])
        ax.bar_label(
            bars, labels=[f"{v:.3f}" if np.isfinite(v) else "–" for v in values], fontsize=6, padding=1
        )
        for kind, style in (("floor", "--"), ("random", ":")):
            value = ((references or {}).get(kind) or {}).get(name)
            if value is not None and np.isfinite(value):
                ax.axhline(value, color="0.3", linestyle=style, linewidth=1, label=f"{kind} {value:.3f}")
        ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right", fontsize=7)
        ax.set_ylabel(f"{name} (mean over test contexts)", fontsize=7)
        ax.tick_params(axis="y", labelsize=7)
        ax.margins(y=0.15)
        ax.set_title(f"{name} {ARROW[name]}", fontsize=9)
        if references:
            ax.legend(fontsize=6, loc="best", framealpha=0.6)
    fig.suptitle(
        "Test contexts: champion vs seeds (dashed: floor, dotted: random; ↑ higher is better, ↓ lower)"
        + (SIM_TAG if simulated else ""),
        fontsize=10,
    )
    return _saved(fig, path)


def plot_personas(
    populations: Mapping[str, np.ndarray],
    axes: Sequence[str],
    context_id: str,
    path: Path,
    *,
    simulated: bool,
    stage: str = "test",
) -> Path:
    """Small multiples: the personas of each program (``label -> N×K positions``) on every
    pair of the context's K axes, one panel per pair, programs overlaid."""
    k = len(axes)
    pairs = list(itertools.combinations(range(k), 2)) or [(0, 0)]
    cols = min(len(pairs), 5)
    rows = -(-len(pairs) // cols)
    fig, grid = plt.subplots(rows, cols, figsize=(max(3.0 * cols, 5.0), 3.0 * rows + 0.8), squeeze=False)
    markers = ("o", "^", "s", "D")
    for n, (a, b) in enumerate(pairs):
        ax = grid[n // cols][n % cols]
        for j, (label, z) in enumerate(populations.items()):
            if z is None or not len(z):
                continue
            ax.scatter(
                z[:, a],
                z[:, b] if k > 1 else np.zeros(len(z)),
                s=16,
                alpha=0.7,
                marker=markers[j % 4],
                color=f"C{j}",
                label=f"{label} (n={len(z)})",
            )
        ax.set_xlim(-0.03, 1.03)
        ax.set_ylim(-0.03, 1.03)
        ax.set_xticks([0, 0.25, 0.5, 0.75, 1])
        ax.set_yticks([0, 0.25, 0.5, 0.75, 1])
        ax.tick_params(labelsize=6)
        ax.set_xlabel(f"{axes[a]} (0 = low pole, 1 = high)", fontsize=7)
        ax.set_ylabel(axes[b] if k > 1 else "", fontsize=7)
        ax.grid(alpha=0.25)
        if n == 0:
            ax.legend(fontsize=6, loc="best")
    for n in range(len(pairs), rows * cols):
        grid[n // cols][n % cols].axis("off")
    fig.suptitle(
        f"Personas on {stage} context '{context_id}'\nevery pair of its {k} axes"
        + (SIM_TAG if simulated else ""),
        fontsize=10,
    )
    return _saved(fig, path)


# ----------------------------------------------------------------------------- markdown


def _num(x: Any, digits: int = 4) -> str:
    """``x`` with ``digits`` decimals; "–" when it is missing or not finite."""
    try:
        f = float(x)
    except (TypeError, ValueError):
        return "–"
    return f"{f:.{digits}f}" if np.isfinite(f) else "–"


def _signed(x: Any, digits: int = 3) -> str:
    """``x`` with its sign and ``digits`` decimals; "–" when it is None."""
    return "–" if x is None else f"{float(x):+.{digits}f}"


def _metric(values: Mapping[str, Any] | None, name: str, italic: bool = False) -> str:
    """One metric cell of a means table (a reference row is italic and needs a finite value)."""
    if not values or values.get(name) is None or (italic and not np.isfinite(values[name])):
        return "–"
    return f"*{values[name]:.4f}*" if italic else f"{values[name]:.4f}"


def _triple(spread: Sequence[float] | None) -> str:
    """min / median / max of a spread cell, or "–"."""
    return "–" if spread is None else f"{spread[0]:.3f} / {spread[1]:.3f} / {spread[2]:.3f}"


def _md(text: Any) -> str:
    """Text safe inside a markdown table cell or line (no pipes, no newlines)."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _when(ts: Any) -> str:
    import datetime as dt

    try:
        return dt.datetime.fromtimestamp(float(ts)).strftime("%Y-%m-%d %H:%M:%S")
    except (TypeError, ValueError, OSError):
        return "–"


def _pairs(mapping: Mapping[str, Any], sep: str = " ") -> str:
    """``k v, k v`` (or ``k=v`` with ``sep="="``), "–" when empty."""
    return ", ".join(f"{k}{sep}{v}" for k, v in mapping.items()) or "–"


def _robust_view(robust: Mapping[str, Any] | None) -> dict[str, Any]:
    """The robust-selection section's verdict and rows (best worst-world gain first)."""
    if not robust:
        return {"robust_verdict": "", "robust_rows": []}
    chosen, incumbent = robust["chosen"], robust.get("incumbent")
    if chosen != incumbent:
        verdict = f"replaced `{str(incumbent)[:12]}` by `{chosen[:12]}`"
    elif robust.get("tests"):
        verdict = (
            f"kept the champion of the races: no challenger's worst-world advantage was confident at "
            f"{robust.get('confidence', 0.8) * 100:g} %"
        )
    else:
        verdict = "kept the champion of the races: no candidate had a better worst world"
    seeds = set(robust.get("seeds") or ())
    rows = [
        {
            "pid": pid,
            "gains": gains,
            "worst": robust["worst"][pid],
            "tag": " (champion)" if pid == chosen else " (seed)" if pid in seeds else "",
        }
        for pid, gains in sorted(robust["gain"].items(), key=lambda kv: -robust["worst"][kv[0]])
    ]
    return {"robust_verdict": verdict, "robust_rows": rows}


def _budget_rows(budget: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """Each cap's used and limit as text (dollars and minutes with 2 decimals)."""
    rows = []
    for b in budget:
        money = b["cap"] in ("dollars", "minutes")
        used = f"{b['used']:.2f}" if money else f"{int(b['used'])}"
        limit = "no cap" if b["limit"] is None else (f"{b['limit']:.2f}" if money else f"{int(b['limit'])}")
        rows.append({"cap": b["cap"], "used": used, "limit": limit})
    return rows


@functools.lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    """The report templates (``evolve/outputs/report/report_templates``): markdown, no autoescaping (the
    text is markdown; cells go through ``md``), undefined names are errors."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=False,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        num=_num,
        signed=_signed,
        metric=_metric,
        triple=_triple,
        md=_md,
        when=_when,
        g=lambda x: f"{x:g}",
        code=lambda x: f"`{x}`",
    )
    env.globals.update(
        REPORT_SIM_NOTE=REPORT_SIM_NOTE,
        weak_sandbox_report=weak_sandbox_report,
        IN_PROCESS_RESPONDENT=IN_PROCESS_RESPONDENT,
        pairs=_pairs,
        metric_names=list(METRIC_NAMES),
        interval_basis=interval_basis,
        addressed_line=addressed_line,
        percent=lambda x: f"{float(x) * 100:g}",
        dominated_shown=DOMINATED_SHOWN,
        sim_tokens_line=SIM_TOKENS_LINE,
    )
    return env


def render_template(source: str, **context: Any) -> str:
    """``source`` (template text that may import the report's templates, e.g. the tables of
    ``tables.md.j2``) rendered with the report's filters and names: how a test or another
    output reuses one piece of the report without a whole run's content."""
    return _environment().from_string(source).render(**context)


def render_markdown(content: Mapping[str, Any], *, images: Mapping[str, str] | None = None) -> str:
    """The markdown of :func:`evolve.outputs.report.content.build_report`'s content, from the
    template ``report_templates/report.md.j2``; ``images`` maps plot names (fitness, grid,
    test_metrics, personas) to files placed where they belong."""
    c = content
    cfg = c["config"]
    return (
        _environment()
        .get_template("report.md.j2")
        .render(
            c=c,
            counts=c["counts"],
            cfg=cfg,
            champ=c["champion"] or {},
            images=dict(images or {}),
            by_stage=", ".join(f"{s} {n}" for s, n in c["counts"]["stored_by_stage"].items()),
            screen=(cfg.get("sections", {}).get("cascade") or {}).get("screen_contexts"),
            robust=c.get("robust"),
            **_robust_view(c.get("robust")),
            stages={t["stage"]: t for t in c["stages"]},
            front=c.get("cost_front"),
            budget_rows=_budget_rows(c["budget"]),
            history=history_lines(c),
            staged=render_spend_lines(c.get("spend_by_stage")),
            in_process_respondent=(
                cfg["models"].get("respondent") == "sim"
                and not any(s["role"] == "respondent" for s in c["spend"])
            ),
        )
    )


def _test_metrics(content: Mapping[str, Any]) -> dict[str, Any]:
    t = next((t for t in content["stages"] if t["stage"] == "test"), None)
    return {r["label"]: r["means"] for r in (t["rows"] if t else ())}


def _persona_plot(
    reader: Any, content: Mapping[str, Any], out_dir: Path, simulated: bool, context: Any = None
) -> Path | None:
    """personas.png for the champion and seed:sobol on a test context (``context`` if
    given, else the champion's first test context)."""
    from evolve.outputs.inspect.source import Source

    champ = content["champion"]
    if not champ:
        return None
    programs = {"champion": champ["id"]}
    sobol = next((s for s in reader.seeds() if s.label == "seed:sobol"), None)
    if sobol is not None and sobol.id != champ["id"]:
        programs["seed:sobol"] = sobol.id
    test = reader.latest_evaluation(champ["id"], "test")
    if test is None:
        return None
    cid = getattr(context, "id", None) or next(
        (c.context_id for c in test.contexts if c.positions is not None), None
    )
    if cid is None:
        return None
    pops: dict[str, np.ndarray] = {}
    for label, pid in programs.items():
        ev = reader.latest_evaluation(pid, "test")
        for c in ev.contexts if ev else ():
            if c.context_id == cid and c.positions is not None:
                pops[label] = c.positions
    if not pops:
        return None
    k = next(iter(pops.values())).shape[1]
    names = (
        tuple(context.axis_names)
        if context is not None and len(context.axis_names) == k
        else Source.of(reader).context_axes(cid, k)
    )
    return plot_personas(pops, names, cid, out_dir / "personas.png", simulated=simulated)


def write_report(archive: Any, summary: Mapping[str, Any], *, out_dir: Path, contexts: Any = None) -> Path:
    """Write ``report.md`` and its PNGs into ``out_dir``; returns the markdown path.

    Reads the run through a read-only :class:`archive.reader.ArchiveReader` on
    ``summary["db"]`` (else ``archive.url``) at ``archive.run_id``; ``summary`` adds what
    only the run knows: the stop reason and the references over its configured contexts.
    """
    from archive.reader import ArchiveReader
    from evolve.outputs.report.content import build_report

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    db = summary.get("db") or getattr(archive, "url", None)
    if db is None:
        raise ValueError("write_report: no archive path (summary['db'] or archive.url)")
    with ArchiveReader.open(db, run_id=getattr(archive, "run_id", None)) as reader:
        content = build_report(
            reader, references=summary.get("references"), stop_reason=summary.get("stop_reason")
        )
        simulated = bool(summary.get("simulated", content["simulated"]))
        content["simulated"] = simulated
        images = {
            "fitness": plot_fitness(
                reader, out_dir / "fitness.png", simulated=simulated, objective=content["config"]["objective"]
            ).name,
            "grid": plot_grid(reader, out_dir / "grid.png", simulated=simulated).name,
        }
        test = _test_metrics(content)
        if test:
            refs = (content["references"] or {}).get("test")
            images["test_metrics"] = plot_test_bars(
                test, out_dir / "test_metrics.png", simulated=simulated, references=refs
            ).name
            first = (getattr(contexts, "test", None) or [None])[0]
            personas = _persona_plot(reader, content, out_dir, simulated, first)
            if personas is not None:
                images["personas"] = personas.name
    path = out_dir / "report.md"
    path.write_text(visible(render_markdown(content, images=images)), encoding="utf-8")
    return path
