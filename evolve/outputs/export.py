"""``persona-evolve export``: write a stored program as a standalone Python module.

The module holds, in order: a comment header with provenance (run, program, lineage
length, scores on validation and test, models, date; a loud SIMULATED warning when the
run used the sim world), the program's code verbatim (EVOLVE-BLOCK markers kept), and a
small runner: an ``llm`` adapter over litellm (imported only when a real model is called)
and ``main()``::

    python FILE.py --context ctx.json -n 25 --model openai/gpt-4o-mini --out personas.jsonl

It needs only the standard library, numpy (and whatever the program imports, e.g. scipy)
and litellm for a real model; it never imports persona-evolve except for ``--model sim``.
The runner is :mod:`evolve.outputs.export_runner`, copied verbatim (a real, tested module shared by
both formats); ``--format concordia`` adds a class following Concordia's persona-generator
protocol.
Nothing runs at import time, so the file is also a valid generator for
``persona-evolve generate --generator FILE.py`` (the sandbox imports it as a module).
"""

from __future__ import annotations

import ast
import datetime as dt
import os
import pprint
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archive.records import METRIC_NAMES
from evolve.outputs.inspect.jsonout import clean
from evolve.outputs.inspect.render import METRIC_TITLES
from evolve.outputs.inspect.source import InspectError, Source, open_source
from evolve.outputs.safe_text import visible

DEFAULT_API_KEY_ENV = "OPENAI_API_KEY"
#: Name of the entry point when the program does not define one itself.
ENTRY = "main"
FALLBACK_ENTRY = "persona_evolve_main"


class ExportError(Exception):
    """The program cannot be exported; the message is one line."""


@dataclass(frozen=True)
class ExportResult:
    """What ``export_program`` wrote. ``entry`` is the name of the runner function
    (``main`` unless the program already defines ``main``)."""

    path: Path
    program_id: str
    run_id: int
    simulated: bool
    entry: str
    lineage_length: int
    #: with --max-tokens-per-persona: the chosen program's row of the cost front
    #: (``evolve.outputs.inspect.front.best_under_cost``), else None
    cost: dict[str, Any] | None = None


def select_program(
    src: Source,
    *,
    best: bool = False,
    program: str | None = None,
    max_tokens_per_persona: float | None = None,
) -> str:
    """Id of the program to export: the champion (best on validation, else on train) with
    ``best``; the best validated program (validation coverage) using at most
    ``max_tokens_per_persona`` persona-role tokens per persona; else ``program`` (id, unique
    prefix >= 6 chars, or label)."""
    if int(best) + (program is not None) + (max_tokens_per_persona is not None) != 1:
        raise ExportError("give exactly one of --best, --program ID or --max-tokens-per-persona X")
    if max_tokens_per_persona is not None:
        from evolve.outputs.inspect.front import best_under_cost

        try:
            return str(best_under_cost(src, max_tokens_per_persona)["id"])
        except InspectError as exc:
            raise ExportError(f"--max-tokens-per-persona: {exc}") from None
    if program is not None:
        try:
            return src.resolve_program(program)
        except InspectError as exc:
            raise ExportError(str(exc)) from None
    champion = src.reader.champion()
    if champion is None:
        raise ExportError(f"--best: run {src.run_id} of {src.db} has no evaluated program yet")
    return champion.program.id


