#!/usr/bin/env python3
"""What a population file earns through ``generate`` then ``score`` (the user's path outside
a run), in the sim world: the seed programs, a program forging the sim's trait sentences, a
program writing vague text (no model call, no trait), and a short file (seed:sobol with its
three most extreme personas removed), beside the floor and random references.

Each (program, context, seed): ``persona-evolve generate --model sim -n N --seed S`` into a
temporary file, then ``persona-evolve score --json`` on it; coverage is averaged over contexts
and seeds. The short file is scored as written (the N recorded by ``generate``) and with
``-n`` set to the rows it has (the old behaviour: a larger coverage radius). [SIMULATED]

    .venv/bin/python scripts/bench_sim_trust.py [--split test] [--n 25] [--seeds 0 1]
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import io
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from evolve.cli import main  # noqa: E402
from generators.context_loader import load_split  # noqa: E402
from generators.sim import text as sim_text  # noqa: E402
from metrics import references  # noqa: E402

FORGER = (
    inspect.getsource(sim_text.grade_of)
    + inspect.getsource(sim_text.trait_sentence).replace("str | None", "object")
    + f"\nGRADE_WORDS = {sim_text.GRADE_WORDS!r}\n"
    + """

def generate(context, n, llm, rng):
    out = []
    for i in range(n):
        name = f"Ada Forge{i}"
        parts = [f"[SIMULATED] {name}, 40, lives here."]
        for j, a in enumerate(context.axes):
            parts.append(trait_sentence(a.name, "Ada", float(rng.random()), a.low, a.high))
        out.append({"name": name, "description": " ".join(parts)})
    return out
"""
)
"""Writes the sim's trait sentences itself at uniformly random positions (no model call)."""

VAGUE = """
JOBS = ["nurse", "driver", "teacher", "clerk", "cook", "welder", "student", "farmer"]

def generate(context, n, llm, rng):
    return [{"name": f"Person {i}", "description": f"[SIMULATED] Person {i}, {20 + 2 * i}, works as a "
             f"{JOBS[i % len(JOBS)]} and has ordinary views on most things."} for i in range(n)]
"""
"""Vague text: no model call, no trait, every persona worded differently."""


def _cli(argv: list[str]) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(argv)
    if rc != 0:
        raise RuntimeError(f"persona-evolve {' '.join(argv)}: exit {rc}: {err.getvalue().strip()[-300:]}")
    return rc, out.getvalue()


def _score(path: Path, ctx: str, extra: list[str]) -> dict[str, Any]:
    return json.loads(_cli(["score", "--personas", str(path), "--context", ctx, "--json", *extra])[1])


def _drop_extremes(path: Path, positions: list[list[float]], k: int) -> Path:
    """The file without its ``k`` personas farthest from the centre of the cube."""
    lines = path.read_text(encoding="utf-8").splitlines()
    far = np.linalg.norm(np.asarray(positions, dtype=float) - 0.5, axis=1)
    keep = sorted(np.argsort(-far)[k:].tolist())
    short = path.with_suffix(".short.jsonl")
    short.write_text("\n".join(lines[i] for i in keep) + "\n", encoding="utf-8")
    return short


def main_bench(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", default="test")
    ap.add_argument("--n", type=int, default=25)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--drop", type=int, default=3, help="personas removed for the short file")
    args = ap.parse_args(argv)
    contexts = load_split(args.split)
    programs = {
        "seed:naive": "seed:naive",
        "seed:batch": "seed:batch",
        "seed:sobol": "seed:sobol",
        "forger": FORGER,
        "vague text": VAGUE,
    }
    rows: dict[str, list[float]] = {name: [] for name in programs}
    rows["sobol short, as written"] = []
    rows["sobol short, -n rows"] = []
    unverified: dict[str, int] = {name: 0 for name in rows}
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name, ref in programs.items():
            generator = ref
            if not ref.startswith("seed:"):
                generator = str(folder / f"{name.replace(' ', '_')}.py")
                Path(generator).write_text(ref, encoding="utf-8")
            for ctx in contexts:
                for seed in args.seeds:
                    out = folder / f"{name.replace(' ', '_').replace(':', '_')}_{ctx.id}_{seed}.jsonl"
                    _cli(
                        [
                            "generate",
                            "--generator",
                            generator,
                            "--context",
                            ctx.id,
                            "-n",
                            str(args.n),
                            "--seed",
                            str(seed),
                            "--out",
                            str(out),
                        ]
                    )
                    full = _score(out, ctx.id, [])
                    rows[name].append(full["metrics"]["coverage"])
                    unverified[name] += int(full.get("unverified_sentences", 0))
                    if name == "seed:sobol":
                        short = _drop_extremes(out, full["positions"], args.drop)
                        as_written = _score(short, ctx.id, [])["metrics"]["coverage"]
                        rows["sobol short, as written"].append(as_written)
                        try:
                            rows["sobol short, -n rows"].append(
                                _score(short, ctx.id, ["-n", str(args.n - args.drop)])["metrics"]["coverage"]
                            )
                        except SystemExit:  # a score without -n (before this option existed)
                            pass
    shapes = [(args.n, ctx.k) for ctx in contexts]
    floor = float(np.mean([references(n, k).floor["coverage"] for n, k in shapes]))
    rand = float(np.mean([references(n, k).random["coverage"] for n, k in shapes]))
    print(
        f"[SIMULATED] generate -> score, split={args.split} ({len(contexts)} contexts), N={args.n}, "
        f"seeds={args.seeds}; coverage, mean ± sd over contexts x seeds; "
        "sim sentences score could not verify"
    )
    for name, values in rows.items():
        if values:
            spread = f"{np.mean(values):.3f} ± {np.std(values):.3f}"
            print(f"  {name:28s} {spread}   unverified {unverified[name]}")
    print(f"  {'floor':28s} {floor:.3f}\n  {'random':28s} {rand:.3f}")
    print(f"({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main_bench())
