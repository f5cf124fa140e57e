"""``persona-evolve export``: write a stored program as a standalone Python module.

The module holds, in order: a comment header with provenance (run, program, lineage
length, scores on validation and test, models, date; a loud SIMULATED warning when the
run used the sim world), the program's code verbatim (EVOLVE-BLOCK markers kept), and a
small runner: an ``llm`` adapter over litellm (imported only when a real model is called)
and ``main()``::

    python FILE.py --context ctx.json -n 25 --model openai/gpt-4o-mini --out personas.jsonl

It needs only the standard library, numpy (and whatever the program imports, e.g. scipy)
and litellm for a real model; it never imports persona-evolve except for ``--model sim``.
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
from evolve.inspect.jsonout import clean
from evolve.inspect.render import METRIC_TITLES
from evolve.inspect.source import InspectError, Source, open_source

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


def select_program(src: Source, *, best: bool = False, program: str | None = None) -> str:
    """Id of the program to export: the champion (best on validation, else on train) with
    ``best``, else ``program`` (id, unique prefix >= 6 chars, or label)."""
    if best == (program is not None):
        raise ExportError("give exactly one of --best or --program ID")
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
    for stage, pick in (("train", src.best_evaluation), ("validation", src.best_evaluation),
                        ("test", src.latest_evaluation)):
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
    return clean({
        "program": {"id": view.id, "label": view.label, "generation": view.generation, "island": view.island},
        "run": {"id": info["id"], "status": info["status"], "seed": info["seed"], "db": str(src.db)},
        "lineage_length": len(chain),
        "lineage_root": {"id": chain[-1].id, "label": chain[-1].label} if chain else None,
        "simulated": src.simulated(),
        "scores": _scores(src, pid),
        "models": src.models(),
        "mutation_models": mutation_models,
        "exported_at": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "persona_evolve_version": versions.get("persona-evolve", "unknown"),
    })


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
    return ["  " + "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
            for r in [titles, *rows]]


def render_header(info: dict[str, Any], *, filename: str, api_key_env: str, entry: str) -> str:
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
    if entry != ENTRY:
        lines.append(f"# the program defines its own main(): the runner's entry point is {entry}().")
    lines += [bar, ""]
    return "\n".join(lines)


RUNNER = r'''

# ==============================================================================
# persona-evolve export: the standalone runner (not evolved code; imports nothing
# at module level, so importing this file only defines names)
# ==============================================================================

EXPORT_INFO = __EXPORT_INFO__
_PE_API_KEY_ENV = __API_KEY_ENV__


class _PEError(Exception):
    """A one-line failure of the runner."""


def _pe_first_line(exc):
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class _PEAxis:
    """One diversity axis as a generator sees it: name, description, low and high poles."""

    __slots__ = ("name", "description", "low", "high")

    def __init__(self, name, description, low, high):
        for key, value in zip(self.__slots__, (name, description, low, high)):
            object.__setattr__(self, key, value)

    def __setattr__(self, key, value):
        raise AttributeError(f"the context is read-only (cannot set {key!r})")

    def __repr__(self):
        return f"AxisView(name={self.name!r})"


class _PEContext:
    """Read-only context: id, description and axes (never the questionnaire items)."""

    __slots__ = ("id", "description", "axes")

    def __init__(self, id, description, axes):
        for key, value in zip(self.__slots__, (id, description, tuple(axes))):
            object.__setattr__(self, key, value)

    def __setattr__(self, key, value):
        raise AttributeError(f"the context is read-only (cannot set {key!r})")

    @property
    def axis_names(self):
        return tuple(a.name for a in self.axes)

    def __repr__(self):
        return f"ContextView(id={self.id!r}, axes={list(self.axis_names)!r})"


def _pe_load_context(path):
    """A _PEContext from a context JSON file (the persona-evolve format; items ignored)."""
    import json

    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except OSError as exc:
        raise _PEError(f"--context: cannot read {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _PEError(f"--context: {path} is not a JSON file ({_pe_first_line(exc)})") from None
    if not isinstance(data, dict):
        raise _PEError(f"--context: {path}: expected a JSON object with id, description and axes")
    for key in ("id", "description"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise _PEError(f"--context: {path}: '{key}' must be a non-empty string")
    axes = data.get("axes")
    if not isinstance(axes, list) or not axes:
        raise _PEError(f"--context: {path}: 'axes' must be a non-empty list")
    views = []
    for i, axis in enumerate(axes):
        if not isinstance(axis, dict):
            raise _PEError(f"--context: {path}: axes[{i}] must be an object")
        for key in ("name", "description", "low", "high"):
            if not isinstance(axis.get(key), str) or not axis[key].strip():
                raise _PEError(f"--context: {path}: axes[{i}]: '{key}' must be a non-empty string")
        views.append(_PEAxis(axis["name"], axis["description"], axis["low"], axis["high"]))
    return _PEContext(data["id"], data["description"], views)


def _pe_retriable(exc):
    """Rate limits, timeouts, connection and server errors are worth another try."""
    status = getattr(exc, "status_code", None)
    if status in (408, 409, 429, 500, 502, 503, 504):
        return True
    name = type(exc).__name__
    return any(word in name for word in ("RateLimit", "Timeout", "APIConnection", "ServiceUnavailable",
                                         "InternalServer"))


class _PELiteLLM:
    """The ``llm`` handle of generate() over litellm: complete() and complete_many()
    (a thread pool of ``workers`` concurrent calls). litellm is imported on first use."""

    def __init__(self, model, *, api_base=None, api_key_env=_PE_API_KEY_ENV, temperature=None,
                 max_tokens=None, timeout_s=120.0, workers=16, retries=2):
        self.model = model
        self.api_base = api_base
        self.api_key_env = api_key_env
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.timeout_s = timeout_s
        self.workers = max(1, int(workers))
        self.retries = retries
        self.calls = 0
        self._completion = None

    def _backend(self):
        if self._completion is None:
            import os

            os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no network at import
            try:
                import litellm
            except ImportError:
                raise _PEError(f"model {self.model!r} needs litellm: pip install litellm") from None
            litellm.suppress_debug_info = True
            self._completion = litellm.completion
        return self._completion

    def complete(self, prompt, *, system=None, temperature=None, max_tokens=None):
        """One prompt -> the reply text."""
        import os

        completion = self._backend()
        messages = ([{"role": "system", "content": str(system)}] if system else []) + [
            {"role": "user", "content": str(prompt)}]
        kwargs = {"model": self.model, "messages": messages, "timeout": self.timeout_s}
        if self.api_base:
            kwargs["api_base"] = self.api_base
        key = os.environ.get(self.api_key_env) if self.api_key_env else None
        if key:
            kwargs["api_key"] = key
        elif self.api_base:
            kwargs["api_key"] = "sk-no-key"  # local servers ignore it; the OpenAI client insists on one
        temperature = self.temperature if temperature is None else temperature
        if temperature is not None:
            kwargs["temperature"] = float(temperature)
        max_tokens = self.max_tokens if max_tokens is None else max_tokens
        if max_tokens is not None:
            kwargs["max_tokens"] = int(max_tokens)
        for attempt in range(self.retries + 1):
            try:
                response = completion(**kwargs)
                break
            except Exception as exc:
                if attempt < self.retries and _pe_retriable(exc):
                    import time

                    time.sleep(min(8.0, 0.5 * 2 ** attempt))
                    continue
                raise _PEError(f"model call failed ({self.model}): {type(exc).__name__}: "
                               f"{_pe_first_line(exc)}") from None
        self.calls += 1
        return response.choices[0].message.content or ""

    def complete_many(self, prompts, *, system=None, temperature=None, max_tokens=None):
        """Many prompts -> their replies in order, ``workers`` calls at a time."""
        if isinstance(prompts, str):
            raise TypeError("llm.complete_many: prompts must be a list of strings, got a str")
        prompts = list(prompts)
        if len(prompts) <= 1:
            return [self.complete(p, system=system, temperature=temperature, max_tokens=max_tokens) for p in prompts]
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=min(self.workers, len(prompts))) as pool:
            return list(pool.map(
                lambda p: self.complete(p, system=system, temperature=temperature, max_tokens=max_tokens), prompts))


def _pe_make_llm(args):
    import sys

    if args.model == "sim":
        try:
            from generators.sim import SimLLM, SimProgramLLM
        except ImportError:
            raise _PEError("--model sim needs persona-evolve installed (the simulated world lives there); "
                           "use a real model, e.g. --model openai/gpt-4o-mini") from None
        print("note: SIMULATED WORLD (model 'sim'): personas come from persona-evolve's test bed, not a real LLM",
              file=sys.stderr)
        return SimProgramLLM(SimLLM(), seed=int(args.seed))
    return _PELiteLLM(args.model, api_base=args.api_base, api_key_env=args.api_key_env,
                      temperature=args.temperature, max_tokens=args.max_tokens, timeout_s=args.timeout,
                      workers=args.workers)


def _pe_json_default(value):
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def _pe_check(result, n):
    """The personas as JSON lines; each must be a dict with non-empty name and description."""
    import json
    import sys

    if not isinstance(result, list):
        raise _PEError(f"generate() returned {type(result).__name__}, expected a list of dicts")
    lines = []
    for i, persona in enumerate(result):
        if not isinstance(persona, dict):
            raise _PEError(f"persona {i}: is {type(persona).__name__}, expected a dict")
        for key in ("name", "description"):
            if not isinstance(persona.get(key), str) or not persona[key].strip():
                raise _PEError(f"persona {i}: '{key}' must be a non-empty string")
        try:
            lines.append(json.dumps(persona, ensure_ascii=False, default=_pe_json_default, allow_nan=False))
        except (TypeError, ValueError) as exc:
            raise _PEError(f"persona {i}: not JSON-serialisable ({exc})") from None
    if len(result) != n:
        print(f"warning: generate() returned {len(result)} personas, {n} were asked for", file=sys.stderr)
    return lines


def __ENTRY__(argv=None):
    """Command line: run generate() on a context JSON file, write personas as JSONL.
    Returns the exit code (0 ok, 1 error with one 'error: ...' line on stderr)."""
    import argparse
    import sys

    program = EXPORT_INFO["program"]
    parser = argparse.ArgumentParser(
        description=f"Exported persona-evolve generator {program['id']}"
        + (" [scores SIMULATED]" if EXPORT_INFO.get("simulated") else "")
        + ": write n personas for a context as JSONL.")
    parser.add_argument("--context", required=True, help="context JSON file (id, description, axes)")
    parser.add_argument("-n", type=int, default=25, help="number of personas (default 25)")
    parser.add_argument("--model", required=True, help="litellm model string (e.g. openai/gpt-4o-mini), or 'sim'")
    parser.add_argument("--api-base", help="base URL of an OpenAI-compatible server")
    parser.add_argument("--api-key-env", default=_PE_API_KEY_ENV,
                        help=f"environment variable holding the API key (default {_PE_API_KEY_ENV})")
    parser.add_argument("--seed", type=int, default=0, help="seed of the program's numpy rng (default 0)")
    parser.add_argument("--out", help="output JSONL file (default: stdout)")
    parser.add_argument("--temperature", type=float, help="default temperature of the model calls")
    parser.add_argument("--max-tokens", type=int, help="default max_tokens of the model calls")
    parser.add_argument("--workers", type=int, default=16, help="concurrent model calls (default 16)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per model call (default 120)")
    args = parser.parse_args(argv)
    try:
        if args.n < 1:
            raise _PEError("-n must be >= 1")
        context = _pe_load_context(args.context)
        llm = _pe_make_llm(args)
        try:
            import numpy
        except ImportError:
            raise _PEError("numpy is not installed: pip install numpy") from None
        rng = numpy.random.default_rng(args.seed)
        try:
            result = generate(context, args.n, llm, rng)
        except _PEError:
            raise
        except Exception as exc:
            raise _PEError(f"generate() failed: {type(exc).__name__}: {_pe_first_line(exc)}") from None
        lines = _pe_check(result, args.n)
        text = "".join(line + "\n" for line in lines)
        if args.out:
            try:
                with open(args.out, "w", encoding="utf-8") as fh:
                    fh.write(text)
            except OSError as exc:
                raise _PEError(f"--out: cannot write {args.out}: {exc.strerror or exc}") from None
            print(f"wrote {len(lines)} personas to {args.out}", file=sys.stderr)
        else:
            sys.stdout.write(text)
    except _PEError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(__ENTRY__())
'''


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


def render_module(code: str, info: dict[str, Any], *, filename: str, api_key_env: str = DEFAULT_API_KEY_ENV) -> tuple[str, str]:
    """(module text, entry-point name) for program ``code`` with provenance ``info``."""
    try:
        taken = _top_level_names(code)
    except SyntaxError as exc:
        raise ExportError(f"the stored program does not parse (line {exc.lineno}: {exc.msg})") from None
    if "generate" not in taken:
        raise ExportError("the stored program defines no top-level generate()")
    entry = FALLBACK_ENTRY if ENTRY in taken else ENTRY
    runner = (RUNNER.replace("__EXPORT_INFO__", pprint.pformat(info, indent=1, width=100, sort_dicts=False))
              .replace("__API_KEY_ENV__", repr(api_key_env))
              .replace("__ENTRY__", entry))
    clash = (_top_level_names(runner) - {entry}) & taken
    if entry in taken or clash:
        raise ExportError(f"the program defines {', '.join(sorted(clash or {entry}))}, "
                          "which the export runner needs; rename it in the program")
    body = code if code.endswith("\n") else code + "\n"
    text = render_header(info, filename=filename, api_key_env=api_key_env, entry=entry) + body + runner
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
            pid = select_program(src, best=best, program=program)
            view = src.reader.program(pid)
            info = provenance(src, pid)
    except InspectError as exc:
        raise ExportError(str(exc)) from None
    text, entry = render_module(view.code, info, filename=path.name, api_key_env=api_key_env)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ExportError(f"--out: cannot write {path}: {exc.strerror or exc}") from None
    return ExportResult(path=path, program_id=pid, run_id=int(info["run"]["id"]), simulated=bool(info["simulated"]),
                        entry=entry, lineage_length=int(info["lineage_length"]))
