#!/usr/bin/env python3
"""The README headline with its spread: champion vs best seed program over >= 5 run seeds,
on the test contexts and in every simulated world, with Concordia-style seeds beside ours.

For every run seed and arm it runs one evolution in the sim world (``execute_run``, the
body of ``persona-evolve run``) and reads the run summary:

* ``champion test`` / ``best seed test`` -- coverage on the test contexts (used once) of the
  run's champion and of the seed program best on validation (chosen like the champion);
  ``gain`` -- their difference (the run's own final evaluation);
* then (``--worlds``, default all) it re-scores the champion and every seed program on the
  test contexts x ``--replicates`` seeds under **each** world (:mod:`evolve.promotion.world_rescore`,
  shared with ``scripts/bench_transfer.py``): a world's gain is the champion minus the best
  of the run's seed programs *in that world* (strict); ``worst world`` is the minimum over worlds. With
  ``--validate-worlds`` (robust selection) the champion of the races before robust
  selection is re-scored too (rows ``races``), so one run set measures both rules.

The summary gives, per column, the mean, the worst and the spread (sd, range) over run
seeds: the worst run seed is what a user should expect at worst.

Concordia-style seeds (``--extra-seeds``, default the two team-written programs in
``docs/examples/concordia_style/``: JSON batches of personas with nested attitude objects,
expanded to long descriptions) are re-scored beside seed:naive/batch/sobol in every world,
and the champion's gain over the best of them is printed under each table. With
``--run-extra-seeds`` they are also the runs' seed programs (``[seeds] programs``) and count
among the comparators of the main table.

Arms: ``full`` is the offline mutator as shipped; ``no-phrase`` the ablation without wording
edits (``OfflineMutatorConfig(phrase_edits=False)``). ``--set KEY=VALUE`` overrides any run
config key (JSON values), e.g. ``--set cascade.screen_contexts=10``.

Runs are kept under ``--keep DIR`` (archive, report, ``summary.json``); an invocation that
finds a run's ``summary.json`` there re-uses it instead of evolving again, and seed cells
are cached in ``DIR/seed_cells.json``. Every figure is SIMULATED.

Usage: .venv/bin/python scripts/bench_headline.py [--seeds 0 1 2 3 4] [--evaluations 120]
       [--arms full] [--worlds ...] [--replicates 2] [--validate-worlds literal collapsed]
       [--set KEY=VALUE ...] [--keep DIR] [--json]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

for key, value in {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_AUTH_MODE": "disabled",
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
}.items():
    os.environ.setdefault(key, value)
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import evolve.loop.run as run_module  # noqa: E402
from archive.reader import open_reader  # noqa: E402
from evolve.common.seed_programs import load_file_seed  # noqa: E402
from evolve.config import RunConfig, replace_path  # noqa: E402
from evolve.mutators.offline import OfflineMutator, OfflineMutatorConfig  # noqa: E402
from evolve.outputs.progress import Progress  # noqa: E402
from evolve.promotion.world_rescore import RescoreSpec, ScoreCache, rescore, spread, world_gains  # noqa: E402
from generators.seeds import SEED_NAMES, load_seed  # noqa: E402
from generators.sim.worlds import WORLDS  # noqa: E402

ARMS: dict[str, OfflineMutatorConfig] = {
    "full": OfflineMutatorConfig(),
    "no-phrase": OfflineMutatorConfig(phrase_edits=False),
}
EXTRA_SEEDS = tuple(
    str(ROOT / "docs" / "examples" / "concordia_style" / name)
    for name in ("attitude_batches.py", "stance_profiles.py")
)
_ORIGINAL_BUILD = run_module._build_mutator


def _use_mutator(arm: str) -> None:
    """Make ``execute_run`` use the arm's offline mutator (the run config has no key for
    the mutator's options; this script swaps the builder instead)."""

    def build(config: RunConfig) -> tuple[Any, Any]:
        if config.models.mutator.model != "sim":
            return _ORIGINAL_BUILD(config)
        return OfflineMutator(config=ARMS[arm]), None

    run_module._build_mutator = build


def parse_sets(items: list[str]) -> list[tuple[str, Any]]:
    """``KEY=VALUE`` pairs; a VALUE that parses as JSON is that value, else the string."""
    out = []
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"bench_headline: --set {item!r}: expected KEY=VALUE")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        out.append((key.strip(), tuple(value) if isinstance(value, list) else value))
    return out


def run_config(seed: int, args: argparse.Namespace, run_dir: Path) -> RunConfig:
    """The run config of one run: defaults, the seed, the evaluation cap, ``--set``s."""
    config = replace_path(RunConfig(), "seed", seed)
    config = replace_path(config, "budget.evaluations", args.evaluations)
    config = replace_path(config, "budget.minutes", None)
    if args.validate_worlds:
        config = replace_path(config, "world.validate", tuple(args.validate_worlds))
    if args.run_extra_seeds:
        refs = tuple(f"seed:{n}" for n in SEED_NAMES) + tuple(f"file:{p}" for p in args.extra_seeds)
        config = replace_path(config, "seeds.programs", refs)
    for key, value in args.set:
        config = replace_path(config, key, value)
    return dataclasses.replace(config, db=str(run_dir / "archive.db"), out_dir=str(run_dir))


