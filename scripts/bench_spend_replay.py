#!/usr/bin/env python3
"""Each spend switch of issue 22 item 5, measured one by one on recorded runs (no new run).

Reads finished archives (e.g. the ``--keep`` directory of ``scripts/bench_search.py``, runs
made with the switches off) and replays, from what they stored, what each switch would
have done:

* ``static_twins``: every child rejected as a behavioural twin at the smoke stage, given to
  :func:`evolve.loop.inert.inert_edit` with its parent: how many it would have caught before any
  call, and the calls their smoke stages cost (their ``llm_calls`` rows). Soundness on real
  data: every child the check calls inert that was nonetheless evaluated must have placed
  its personas exactly where its parent did (``unsound`` counts those that did not).
* ``reach``: every race (``raced`` events), judged by :func:`evolve.promotion.reach.within_reach` on
  the replicate-0 fitness both programs had stored when it started: races it would have
  skipped, the replicate evaluations they ran, and how many of them had been won.
* ``adaptive``: every race replayed look by look on its stored per-replicate fitness with
  :class:`evolve.promotion.reach.AdaptiveRule`: looks saved, and races whose decision would change
  (an acceptance the adaptive rule would have ended before it came).

Figures are counts over the archives given; SIMULATED WORLD when the runs were.

Usage: .venv/bin/python scripts/bench_spend_replay.py DIR/*/archive.db [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from archive import Archive  # noqa: E402
from evolve.config import RunConfig  # noqa: E402
from evolve.loop.inert import inert_edit  # noqa: E402
from evolve.loop.scoring import stored_fitness  # noqa: E402
from evolve.loop.twins import placements, same_placements  # noqa: E402
from evolve.promotion.race_rule import Decision, RaceRule, paired_diffs  # noqa: E402
from evolve.promotion.reach import AdaptiveRule, within_reach  # noqa: E402


def _calls_of(db: str, program: str) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return int(
            conn.execute(
                "SELECT count(*) FROM llm_calls WHERE program_id = ? AND NOT cached", (program,)
            ).fetchone()[0]
        )


def replay(db: str) -> dict[str, Any]:
    """The three replays of one archive (see the module docstring)."""
    archive = Archive.open(url_or_path=db, readonly=True)
    objective = RunConfig().fitness.as_objective()
    try:
        stored = archive.events(kind="run_started")
        config = (stored[0].get("detail") or {}) if stored else {}
        search = (config.get("run_config") or {}).get("search") or {}
        confidence = float(search.get("confidence", 0.8))
        max_replicates = int(search.get("max_replicates", 6))
        out: dict[str, Any] = {"db": db}
        # --- static twins
        twins = [
            e for e in archive.events(kind="rejected") if (e.get("detail") or {}).get("reason") == "twin"
        ]
        caught = calls_saved = 0
        for e in twins:
            child = (e.get("detail") or {}).get("program")
            if not child or (e.get("detail") or {}).get("check") == "static":
                continue
            if inert_edit(archive.get_program(e["program_id"]).code, archive.get_program(child).code):
                caught += 1
                calls_saved += _calls_of(db, child)
        evaluated = [
            e["program_id"]
            for e in archive.events(kind="evaluated")
            if (e.get("detail") or {}).get("stage") == "train"
        ]
        inert_evaluated = unsound = 0
        for pid in evaluated:
            view = archive.get_program(pid)
            if not view.parent_id or not inert_edit(archive.get_program(view.parent_id).code, view.code):
                continue
            inert_evaluated += 1
            mine, theirs = archive.evaluations(pid, "train"), archive.evaluations(view.parent_id, "train")
            if mine and theirs:
                a = placements({c.context_id: c.positions for c in mine[0].contexts if c.error is None})
                b = placements({c.context_id: c.positions for c in theirs[0].contexts if c.error is None})
                unsound += not same_placements(a, b, sorted(a))
        out["static_twins"] = {
            "smoke_twins": len(twins),
            "caught": caught,
            "smoke_calls_saved": calls_saved,
            "evaluated_children_called_inert": inert_evaluated,
            "unsound": unsound,
        }
        # --- reach and adaptive
        rule = RaceRule(confidence=confidence, max_replicates=max_replicates)
        adaptive = AdaptiveRule(confidence=confidence, max_replicates=max_replicates)
        reach = {"races": 0, "skipped": 0, "skipped_won": 0, "evaluations_saved": 0, "race_evaluations": 0}
        adapt = {
            "races": 0,
            "looks": 0,
            "looks_adaptive": 0,
            "evaluations_saved_est": 0.0,
            "lost_acceptances": 0,
            "settled_early": 0,
        }
        for e in archive.events(kind="raced"):
            d = e.get("detail") or {}
            stage = d.get("stage", "train")
            reach["races"] += 1
            reach["race_evaluations"] += int(d.get("evaluations") or 0)
            cand0 = stored_fitness(archive.evaluations(e["program_id"], stage)[:1], objective)
            inc0 = stored_fitness(archive.evaluations(d["incumbent"], stage)[:1], objective)
            known = paired_diffs({0: cand0}, {0: inc0})
            verdict = within_reach(
                known, rule=rule, pairs_per_replicate=len(cand0) or 1, looks=max_replicates
            )
            if not verdict.ok:
                reach["skipped"] += 1
                reach["evaluations_saved"] += int(d.get("evaluations") or 0)
                reach["skipped_won"] += d.get("decision") == "accepted"
            # adaptive: replay the looks on the stored per-replicate tables
            cand = {int(r): t for r, t in (d.get("candidate_fitness") or {}).items()}
            inc = {int(r): t for r, t in (d.get("incumbent_fitness") or {}).items()}
            reps = sorted(set(cand) & set(inc))
            if not reps:
                continue
            adapt["races"] += 1
            adapt["looks"] += len(reps)
            stop, decision = len(reps), d.get("decision")
            for i in range(1, len(reps) + 1):
                window = reps[:i]
                diffs = paired_diffs({r: cand[r] for r in window}, {r: inc[r] for r in window})
                a, _, _ = adaptive.decide(diffs, i)
                if a != Decision.CONTINUE:
                    stop, decision = i, a.value
                    break
            adapt["looks_adaptive"] += stop
            if stop < len(reps):
                adapt["settled_early"] += 1
                adapt["evaluations_saved_est"] += int(d.get("evaluations") or 0) * (1 - stop / len(reps))
            adapt["lost_acceptances"] += d.get("decision") == "accepted" and decision != "accepted"
        out["reach"], out["adaptive"] = reach, adapt
        return out
    finally:
        archive.close()


def main() -> None:
    parser = argparse.ArgumentParser(description="replay the spend switches on recorded runs")
    parser.add_argument("archives", nargs="+")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    rows = [replay(db) for db in args.archives]
    total: dict[str, dict[str, float]] = {}
    for r in rows:
        print(f"{r['db']}: static {r['static_twins']}  reach {r['reach']}  adaptive {r['adaptive']}")
        for key in ("static_twins", "reach", "adaptive"):
            for k, v in r[key].items():
                total.setdefault(key, {})[k] = total.get(key, {}).get(k, 0) + v
    print("\ntotal over", len(rows), "archives:")
    for key, vals in total.items():
        print(f"  {key}: " + ", ".join(f"{k} {v:g}" for k, v in vals.items()))
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "total": total}, indent=2))


if __name__ == "__main__":
    main()
