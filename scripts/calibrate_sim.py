"""Calibration of the simulated world: the seed programs (and a hand-tuned variant of
seed:sobol showing the headroom search has) on the shipped validation contexts.

Prints, per program, mean ± sd of the six metrics over contexts x seeds, and of the
``tail_share`` behaviour descriptor (share of personas with an axis outside [0.1, 0.9]).
[SIMULATED]

    .venv/bin/python scripts/calibrate_sim.py [--split validation] [--n 25] [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from generators.context_loader import load_split  # noqa: E402
from generators.seeds import SEED_NAMES, load_seed  # noqa: E402
from generators.sim_calibration import improved_sobol, score_program  # noqa: E402
from metrics import METRIC_NAMES  # noqa: E402

_SHORT = {
    "coverage": "coverage",
    "convex_hull_volume": "hull_vol",
    "min_pairwise_distance": "min_dist",
    "mean_pairwise_distance": "mean_dist",
    "dispersion": "dispersion↓",
    "kl_divergence": "kl↓",
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", default="validation")
    ap.add_argument("--n", type=int, default=25)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = ap.parse_args(argv)
    contexts = load_split(args.split)
    programs = {f"seed:{name}": load_seed(name) for name in SEED_NAMES}
    programs["improved (sobol, tuned levers)"] = improved_sobol(programs["seed:sobol"])
    print(
        f"[SIMULATED] sim-world calibration: split={args.split} ({len(contexts)} contexts), "
        f"N={args.n}, seeds={args.seeds}; mean ± sd over contexts x seeds"
    )
    print(f"{'program':32s}" + "".join(f"{_SHORT[m]:>16s}" for m in METRIC_NAMES) + f"{'tail_share':>16s}")
    t0 = time.perf_counter()
    for label, code in programs.items():
        rows = score_program(code, contexts, n=args.n, seeds=args.seeds, descriptors=True)
        cells = []
        for m in (*METRIC_NAMES, "tail_share"):
            v = np.array([r[m] for r in rows], dtype=float)
            cells.append(f"{np.nanmean(v):7.3f} ± {np.nanstd(v):5.3f}")
        print(f"{label:32s}" + "".join(f"{c:>16s}" for c in cells))
    print(f"({time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
