"""Start-up cost of the sandbox per evaluation, before and after kernel isolation.

Times ``run_generator`` (one sandbox call = one evaluation's child process) for a trivial
program, a program that imports scipy's Sobol sampler (as ``seed:sobol`` does) and one
with four contexts, in this tree ("after") and in a checkout of an earlier revision
("before", default: the last commit with the audit-hook sandbox). Prints a table of
medians in milliseconds: child spawn -> ready ("startup") and the whole call ("total").

    .venv/bin/python scripts/bench_sandbox.py [--repeat 15] [--before 74fd2cb]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROGRAMS = {
    "trivial": (
        "def generate(context, n, llm, rng):\n"
        "    return [{'name': f'p{i}', 'description': 'd'} for i in range(n)]\n"
    ),
    "scipy sobol": (
        "from scipy.stats import qmc\n"
        "def generate(context, n, llm, rng):\n"
        "    pts = qmc.Sobol(d=2, seed=rng).random(n)\n"
        "    return [{'name': f'p{i}', 'description': str(p)} for i, p in enumerate(pts)]\n"
    ),
    "llm x25, 4 contexts": (
        "def generate(context, n, llm, rng):\n"
        "    texts = llm.complete_many([f'persona {i}' for i in range(n)])\n"
        "    return [{'name': f'p{i}', 'description': t} for i, t in enumerate(texts)]\n"
    ),
}

# Runs inside the tree being measured (its own generators.sandbox), prints JSON timings.
MEASURE = (
    r"""
import asyncio, json, sys, time
from generators.sandbox import GenerationJob, SandboxLimits
from generators.sandbox.parent import _run_sandbox
programs, repeat = json.loads(sys.argv[1]), int(sys.argv[2])
ctx = {"id": "c", "description": "d", "axes": [{"name": "a", "description": "x", "low": "l", "high": "h"},
                                               {"name": "b", "description": "y", "low": "l", "high": "h"}]}
async def echo(prompts, **_):
    return ["text " + p for p in prompts]
out = {}
for name, code in programs.items():
    jobs = [GenerationJob(context=ctx, n=25, seed=i) for i in range(4 if "4 contexts" in name else 1)]
    startup, total = [], []
    for _ in range(repeat + 1):
        t0 = time.perf_counter()
"""
    r"        results, session = asyncio.run(_run_sandbox(code, jobs, "
    r"llm=echo, limits=SandboxLimits(wall_timeout_s=30), parallel=4))"
    r"""
        took = time.perf_counter() - t0
        assert all(r.error is None for r in results), results[0].error
        startup.append(session.startup_s)
        total.append(took)
    out[name] = {"startup": startup[1:], "total": total[1:], "layers": list(results[0].isolation)}
print(json.dumps(out))
"""
)


def measure(tree: Path, repeat: int) -> dict[str, dict[str, list[float]]]:
    """Timings of every program, measured with the sandbox of ``tree`` (seconds)."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    proc = subprocess.run(
        [sys.executable, "-c", MEASURE, json.dumps(PROGRAMS), str(repeat)],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"measuring {tree} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def checkout(revision: str, into: Path) -> Path:
    """Export ``revision`` of this repository into ``into`` (no git state is changed)."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", revision], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="timed calls per program (after one warm-up)")
    parser.add_argument(
        "--before", default="74fd2cb", help="revision of the audit-hook sandbox to compare with"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        # revisions before the sandbox's own root cannot run from a private (0700) directory
        # when the bench runs as root (their child's uid cannot enter it): open this one
        os.chmod(tmp, 0o755)
        before = measure(checkout(args.before, Path(tmp)), args.repeat)
    after = measure(ROOT, args.repeat)
    ms = lambda xs: 1000 * statistics.median(xs)  # noqa: E731
    print(f"sandbox start-up per evaluation, median of {args.repeat} calls (ms); before = {args.before}")
    print(
        f"{'program':<22}{'startup before':>16}{'startup after':>15}{'total before':>14}"
        f"{'total after':>13}{'added':>8}"
    )
    for name in PROGRAMS:
        b, a = before[name], after[name]
        print(
            f"{name:<22}{ms(b['startup']):>16.0f}{ms(a['startup']):>15.0f}{ms(b['total']):>14.0f}"
            f"{ms(a['total']):>13.0f}{ms(a['total']) - ms(b['total']):>+8.0f}"
        )
    print("layers after: " + " | ".join(after["trivial"]["layers"]))


if __name__ == "__main__":
    main()
