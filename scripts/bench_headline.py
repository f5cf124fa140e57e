#!/usr/bin/env python3
"""The README headline with its spread: champion vs best seed program, over run seeds,
for the offline mutator with and without wording edits.

For every run seed and arm it runs one evolution in the sim world (``execute_run``, the
body of ``persona-evolve run``) and reads the run summary:

* ``champion val`` / ``champion test`` -- coverage of the run's champion on the
  validation contexts (where it was chosen) and on the test contexts (used once);
* ``best seed val`` / ``best seed test`` -- the seed program with the best validation
  coverage in that run, on the same contexts (chosen on validation, like the champion);
* ``gain`` -- champion minus best seed, on test.

Arms: ``full`` is the offline mutator as shipped (general vocabulary of writing
instructions, :mod:`evolve.mutators.phrase_bank`); ``no-phrase`` is the ablation
``OfflineMutatorConfig(phrase_edits=False)``: no prompt sentence is ever added, replaced
or deleted, only constants and code structure evolve. The gap between the arms is what
wording search adds; the gap between ``no-phrase`` and the seeds is what the rest adds.

Usage: .venv/bin/python scripts/bench_headline.py [--seeds 0 1 2] [--evaluations 60]
       [--minutes M] [--arms full no-phrase] [--json]
A default run (4 minutes of evolution) takes about 4.5 minutes on 2 cores; pass
``--evaluations`` for a smaller, reproducible budget (the settings are printed).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

for key, value in {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "RAY_USAGE_STATS_ENABLED": "0",
                   "RAY_AUTH_MODE": "disabled", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}.items():
    os.environ.setdefault(key, value)
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import evolve.run as run_module  # noqa: E402
from evolve.config import RunConfig, replace_path  # noqa: E402
from evolve.mutators.offline import OfflineMutator, OfflineMutatorConfig  # noqa: E402
from evolve.progress import Progress  # noqa: E402

ARMS: dict[str, OfflineMutatorConfig] = {
    "full": OfflineMutatorConfig(),
    "no-phrase": OfflineMutatorConfig(phrase_edits=False),
}
_ORIGINAL_BUILD = run_module._build_mutator


def _use_mutator(arm: str) -> None:
    """Make ``execute_run`` use the arm's offline mutator (the run config has no key for
    the mutator's options; this script swaps the builder instead)."""

    def build(config: RunConfig) -> tuple[Any, Any]:
        if config.models.mutator.model != "sim":
            return _ORIGINAL_BUILD(config)
        return OfflineMutator(config=ARMS[arm]), None

    run_module._build_mutator = build


def one_run(arm: str, seed: int, *, evaluations: int | None, minutes: float | None, tmp: Path) -> dict[str, Any]:
    """Champion and best-seed coverage (validation, test) of one run."""
    config = replace_path(RunConfig(), "seed", seed)
    config = replace_path(config, "budget.evaluations", evaluations)
    config = replace_path(config, "budget.minutes", minutes)
    config = dataclasses.replace(config, db=str(tmp / f"{arm}-{seed}" / "archive.db"),
                                 out_dir=str(tmp / f"{arm}-{seed}"))
    _use_mutator(arm)
    t0 = time.perf_counter()
    summary = run_module.execute_run(config, progress=Progress(simulated=True, enabled=False))
    wall = time.perf_counter() - t0
    seeds = {name: m["coverage"] for name, m in summary["seeds"].items() if m}
    best = max(seeds, key=seeds.get)
    champion = summary["champion"] or {}
    test = summary["test"]
    return {
        "arm": arm, "seed": seed, "evaluations": summary["evaluations"], "wall_s": round(wall, 1),
        "champion_val": (champion.get("validation") or {}).get("coverage"),
        "champion_test": (test.get("champion") or {}).get("coverage"),
        "best_seed": best, "best_seed_val": seeds[best],
        "best_seed_test": (test.get(best) or {}).get("coverage"),
    }


def _fmt(x: float | None) -> str:
    return "   -  " if x is None else f"{x:6.3f}"


def _mean_sd(values: list[float]) -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.fmean(values):.3f} ± {sd:.3f}"


def print_table(rows: list[dict[str, Any]]) -> None:
    cols = ("champion_val", "best_seed_val", "champion_test", "best_seed_test")
    print(f"\n{'arm':<10}{'run seed':>9}{'evals':>7}{'champion val':>14}{'best seed val':>15}"
          f"{'champion test':>15}{'best seed test':>16}{'gain (test)':>13}  best seed")
    for r in rows:
        gain = None if None in (r["champion_test"], r["best_seed_test"]) else r["champion_test"] - r["best_seed_test"]
        print(f"{r['arm']:<10}{r['seed']:>9}{r['evaluations']:>7}{_fmt(r['champion_val']):>14}"
              f"{_fmt(r['best_seed_val']):>15}{_fmt(r['champion_test']):>15}{_fmt(r['best_seed_test']):>16}"
              f"{_fmt(gain):>13}  {r['best_seed']}")
    print(f"\n{'arm':<10}" + "".join(f"{c.replace('_', ' '):>18}" for c in cols) + f"{'gain (test)':>18}")
    for arm in dict.fromkeys(r["arm"] for r in rows):
        mine = [r for r in rows if r["arm"] == arm]
        gains = [r["champion_test"] - r["best_seed_test"] for r in mine
                 if None not in (r["champion_test"], r["best_seed_test"])]
        print(f"{arm:<10}" + "".join(f"{_mean_sd([r[c] for r in mine]):>18}" for c in cols)
              + f"{_mean_sd(gains):>18}")
    print("(coverage, mean ± sample sd over run seeds; best seed = the seed program best on validation)")


def main() -> None:
    parser = argparse.ArgumentParser(description="headline: champion vs best seed, over run seeds, with ablation")
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    parser.add_argument("--arms", nargs="*", default=list(ARMS), choices=list(ARMS))
    parser.add_argument("--evaluations", type=int, default=None, help="evaluations per run (default: no cap)")
    parser.add_argument("--minutes", type=float, default=None,
                        help="minutes of evolution per run (default 4 when --evaluations is not given)")
    parser.add_argument("--json", action="store_true", help="also print the rows as JSON")
    args = parser.parse_args()
    minutes = args.minutes if args.minutes is not None else (None if args.evaluations else 4.0)
    print("[SIMULATED WORLD] all figures come from the sim test bed")
    print(f"settings: run seeds {args.seeds}, arms {args.arms}, budget per run: "
          f"{args.evaluations or 'no'} evaluation cap, {minutes or 'no'} minute cap; "
          f"other settings = RunConfig() defaults; cpus = {os.cpu_count()}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            for arm in args.arms:
                row = one_run(arm, seed, evaluations=args.evaluations, minutes=minutes, tmp=Path(tmp))
                print(f"  done {arm} seed {seed}: {row['evaluations']} evaluations in {row['wall_s']} s", flush=True)
                rows.append(row)
    rows.sort(key=lambda r: (args.arms.index(r["arm"]), r["seed"]))
    print_table(rows)
    if args.json:
        print(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
