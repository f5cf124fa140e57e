"""The end-of-run report: ``report.md`` plus PNG plots in the run's folder.

The content comes from :func:`evolve.report_content.build_report`, read from the archive
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

import itertools
from pathlib import Path
from typing import Any, Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from archive.binning import bin_labels  # noqa: E402
from archive.reader import ArchiveReader  # noqa: E402
from evolve.inspect.addressed import addressed_line  # noqa: E402
from evolve.inspect.history import history_lines  # noqa: E402
from evolve.inspect.render import interval_basis  # noqa: E402
from evolve.safe_text import visible
from evolve.spend import render_spend_lines
from metrics import METRIC_NAMES  # noqa: E402

IN_PROCESS_RESPONDENT = ("The respondent is the sim, which answers every questionnaire in process, with no "
                         "model call: it has no row of calls, tokens or dollars.")
"""Why a sim run's spend shows no respondent row (report and live panel)."""
SIM_NOTE = "> **SIMULATED WORLD** (model `sim`): every figure here comes from the labelled test bed, not a real LLM."
ARROW = {name: ("↓" if name in ("dispersion", "kl_divergence") else "↑") for name in METRIC_NAMES}


# ----------------------------------------------------------------------------- plots


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
            ax.hlines(s.fitness, 0, end, colors="0.4", linestyles=("--", ":", "-.")[i % 3], linewidth=1,
                      label=f"{s.label or s.id} (seed)")
    ax.set_xlabel("evaluations (proposed programs fully evaluated on the train contexts)")
    ax.set_ylabel(f"train fitness ({objective}, mean over contexts)")
    ax.set_xlim(left=0)
    ax.grid(alpha=0.3)
    ax.set_title("Fitness over evaluations" + (" [SIMULATED]" if simulated else ""))
    ax.legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_grid(reader: ArchiveReader, path: Path, *, simulated: bool = False) -> Path:
    """Heatmap of elite fitness per island over the first two descriptors, bins labelled by
    their value ranges and each filled cell by its fitness."""
    config = reader.config
    specs = config.descriptors
    islands = range(config.islands)
    shape = (specs[0].bins, specs[1].bins if len(specs) > 1 else 1)
    fig, axes = plt.subplots(1, len(islands), figsize=(1.6 + 0.62 * shape[0] * len(islands) + 1.2 * len(islands),
                                                       2.0 + 0.42 * shape[1]), squeeze=False)
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
        im = ax.imshow(np.ma.masked_invalid(data.T), origin="lower", aspect="auto", cmap="viridis",
                       vmin=lo, vmax=hi if hi > lo else lo + 1e-9)
        for x in range(shape[0]):
            for y in range(shape[1]):
                if not np.isnan(data[x, y]):
                    ax.text(x, y, f"{data[x, y]:.2f}", ha="center", va="center", fontsize=6,
                            color="white" if data[x, y] < (lo + hi) / 2 else "black")
        ax.set_xticks(range(shape[0]), xlabels, rotation=60, ha="right", fontsize=6)
        ax.set_yticks(range(shape[1]), ylabels, fontsize=6)
        ax.set_xlabel(specs[0].name + (" (log bins)" if specs[0].log else ""), fontsize=8)
        ax.set_ylabel((specs[1].name + (" (log bins)" if specs[1].log else "")) if len(specs) > 1 else "", fontsize=8)
        filled = int((~np.isnan(data)).sum())
        ax.set_title(f"island {i}: {filled}/{data.size} cells", fontsize=9)
    fig.colorbar(im, ax=list(axes[0]), shrink=0.85, label="elite train fitness")
    extra = f" (best over {', '.join(d.name for d in specs[2:])})" if len(specs) > 2 else ""
    fig.suptitle("Elite grid: train fitness per cell" + extra + (" [SIMULATED]" if simulated else ""), fontsize=10)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def plot_test_bars(test: Mapping[str, Any], path: Path, *, simulated: bool,
                   references: Mapping[str, Any] | None = None) -> Path:
    """Bars of the six test metrics per program, each labelled with its value;
    ``references`` (``{"floor": {six}, "random": {six}}``) drawn as a dashed (floor) and a
    dotted (random) line."""
    labels = [k for k, v in test.items() if v]
    fig, axes = plt.subplots(1, len(METRIC_NAMES), figsize=(17, 3.8))
    for ax, name in zip(axes, METRIC_NAMES):
        values = [float((test[k] or {}).get(name, np.nan)) for k in labels]
        bars = ax.bar(range(len(labels)), values, color=[f"C{i}" for i in range(len(labels))])
        ax.bar_label(bars, labels=[f"{v:.3f}" if np.isfinite(v) else "–" for v in values], fontsize=6, padding=1)
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
    fig.suptitle("Test contexts: champion vs seeds (dashed: floor, dotted: random; ↑ higher is better, ↓ lower)"
                 + (" [SIMULATED]" if simulated else ""), fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_personas(populations: Mapping[str, np.ndarray], axes: Sequence[str], context_id: str, path: Path, *,
                  simulated: bool, stage: str = "test") -> Path:
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
            ax.scatter(z[:, a], z[:, b] if k > 1 else np.zeros(len(z)), s=16, alpha=0.7, marker=markers[j % 4],
                       color=f"C{j}", label=f"{label} (n={len(z)})")
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
    fig.suptitle(f"Personas on {stage} context '{context_id}'\nevery pair of its {k} axes"
                 + (" [SIMULATED]" if simulated else ""), fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# ----------------------------------------------------------------------------- markdown


def _num(x: Any, digits: int = 4) -> str:
    try:
        f = float(x)
    except (TypeError, ValueError):
        return "–"
    return f"{f:.{digits}f}" if np.isfinite(f) else "–"


def _table(rows: Mapping[str, Any], references: Mapping[str, Any] | None = None) -> list[str]:
    """Markdown table of the six metrics per program, plus the reference rows (italic)."""
    lines = ["| program | " + " | ".join(METRIC_NAMES) + " |", "|---|" + "---|" * len(METRIC_NAMES)]
    for label, m in rows.items():
        cells = [f"{m[name]:.4f}" if m and m.get(name) is not None else "–" for name in METRIC_NAMES]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    for kind, label in (("floor", "*floor: n × centre*"), ("random", "*random: n uniform*")):
        m = (references or {}).get(kind)
        if m:
            cells = [f"*{m[name]:.4f}*" if m.get(name) is not None and np.isfinite(m[name]) else "–"
                     for name in METRIC_NAMES]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def _spread_table(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """Markdown table: per program and metric, min / median / max across contexts."""
    lines = ["| program (contexts) | " + " | ".join(METRIC_NAMES) + " |", "|---|" + "---|" * len(METRIC_NAMES)]
    for r in rows:
        cells = []
        for name in METRIC_NAMES:
            s = r["spread"].get(name)
            cells.append("–" if s is None else f"{s[0]:.3f} / {s[1]:.3f} / {s[2]:.3f}")
        lines.append(f"| {r['label']} ({r['contexts']}) | " + " | ".join(cells) + " |")
    return lines


def _reference_note(refs: Mapping[str, Any] | None) -> list[str]:
    if not refs:
        return []
    fit = ""
    for stage in ("validation", "test"):
        f = (refs.get(stage) or {}).get("fitness")
        if f:
            fit += f" {stage} fitness: floor {f['floor']:.4f}, random {f['random']:.4f}."
    return [f"Reference rows (no model involved; n = {refs.get('n')}, {refs.get('mc_samples')} Monte Carlo "
            f"points): *floor* = n identical personas at the centre of the axis cube (a program that writes "
            f"one persona n times scores this); *random* = n uniform random positions, mean of "
            f"{refs.get('random_seeds')} draws (a search should beat it).{fit}", ""]


def _md(text: Any) -> str:
    """Text safe inside a markdown table cell or line (no pipes, no newlines)."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _when(ts: Any) -> str:
    import datetime as dt

    try:
        return dt.datetime.fromtimestamp(float(ts)).strftime("%Y-%m-%d %H:%M:%S")
    except (TypeError, ValueError, OSError):
        return "–"


def _robust_section(robust: Mapping[str, Any] | None) -> list[str]:
    """The report's robust-selection section: the worlds the champion was chosen on and
    each candidate's gain over the best seed program per world (empty when none ran)."""
    if not robust:
        return []
    worlds = list(robust["worlds"])
    chosen, incumbent = robust["chosen"], robust.get("incumbent")
    tests = robust.get("tests") or {}
    if chosen != incumbent:
        verdict = f"replaced `{str(incumbent)[:12]}` by `{chosen[:12]}`"
    elif tests:
        verdict = (f"kept the champion of the races: no challenger's worst-world advantage was confident at "
                   f"{robust.get('confidence', 0.8) * 100:g} %")
    else:
        verdict = "kept the champion of the races: no candidate had a better worst world"
    lines = ["## Robust selection across simulated worlds", "",
             f"The champion was chosen on the validation contexts in {len(worlds)} SIMULATED worlds "
             f"({', '.join(f'`{w}`' for w in worlds)}): a program replaces the champion of the races only when "
             f"its worst-world gain over the best seed program is larger with confidence ({verdict}). "
             f"Gain over the best seed program per world:", "",
             "| program | " + " | ".join(worlds) + " | worst |", "|---|" + "---|" * (len(worlds) + 1)]
    seeds = set(robust.get("seeds") or ())
    for pid, gains in sorted(robust["gain"].items(), key=lambda kv: -robust["worst"][kv[0]]):
        tag = " (champion)" if pid == chosen else " (seed)" if pid in seeds else ""
        lines.append(f"| `{pid[:12]}`{tag} | " + " | ".join(f"{gains[w]:+.3f}" for w in worlds)
                     + f" | {robust['worst'][pid]:+.3f} |")
    return lines + [""]


def render_markdown(content: Mapping[str, Any], *, images: Mapping[str, str] | None = None) -> str:
    """The markdown of :func:`evolve.report_content.build_report`'s content; ``images`` maps
    plot names (fitness, grid, test_metrics, personas) to files placed where they belong."""
    images = dict(images or {})
    c = content
    counts, cfg = c["counts"], c["config"]
    champ = c["champion"] or {}
    lines = ["# persona-evolve run report", ""]
    if c["simulated"]:
        lines += [SIM_NOTE, ""]
        if c.get("world", "default") != "default":
            lines += [f"> Simulated world: `{c['world']}` (`persona-evolve worlds` says how it differs from the "
                      "default).", ""]
    if c.get("weak_sandbox"):
        lines += [f"> **WEAK SANDBOX**: programs of this run ran without {', '.join(c['weak_sandbox'])} "
                  f"(`--weak-sandbox`); an LLM-written program was not fully confined by the kernel.", ""]
    by_stage = ", ".join(f"{s} {n}" for s, n in counts["stored_by_stage"].items())
    lines += [
        f"- archive: `{c['db']}` (run {c['run']['id']}, {c['run']['status']}; started {_when(c['run']['created_at'])}, "
        f"updated {_when(c['run']['updated_at'])})",
        f"- evaluations: {counts['evaluations']} (proposed programs fully evaluated on the train contexts: the unit of "
        f"the budget and of the run's output); stored evaluations: {counts['stored_evaluations']}"
        + (f" ({by_stage}; seeds included)" if by_stage else ""),
        *([f"- train fitness: the mean over a screening set of {screen} train contexts, the same for every "
           f"program, races included (`cascade.screen_contexts`)"]
          if (screen := (cfg.get("sections", {}).get("cascade") or {}).get("screen_contexts")) else []),
        f"- programs stored: {counts['programs']}, elites: {counts['elites']}",
        f"- stopped by: {c['stop_reason'] or '–'}",
        f"- champion: `{champ.get('id', '-')}`" + (f" ({champ['label']})" if champ.get("label") else "")
        + (f", chosen on {champ['stage']} (fitness {_num(champ['fitness'])}), generation {champ['generation']}, "
           f"island {champ['island']}" if champ else ""),
        *([f"- champion's validation fitness over {interval_basis(champ['interval'])}: "
           f"mean {_num(champ['interval']['mean'])} "
           f"[{_num(champ['interval']['low'])}, {_num(champ['interval']['high'])}] "
           f"({float(champ['interval']['confidence']) * 100:g} % interval; a promotion race, not one draw)"]
          if champ.get("interval") else []),
        f"- outcomes: {', '.join(f'{k} {v}' for k, v in counts['statuses'].items()) or '–'}",
        f"- rejections: {', '.join(f'{k} {v}' for k, v in counts['rejections'].items()) or '–'}",
        *([f"- {addressed_line(c['addressed'])}"] if c.get("addressed") is not None else []),
        "",
    ]
    lines += _robust_section(c.get("robust"))
    tables = {t["stage"]: t for t in c["stages"]}
    titles = {"validation": "## Validation (champion chosen here)", "test": "## Test (used once, at the end)"}
    for stage in ("validation", "test"):
        t = tables.get(stage) or {"rows": [], "references": None}
        lines += [titles[stage], "", f"Mean of each metric over the {stage} contexts:", "",
                  *_table({r["label"]: r["means"] for r in t["rows"]}, t["references"]), ""]
        if t["rows"]:
            lines += [f"Spread across the {stage} contexts (min / median / max):", "", *_spread_table(t["rows"]), ""]
    lines += _reference_note(c["references"])
    if "fitness" in images:
        lines += [f"![fitness over evaluations]({images['fitness']})", ""]
    if "grid" in images:
        lines += [f"![elite grid]({images['grid']})", ""]
    if "test_metrics" in images:
        lines += [f"![test metrics]({images['test_metrics']})", ""]
    if "personas" in images:
        lines += [f"![personas]({images['personas']})", ""]
    lin = c.get("lineage")
    if lin:
        lines += ["## Champion lineage", "",
                  f"From its seed to the champion ({len(lin['steps'])} programs"
                  + ("" if lin["complete"] else f"; ends at missing ancestor `{lin['missing_parent']}`") + "); "
                  "fitness = best train fitness, Δ = change from the parent.", "",
                  "| gen | program | label | island | fitness | Δ | operator | directive | model | tokens |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for s in lin["steps"]:
            delta = "–" if s["delta"] is None else f"{s['delta']:+.4f}"
            lines.append(f"| {s['generation']} | `{s['id']}` | {_md(s['label'] or '')} | {s['island']} | "
                         f"{_num(s['fitness'])} | {delta} | {_md(s['operator'] or '')} | {_md(s['directive'] or '')} | "
                         f"{_md(s['model'] or '')} | {s['tokens']} |")
        lines.append("")
        d = lin.get("diff")
        if d:
            lines += [f"### Diff of the champion against its seed `{d['seed_id']}` ({d['seed_label'] or 'seed'}): "
                      f"{d['added']} lines added, {d['removed']} removed", "", "```diff", *d["lines"]]
            if d["truncated"]:
                lines.append(f"... ({d['truncated']} more lines: persona-evolve inspect diff {d['seed_id']} {champ['id']})")
            lines += ["```", ""]
        elif lin["complete"]:
            lines += ["The champion is a seed program: no diff.", ""]
    if c["extremes"]:
        lines += ["## The champion's most extreme personas", "",
                  "Per context, the personas farthest from the centre of the axis cube (positions 0 = low pole, "
                  "1 = high pole, as the respondent placed them), with an excerpt of their text.", ""]
        for ctx in c["extremes"]:
            lines += [f"### {ctx['context']} ({ctx['stage']})", ""]
            for p in ctx["personas"]:
                where = ", ".join(f"{a} {_num(v, 2)}" for a, v in p["position"].items())
                lines += [f"- **{_md(p['name']) or '(no name)'}** (persona {p['index']}; {where}): {_md(p['excerpt'])}"]
            lines.append("")
    from evolve.report_front import front_markdown

    lines += front_markdown(c.get("cost_front"))
    lines += ["## Configuration", "",
              f"- models: {', '.join(f'{r}={m}' for r, m in cfg['models'].items()) or '–'}",
              "- contexts: " + ("; ".join(f"{s}: {', '.join(v)}" for s, v in cfg["contexts"].items()) or "–"),
              f"- n = {cfg['n']} personas per context, {cfg['mc_samples']} Monte Carlo points, seed {cfg['seed']}, "
              f"{cfg['islands']} islands, fitness = {cfg['objective']}",
              "- descriptors: " + ", ".join(f"{d['name']} [{d['low']:g}, {d['high']:g}] in {d['bins']}"
                                            f"{' log' if d['log'] else ''} bins" for d in cfg["descriptors"])]
    for name, section in cfg["sections"].items():
        lines.append(f"- {name}: " + ", ".join(f"{k}={v}" for k, v in section.items()))
    lines += ["", "## Budget and spend", "", "| cap | used | limit |", "|---|---|---|"]
    for b in c["budget"]:
        used = f"{b['used']:.2f}" if b["cap"] in ("dollars", "minutes") else f"{int(b['used'])}"
        limit = "no cap" if b["limit"] is None else (f"{b['limit']:.2f}" if b["cap"] in ("dollars", "minutes")
                                                     else f"{int(b['limit'])}")
        lines.append(f"| {b['cap']} | {used} | {limit} |")
    lines.append("")
    history = history_lines(c)
    if history:
        lines += [f"- {_md(text)}" for text in history] + [""]
    if c["spend"]:
        lines += ["| role | calls | cached | errors | prompt tokens | completion tokens | cost (USD) | latency (s) |",
                  "|---|---|---|---|---|---|---|---|"]
        for s in [*c["spend"], {"role": "**total**", **c["spend_total"]}]:
            lines.append(f"| {s['role']} | {s['calls']} | {s['cached']} | {s['errors']} | {s['prompt_tokens']} | "
                         f"{s['completion_tokens']} | {s['cost_usd']:.4f} | {s['latency_s']:.1f} |")
    else:
        lines.append("No LLM calls recorded.")
    if cfg["models"].get("respondent") == "sim" and not any(s["role"] == "respondent" for s in c["spend"]):
        lines += ["", IN_PROCESS_RESPONDENT]
    staged = render_spend_lines(c.get("spend_by_stage"))
    if staged:
        lines += ["", "Calls by stage, and what they bought:", "", *(f"- {_md(t.strip())}" for t in staged)]
    lines.append("")
    if champ.get("code"):
        lines += ["## Champion code", "", "```python", champ["code"].rstrip(), "```", ""]
    return "\n".join(lines)


def _test_metrics(content: Mapping[str, Any]) -> dict[str, Any]:
    t = next((t for t in content["stages"] if t["stage"] == "test"), None)
    return {r["label"]: r["means"] for r in (t["rows"] if t else ())}


def _persona_plot(reader: Any, content: Mapping[str, Any], out_dir: Path, simulated: bool,
                  context: Any = None) -> Path | None:
    """personas.png for the champion and seed:sobol on a test context (``context`` if
    given, else the champion's first test context)."""
    from evolve.inspect.source import Source

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
    cid = getattr(context, "id", None) or next((c.context_id for c in test.contexts if c.positions is not None), None)
    if cid is None:
        return None
    pops: dict[str, np.ndarray] = {}
    for label, pid in programs.items():
        ev = reader.latest_evaluation(pid, "test")
        for c in (ev.contexts if ev else ()):
            if c.context_id == cid and c.positions is not None:
                pops[label] = c.positions
    if not pops:
        return None
    k = next(iter(pops.values())).shape[1]
    names = tuple(context.axis_names) if context is not None and len(context.axis_names) == k \
        else Source.of(reader).context_axes(cid, k)
    return plot_personas(pops, names, cid, out_dir / "personas.png", simulated=simulated)


def write_report(archive: Any, summary: Mapping[str, Any], *, out_dir: Path, contexts: Any = None) -> Path:
    """Write ``report.md`` and its PNGs into ``out_dir``; returns the markdown path.

    Reads the run through a read-only :class:`archive.reader.ArchiveReader` on
    ``summary["db"]`` (else ``archive.url``) at ``archive.run_id``; ``summary`` adds what
    only the run knows: the stop reason and the references over its configured contexts.
    """
    from archive.reader import ArchiveReader
    from evolve.report_content import build_report

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    db = summary.get("db") or getattr(archive, "url", None)
    if db is None:
        raise ValueError("write_report: no archive path (summary['db'] or archive.url)")
    with ArchiveReader.open(db, run_id=getattr(archive, "run_id", None)) as reader:
        content = build_report(reader, references=summary.get("references"), stop_reason=summary.get("stop_reason"))
        simulated = bool(summary.get("simulated", content["simulated"]))
        content["simulated"] = simulated
        images = {"fitness": plot_fitness(reader, out_dir / "fitness.png", simulated=simulated,
                                          objective=content["config"]["objective"]).name,
                  "grid": plot_grid(reader, out_dir / "grid.png", simulated=simulated).name}
        test = _test_metrics(content)
        if test:
            refs = (content["references"] or {}).get("test")
            images["test_metrics"] = plot_test_bars(test, out_dir / "test_metrics.png", simulated=simulated,
                                                    references=refs).name
            first = (getattr(contexts, "test", None) or [None])[0]
            personas = _persona_plot(reader, content, out_dir, simulated, first)
            if personas is not None:
                images["personas"] = personas.name
    path = out_dir / "report.md"
    path.write_text(visible(render_markdown(content, images=images)), encoding="utf-8")
    return path
