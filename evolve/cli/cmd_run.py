"""``persona-evolve run``: an evolution run (the sim world by default)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from typing import Any

from evolve.cli.errors import CLIError
from evolve.config import (
    DEFAULT_BUDGET,
    BudgetConfig,
    ConfigError,
    RunConfig,
    config_to_dict,
    load_config,
    replace_path,
    resolve_screen,
    to_toml,
    validate_config,
)
from evolve.outputs.inspect.render import interval_basis
from evolve.outputs.labels import SUMMARY_SIM_LINE, weak_sandbox_summary
from generators.llm.config import ModelConfig

# flag dest -> dotted config path
_FLAG_PATHS = {
    "seed": "seed",
    "db": "db",
    "out_dir": "out_dir",
    "budget_evals": "budget.evaluations",
    "budget_minutes": "budget.minutes",
    "budget_calls": "budget.llm_calls",
    "budget_dollars": "budget.dollars",
    "ray_address": "ray.address",
    "n": "evaluation.n",
    "islands": "islands.count",
    "weak_sandbox": "evaluation.weak_sandbox",
    "world": "world.preset",
}


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "run",
        help="run an evolution (with no arguments: the simulated world, ~5 minutes)",
        description="Evolve generator programs. With no arguments: the sim world on the shipped "
        "contexts with a budget of about 5 minutes on 2 cores.",
    )
    p.add_argument("--config", help="TOML run config; flags override it")
    p.add_argument("--db", help="archive database path (default runs/<timestamp>/archive.db)")
    p.add_argument("--out-dir", help="folder for the report (default: the database's folder)")
    p.add_argument("--resume", action="store_true", help="continue the run stored in --db")
    p.add_argument("--seed", type=int, help="run seed")
    p.add_argument("--budget-evals", type=int, help="cap on full evaluations of proposals")
    p.add_argument("--budget-minutes", type=float, help="cap on wall minutes of the evolution phase")
    p.add_argument("--budget-calls", type=int, help="cap on LLM calls")
    p.add_argument("--budget-dollars", type=float, help="cap on LLM spend in US dollars")
    p.add_argument("--ray-address", help="join an existing Ray cluster (e.g. 127.0.0.1:6379)")
    p.add_argument("-n", type=int, help="personas per context")
    p.add_argument("--islands", type=int, help="number of islands")
    p.add_argument("--model", help="one model for every role (litellm string or 'sim')")
    p.add_argument("--api-base", help="api_base for --model (a local OpenAI-compatible server)")
    p.add_argument(
        "--api-key-env", help="environment variable holding the API key for --model (never the key)"
    )
    p.add_argument("--world", help="simulated world of the roles on 'sim' (see: persona-evolve worlds)")
    p.add_argument(
        "--seed-program",
        action="append",
        metavar="PATH",
        help="a generator file of your own (PATH.py or file:PATH.py, relative to the current "
        "directory) to start from, added to the config's [seeds] programs; repeatable",
    )
    p.add_argument("--json", action="store_true", help="print one JSON summary at the end")
    p.add_argument(
        "--weak-sandbox",
        action="store_const",
        const=True,
        default=None,
        help="evaluate LLM-written programs even if this kernel lacks Landlock/seccomp/namespaces "
        "(unsafe; every output of the run says so)",
    )
    p.add_argument("--print-config", action="store_true", help="print the effective config as TOML and exit")
    p.add_argument(
        "--estimate",
        action="store_true",
        help="print an estimate of LLM calls, tokens and dollars for this run and exit",
    )
    p.set_defaults(func=handle)


def effective_config(args: argparse.Namespace) -> tuple[RunConfig, set[str]]:
    """The config file (or defaults) with flags applied; also which sections flags set."""
    try:
        config = load_config(args.config) if args.config else RunConfig()
        overridden: set[str] = {"config_file"} if args.config else set()
        budget_flags = (args.budget_evals, args.budget_minutes, args.budget_calls, args.budget_dollars)
        if any(flag is not None for flag in budget_flags) and config.budget == DEFAULT_BUDGET:
            config = dataclasses.replace(config, budget=BudgetConfig())  # flags replace the default budget
        for dest, path in _FLAG_PATHS.items():
            value = getattr(args, dest, None)
            if value is not None:
                config = replace_path(config, path, value)
                overridden.update({path, path.split(".")[0]})
        if getattr(args, "seed_program", None):
            config = _add_seed_programs(config, args.seed_program)
            overridden.add("seeds")
        if (args.api_base or args.api_key_env) and not args.model:
            raise ConfigError(
                "--api-base and --api-key-env apply to --model: give it too (or set them per role "
                "under [models] in run.toml)"
            )
        if args.model:
            try:
                role = ModelConfig(model=args.model, api_base=args.api_base, api_key_env=args.api_key_env)
            except ValueError as exc:
                raise ConfigError(f"--model: {exc}") from None
            models = dataclasses.replace(
                config.models, mutator=role, persona=role, respondent=role, author=role
            )
            config = dataclasses.replace(config, models=models)
            overridden.add("models")
        validate_config(config)
    except ConfigError as exc:
        raise CLIError(f"config: {exc}", exit_code=2) from None
    return resolve_screen(config), overridden


def _add_seed_programs(config: RunConfig, paths: list[str]) -> RunConfig:
    """``config`` with the ``--seed-program`` files appended to ``[seeds] programs`` (relative
    paths against the current directory). Raises :class:`ConfigError` for a path that is no
    ``.py`` file reference."""
    from pathlib import Path

    from evolve.common.seed_programs import FILE_PREFIX, is_file_ref, resolve_file_ref

    added = []
    for path in paths:
        ref = path if path.startswith(FILE_PREFIX) else FILE_PREFIX + path
        if not is_file_ref(ref) or not ref.endswith(".py"):
            raise ConfigError(f"--seed-program: {path!r} is not a generator file (PATH.py or file:PATH.py)")
        added.append(resolve_file_ref(ref, Path.cwd()))
    seeds = dataclasses.replace(config.seeds, programs=tuple(config.seeds.programs) + tuple(added))
    return dataclasses.replace(config, seeds=seeds)


def handle(args: argparse.Namespace) -> int:
    if args.resume and getattr(args, "seed_program", None):
        raise CLIError(
            "--seed-program: a resumed run keeps the seed programs it started with "
            "(start a new run with another --db to change them)",
            exit_code=2,
        )
    config, overridden = effective_config(args)
    if args.print_config:
        sys.stdout.write(to_toml(config_to_dict(config)))
        return 0
    if args.estimate:
        from evolve.budget.estimate import estimate_run, evaluations_within_caps, render_estimate
        from evolve.loop.errors import RunError
        from evolve.loop.run import load_context_sets

        try:
            contexts = load_context_sets(config)
            count, note = evaluations_within_caps(config, contexts)
            estimate = estimate_run(
                replace_path(config, "budget.evaluations", count) if count else config, contexts
            )
            print(render_estimate({**estimate, "caps_note": note}))
        except RunError as exc:
            raise CLIError(str(exc)) from None
        return 0
    if args.resume and not args.db:
        raise CLIError("--resume needs --db PATH (the run to continue)", exit_code=2)
    from evolve.loop.errors import NothingToDo, RunError
    from evolve.loop.run import execute_run

    try:
        summary = execute_run(config, resume=args.resume, overridden=overridden)
    except NothingToDo as exc:
        print(str(exc), file=sys.stderr)
        return 0
    except RunError as exc:
        raise CLIError(str(exc)) from None
    except KeyboardInterrupt:
        print(
            f"interrupted: resume with  persona-evolve run --db {config.db or '<db>'} --resume",
            file=sys.stderr,
        )
        return 130
    if args.json:
        print(json.dumps(summary, indent=2, default=float))
    else:
        print(render_summary(summary))
    return 0


def render_summary(summary: dict[str, Any]) -> str:
    """The end-of-run text: champion vs seeds on validation and test, six metrics, each
    stage with its floor (n identical personas at the centre) and random reference."""
    from evolve.loop.final_stage import reference_lines
    from metrics import METRIC_NAMES

    lines = []
    if summary.get("simulation"):
        lines.append(summary["simulation"] + ".")
    elif summary.get("simulated"):
        lines.append(SUMMARY_SIM_LINE)
    if summary.get("weak_sandbox"):
        lines.append(weak_sandbox_summary(summary["weak_sandbox"]))
    lines.append(
        f"archive: {summary['db']}   evaluations: {summary['evaluations']}   "
        f"programs: {summary.get('programs')}   stopped by: {summary.get('stop_reason')}"
    )
    champ = summary.get("champion") or {}
    iv = champ.get("validation_interval")
    lines.append(
        f"champion: {champ.get('id', '-')}"
        + (
            ""
            if not iv
            else (
                f"   validation fitness {iv['mean']:.4f} [{iv['low']:.4f}, {iv['high']:.4f}] "
                f"({iv['confidence'] * 100:g} % interval, {interval_basis(iv)})"
            )
        )
    )
    robust = summary.get("robust")
    if robust:
        lines.append(
            f"chosen across SIMULATED worlds {', '.join(robust['worlds'])}: worst-world gain over the best "
            f"seed {robust['worst_world_gain']:+.4f}"
            + (
                ""
                if robust["chosen"] == robust["incumbent"]
                else f" (replaced the race champion {str(robust['incumbent'])[:12]})"
            )
        )
    short = {
        "coverage": "coverage↑",
        "convex_hull_volume": "hull_vol↑",
        "min_pairwise_distance": "min_dist↑",
        "mean_pairwise_distance": "mean_dist↑",
        "dispersion": "dispersion↓",
        "kl_divergence": "kl↓",
    }
    header = f"{'':22}" + "".join(f"{short.get(name, name[:13]):>14}" for name in METRIC_NAMES)
    for stage, rows in (
        ("validation", {"champion": champ.get("validation"), **summary.get("seeds", {})}),
        ("test", summary.get("test", {})),
    ):
        lines.append(f"\n{stage}:")
        lines.append(header)
        for label, m in rows.items():
            if not m:
                lines.append(f"{label:22}  (no result)")
                continue
            lines.append(
                f"{label:22}" + "".join(f"{m.get(name, float('nan')):>14.4f}" for name in METRIC_NAMES)
            )
        lines.extend(reference_lines(summary, stage))  # the noise floor and the random reference
    if summary.get("spend"):
        from evolve.budget.spend import render_spend_lines

        lines.append("")
        lines.extend(render_spend_lines(summary["spend"]))
    if summary.get("report"):
        lines.append(f"\nreport: {summary['report']}")
    return "\n".join(lines)
