#!/usr/bin/env python3
"""Benchmark of the archive at run scale.

Inserts N synthetic evaluated programs (default 10,000; 30 contexts × 25 personas × 4 axes
each) in batches through ``Archive.add`` (migration and reset checks after each batch, as
the loop does), then times parent sampling, inspirations, top-10, lineage, grid statistics,
counts and reading one evaluation back, from the writer and from a read-only reader, and
``inspect rare`` on one context through the read-only ``ArchiveReader``. Prints a table, the
database size and the storage per evaluation, split into positions, persona texts of
elites and kept evaluations, and exemplar texts (the first persona text to reach each
region of each context; bounded by contexts × regions). Targets: each query < 100 ms
(``inspect rare`` < 2 s); insert < 10 ms/program.

    .venv/bin/python scripts/bench_archive.py [--n 10000] [--batch 16] [--no-personas] [--no-exemplars]
        [--persona-chars 300] [--db PATH] [--json]

``--inspect`` instead times ``inspect rare``, ``inspect holes`` and ``inspect front`` on a
10,000-evaluation archive (target: each under 2 s): in process (open the archive, compute,
render the text; median and max of ``--repeat`` runs) and as the CLI (one
``persona-evolve inspect`` process each, imports included). The archive is built once by
``scripts/bench_inspect_fixture.py`` (rows written through the archive's own store functions,
no evolution; ~45 s idle, minutes loaded) at ``--fixture PATH`` and reused while it exists:

    .venv/bin/python scripts/bench_archive.py --inspect [--fixture .bench/inspect10k.db] [--n 10000]
        [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from archive import Archive, ArchiveConfig  # noqa: E402
from archive.testing import SYNTHETIC_DESCRIPTORS, synthetic_candidate, synthetic_personas  # noqa: E402


def _time(fn, repeat: int) -> tuple[float, float]:
    """(median, max) wall milliseconds of ``fn()`` over ``repeat`` calls."""
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t0) * 1000)
    return statistics.median(ts), max(ts)


def inspect_bench(fixture: Path, n: int, repeat: int) -> int:
    """Build (or reuse) the fixture, time the three inspect commands, print the table; 0
    when each is under 2 s in process."""
    import importlib
    import subprocess

    if not fixture.exists():
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from bench_inspect_fixture import build

        fixture.parent.mkdir(parents=True, exist_ok=True)
        made = build(fixture, n=n)
        print(
            f"built {fixture}: {made['programs']} programs, {made['evaluations']} evaluations "
            f"({made['validation']} validation) in {made['seconds']:.0f} s"
        )
    from evolve.outputs.inspect import open_source

    ins = importlib.import_module("evolve.outputs.inspect")
    cases = [
        ("rare", "rare", "render_rare", {"context": "ctx00"}, ["--context", "ctx00"]),
        ("holes", "holes", "render_holes", {"context": "ctx00"}, ["--context", "ctx00"]),
        ("front", "front", "render_front", {}, []),
    ]
    with open_source(fixture) as src:
        counts = src.reader.counts()
        positions = next((c["personas"] for c in src.context_counts() if c["id"] == "ctx00"), 0)
    print(f"code: {Path(ins.__file__).resolve().parents[2]}")
    print(
        f"inspect benchmark on {fixture}: {counts.evaluations} stored evaluations, "
        f"{counts.programs} programs, "
        f"{positions} positions in ctx00; {os.cpu_count()} CPUs, load average "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )
    print(
        f"  {'command':<8} {'median s':>9} {'max s':>7} {'CPU s':>7} {'CLI s':>7}   "
        f"(wall in process; mean CPU "
        f"time of the process, all threads; one CLI process, imports included)"
    )
    ok = True
    root = Path(__file__).resolve().parents[1]  # the code measured: this script's tree
    env = {**os.environ, "PYTHONPATH": str(root)}
    for label, fn_name, render_name, kwargs, cli in cases:
        fn, render = getattr(ins, fn_name, None), getattr(ins, render_name, None)
        if fn is None:
            print(f"  {label:<8} {'n/a':>9}")
            continue

        def once(fn=fn, render=render, kwargs=kwargs) -> None:
            with open_source(fixture) as src:
                render(fn(src, **kwargs))

        c0 = time.process_time()
        med, mx = _time(once, repeat)
        cpu = (time.process_time() - c0) / repeat
        t0 = time.perf_counter()
        argv = [sys.executable, "-m", "evolve", "inspect", "--db", str(fixture.resolve()), label, *cli]
        proc = subprocess.run(argv, capture_output=True, text=True, cwd=root, env=env)
        cli_s = time.perf_counter() - t0 if proc.returncode == 0 else float("nan")
        ok = ok and med < 2000
        flag = "" if med < 2000 else "  <-- over 2 s"
        print(f"  {label:<8} {med / 1000:>9.2f} {mx / 1000:>7.2f} {cpu:>7.2f} {cli_s:>7.2f}{flag}")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000, help="programs to insert")
    ap.add_argument("--batch", type=int, default=16, help="candidates per add() call")
    ap.add_argument("--contexts", type=int, default=30)
    ap.add_argument("--personas", type=int, default=25)
    ap.add_argument("--axes", type=int, default=4)
    ap.add_argument(
        "--persona-chars", type=int, default=300, help="description length of elite personas kept"
    )
    ap.add_argument("--no-personas", action="store_true", help="pass no persona texts (positions only)")
    ap.add_argument(
        "--no-exemplars",
        action="store_true",
        help="keep no exemplar texts (ArchiveConfig.exemplars_per_cell=0)",
    )
    ap.add_argument("--db", type=str, default=None, help="database path (default: a temporary file)")
    ap.add_argument("--json", action="store_true", help="print the results as JSON too")
    ap.add_argument(
        "--inspect", action="store_true", help="time inspect rare/holes/front on a large fixture instead"
    )
    ap.add_argument(
        "--fixture",
        type=Path,
        default=Path(".bench/inspect10k.db"),
        help="--inspect: the archive to build once and reuse (default .bench/inspect10k.db)",
    )
    ap.add_argument(
        "--repeat", type=int, default=3, help="--inspect: in-process runs per command (default 3)"
    )
    args = ap.parse_args(argv)
    if args.inspect:
        return inspect_bench(args.fixture, args.n, args.repeat)

    tmp = None
    if args.db is None:
        tmp = tempfile.TemporaryDirectory()
        db = Path(tmp.name) / "bench.db"
    else:
        db = Path(args.db)
        if db.exists():
            sys.exit(f"bench_archive: {db} exists; give a new path")
    cfg = ArchiveConfig(exemplars_per_cell=0 if args.no_exemplars else 1, descriptors=SYNTHETIC_DESCRIPTORS)
    rng = np.random.default_rng(0)
    arch = Archive.create(url_or_path=db, config=cfg, run_config={"bench": True}, seed=0)
    persona_dicts = None if args.no_personas else synthetic_personas(args.personas, chars=args.persona_chars)
    ids: list[str] = []
    gens: dict[str, int] = {}
    insert_s = 0.0
    statuses: dict[str, int] = {}
    t_start = time.perf_counter()
    i = 0
    while i < args.n:
        batch = []
        for _ in range(min(args.batch, args.n - i)):
            parent = ids[int(rng.integers(max(0, len(ids) - 100), len(ids)))] if ids else None
            gen = gens[parent] + 1 if parent else 0
            batch.append(
                synthetic_candidate(
                    i,
                    rng,
                    contexts=args.contexts,
                    personas=args.personas,
                    axes=args.axes,
                    island=i % cfg.islands,
                    parent_id=parent,
                    generation=gen,
                    persona_dicts=persona_dicts,
                    fitness=float(min(1.0, rng.random() * (0.5 + i / args.n))),
                )
            )
            i += 1
        t0 = time.perf_counter()
        for c, r in zip(batch, arch.add(batch)):
            statuses[r.status.value] = statuses.get(r.status.value, 0) + 1
            if r.program_id:
                ids.append(r.program_id)
                gens[r.program_id] = c.program.generation
        arch.maybe_migrate()
        arch.maybe_reset()
        insert_s += time.perf_counter() - t0
    total_s = time.perf_counter() - t_start

    deepest = max(ids, key=lambda p: gens[p])
    qrng = np.random.default_rng(1)
    rows: list[tuple[str, float, float]] = []

    def bench(label: str, a: Archive, fn, repeat: int = 50) -> None:
        med, mx = _time(lambda: fn(a), repeat)
        rows.append((label, med, mx))

    from archive.reader import ArchiveReader
    from evolve.outputs.inspect import rare
    from evolve.outputs.inspect.source import Source

    with ArchiveReader.open(db) as reader:
        src = Source.of(reader)
        rows.append(
            ("reader: context_positions(ctx00)", *_time(lambda: reader.context_positions("ctx00"), 5))
        )
        rows.append(("reader: personas(ctx00)", *_time(lambda: reader.personas(context_id="ctx00"), 5)))
        t0 = time.perf_counter()
        data = rare(src, context="ctx00", k=10)
        rare_ms = (time.perf_counter() - t0) * 1000
        rare_missing = sum(1 for r in data["regions"] if r["example"] is None)
        all_regions = rare(src, context="ctx00", k=10_000)["regions"]
        rare_missing_all = sum(1 for r in all_regions if r["example"] is None)
    for who, a in (("writer", arch), ("reader", Archive.open(url_or_path=db, readonly=True))):
        bench(f"{who}: sample_parent uniform", a, lambda a: a.sample_parent(1, qrng, strategy="uniform"))
        bench(f"{who}: sample_parent fitness", a, lambda a: a.sample_parent(1, qrng, strategy="fitness"))
        bench(f"{who}: sample_parent curiosity", a, lambda a: a.sample_parent(1, qrng, strategy="curiosity"))
        bench(f"{who}: sample_inspirations k=3", a, lambda a: a.sample_inspirations(1, qrng, k=3))
        bench(f"{who}: top(10)", a, lambda a: a.top(10))
        bench(f"{who}: champion()", a, lambda a: a.champion())
        bench(f"{who}: lineage (depth {gens[deepest]})", a, lambda a: a.lineage(deepest), repeat=10)
        bench(f"{who}: qd_stats()", a, lambda a: a.qd_stats())
        bench(f"{who}: grid()", a, lambda a: a.grid())
        bench(f"{who}: counts()", a, lambda a: a.counts(), repeat=10)
        bench(f"{who}: evaluations(pid) + positions", a, lambda a: a.evaluations(deepest), repeat=20)
        if who == "reader":
            a.close()
    counts = arch.counts()
    qd = arch.qd_stats()
    arch.close()  # checkpoints the WAL into the main file
    size = db.stat().st_size + sum(p.stat().st_size for p in db.parent.glob(db.name + "-*"))

    import sqlite3

    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    pos_bytes = con.execute("SELECT COALESCE(SUM(LENGTH(positions)),0) FROM context_results").fetchone()[0]
    n_personas = con.execute("SELECT COUNT(*) FROM personas").fetchone()[0]
    persona_bytes = con.execute(
        (
            "SELECT COALESCE(SUM(LENGTH(fields)+LENGTH(description)+LENGTH(name)+LENGTH(position)),0) "
            "FROM personas"
        )
    ).fetchone()[0]
    n_exemplars, exemplar_bytes = con.execute(
        "SELECT COUNT(*), COALESCE(SUM(LENGTH(fields)+LENGTH(description)+LENGTH(name)+LENGTH(position)),0) "
        "FROM personas WHERE exemplar IS NOT NULL"
    ).fetchone()
    con.close()
    from archive.exemplars import default_bins

    bound = args.contexts * default_bins(args.axes) ** args.axes

    ms_per_prog = insert_s / args.n * 1000
    print(
        (
            f"archive benchmark: {args.n} programs × {args.contexts} contexts × {args.personas} personas × "
            f"{args.axes} axes"
        )
    )
    print(
        f"  inserts: {insert_s:.1f} s in add()+maybe_migrate/reset = {ms_per_prog:.2f} ms/program "
        f"(wall incl. synthetic data {total_s:.1f} s)"
    )
    print(
        f"  statuses: {statuses}; elites {qd['filled']}/{qd['cells_total']}, qd_score {qd['qd_score']:.2f}; "
        f"migrations {counts['migrations']}, resets {counts['resets']}"
    )
    print(
        f"  database: {size / 1e6:.1f} MB  (positions {pos_bytes / 1e6:.1f} MB in blobs; "
        f"{n_personas} persona rows, {persona_bytes / 1e6:.1f} MB of persona payload)"
    )
    print(
        f"  per evaluation: {size / args.n / 1e3:.1f} kB of database ({pos_bytes / args.n / 1e3:.1f} kB "
        f"positions); exemplar texts: {n_exemplars} rows (bound {bound} = {args.contexts} contexts x "
        f"{default_bins(args.axes)}^{args.axes} regions), {exemplar_bytes / 1e6:.2f} MB"
    )
    print(
        f"  inspect rare (ctx00, through ArchiveReader): {rare_ms:.0f} ms; regions without an example text: "
        f"{rare_missing} of the top 10, {rare_missing_all} of all {len(all_regions)}"
    )
    print(f"  {'query':<46} {'median ms':>10} {'max ms':>9}")
    for label, med, mx in rows:
        flag = "" if med < 100 else "  <-- over 100 ms"
        print(f"  {label:<46} {med:>10.2f} {mx:>9.2f}{flag}")
    if args.json:
        print(
            json.dumps(
                {
                    "n": args.n,
                    "ms_per_program": ms_per_prog,
                    "db_bytes": size,
                    "positions_bytes": pos_bytes,
                    "persona_rows": n_personas,
                    "exemplar_rows": n_exemplars,
                    "exemplar_bytes": exemplar_bytes,
                    "bytes_per_evaluation": size / args.n,
                    "rare_ms": rare_ms,
                    "rare_regions_without_text": rare_missing_all,
                    "queries_ms": {label: med for label, med, _ in rows},
                    "statuses": statuses,
                },
                indent=2,
            )
        )
    if tmp is not None:
        tmp.cleanup()
    ok = (
        ms_per_prog < 10 and all(med < 100 for _, med, _ in rows) and rare_ms < 2000 and rare_missing_all == 0
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
