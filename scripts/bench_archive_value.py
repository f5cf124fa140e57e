#!/usr/bin/env python3
"""Does the MAP-Elites grid earn its keep? And which descriptors spread?

Two parts.

``--measure DB [DB ...]``: the spread of every candidate descriptor of
:data:`metrics.descriptors.DESCRIPTORS` over the programs the runs in those archives
evaluated (every train evaluation stores all of them). Per descriptor: programs, min /
10th percentile / median / 90th / max, the distinct bins its values fill when 8 bins are
calibrated from the programs placed within each run's first 20 stored evaluations (all stages:
the archive's clock) and then frozen, as the archive does with the default ``calibrate_after``,
and Spearman's rho with train fitness (a descriptor that only restates fitness adds no
diversity). This is the evidence the default descriptors were chosen from.

Without ``--measure``: at equal evaluations, one evolution per (arm, mutation source, run
seed) in the sim world, the settings of ``scripts/bench_search.py`` (4 train and 4
validation contexts, N = 25, capped by ``--evaluations``), arms:

* ``new``: the default ``[archive]`` descriptors (bins calibrated from data);
* ``old``: the descriptors before issue 18 (``tail_share`` [0, 1] in 10 x
  ``llm_tokens_per_persona`` [10, 1e4] in 8, log);
* ``off``: islands-only selection (one cell per island: the grid off).

Per run: held-out gain of the champion over the best seed program (6 shipped contexts the
run never saw x 2 seeds, paired; bench_search's ``held_out``), QD-score and cells filled
(all islands), and ``near_best``: distinct elite programs whose train fitness is within
0.02 of the best elite's (alternatives a user can pick from at almost no loss).

Usage: .venv/bin/python scripts/bench_archive_value.py [--seeds 0 1 2] [--evaluations 40]
       [--sources offline neutral] [--arms new old off] [--keep DIR] [--json FILE]
       .venv/bin/python scripts/bench_archive_value.py --measure runs/*/archive.db
       .venv/bin/python scripts/bench_archive_value.py --table FILE.json
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import bench_search as bs  # noqa: E402  (sets the Ray / litellm environment)

from archive import Archive  # noqa: E402
from archive.binning import bin_index  # noqa: E402
from archive.calibration import calibrated_specs  # noqa: E402
from archive.records import DescriptorSpec, declared_spec  # noqa: E402
from evolve.config import ArchiveSettings, RunConfig  # noqa: E402
from evolve.outputs.progress import Progress  # noqa: E402
from metrics.descriptors import DESCRIPTORS  # noqa: E402

ARMS: dict[str, tuple[DescriptorSpec, ...] | None] = {
    "new": None,  # the shipped default
    "old": (
        declared_spec("tail_share", low=0.0, high=1.0, bins=10),
        declared_spec("llm_tokens_per_persona", low=10.0, high=10_000.0, bins=8, log=True),
    ),
    "off": (declared_spec("tail_share", low=0.0, high=1.0, bins=1),),
}
NEAR = 0.02
MEASURE_BINS = 8
MEASURE_AFTER = 20

# --------------------------------------------------------------------------- measure


def _train_rows(db: str) -> list[tuple[float, dict[str, float], int]]:
    """(fitness, descriptors, evaluations stored before it) of every train evaluation ``add``
    stored, in order (the count is the archive's clock, all stages)."""
    import sqlite3

    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = con.execute("SELECT stage, fitness, descriptors FROM evaluations ORDER BY id").fetchall()
    finally:
        con.close()
    return [
        (float(f), json.loads(d), i)
        for i, (stage, f, d) in enumerate(rows)
        if stage == "train" and f is not None and d and d != "null"
    ]


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    i = q * (len(xs) - 1)
    lo = int(i)
    return xs[lo] + (xs[min(lo + 1, len(xs) - 1)] - xs[lo]) * (i - lo)


def _spearman(a: list[float], b: list[float]) -> float | None:
    from scipy.stats import spearmanr

    if len(a) < 3 or len(set(a)) < 2 or len(set(b)) < 2:
        return None
    return float(spearmanr(a, b).statistic)


def measure(dbs: list[str]) -> list[dict[str, Any]]:
    """One row per descriptor: spread over every program of the runs in ``dbs``."""
    runs = [r for r in (_train_rows(db) for db in dbs) if r]
    out = []
    for name in DESCRIPTORS:
        vals, fits, bins = [], [], 0
        for rows in runs:
            seen = [(f, d[name], i) for f, d, i in rows if d.get(name) is not None]
            if not seen:
                continue
            vals += [v for _, v, _ in seen]
            fits += [f for f, _, _ in seen]
            spec = calibrated_specs(
                (declared_spec(name, bins=MEASURE_BINS),),
                [{name: v} for _, v, i in seen if i < MEASURE_AFTER],
            )[0]
            bins += len({bin_index(spec, v)[0] for _, v, _ in seen})
        if not vals:
            out.append({"descriptor": name, "programs": 0})
            continue
        out.append(
            {
                "descriptor": name,
                "kind": DESCRIPTORS[name].kind,
                "programs": len(vals),
                "min": min(vals),
                "p10": _pct(vals, 0.1),
                "median": _pct(vals, 0.5),
                "p90": _pct(vals, 0.9),
                "max": max(vals),
                "distinct": len({round(v, 6) for v in vals}),
                "bins_filled": bins / len(runs),
                "rho_fitness": _spearman(vals, fits),
            }
        )
    return out


def print_measure(rows: list[dict[str, Any]], dbs: list[str]) -> None:
    print(
        f"descriptor spread over the programs of {len(dbs)} run(s) [SIMULATED WORLD]; bins filled: of "
        f"{MEASURE_BINS}, calibrated as a run does (on the programs placed within its first {MEASURE_AFTER} "
        "stored evaluations), mean over runs"
    )
    print(
        f"{'descriptor':<24}{'kind':<11}{'progs':>6}{'min':>9}{'p10':>9}{'median':>9}{'p90':>9}{'max':>9}"
        f"{'distinct':>9}{'bins':>6}{'rho fit':>8}"
    )
    for r in rows:
        if not r["programs"]:
            print(f"{r['descriptor']:<24}(not recorded)")
            continue
        rho = "-" if r["rho_fitness"] is None else f"{r['rho_fitness']:+.2f}"
        print(
            f"{r['descriptor']:<24}{r['kind']:<11}{r['programs']:>6}"
            + "".join(f"{r[k]:>9.4g}" for k in ("min", "p10", "median", "p90", "max"))
            + f"{r['distinct']:>9}{r['bins_filled']:>6.1f}{rho:>8}"
        )


# --------------------------------------------------------------------------- arms


def arm_config(config: RunConfig, arm: str) -> RunConfig:
    descs = ARMS[arm]
    if descs is None:
        return config
    return dataclasses.replace(
        config, archive=ArchiveSettings(descriptors=descs, calibrate_after=config.archive.calibrate_after)
    )


def grid_figures(db: str) -> dict[str, Any]:
    a = Archive.open(url_or_path=db, readonly=True)
    try:
        qd = a.qd_stats()
        elites = a.grid().elites
    finally:
        a.close()
    best: dict[str, float] = {}
    for e in elites:
        best[e.program_id] = max(best.get(e.program_id, float("-inf")), e.fitness)
    top = max(best.values()) if best else None
    return {
        "qd_score": qd["qd_score"],
        "filled": qd["filled"],
        "cells_total": qd["cells_total"],
        "elite_programs": len(best),
        "near_best": sum(f >= top - NEAR for f in best.values()) if top is not None else 0,
    }


def near_best_cost(db: str) -> dict[str, Any]:
    """``cost_ratio``: the fewest persona-role tokens per persona among the elites within
    ``NEAR`` of the best elite's train fitness, divided by the best elite's own (1.0 = no
    cheaper near-equal program kept; None when tokens were not recorded)."""
    a = Archive.open(url_or_path=db, readonly=True)
    try:
        elites = a.grid().elites
    finally:
        a.close()
    if not elites:
        return {"cost_ratio": None}
    top = max(elites, key=lambda e: (e.fitness, e.program_id))
    own = top.descriptors.get("llm_tokens_per_persona")
    near = [e.descriptors.get("llm_tokens_per_persona") for e in elites if e.fitness >= top.fitness - NEAR]
    near = [t for t in near if t is not None]
    return {"cost_ratio": (min(near) / own) if own and near else None}


def stepping_stones(db: str, champion: str) -> dict[str, Any]:
    """How much the search leaned on parents below the best of their island: ``stone_share``,
    the share of proposals whose parent's train fitness was below the best fitness on the
    proposal's island so far (programs inserted there, and parents drawn there: seed copies
    and migrants show up when drawn); ``champion_stones``, the steps of the champion's
    lineage whose parent was below its island's best when last drawn before the child arrived (0 = the
    champion climbed from the island's best at every step, as islands-only selection does).
    Island resets are not replayed (none happen in 40 evaluations at the default stagnation)."""
    import sqlite3

    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        fit = {
            pid: f
            for pid, f in con.execute(
                "SELECT program_id, MAX(fitness) FROM evaluations WHERE stage = "
                "'train' AND fitness IS NOT NULL GROUP BY program_id"
            )
        }
        parent = dict(con.execute("SELECT id, parent_id FROM programs"))
        events = con.execute(
            "SELECT kind, program_id, island, detail FROM events WHERE kind IN ('proposed', "
            "'inserted') ORDER BY id"
        ).fetchall()
    finally:
        con.close()
    best: dict[int, float] = {}
    below, proposals = 0, 0
    last_pick: dict[str, bool] = {}  # parent -> was it below its island's best when last drawn
    drawn_below: dict[str, bool] = {}  # child -> its parent's last_pick when the child was inserted
    for kind, pid, island, detail in events:
        here = best.get(island, float("-inf"))
        if kind == "proposed":
            proposals += 1
            f = fit.get(pid, float("-inf"))
            last_pick[pid] = f < here - 1e-12
            below += last_pick[pid]
            best[island] = max(here, f)
        else:
            drawn_below.setdefault(pid, last_pick.get(parent.get(pid) or "", False))
            f = (json.loads(detail) if detail else {}).get("fitness")
            if f is not None:
                best[island] = max(here, float(f))
    stones, node, seen = 0, champion, set()
    while parent.get(node) and node not in seen:
        seen.add(node)
        stones += drawn_below.get(node, False)
        node = parent[node]
    return {
        "stone_share": below / proposals if proposals else None,
        "champion_stones": stones,
        "champion_steps": len(seen),
    }


def one_run(arm: str, source: str, seed: int, evaluations: int, tmp: Path) -> dict[str, Any]:
    tag = f"{arm}-{source}-{seed}-{evaluations}"
    server = edits = None
    if source == "neutral":
        os.environ[bs.KEY_ENV] = "sk-neutral-stub"
        edits = bs.NeutralEdits(seed)
        server = bs.StubServer(reply=edits).start()
    try:
        config = arm_config(
            bs.run_config(seed, evaluations, source, server.base_url if server else None, tmp, tag), arm
        )
        t0 = time.perf_counter()
        summary = bs.run_module.execute_run(config, progress=Progress(simulated=True, enabled=False))
        wall = time.perf_counter() - t0
    finally:
        if server is not None:
            server.stop()
    seed_ids = summary["seed_ids"]
    seed_val = {name: (summary["seeds"].get(name) or {}).get("coverage") for name in seed_ids}
    best = max((n for n in seed_val if seed_val[n] is not None), key=lambda n: seed_val[n])
    champ = summary["champion"]["id"]
    a = Archive.open(url_or_path=summary["db"], readonly=True)
    try:
        codes = {"champion": a.get_program(champ).code, "best_seed": a.get_program(seed_ids[best]).code}
    finally:
        a.close()
    scores = bs.held_out(config, codes)
    pairs = sorted(scores["champion"])
    diffs = [scores["champion"][p] - scores["best_seed"][p] for p in pairs]
    return {
        "arm": arm,
        "source": source,
        "seed": seed,
        "budget": evaluations,
        "db": summary["db"],
        "evaluations": summary["evaluations"],
        "wall_s": round(wall, 1),
        "champion": champ,
        "champion_is_seed": champ in seed_ids.values(),
        "gain": statistics.fmean(diffs),
        "wins": sum(d > 0 for d in diffs),
        "pairs": len(diffs),
        **grid_figures(summary["db"]),
        **stepping_stones(summary["db"], champ),
        **near_best_cost(summary["db"]),
    }


def print_tables(rows: list[dict[str, Any]]) -> None:
    for r in rows:  # rows written before stepping stones were measured, when their archive is still there
        if "stone_share" not in r and Path(r["db"]).exists():
            r.update(stepping_stones(r["db"], r["champion"]))
        if "cost_ratio" not in r and Path(r["db"]).exists():
            r.update(near_best_cost(r["db"]))
    print(
        f"\n{'arm':<5}{'source':<9}{'seed':>5}{'evals':>6}{'gain':>8}{'wins':>7}{'qd':>8}{'filled':>12}"
        f"{'elites':>7}{'near':>6}{'stones':>7}{'ch st':>7}{'wall s':>8}  champion"
    )
    for r in rows:
        print(
            f"{r['arm']:<5}{r['source']:<9}{r['seed']:>5}{r['evaluations']:>6}{r['gain']:>+8.3f}"
            f"{r['wins']:>4}/{r['pairs']:<2}{r['qd_score']:>8.2f}{r['filled']:>6}/{r['cells_total']:<5}"
            f"{r['elite_programs']:>7}{r['near_best']:>6}{_opt(r.get('stone_share')):>7}"
            f"{str(r.get('champion_stones', '-')) + '/' + str(r.get('champion_steps', '-')):>7}"
            f"{r['wall_s']:>8}  {r['champion'][:10]}" + (" (a seed)" if r["champion_is_seed"] else "")
        )
    print(
        f"\n{'arm':<5}{'source':<9}{'runs':>5}{'mean gain':>10}{'gain>0':>7}{'mean qd':>9}{'mean filled':>12}"
        f"{'near best':>10}{'cost near':>10}{'stones':>8}{'ch via stone':>13}   gains per seed"
    )
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["arm"], r["source"]), []).append(r)
    for (arm, source), mine in sorted(groups.items(), key=lambda kv: (kv[0][1], list(ARMS).index(kv[0][0]))):
        gains = [r["gain"] for r in mine]
        print(
            f"{arm:<5}{source:<9}{len(mine):>5}{statistics.fmean(gains):>+10.3f}"
            f"{sum(g > 0 for g in gains):>7}"
            f"{statistics.fmean(r['qd_score'] for r in mine):>9.2f}"
            f"{statistics.fmean(r['filled'] for r in mine):>12.1f}"
            f"{statistics.fmean(r['near_best'] for r in mine):>10.1f}"
            f"{_opt(_mean([r.get('cost_ratio') for r in mine])):>10}"
            f"{_opt(_mean([r.get('stone_share') for r in mine])):>8}"
            f"{sum(1 for r in mine if r.get('champion_stones')):>9} of {len(mine)}   "
            + ", ".join(f"{g:+.3f}" for g in gains)
        )
    print(
        "(gain: champion minus best seed program, held-out coverage, 6 contexts x 2 seeds paired; qd = sum "
        f"of elite train fitness over all islands; near = distinct elites within {NEAR} of the best; cost "
        "near = fewest tokens per persona among them / the best elite's; stones = share of proposals whose "
        "parent was below its island's best when drawn; ch st = champion lineage steps from such a parent / "
        "steps; SIMULATED WORLD)"
    )