def one_run(arm: str, seed: int, args: argparse.Namespace, root: Path) -> dict[str, Any]:
    """Evolve once (or read the kept ``summary.json``) and return the run's row: the
    summary's test coverages, the champion's code and, after robust selection, the code of
    the champion of the races."""
    run_dir = root / f"{arm}-{seed}"
    kept = run_dir / "row.json"
    if kept.exists():
        return json.loads(kept.read_text())
    config = run_config(seed, args, run_dir)
    _use_mutator(arm)
    t0 = time.perf_counter()
    summary = run_module.execute_run(config, progress=Progress(simulated=True, enabled=False))
    wall = time.perf_counter() - t0
    seeds = {name: m["coverage"] for name, m in summary["seeds"].items() if m}
    best = max(seeds, key=seeds.get)
    champion = summary["champion"] or {}
    test = summary["test"]
    robust = summary.get("robust") or {}
    with open_reader(config.db) as reader:
        code = reader.program(champion["id"]).code if champion else None
        races = robust.get("incumbent")
        races_code = reader.program(races).code if races and races != champion.get("id") else None
    row = {
        "arm": arm,
        "seed": seed,
        "evaluations": summary["evaluations"],
        "wall_s": round(wall, 1),
        "race_evaluations": summary.get("race_evaluations"),
        "champion_id": champion.get("id"),
        "champion_code": code,
        "races_id": races if races_code else None,
        "races_code": races_code,
        "champion_val": (champion.get("validation") or {}).get("coverage"),
        "champion_test": (test.get("champion") or {}).get("coverage"),
        "best_seed": best,
        "best_seed_val": seeds[best],
        "best_seed_test": (test.get(best) or {}).get("coverage"),
    }
    run_dir.mkdir(parents=True, exist_ok=True)
    kept.write_text(json.dumps(row, indent=1))
    return row


def add_worlds(
    row: dict[str, Any], seed_codes: dict[str, str], args: argparse.Namespace, cache: ScoreCache
) -> None:
    """Re-score the row's champion(s) and the seeds under every world of ``--worlds``
    (cells cached by code, world and settings). Gains are over the best of the run's seed
    programs in each world (``*_world_gain``) and over the best Concordia-style seed
    (``*_vs_extra``)."""
    base = RunConfig()
    for key, value in args.set:  # the runs' evaluation settings (n, mc_samples) hold for the re-scoring too
        if key.startswith("evaluation."):
            base = replace_path(base, key, value)
    spec = RescoreSpec(split="test", replicates=args.replicates, base=base)
    programs = dict(seed_codes)
    if row["champion_code"]:
        programs["champion"] = row["champion_code"]
    if row.get("races_code"):
        programs["races"] = row["races_code"]
    row["worlds"] = {world: rescore(programs, world, spec, cache) for world in args.worlds}
    ours = [label for label in seed_codes if label in args.run_seed_labels]
    extra = [label for label in seed_codes if label not in args.run_seed_labels]
    for label in ("champion", "races"):
        if label in programs:
            row[f"{label}_world_gain"] = world_gains(row["worlds"], label, ours)
            if extra:
                row[f"{label}_vs_extra"] = world_gains(row["worlds"], label, extra)


def _fmt(x: float | None, sign: bool = False) -> str:
    if x is None:
        return "-"
    return f"{x:+.3f}" if sign else f"{x:.3f}"


def gain_rows(rows: list[dict[str, Any]], label: str, worlds: list[str]) -> list[dict[str, Any]]:
    """Per run: ``gain (run)`` (champion only: the run's own test evaluation, vs the seed
    best on validation), the gain in each world and ``worst world``. ``label`` is
    ``champion`` or ``races`` (the champion of the races; the champion itself when robust
    selection kept it)."""
    out = []
    for r in rows:
        gains = (
            r.get(f"{label}_world_gain") or (r.get("champion_world_gain") if label == "races" else None) or {}
        )
        run_gain = None
        if label == "champion" and None not in (r["champion_test"], r["best_seed_test"]):
            run_gain = r["champion_test"] - r["best_seed_test"]
        out.append(
            {
                "arm": r["arm"],
                "seed": r["seed"],
                "evaluations": r["evaluations"],
                "gain (run)": run_gain,
                **{w: gains.get(w) for w in worlds},
                "worst world": min(gains.values()) if gains else None,
            }
        )
    return out


