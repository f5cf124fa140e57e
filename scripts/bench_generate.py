#!/usr/bin/env python3
"""Benchmark: evaluate seed:sobol on all 30 train contexts at N = 25 in the sim world.

Wall time is split into sandbox start-up (one child interpreter with numpy, limits,
network namespace), generation (the program's ``generate`` for every context, its LLM
calls proxied to the simulator), respondent (questionnaire answers) and metrics. Pinned
to one core. Prints a table of the median over ``--repeats`` runs.

Usage: .venv/bin/python scripts/bench_generate.py [--repeats 5] [--program seed:sobol] [-n 25]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--program", default="seed:sobol")
    parser.add_argument("-n", type=int, default=25)
    parser.add_argument("--all-cores", action="store_true", help="do not pin to one core")
    args = parser.parse_args()
    if not args.all_cores and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})

    from generators.context_loader import load_split
    from generators.evaluation import EvalSettings, evaluate_program
    from generators.llm import build_client
    from generators.respondent import SimRespondent
    from generators.sandbox import GenerationJob, run_generator_async
    from generators.seeds import load_seed

    contexts = load_split("train")
    code = load_seed(args.program)
    client = build_client({"persona": "sim", "respondent": "sim"})
    respondent = SimRespondent()
    settings = EvalSettings(n=args.n)

    async def echo(prompts, **_):
        return ["" for _ in prompts]

    trivial = "def generate(context, n, llm, rng):\n    return [{'name': 'a', 'description': 'b'}] * n\n"
    rows = []
    for rep in range(args.repeats + 1):  # the first run warms caches (calibration, imports)
        t0 = time.perf_counter()
        asyncio.run(
            run_generator_async(
                trivial, [GenerationJob(context=contexts[0].public_dict(), n=2, seed=0)], llm=echo
            )
        )
        startup = time.perf_counter() - t0
        t1 = time.perf_counter()
        outcome = asyncio.run(
            evaluate_program(
                code, contexts, client=client, respondent=respondent, settings=settings, seed=rep
            )
        )
        total = time.perf_counter() - t1
        errors = [o.error for o in outcome.contexts if o.error]
        if errors:
            raise SystemExit(f"evaluation failed: {errors[0]}")
        if rep:
            rows.append(
                {
                    "startup": startup,
                    "generation": max(0.0, outcome.sandbox_s - startup),
                    "respondent": outcome.respondent_s,
                    "metrics": outcome.metrics_s,
                    "total": total,
                }
            )
    med = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
    print(
        f"[SIMULATED WORLD] {args.program} on {len(contexts)} train contexts, N={args.n}, "
        f"{'1 core' if not args.all_cores else 'all cores'}, median of {args.repeats}"
    )
    print(f"{'part':<22}{'seconds':>10}{'share':>9}")
    for key, label in (
        ("startup", "sandbox start-up"),
        ("generation", "generation"),
        ("respondent", "respondent"),
        ("metrics", "metrics"),
    ):
        print(f"{label:<22}{med[key]:>10.3f}{med[key] / med['total']:>9.1%}")
    print(
        (
            f"{'total wall':<22}{med['total']:>10.3f}{'':>9}   target < 5 s: "
            f"{'met' if med['total'] < 5 else 'MISSED'}"
        )
    )


if __name__ == "__main__":
    main()