def _opt(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def _mean(xs: list[float | None]) -> float | None:
    vals = [x for x in xs if x is not None]
    return statistics.fmean(vals) if vals else None


def main() -> None:
    parser = argparse.ArgumentParser(
        description="what the MAP-Elites grid buys, and which descriptors spread"
    )
    parser.add_argument(
        "--measure", nargs="*", default=None, help="archive databases to measure descriptors on"
    )
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    parser.add_argument("--evaluations", type=int, default=40)
    parser.add_argument(
        "--sources", nargs="*", default=["offline", "neutral"], choices=["neutral", "offline"]
    )
    parser.add_argument("--arms", nargs="*", default=list(ARMS), choices=list(ARMS))
    parser.add_argument("--keep", default=None, help="keep the run archives in this folder (for --measure)")
    parser.add_argument("--json", default=None, help="also write the rows to this JSON file")
    parser.add_argument("--table", nargs="*", default=None, help="only print the tables of these JSON files")
    args = parser.parse_args()
    if args.measure is not None:
        print_measure(measure(args.measure), args.measure)
        return
    if args.table:
        print_tables([row for path in args.table for row in json.loads(Path(path).read_text())])
        return
    print("[SIMULATED WORLD] persona and respondent roles are 'sim'; all figures come from the sim test bed")
    print(
        f"settings: arms {args.arms}, sources {args.sources}, seeds {args.seeds}, {args.evaluations} "
        f"evaluations per run; train {len(bs.TRAIN)}, validation {len(bs.VALIDATION)}, held-out "
        f"{len(bs.HELD_OUT)} x {len(bs.HELD_OUT_SEEDS)} seeds; N = 25; cpus = {os.cpu_count()}",
        flush=True,
    )
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(args.keep) if args.keep else Path(tmpdir)
        for source in args.sources:
            for seed in args.seeds:
                for arm in args.arms:
                    row = one_run(arm, source, seed, args.evaluations, tmp)
                    rows.append(row)
                    print(
                        f"  {arm} {source} seed {seed}: gain {row['gain']:+.3f}, filled {row['filled']}, qd "
                        f"{row['qd_score']:.2f}, near-best {row['near_best']}, {row['wall_s']} s",
                        flush=True,
                    )
                    if args.json:
                        Path(args.json).write_text(json.dumps(rows, indent=2))
        print_tables(rows)
        if args.keep:
            dbs = sorted({r["db"] for r in rows})
            print()
            print_measure(measure(dbs), dbs)


if __name__ == "__main__":
    main()