def _scores(src: Source, pid: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for stage, pick in (
        ("train", src.best_evaluation),
        ("validation", src.best_evaluation),
        ("test", src.latest_evaluation),
    ):
        ev = pick(pid, stage)
        if ev is None:
            continue
        out[stage] = {
            "fitness": ev.fitness,
            "contexts": len(ev.contexts),
            "metrics": {name: (ev.metrics or {}).get(name) for name in METRIC_NAMES},
            "error": ev.error,
        }
    return out


def provenance(src: Source, pid: str) -> dict[str, Any]:
    """The facts written into the header and into ``EXPORT_INFO`` of the module."""
    view = src.reader.program(pid)
    chain = src.reader.lineage(pid).steps
    run = src.reader.run()
    info = {"id": run.id, "status": str(run.status), "seed": run.seed}
    versions = dict(run.versions)
    mutation_models = sorted({v.mutation.model for v in chain if v.mutation is not None and v.mutation.model})
    return clean(
        {
            "program": {
                "id": view.id,
                "label": view.label,
                "generation": view.generation,
                "island": view.island,
            },
            "run": {"id": info["id"], "status": info["status"], "seed": info["seed"], "db": str(src.db)},
            "lineage_length": len(chain),
            "lineage_root": {"id": chain[-1].id, "label": chain[-1].label} if chain else None,
            "simulated": src.simulated(),
            "weak_sandbox": src.reader.weak_sandbox(),
            "scores": _scores(src, pid),
            "models": src.models(),
            "mutation_models": mutation_models,
            "exported_at": dt.datetime.now(dt.timezone.utc)
            .replace(microsecond=0)
            .isoformat()
            .replace("+00:00", "Z"),
            "persona_evolve_version": versions.get("persona-evolve", "unknown"),
        }
    )


def _score_lines(scores: dict[str, Any]) -> list[str]:
    titles = ["stage", "contexts", "fitness", *(METRIC_TITLES[m] for m in METRIC_NAMES)]
    rows = []
    for stage in ("validation", "test", "train"):
        s = scores.get(stage)
        if not s:
            continue
        vals = [s["fitness"], *(s["metrics"].get(m) for m in METRIC_NAMES)]
        rows.append([stage, str(s["contexts"]), *("-" if v is None else f"{v:.4f}" for v in vals)])
    if not rows:
        return ["  (no evaluation stored)"]
    widths = [max(len(r[i]) for r in [titles, *rows]) for i in range(len(titles))]
    return [
        "  " + "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
        for r in [titles, *rows]
    ]


def render_header(
    info: dict[str, Any], *, filename: str, api_key_env: str, entry: str, fmt: str = "module"
) -> str:
    """The comment block at the top of the exported module."""
    bar = "# " + "=" * 78
    p, run = info["program"], info["run"]
    lines = [bar, "# persona-evolve export: a standalone persona generator", "#"]
    if info["simulated"]:
        lines += [
            "# !!! SIMULATED SCORES !!!",
            "# The scores below were measured in persona-evolve's SIMULATED world (model 'sim'),",
            "# a deterministic test bed with known pathologies, NOT a real LLM. They do not say",
            "# how this generator performs with a real model: re-score it before relying on it.",
            "#",
        ]
    if info.get("weak_sandbox"):
        lines += [
            (
                f"# !!! WEAK SANDBOX: the run's programs ran without {', '.join(info['weak_sandbox'])} "
                "(--weak-sandbox) !!!"
            ),
            "#",
        ]
    label = f" ({p['label']})" if p.get("label") else ""
    root = info.get("lineage_root") or {}
    root_txt = root.get("label") or root.get("id") or "-"
    lines += [
        f"# program:   {p['id']}{label}, generation {p['generation']}, island {p['island']}",
        f"# lineage:   {info['lineage_length']} programs back to {root_txt}",
        f"# run:       {run['id']} ({run['status']}), seed {run['seed']}, archive {run['db']}",
        "# models:    " + (", ".join(f"{r}={m}" for r, m in info["models"].items()) or "-"),
        "# mutations: " + (", ".join(info["mutation_models"]) or "-"),
        f"# exported:  {info['exported_at']} by persona-evolve {info['persona_evolve_version']}",
        "#",
        "# scores (mean over the stage's contexts; disp and kl: lower is better):",
        *("#" + line for line in _score_lines(info["scores"])),
        "#",
        "# use:",
        f"#   python {filename} --context ctx.json -n 25 --model openai/gpt-4o-mini --out personas.jsonl",
        f"#   (API key from ${api_key_env}, or --api-key-env NAME; --api-base URL for a local",
        "#   OpenAI-compatible server; --seed S for the program's rng; --model sim needs persona-evolve)",
        f"#   from a script: from {Path(filename).stem} import generate   # generate(context, n, llm, rng)",
        f"#   as a generator: persona-evolve generate --generator {filename} --context ID --model sim",
        "# needs: numpy (+ what the program imports, e.g. scipy); litellm only for a real model.",
    ]
    if fmt == "concordia":
        lines += [
            "#",
            f"# Concordia: {CONCORDIA_CLASS}(model) follows Concordia's PersonaGenerator protocol",
            (
                "#   (stage 1 generate_diverse_persona_characteristics, stage 2 "
                "generate_single_persona_memories);"
            ),
            f"#   e.g. PersonaInitializer(model=model, generator={CONCORDIA_CLASS}(model), ...).",
        ]
    if entry != ENTRY:
        lines.append(f"# the program defines its own main(): the runner's entry point is {entry}().")
    lines += [bar, ""]
    return "\n".join(lines)


RUNNER_MARKER = "# ---- PE-RUNNER: everything below is copied into exported modules ----"
CONCORDIA_CLASS = "PersonaEvolveGenerator"
FORMATS = ("module", "concordia")


def runner_source() -> str:
    """The runner part of :mod:`evolve.outputs.export_runner` (below its marker), verbatim."""
    text = (Path(__file__).resolve().parent / "export_runner.py").read_text(encoding="utf-8")
    at = text.index(RUNNER_MARKER)
    return text[at + len(RUNNER_MARKER) :].lstrip("\n")


def _tail(info: dict[str, Any], *, api_key_env: str, entry: str, fmt: str, class_name: str) -> str:
    parts = [
        "",
        "# " + "=" * 78,
        "# persona-evolve export: the runner (evolve/outputs/export_runner.py, verbatim; imports nothing at",
        "# module level, so importing this file only defines names)",
        "# " + "=" * 78,
        "",
        runner_source().rstrip("\n"),
        "",
        "",
        f"EXPORT_INFO = {pprint.pformat(info, indent=1, width=100, sort_dicts=False)}",
        f"_PE_API_KEY_ENV = {api_key_env!r}",
        "",
        "",
        f"def {entry}(argv=None):",
        '    """Command line: python THIS_FILE.py --context ctx.json -n 25 --model MODEL [--out FILE]."""',
        "    return _pe_main(argv, generate, EXPORT_INFO, _PE_API_KEY_ENV)",
        "",
    ]
    if fmt == "concordia":
        parts += [
            "",
            f"class {class_name}(_PEConcordiaGenerator):",
            '    """Concordia persona generator (the PersonaGenerator protocol of',
            "    concordia/contrib/components/game_master/persona_generation.py): build it with a",
            "    concordia LanguageModel; stage 1 runs the evolved generate() through it, stage 2",
            '    returns each persona\'s description and memories."""',
            "",
            "    _pe_generate = staticmethod(generate)",
            "",
        ]
    parts += ["", 'if __name__ == "__main__":', f"    raise SystemExit({entry}())", ""]
    return "\n".join(parts)


def _top_level_names(code: str) -> set[str]:
    names: set[str] = set()
    for node in ast.parse(code).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                names.update(n.id for n in ast.walk(t) if isinstance(n, ast.Name))
    return names


def render_module(
    code: str,
    info: dict[str, Any],
    *,
    filename: str,
    api_key_env: str = DEFAULT_API_KEY_ENV,
    fmt: str = "module",
) -> tuple[str, str]:
    """(module text, entry-point name) for program ``code`` with provenance ``info``.
    ``fmt`` ``"concordia"`` also defines the Concordia generator class
    :data:`CONCORDIA_CLASS` (see :class:`evolve.outputs.export_runner._PEConcordiaGenerator`)."""
    if fmt not in FORMATS:
        raise ExportError(f"--format: {fmt!r} is not one of {', '.join(FORMATS)}")
    try:
        taken = _top_level_names(code)
    except SyntaxError as exc:
        raise ExportError(f"the stored program does not parse (line {exc.lineno}: {exc.msg})") from None
    if "generate" not in taken:
        raise ExportError("the stored program defines no top-level generate()")
    entry = FALLBACK_ENTRY if ENTRY in taken else ENTRY
    runner = _tail(info, api_key_env=api_key_env, entry=entry, fmt=fmt, class_name=CONCORDIA_CLASS)
    clash = (_top_level_names(runner) - {entry}) & taken
    if entry in taken or clash:
        raise ExportError(
            f"the program defines {', '.join(sorted(clash or {entry}))}, "
            "which the export runner needs; rename it in the program"
        )
    body = code if code.endswith("\n") else code + "\n"
    # the header quotes labels and lineage notes a program may have shaped: shown, never acted on
    text = (
        visible(render_header(info, filename=filename, api_key_env=api_key_env, entry=entry, fmt=fmt))
        + body
        + runner
    )
    try:
        compile(text, filename, "exec", dont_inherit=True)
    except SyntaxError as exc:  # pragma: no cover - both parts parse on their own
        raise ExportError(f"the exported module does not compile (line {exc.lineno}: {exc.msg})") from None
    return text, entry


def export_program(
    db: str | os.PathLike[str],
    *,
    out: str | os.PathLike[str],
    best: bool = False,
    program: str | None = None,
    api_key_env: str = DEFAULT_API_KEY_ENV,
    run_id: int | None = None,
    fmt: str = "module",
    max_tokens_per_persona: float | None = None,
) -> ExportResult:
    """Export the champion (``best``) or ``program`` of ``db`` to the file ``out``.

    Raises ExportError (one line) for an unknown/ambiguous id, an empty run, or a file
    that cannot be written. The archive is opened read-only.
    """
    if not api_key_env or not api_key_env.replace("_", "").isalnum():
        raise ExportError(f"--api-key-env: {api_key_env!r} is not an environment variable name")
    path = Path(out)
    if path.suffix != ".py":
        raise ExportError(f"--out: {path} must end in .py (it is a Python module)")
    try:
        with open_source(db, run_id=run_id) as src:
            pid = select_program(
                src, best=best, program=program, max_tokens_per_persona=max_tokens_per_persona
            )
            cost = None
            if max_tokens_per_persona is not None:
                from evolve.outputs.inspect.front import best_under_cost

                cost = best_under_cost(src, max_tokens_per_persona)
            view = src.reader.program(pid)
            info = provenance(src, pid)
    except InspectError as exc:
        raise ExportError(str(exc)) from None
    text, entry = render_module(view.code, info, filename=path.name, api_key_env=api_key_env, fmt=fmt)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ExportError(f"--out: cannot write {path}: {exc.strerror or exc}") from None
    return ExportResult(
        path=path,
        program_id=pid,
        run_id=int(info["run"]["id"]),
        simulated=bool(info["simulated"]),
        entry=entry,
        lineage_length=int(info["lineage_length"]),
        cost=cost,
    )