def print_tables(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    worlds = list(args.worlds)
    cols = ["gain (run)", *worlds, "worst world"]
    print(
        f"\nSIMULATED: champion minus best seed program, coverage on the {args.test_contexts} test contexts; "
        f"{args.evaluations} evaluations per run; worlds re-scored x {args.replicates} replicates, best seed "
        f"per world among the run's seed programs ({', '.join(args.run_seed_labels)})"
    )
    labels = [("champion", "champion")]
    if any(r.get("races_code") for r in rows):
        labels.append(("races", "champion of the races (before robust selection)"))
    for label, title in labels:
        table = gain_rows(rows, label, worlds)
        print(f"\n{title}:")
        print(f"{'arm':<10}{'run seed':>9}{'evals':>7}" + "".join(f"{c[:11]:>12}" for c in cols))
        for t in table:
            print(
                f"{t['arm']:<10}{t['seed']:>9}{t['evaluations']:>7}"
                + "".join(f"{_fmt(t[c], True):>12}" for c in cols)
            )
        for stat in ("mean", "worst", "sd", "range"):
            cells = []
            for c in cols:
                values = [t[c] for t in table if t[c] is not None]
                cells.append(_fmt(spread(values)[stat], stat in ("mean", "worst")) if values else "-")
            print(f"{stat:<26}" + "".join(f"{x:>12}" for x in cells))
        wins = sum(1 for t in table if t["worst world"] is not None and t["worst world"] > 0)
        print(f"run seeds where it beats the best seed in every world: {wins} of {len(table)}")
        vs_extra = [
            r.get(f"{label}_vs_extra") or (r.get("champion_vs_extra") if label == "races" else None)
            for r in rows
        ]
        if any(vs_extra):
            print("minus the best Concordia-style seed (not a run seed):")
            for r, g in zip(rows, vs_extra):
                if g:
                    print(
                        f"{r['arm']:<10}{r['seed']:>9}{r['evaluations']:>7}{'':>12}"
                        + "".join(f"{_fmt(g.get(w), True):>12}" for w in worlds)
                        + f"{_fmt(min(g.values()), True):>12}"
                    )
    if rows and rows[0].get("worlds"):
        print("\nseed programs, test coverage per world (the same in every run):")
        print(f"{'seed':<28}" + "".join(f"{w[:11]:>12}" for w in worlds))
        for label in args.seed_labels:
            print(f"{label:<28}" + "".join(f"{rows[0]['worlds'][w][label]:>12.3f}" for w in worlds))


def main() -> None:
    parser = argparse.ArgumentParser(description="headline: champion vs best seed over run seeds and worlds")
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2, 3, 4])
    parser.add_argument("--arms", nargs="*", default=["full"], choices=list(ARMS))
    parser.add_argument("--evaluations", type=int, default=120, help="evaluations per run (the cap)")
    parser.add_argument(
        "--worlds",
        nargs="*",
        default=list(WORLDS),
        choices=list(WORLDS),
        help="worlds to re-score in (none: skip the re-scoring)",
    )
    parser.add_argument("--replicates", type=int, default=2, help="replicate seeds of each re-scoring")
    parser.add_argument(
        "--validate-worlds",
        nargs="*",
        default=None,
        choices=list(WORLDS),
        help="robust selection across these worlds ([world] validate)",
    )
    parser.add_argument(
        "--extra-seeds",
        nargs="*",
        default=list(EXTRA_SEEDS),
        help="generator files re-scored beside the shipped seeds (Concordia-style)",
    )
    parser.add_argument("--run-extra-seeds", action="store_true", help="also give them to the runs as seeds")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a run config key (JSON value), e.g. search.confidence=0.9",
    )
    parser.add_argument("--keep", default=None, help="keep (and re-use) the runs under this directory")
    parser.add_argument("--json", action="store_true", help="also print the rows as JSON")
    args = parser.parse_args()
    args.set = parse_sets(args.set)
    seed_codes = {f"seed:{name}": load_seed(name) for name in SEED_NAMES}
    seed_codes.update({f"file:{Path(p).name}": load_file_seed(p) for p in args.extra_seeds})
    args.seed_labels = list(seed_codes)
    args.run_seed_labels = [f"seed:{name}" for name in SEED_NAMES] + (
        [f"file:{Path(p).name}" for p in args.extra_seeds] if args.run_extra_seeds else []
    )
    from generators.context_loader import load_split

    args.test_contexts = len(load_split("test"))
    print("[SIMULATED WORLD] all figures come from the sim test bed")
    print(
        f"settings: run seeds {args.seeds}, arms {args.arms}, {args.evaluations} evaluations per run, "
        f"overrides {dict(args.set) or 'none'}, robust selection {args.validate_worlds or 'off'}, "
        f"extra seeds {'in the runs' if args.run_extra_seeds else 're-scored only'}; cpus = {os.cpu_count()}"
    )
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.keep or tmp)
        cache = ScoreCache(root / "cells.json" if args.keep else None)
        for seed in args.seeds:
            for arm in args.arms:
                row = one_run(arm, seed, args, root)
                print(
                    f"  done {arm} seed {seed}: {row['evaluations']} evaluations in {row['wall_s']} s",
                    flush=True,
                )
                if args.worlds:
                    t0 = time.perf_counter()
                    add_worlds(row, seed_codes, args, cache)
                    print(
                        f"  re-scored in {len(args.worlds)} worlds in {time.perf_counter() - t0:.0f} s",
                        flush=True,
                    )
                rows.append(row)
    rows.sort(key=lambda r: (args.arms.index(r["arm"]), r["seed"]))
    print_tables(rows, args)
    if args.json:
        print(json.dumps([{k: v for k, v in r.items() if not k.endswith("_code")} for r in rows], indent=2))


if __name__ == "__main__":
    main()
