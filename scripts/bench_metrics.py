#!/usr/bin/env python3
"""Benchmark of the metrics package: calibration and per-metric time, peak memory.

Usage: .venv/bin/python scripts/bench_metrics.py [--n 25 100 1000 10000] [--k 2 4 8]
       [--mc-samples 10000] [--seed 0]

For every (N, K): a uniform random population Z (seeded). Calibration is timed first with a
cold cache (a fresh temporary PERSONA_EVOLVE_CACHE_DIR and an empty memory cache), then the
reload from disk. After calibration, each metric is timed on its own (median of repeats):
``nn`` is the one KD-tree query of the MC points against the personas that yields both
coverage and dispersion; ``hull``, ``min_pd``, ``mean_pd``, ``kl`` the other metrics;
``evaluate`` the whole call. ``peak MB`` is the tracemalloc peak of one ``evaluate`` call
(numpy buffers; Qhull/KD-tree C++ internals are not traced); ``maxrss MB`` is the process
high-water mark so far (cumulative over the rows).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from scipy.spatial import cKDTree  # noqa: E402

import metrics  # noqa: E402
from metrics import calibration  # noqa: E402
from metrics.coverage import mc_points, nearest_distances  # noqa: E402
from metrics.distribution import kl_divergence  # noqa: E402
from metrics.geometry import convex_hull_volume, mean_pairwise_distance, min_pairwise_distance  # noqa: E402


def timed(fn: Callable[[], object], *, budget_s: float = 0.3, max_repeats: int = 50) -> float:
    """Median wall time of fn() in seconds over repeats filling about budget_s (>= 1 run)."""
    times: list[float] = []
    start = time.perf_counter()
    while not times or (time.perf_counter() - start < budget_s and len(times) < max_repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def fmt(seconds: float) -> str:
    return f"{seconds * 1e3:9.2f}" if seconds < 10 else f"{seconds * 1e3:9.0f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, nargs="+", default=[25, 100, 1000, 10000])
    ap.add_argument("--k", type=int, nargs="+", default=[2, 4, 8])
    ap.add_argument("--mc-samples", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    header = (
        f"{'N':>6} {'K':>2} | {'calib cold':>10} {'calib disk':>10} | {'nn(cov+disp)':>12} {'hull':>9} "
        f"{'min_pd':>9} {'mean_pd':>9} {'kl':>9} {'evaluate':>9} | {'peak MB':>7} {'maxrss MB':>9} | hull"
    )
    print(
        f"times in ms; mc_samples={args.mc_samples}; hull policy: K>{metrics.HULL_MAX_DIM} or "
        f"N>HULL_MAX_POINTS[K]={dict(metrics.HULL_MAX_POINTS)} -> NaN"
    )
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory(prefix="bench-metrics-cache-") as tmp:
        os.environ[calibration.CACHE_ENV_VAR] = tmp
        for n in args.n:
            for k in args.k:
                Z = np.random.default_rng(1234 + n + k).random((n, k))
                calibration.clear_memory_cache()
                mc_points.cache_clear()
                t = time.perf_counter()
                cal = metrics.calibrate(n, k, mc_samples=args.mc_samples, seed=args.seed)
                cold = time.perf_counter() - t
                calibration.clear_memory_cache()
                t = time.perf_counter()
                again = metrics.calibrate(n, k, mc_samples=args.mc_samples, seed=args.seed)
                disk = time.perf_counter() - t
                assert again == cal, "disk cache returned a different calibration"

                mc = mc_points(args.mc_samples, k, args.seed)
                t_nn = timed(lambda Z=Z, mc=mc: nearest_distances(Z, mc, tree=cKDTree(Z)))
                t_hull = timed(lambda Z=Z: convex_hull_volume(Z))
                t_min = timed(lambda Z=Z: min_pairwise_distance(Z))
                t_mean = timed(lambda Z=Z: mean_pairwise_distance(Z))
                t_kl = timed(lambda Z=Z: kl_divergence(Z))
                t_eval = timed(lambda Z=Z: metrics.evaluate(Z, mc_samples=args.mc_samples, seed=args.seed))

                tracemalloc.start()
                scores = metrics.evaluate(Z, mc_samples=args.mc_samples, seed=args.seed)
                _, peak = tracemalloc.get_traced_memory()
                tracemalloc.stop()
                maxrss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                hull = (
                    "skipped (NaN)" if metrics.hull_skipped(n, k) else f"{scores['convex_hull_volume']:.3f}"
                )
                print(
                    f"{n:>6} {k:>2} | {fmt(cold):>10} {fmt(disk):>10} | {fmt(t_nn):>12} {fmt(t_hull)} "
                    f"{fmt(t_min)} {fmt(t_mean)} {fmt(t_kl)} {fmt(t_eval)} | {peak / 2**20:7.1f} "
                    f"{maxrss_mb:9.0f} | {hull}",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
