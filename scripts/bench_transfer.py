#!/usr/bin/env python3
"""Does a champion evolved in one simulated world carry to the others? The transfer matrix.

For every source world (``--evolve-in``) and run seed (``--seeds``) it runs one evolution in
that world (``execute_run``, the body of ``persona-evolve run``, offline mutator, a budget of
``--evaluations``), then re-scores the run's champion and the three seed programs on the
test contexts (never used by the search) under **every** world (``generators.sim.worlds``),
each program on the same replicate seeds, sandboxed as in a run. It prints:

* the transfer matrix: rows = (source world, run seed), columns = target worlds; a cell is
  the champion's test coverage minus the best seed program's **in that target world** (the
  best of the three on the same contexts and seeds: a strict comparator) -- positive: the
  search's gain carried over;
* the raw coverages (champion and each seed) per target world, for the record.

With ``--validate-worlds W ...`` every evolution also runs with robust selection across
those worlds (``[world] validate``); rows tagged ``robust`` show where its champion carries.
Validate on some worlds and read the others' columns to see transfer to worlds the
selection never saw.

Every figure is SIMULATED: worlds are labelled test beds standing for model families.

Usage: .venv/bin/python scripts/bench_transfer.py [--evolve-in default literal] [--seeds 0 1]
       [--evaluations 60] [--replicates 2] [--validate-worlds literal collapsed] [--json]
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
from evolve.config import RunConfig, replace_path  # noqa: E402
from evolve.outputs.progress import Progress  # noqa: E402
from evolve.promotion.world_rescore import RescoreSpec, ScoreCache, rescore, world_gains  # noqa: E402
from generators.context_loader import load_split  # noqa: E402
from generators.seeds import SEED_NAMES, load_seed  # noqa: E402
from generators.sim.worlds import WORLDS  # noqa: E402


def evolve_in(
    world: str, seed: int, evaluations: int, tmp: Path, validate: tuple[str, ...] = ()
) -> tuple[str, dict[str, Any]]:
    """Run one evolution in ``world`` (with robust selection across ``validate`` when
    given); returns (champion code, run summary)."""
    config = replace_path(RunConfig(), "seed", seed)
    config = replace_path(config, "budget.evaluations", evaluations)
    config = replace_path(config, "budget.minutes", None)
    config = replace_path(config, "world.preset", world)
    config = replace_path(config, "world.validate", tuple(validate))
    tag = f"{world}-{seed}-{'robust' if validate else 'plain'}"
    config = dataclasses.replace(config, db=str(tmp / tag / "archive.db"), out_dir=str(tmp / tag))
    summary = run_module.execute_run(config, progress=Progress(simulated=True, enabled=False))
    champion = summary["champion"]
    if champion is None:
        raise SystemExit(f"bench_transfer: the run in world {world!r} (seed {seed}) has no champion")
    with open_reader(config.db) as reader:
        code = reader.program(champion["id"]).code
    return code, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--evolve-in",
        nargs="+",
        default=["default"],
        choices=list(WORLDS),
        help="worlds to evolve in (one run per world and run seed)",
    )
    parser.add_argument("--seeds", nargs="+", type=int, default=[0], help="run seeds")
    parser.add_argument("--evaluations", type=int, default=60, help="evaluations per run")
    parser.add_argument("--replicates", type=int, default=2, help="replicate seeds of each re-scoring")
    parser.add_argument(
        "--validate-worlds",
        nargs="*",
        default=None,
        choices=list(WORLDS),
        help="also run each evolution with robust selection across these worlds "
        "([world] validate) and compare both champions (rows tagged 'robust')",
    )
    parser.add_argument("--json", action="store_true", help="print the rows as JSON too")
    args = parser.parse_args()
    seeds = {f"seed:{name}": load_seed(name) for name in SEED_NAMES}
    spec = RescoreSpec(split="test", replicates=args.replicates)
    seed_cells = ScoreCache()  # the seeds do not depend on the run: scored once per world
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for source in args.evolve_in:
            for run_seed in args.seeds:
                arms = [()] + ([tuple(args.validate_worlds)] if args.validate_worlds else [])
                for validate in arms:
                    t0 = time.perf_counter()
                    code, summary = evolve_in(source, run_seed, args.evaluations, Path(tmp), validate)
                    scores = {
                        target: {
                            "champion": rescore({"champion": code}, target, spec)["champion"],
                            **rescore(seeds, target, spec, seed_cells),
                        }
                        for target in WORLDS
                    }
                    label = source + (" robust" if validate else "")
                    rows.append(
                        {
                            "source": label,
                            "run_seed": run_seed,
                            "evaluations": summary["evaluations"],
                            "validate": list(validate),
                            "wall_s": round(time.perf_counter() - t0, 1),
                            "scores": scores,
                        }
                    )
                    print(
                        f"[{label} seed {run_seed}: {summary['evaluations']} evaluations, "
                        f"{rows[-1]['wall_s']} s]",
                        file=sys.stderr,
                        flush=True,
                    )
    print_tables(rows, args)
    if args.json:
        print(json.dumps(rows, indent=2))


def print_tables(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    targets = list(WORLDS)
    width = max(10, *(len(t) + 2 for t in targets))
    print(
        f"SIMULATED transfer matrix: champion minus best seed program, test coverage "
        f"({len(load_split('test'))} test contexts x {args.replicates} replicates, "
        f"{args.evaluations} evaluations per run)"
    )
    print(
        f"{'evolved in':<18}{'run seed':>9}"
        + "".join(f"{t:>{width}}" for t in targets)
        + f"{'worst':>{width}}"
    )
    for row in rows:
        by_world = world_gains(
            row["scores"], "champion", [k for k in row["scores"][targets[0]] if k != "champion"]
        )
        gains = [by_world[t] for t in targets]
        print(
            f"{row['source']:<18}{row['run_seed']:>9}"
            + "".join(f"{g:>+{width}.3f}" for g in gains)
            + f"{min(gains):>+{width}.3f}"
        )
    print("\ncoverage per target world (champion / seed:naive / seed:batch / seed:sobol):")
    for row in rows:
        print(f"  evolved in {row['source']}, run seed {row['run_seed']}:")
        for target in targets:
            s = row["scores"][target]
            print(f"    {target:<18}" + "  ".join(f"{label} {value:.3f}" for label, value in s.items()))


if __name__ == "__main__":
    main()
