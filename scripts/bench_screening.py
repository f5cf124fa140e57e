#!/usr/bin/env python3
"""Does the screening set pay off at equal spend? Full train set vs a screening set.

Each arm is one ``persona-evolve run`` in the sim world on the shipped contexts (30 train,
10 validation, 10 test), N = 25, capped at ``--calls`` LLM calls (the persona role's calls:
the sim respondent makes none), once per seed:

* ``all``: every candidate scored on all 30 train contexts (``cascade.screen_contexts = 0``);
* ``screenS``: every candidate scored on a screening set of S of them (``screen_contexts =
  S``, the default for real models), races included.

The table gives, per arm and seed, the evaluations the budget bought, the champion's
validation and test coverage, and its gain over seed:sobol on the test contexts (both
scored on the same seeds). Calls stand in for dollars: with a real model the respondent's
calls shrink in the same proportion.

Usage: .venv/bin/python scripts/bench_screening.py [--seeds 0 1 2] [--calls 30000] [--screen 8]
       [--json FILE]
Default run: about 12-15 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ENV = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_AUTH_MODE": "disabled",
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
}


def run_arm(screen: int, seed: int, calls: int, folder: Path) -> dict[str, Any]:
    """One run; returns the row (or the one-line error of a run that failed)."""
    cfg = folder / f"screen{screen}.toml"
    cfg.write_text(f"[cascade]\nscreen_contexts = {screen}\n")
    db = folder / f"run_{screen}_{seed}" / "archive.db"
    cli = Path(sys.executable).with_name("persona-evolve")
    cmd = [
        str(cli),
        "run",
        "--config",
        str(cfg),
        "--seed",
        str(seed),
        "--budget-calls",
        str(calls),
        "--db",
        str(db),
        "--json",
    ]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **ENV}, cwd=ROOT)
    row: dict[str, Any] = {
        "arm": f"screen{screen}" if screen else "all",
        "seed": seed,
        "seconds": time.perf_counter() - t0,
    }
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.startswith("error:")]
        return {**row, "error": lines[-1] if lines else f"exit {done.returncode}"}
    summary = json.loads(done.stdout)
    test = summary["test"]
    return {
        **row,
        "stop": summary["stop_reason"],
        "evaluations": summary["evaluations"],
        "race_evaluations": summary["race_evaluations"],
        "validation": summary["champion"]["validation"]["coverage"],
        "test": test["champion"]["coverage"],
        "gain": test["champion"]["coverage"] - test["sobol"]["coverage"],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--calls", type=int, default=30_000, help="the LLM call cap of every run")
    ap.add_argument("--screen", type=int, default=8, help="train contexts in the screening arm")
    ap.add_argument("--json", default=None, help="also write the rows to this JSON file")
    args = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-screening-") as tmp:
        for seed in args.seeds:
            for screen in (0, args.screen):
                row = run_arm(screen, seed, args.calls, Path(tmp))
                rows.append(row)
                print(
                    f"  {row['arm']} seed {seed}: {row.get('error') or 'done'} ({row['seconds']:.0f} s)",
                    file=sys.stderr,
                    flush=True,
                )
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    print(f"Equal spend: {args.calls} LLM calls per run, sim world (SIMULATED), N=25, 30 train contexts")
    print(
        f"{'arm':<10}{'seed':>5}{'evals':>7}{'races':>7}{'val cov':>9}{'test cov':>10}{'gain vs sobol':>15}"
    )
    for r in rows:
        if "error" in r:
            print(f"{r['arm']:<10}{r['seed']:>5}  {r['error']}")
            continue
        print(
            f"{r['arm']:<10}{r['seed']:>5}{r['evaluations']:>7}{r['race_evaluations']:>7}{r['validation']:>9.3f}"
            f"{r['test']:>10.3f}{r['gain']:>+15.3f}"
        )
    for arm in dict.fromkeys(r["arm"] for r in rows):
        ok = [r for r in rows if r["arm"] == arm and "error" not in r]
        if ok:
            print(
                f"{arm:<10} mean: {statistics.mean(r['evaluations'] for r in ok):.0f} evaluations, test "
                f"coverage {statistics.mean(r['test'] for r in ok):.3f}, gain "
                f"{statistics.mean(r['gain'] for r in ok):+.3f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
