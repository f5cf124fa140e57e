#!/usr/bin/env python3
"""Benchmark of the evolution loop. Prints three tables:

1. Controller overhead: the persona role is a real litellm call to a local
   OpenAI-compatible stub (127.0.0.1) that answers with the simulator's text after a
   fixed latency (default 0.5 s per call); respondent = sim; mutator = offline GP.
   Reported: the driver process's CPU seconds during the evolution phase over its wall
   seconds (target < 10 %).
2. Throughput: evaluations per minute of the evolution phase with 1 and with 2 Ray
   workers (sim world; target speedup >= 1.7x).
3. Search progress: the champion's validation coverage against evaluations spent, for
   3 run seeds, next to the best seed program's validation coverage.

Usage: .venv/bin/python scripts/bench_run.py [--part 1 2 3] [--evals 40] [--latency 0.5]
Everything runs locally; part 3 takes several minutes.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
from pathlib import Path

for key, value in {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_AUTH_MODE": "disabled",
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
}.items():
    os.environ.setdefault(key, value)
ROOT = Path(__file__).resolve().parents[1]

from evolve.config import RunConfig, replace_path  # noqa: E402
from evolve.loop.controller import Controller  # noqa: E402
from evolve.loop.run import execute_run  # noqa: E402
from evolve.outputs.progress import Progress  # noqa: E402
from generators.llm import ModelConfig  # noqa: E402

PHASE: dict[str, float] = {}
_original_evolve = Controller.evolve


async def _timed_evolve(self):  # records the evolution phase's wall and driver CPU time
    wall0, cpu0 = time.perf_counter(), time.process_time()
    try:
        return await _original_evolve(self)
    finally:
        PHASE.update(
            wall=time.perf_counter() - wall0, cpu=time.process_time() - cpu0, evaluations=self.stats.evaluated
        )


Controller.evolve = _timed_evolve


def _run(config: RunConfig, tmp: Path, name: str) -> dict:
    PHASE.clear()
    config = dataclasses.replace(config, db=str(tmp / name / "archive.db"))
    summary = execute_run(config, progress=Progress(simulated=True, enabled=False))
    return {**summary, "phase": dict(PHASE)}


def _restart_ray(cpus: int) -> None:
    import ray

    if ray.is_initialized():
        ray.shutdown()
    from evolve.execution.ray_runtime import init_ray

    init_ray(num_cpus=cpus, object_store_mb=200)


def _serve_stub(latency: float, queue) -> None:
    """Child process: an OpenAI-compatible stub on 127.0.0.1 answering with sim text."""
    import importlib.util

    from generators.sim import SimLLM

    # tests/ is not put on sys.path: its package-named folders would shadow the packages
    spec = importlib.util.spec_from_file_location(
        "stub_openai_server", ROOT / "tests" / "stub_openai_server.py"
    )
    stub = importlib.util.module_from_spec(spec)
    sys.modules["stub_openai_server"] = stub
    spec.loader.exec_module(stub)
    sim = SimLLM()
    counter = {"n": 0}

    def reply(messages):
        counter["n"] += 1
        return sim.respond("persona", messages, seed=counter["n"])

    with stub.StubServer(reply=reply, latency_s=latency) as server:
        queue.put(server.base_url)
        while True:
            time.sleep(3600)


def part_overhead(tmp: Path, latency: float, evals: int) -> None:
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    server = ctx.Process(target=_serve_stub, args=(latency, queue), daemon=True)
    server.start()  # its own process, so serving requests is not counted as driver CPU
    try:
        base_url = queue.get(timeout=60)
        os.environ["STUB_KEY"] = "sk-stub"
        persona = ModelConfig(model="openai/sim-behind-stub", api_base=base_url, api_key_env="STUB_KEY")
        config = replace_path(RunConfig(), "models.persona", persona)
        config = replace_path(config, "budget.evaluations", evals)
        config = replace_path(config, "budget.minutes", None)
        _restart_ray(2)
        result = _run(config, tmp, "overhead")
    finally:
        server.terminate()
        server.join(5)
    phase = result["phase"]
    print(f"\n## 1. Controller overhead (persona LLM via litellm -> stub process, {latency:.2f} s per call)")
    print(f"{'evaluations':<28}{phase['evaluations']:>10}")
    print(f"{'evolution wall (s)':<28}{phase['wall']:>10.1f}")
    print(f"{'driver CPU (s)':<28}{phase['cpu']:>10.2f}")
    share = phase["cpu"] / phase["wall"]
    print(
        (
            f"{'controller share of wall':<28}{share:>10.1%}   target < 10%: "
            f"{'met' if share < 0.10 else 'MISSED'}"
        )
    )


def part_throughput(tmp: Path, evals: int) -> None:
    rates = {}
    for cpus in (1, 2):
        _restart_ray(cpus)
        config = replace_path(RunConfig(), "budget.evaluations", evals)
        config = replace_path(config, "budget.minutes", None)
        config = replace_path(config, "ray.num_cpus", cpus)
        result = _run(config, tmp, f"workers{cpus}")
        rates[cpus] = 60.0 * result["phase"]["evaluations"] / result["phase"]["wall"]
    print("\n## 2. Throughput (sim world, full train set per evaluation, cascade on)")
    print(f"{'Ray workers':<14}{'evals/min':>12}")
    for cpus, rate in rates.items():
        print(f"{cpus:<14}{rate:>12.1f}")
    speedup = rates[2] / rates[1]
    print(f"speedup {speedup:.2f}x   target >= 1.7x: {'met' if speedup >= 1.7 else 'MISSED'}")


def part_progress(tmp: Path, evals: int, seeds: tuple[int, ...]) -> None:
    import sqlite3

    _restart_ray(2)
    print(f"\n## 3. Champion validation coverage vs evaluations (sim world, {evals} evaluations per run)")
    checkpoints = sorted({max(1, evals // 8), evals // 4, evals // 2, (3 * evals) // 4, evals})
    header = f"{'run seed':<10}{'best seed prog':>16}" + "".join(f"{'@' + str(c):>9}" for c in checkpoints)
    print(header)
    for seed in seeds:
        config = replace_path(RunConfig(), "budget.evaluations", evals)
        config = replace_path(config, "budget.minutes", None)
        config = replace_path(config, "seed", seed)
        result = _run(config, tmp, f"progress{seed}")
        best_seed = max(v["coverage"] for v in result["seeds"].values())
        with sqlite3.connect(result["db"]) as conn:
            rows = conn.execute(
                "SELECT kind, detail FROM events WHERE kind IN ('evaluated', 'validated') ORDER BY id"
            ).fetchall()
        import json

        done, best, curve = 0, best_seed, {}
        for kind, detail in rows:
            detail = json.loads(detail) if isinstance(detail, str) else (detail or {})
            if kind == "evaluated" and detail.get("stage") == "train":
                done += 1
                curve[done] = best
            elif done and detail.get("fitness") is not None:
                best = max(best, float(detail["fitness"]))
                curve[done] = best
        line = f"{seed:<10}{best_seed:>16.4f}" + "".join(f"{curve.get(c, best):>9.4f}" for c in checkpoints)
        print(line)
    print("(validation coverage of the best program validated so far; seeds count from evaluation 0)")


def main() -> None:
    parser = argparse.ArgumentParser(description="persona-evolve loop benchmark")
    parser.add_argument("--part", type=int, nargs="*", default=[1, 2, 3])
    parser.add_argument("--evals", type=int, default=40, help="evaluations per run in part 3")
    parser.add_argument("--latency", type=float, default=0.5)
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    args = parser.parse_args()
    print("[SIMULATED WORLD] all figures come from the sim test bed")
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        if 1 in args.part:
            part_overhead(tmp_path, args.latency, evals=6)
        if 2 in args.part:
            part_throughput(tmp_path, evals=12)
        if 3 in args.part:
            part_progress(tmp_path, args.evals, tuple(args.seeds))


if __name__ == "__main__":
    main()
