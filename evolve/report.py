"""The end-of-run report: ``report.md`` plus PNG plots in the run's folder.

Plots: fitness over evaluations (every evaluation and the running best), the elite
grid of each island, the champion against the three seeds on the six metrics on the
test contexts, and the personas of a test context on two axes for the champion and
``seed:sobol``. A sim run's report says on its first line that it is simulated.

Every table of scores carries two reference rows computed in metric space with no model
(``summary["references"]``, see :func:`evolve.run.run_references` and
:mod:`metrics.references`): the noise floor (n identical personas at the centre of the
axis cube) and the mean of n uniform random positions; the test bar chart draws them as
lines.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from metrics import METRIC_NAMES  # noqa: E402

SIM_NOTE = "> **SIMULATED WORLD** (model `sim`): every figure here comes from the labelled test bed, not a real LLM."


def plot_fitness(archive: Any, path: Path, *, simulated: bool) -> Path:
    from evolve.controller import proposal_evaluations

    events = proposal_evaluations(archive)
    fits = [((e.get("detail") or {}).get("fitness")) for e in events]
    xs = [i + 1 for i, f in enumerate(fits) if f is not None]
    ys = [f for f in fits if f is not None]
    fig, ax = plt.subplots(figsize=(7, 4))
    if ys:
        ax.scatter(xs, ys, s=8, alpha=0.4, label="evaluation")
        ax.plot(xs, np.maximum.accumulate(ys), color="C3", label="best so far")
    ax.set_xlabel("evaluation")
    ax.set_ylabel("train fitness")
    ax.set_title("Fitness over evaluations" + (" [SIMULATED]" if simulated else ""))
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_grid(archive: Any, path: Path, *, island: int | None = None, simulated: bool = False) -> Path:
    """Heatmap(s) of elite fitness over the two descriptors; one panel per island."""
    islands = range(archive.config.islands) if island is None else [island]
    fig, axes = plt.subplots(1, len(islands), figsize=(4.2 * len(islands), 3.8), squeeze=False)
    specs = archive.config.descriptors
    for ax, i in zip(axes[0], islands):
        shape = tuple(d.bins for d in specs[:2]) if len(specs) >= 2 else (specs[0].bins, 1)
        data = np.full(shape, np.nan)
        for elite in archive.grid(i).elites:
            cell = elite.cell
            index = tuple(cell[:2]) if len(cell) >= 2 else (cell[0], 0)
            if np.isnan(data[index]) or elite.fitness > data[index]:
                data[index] = elite.fitness
        im = ax.imshow(data.T, origin="lower", aspect="auto", cmap="viridis")
        ax.set_xlabel(specs[0].name)
        ax.set_ylabel(specs[1].name if len(specs) > 1 else "")
        ax.set_title(f"island {i}")
        fig.colorbar(im, ax=ax, shrink=0.8)
    fig.suptitle("Elite grid (fitness)" + (" [SIMULATED]" if simulated else ""))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_test_bars(test: Mapping[str, Any], path: Path, *, simulated: bool,
                   references: Mapping[str, Any] | None = None) -> Path:
    """Bars of the six test metrics per program; ``references`` (``{"floor": {six},
    "random": {six}}``) are drawn as a dashed (floor) and a dotted (random) line."""
    labels = [k for k, v in test.items() if v]
    fig, axes = plt.subplots(1, len(METRIC_NAMES), figsize=(16, 3.4))
    for ax, name in zip(axes, METRIC_NAMES):
        values = [test[k].get(name, np.nan) for k in labels]
        ax.bar(range(len(labels)), values, color=[f"C{i}" for i in range(len(labels))])
        for kind, style in (("floor", "--"), ("random", ":")):
            value = ((references or {}).get(kind) or {}).get(name)
            if value is not None and np.isfinite(value):
                ax.axhline(value, color="0.3", linestyle=style, linewidth=1, label=kind)
        ax.set_xticks(range(len(labels)), labels, rotation=30, fontsize=8)
        arrow = "↓" if name in ("dispersion", "kl_divergence") else "↑"
        ax.set_title(f"{name} {arrow}", fontsize=9)
    if references:
        axes[0].legend(fontsize=7, loc="best")
    fig.suptitle("Test contexts: champion vs seeds (dashed: floor, dotted: random)" + (" [SIMULATED]" if simulated else ""))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_scatter(archive: Any, programs: Mapping[str, str], context: Any, path: Path, *, simulated: bool) -> Path:
    fig, axes = plt.subplots(1, len(programs), figsize=(4.2 * len(programs), 4), squeeze=False)
    names = context.axis_names
    for ax, (label, pid) in zip(axes[0], programs.items()):
        evs = archive.evaluations(pid, stage="test")
        Z = None
        for ev in evs[-1:]:
            for ctx in ev.contexts:
                if ctx.context_id == context.id and ctx.positions is not None:
                    Z = ctx.positions
        if Z is not None:
            ax.scatter(Z[:, 0], Z[:, 1] if Z.shape[1] > 1 else np.zeros(len(Z)), s=25)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel(names[0])
        ax.set_ylabel(names[1] if len(names) > 1 else "")
        ax.set_title(label)
    fig.suptitle(f"Personas on {context.id}" + (" [SIMULATED]" if simulated else ""))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _table(rows: Mapping[str, Any], references: Mapping[str, Any] | None = None) -> list[str]:
    """Markdown table of the six metrics per program, plus the reference rows (italic)."""
    lines = ["| program | " + " | ".join(METRIC_NAMES) + " |", "|---|" + "---|" * len(METRIC_NAMES)]
    for label, m in rows.items():
        cells = [f"{m[name]:.4f}" if m and name in m else "–" for name in METRIC_NAMES]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    for kind, label in (("floor", "*floor: n × centre*"), ("random", "*random: n uniform*")):
        m = (references or {}).get(kind)
        if m:
            cells = [f"*{m[name]:.4f}*" if m.get(name) is not None and np.isfinite(m[name]) else "–"
                     for name in METRIC_NAMES]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
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


def write_report(archive: Any, summary: Mapping[str, Any], *, out_dir: Path, contexts: Any) -> Path:
    """Write ``report.md`` and its PNGs into ``out_dir``; returns the markdown path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    simulated = bool(summary.get("simulated"))
    champ = summary.get("champion") or {}
    refs = summary.get("references") or {}
    lines = ["# persona-evolve run report", ""]
    if simulated:
        lines += [SIM_NOTE, ""]
    lines += [
        f"- archive: `{summary['db']}`",
        f"- evaluations: {summary['evaluations']}, programs stored: {summary.get('programs')}",
        f"- stopped by: {summary.get('stop_reason')}",
        f"- champion: `{champ.get('id', '-')}`",
        f"- rejections: {summary.get('rejections')}",
        "",
        "## Validation (champion chosen here)",
        *_table({"champion": champ.get("validation"), **{f"seed:{k}": v for k, v in summary.get("seeds", {}).items()}},
                refs.get("validation")),
        "",
        "## Test (used once, at the end)",
        *_table({k if k == "champion" else f"seed:{k}": v for k, v in summary.get("test", {}).items()},
                refs.get("test")),
        "",
        *_reference_note(refs),
    ]
    plot_fitness(archive, out_dir / "fitness.png", simulated=simulated)
    plot_grid(archive, out_dir / "grid.png", simulated=simulated)
    lines += ["![fitness](fitness.png)", "", "![grid](grid.png)", ""]
    if summary.get("test"):
        plot_test_bars(summary["test"], out_dir / "test_metrics.png", simulated=simulated,
                       references=refs.get("test"))
        lines += ["![test metrics](test_metrics.png)", ""]
        programs = {}
        if champ.get("id"):
            programs["champion"] = champ["id"]
        sobol = (summary.get("seed_ids") or {}).get("sobol")
        if sobol:
            programs["seed:sobol"] = sobol
        if programs and contexts.test:
            plot_scatter(archive, programs, contexts.test[0], out_dir / "personas.png", simulated=simulated)
            lines += ["![personas](personas.png)", ""]
    if champ.get("id"):
        lines += ["## Champion code", "", "```python", archive.get_program(champ["id"]).code.rstrip(), "```", ""]
    path = out_dir / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
