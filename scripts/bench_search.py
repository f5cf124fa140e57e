#!/usr/bin/env python3
"""Does the search win at equal budget? Champion vs best seed on held-out contexts.

Each run is one evolution in the sim world (``execute_run``, the body of
``persona-evolve run``) on 4 train and 4 validation contexts, N = 25, capped at
``--evaluations`` full evaluations. The persona and respondent roles stay ``sim``; the
mutation source is one of:

* ``neutral``: an OpenAI-compatible stub on 127.0.0.1 that ignores the prompt and answers
  every mutation request with ONE random local edit inside the EVOLVE-BLOCK of the program
  it was shown (a numeric constant scaled, two adjacent statements swapped, or one
  sentence of a string dropped, duplicated, swapped or given a generic writing
  instruction). It drives the real LLM-mutator path (prompt, litellm, SEARCH/REPLACE
  parsing) with a source that knows nothing, so any gain is the search's.
* ``offline``: the offline GP mutator of the sim world.

After each run, the champion and the best seed program (the seed with the best
validation fitness in that run) are re-scored on 6 held-out shipped contexts the run
never saw, at 2 evaluation seeds, both programs on the same seeds (paired): ``gain`` is
the mean paired difference of coverage, ``wins`` the pairs (context x seed) the champion
wins out of 12.

Promotion races re-evaluate programs on more replicates; those evaluations are not
proposals and are not counted in ``--evaluations`` (``race_evaluations`` in the JSON rows
says how many a run made).

``--variant`` picks the search switches of :class:`evolve.common.search.SearchSettings`
(``baseline`` = all of issue 13 off, then each item added in turn; ``default`` = as
shipped), so each change shows what it bought.

``--equal calls`` (issue 22, item 5) also scores the champion in force when the run had
spent ``--calls`` uncached LLM calls -- every role, races, seeding and rejected proposals
included (the sim respondent answers in process: no call) -- read from the archive's call
and champion timestamps, so one run gives both "at equal evaluations" (its final champion)
and "at equal calls". ``--from-archives DB ...`` analyses kept archives (``--keep DIR``) of
any version without running anything, e.g. those of the code before a change.

Usage: .venv/bin/python scripts/bench_search.py [--seeds 0 1 2] [--evaluations 40 150]
       [--sources neutral offline] [--variants default] [--equal calls --calls 6000]
       [--keep DIR] [--json FILE]
       .venv/bin/python scripts/bench_search.py --from-archives DIR/*/archive.db --label before --equal calls
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import random
import re
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

for key, value in {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_AUTH_MODE": "disabled",
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
}.items():
    os.environ.setdefault(key, value)
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from stub_openai_server import StubServer, role_of  # noqa: E402

import evolve.loop.run as run_module  # noqa: E402
from evolve.config import RunConfig, replace_path  # noqa: E402
from evolve.outputs.progress import Progress  # noqa: E402
from evolve.proposals.prompts import program_in_prompt  # noqa: E402
from generators.llm import ModelConfig  # noqa: E402

TRAIN = ("esports_community", "online_dating_users", "hospital_night_shift", "gold_rush_town_1850s")
VALIDATION = ("fishing_village_quota_cuts", "mars_habitat_crew", "union_strike_vote", "smart_home_seniors")
HELD_OUT = (
    "city_council_policing",
    "coastal_climate_relocation",
    "deep_sea_research_station",
    "divorced_coparents",
    "silk_road_caravan",
    "warehouse_automation_workers",
)
HELD_OUT_SEEDS = (101, 202)
KEY_ENV = "BENCH_SEARCH_STUB_KEY"

# --------------------------------------------------------------------------- neutral source

_NUMBER_RE = re.compile(r"(?<![\w.])(\d+\.\d+|\d+)(?![\w.])")
_STRING_RE = re.compile(r'"([^"\n]{12,})"')
GENERIC_SENTENCES = (
    "Be specific.",
    "Use plain words.",
    "Avoid clichés.",
    "Keep it short.",
    "Write in full sentences.",
    "Give concrete details.",
    "Do not repeat yourself.",
    "Be consistent.",
)


class NeutralEdits:
    """A reply callable for :class:`StubServer`: one random local edit inside the
    EVOLVE-BLOCK of the program in the prompt, whatever the prompt asks ("ok" to the
    pre-flight ping). Kinds: ``number``, ``swap``, ``sentence``; ``sent`` counts them."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self.sent: dict[str, int] = {}

    def __call__(self, messages: list[dict[str, Any]]) -> str:
        if role_of(messages) == "preflight":
            return "ok"
        user = "\n".join(str(m.get("content") or "") for m in messages if m.get("role") != "system")
        program = program_in_prompt(user)
        if program is None:
            return ""
        with self._lock:
            rng = random.Random(self._rng.getrandbits(64))
        for _ in range(20):
            kind = rng.choice(("number", "swap", "sentence"))
            edit = getattr(self, f"_{kind}")(program, rng)
            if edit:
                with self._lock:
                    self.sent[kind] = self.sent.get(kind, 0) + 1
                return edit
        return ""

    @staticmethod
    def _block(program: str) -> list[tuple[int, str]]:
        lines = program.splitlines()
        out, inside = [], False
        for i, line in enumerate(lines):
            if "EVOLVE-BLOCK-START" in line:
                inside = True
            elif "EVOLVE-BLOCK-END" in line:
                inside = False
            elif inside:
                out.append((i, line))
        return out

    @staticmethod
    def _diff(program: str, old: list[str], new: list[str]) -> str:
        search = "\n".join(old)
        if program.count(search) != 1 or old == new:
            return ""
        return f"<<<<<<< SEARCH\n{search}\n=======\n" + "\n".join(new) + "\n>>>>>>> REPLACE"

    def _number(self, program: str, rng: random.Random) -> str:
        cands = [
            (i, line, m)
            for i, line in self._block(program)
            if not line.lstrip().startswith("#")
            for m in _NUMBER_RE.finditer(line.split("#")[0])
            if not _inside_string(line, m.start())
        ]
        if not cands:
            return ""
        _, line, m = rng.choice(cands)
        text = m.group(1)
        if "." in text:
            value = float(text) * rng.lognormvariate(0.0, 0.15)
            new_text = f"{value:.{max(2, len(text.split('.')[1]))}f}"
        else:
            value = int(text)
            new_text = str(max(0, value + rng.choice((-1, 1)) * max(1, round(value * 0.2))))
        return self._diff(program, [line], [line[: m.start()] + new_text + line[m.end() :]])

    def _swap(self, program: str, rng: random.Random) -> str:
        block = self._block(program)
        pairs = []
        for (i, a), (j, b) in zip(block, block[1:]):
            if j != i + 1 or not a.strip() or not b.strip():
                continue
            ind_a, ind_b = len(a) - len(a.lstrip()), len(b) - len(b.lstrip())
            openers = (":", "(", "[", "{", "\\")
            if (
                ind_a != ind_b
                or a.rstrip().endswith(openers)
                or b.rstrip().endswith(openers[:4])
                or b.lstrip().startswith((")", "]", "}"))
            ):
                continue
            if a.lstrip().startswith(("return", "def ", "#")) or b.lstrip().startswith(("def ", "#")):
                continue
            pairs.append((a, b))
        if not pairs:
            return ""
        a, b = rng.choice(pairs)
        return self._diff(program, [a, b], [b, a])

    def _sentence(self, program: str, rng: random.Random) -> str:
        cands = [
            (line, m)
            for _, line in self._block(program)
            for m in _STRING_RE.finditer(line)
            if "{" not in m.group(1) and " " in m.group(1)
        ]
        if not cands:
            return ""
        line, m = rng.choice(cands)
        sentences = [s for s in re.split(r"(?<=[.!?])\s+", m.group(1)) if s]
        op = rng.choice(("drop", "duplicate", "swap", "add"))
        if op == "drop" and len(sentences) > 1:
            del sentences[rng.randrange(len(sentences))]
        elif op == "duplicate":
            k = rng.randrange(len(sentences))
            sentences.insert(k, sentences[k])
        elif op == "swap" and len(sentences) > 1:
            k = rng.randrange(len(sentences) - 1)
            sentences[k], sentences[k + 1] = sentences[k + 1], sentences[k]
        else:
            sentences.insert(rng.randrange(len(sentences) + 1), rng.choice(GENERIC_SENTENCES))
        new = line[: m.start(1)] + " ".join(sentences) + line[m.end(1) :]
        return self._diff(program, [line], [new])


def _inside_string(line: str, pos: int) -> bool:
    return line[:pos].count('"') % 2 == 1 or line[:pos].count("'") % 2 == 1


# --------------------------------------------------------------------------- runs

_ORIGINAL_CONTROLLER = run_module.Controller


def _use_variant(variant: str) -> None:
    """Make ``execute_run`` build its controller with the variant's search switches."""
    try:
        from evolve.common.search import VARIANTS
    except ImportError:  # before issue 13: the code as it is
        if variant not in ("default", "current"):
            raise SystemExit(f"variant {variant!r} needs evolve.common.search (issue 13)") from None
        return
    if variant in ("default", "current"):
        run_module.Controller = _ORIGINAL_CONTROLLER
        return
    settings = VARIANTS[variant]

    def build(**kwargs: Any) -> Any:
        return _ORIGINAL_CONTROLLER(search=settings, **kwargs)

    run_module.Controller = build  # type: ignore[assignment]


def run_config(
    seed: int, evaluations: int, source: str, base_url: str | None, tmp: Path, tag: str
) -> RunConfig:
    config = replace_path(RunConfig(), "seed", seed)
    config = replace_path(config, "budget.evaluations", evaluations)
    config = replace_path(config, "budget.minutes", None)
    config = replace_path(config, "contexts.train", TRAIN)
    config = replace_path(config, "contexts.validation", VALIDATION)
    config = replace_path(config, "contexts.test", ())
    if source == "neutral":
        config = dataclasses.replace(
            config,
            models=dataclasses.replace(
                config.models,
                mutator=ModelConfig(
                    model="openai/neutral-stub", api_base=base_url, api_key_env=KEY_ENV, timeout_s=30.0
                ),
            ),
        )
    return dataclasses.replace(config, db=str(tmp / tag / "archive.db"), out_dir=str(tmp / tag))


SCORE_CACHE: dict[str, dict[str, float]] = {}
"""sha256 of a program's code -> "context|seed" -> held-out coverage (deterministic: sim
world, fixed seeds), shared by every row; ``--score-cache FILE`` keeps it across calls."""


def held_out(config: RunConfig, programs: dict[str, str]) -> dict[str, dict[tuple[str, int], float]]:
    """Coverage per (context, seed) of each ``label -> code`` on the held-out contexts,
    every program on the same seeds (in this process, sandboxed as in a run)."""
    import hashlib

    from evolve.execution.workers import run_evaluation
    from generators.context_loader import resolve_contexts

    contexts = {c.id: c for c in resolve_contexts(HELD_OUT)}
    spec = run_module.worker_spec(config)
    out: dict[str, dict[tuple[str, int], float]] = {}
    for label, code in programs.items():
        key = hashlib.sha256(code.encode()).hexdigest()
        if key in SCORE_CACHE:
            out[label] = {(k.split("|")[0], int(k.split("|")[1])): v for k, v in SCORE_CACHE[key].items()}
            continue
        table = {}
        for seed in HELD_OUT_SEEDS:
            result = run_evaluation(spec, code, contexts, list(HELD_OUT), seed)
            for o in result.contexts:
                table[(o.context_id, seed)] = float(o.metrics["coverage"]) if o.metrics else 0.0
        out[label] = table
        SCORE_CACHE[key] = {f"{c}|{sd}": v for (c, sd), v in table.items()}
    return out


def one_run(
    variant: str, source: str, seed: int, evaluations: int, tmp: Path, calls: list[int]
) -> dict[str, Any]:
    _use_variant(variant)
    tag = f"{variant}-{source}-{seed}-{evaluations}"
    server = None
    edits = None
    if source == "neutral":
        os.environ[KEY_ENV] = "sk-neutral-stub"
        edits = NeutralEdits(seed)
        server = StubServer(reply=edits).start()
    try:
        config = run_config(seed, evaluations, source, server.base_url if server else None, tmp, tag)
        t0 = time.perf_counter()
        summary = run_module.execute_run(config, progress=Progress(simulated=True, enabled=False))
        wall = time.perf_counter() - t0
    finally:
        if server is not None:
            server.stop()
    row = analyse(summary["db"], variant=variant, source=source, seed=seed, budget=evaluations, calls=calls)
    row.update(
        {
            "wall_s": round(wall, 1),
            "statuses": summary.get("statuses"),
            "races": summary.get("races"),
            "edits": dict(edits.sent) if edits else None,
        }
    )
    return row


def timeline(db: str) -> dict[str, Any]:
    """The run's spend over time, read from its archive (any version): ``calls`` (uncached
    LLM calls, every role, in order of their timestamps), ``evaluations`` (train
    evaluations of proposals) and ``champions`` (ts, program id) in order."""
    import sqlite3

    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        calls = [
            float(ts) for (ts,) in conn.execute("SELECT ts FROM llm_calls WHERE NOT cached ORDER BY ts, id")
        ]
        events = conn.execute(
            "SELECT ts, kind, program_id, detail FROM events "
            "WHERE kind IN ('champion', 'evaluated') ORDER BY id"
        ).fetchall()
    champions = [(float(ts), pid) for ts, kind, pid, _ in events if kind == "champion"]
    evaluated = [
        float(ts)
        for ts, kind, _, detail in events
        if kind == "evaluated" and json.loads(detail or "{}").get("stage") == "train"
    ]
    return {"calls": calls, "evaluations": evaluated, "champions": champions}


def champion_at(
    line: dict[str, Any], *, calls: int | None = None, evaluations: int | None = None
) -> str | None:
    """The champion in force when the run had spent ``calls`` uncached LLM calls (or
    ``evaluations`` train evaluations): the latest champion crowned before the spend passed
    that mark (a champion's race calls are stored before it is crowned, so they count)."""
    marks = line["calls"] if calls is not None else line["evaluations"]
    limit = calls if calls is not None else evaluations
    cutoff = marks[limit] if limit is not None and limit < len(marks) else float("inf")
    crowned = [pid for ts, pid in line["champions"] if ts < cutoff]
    return crowned[-1] if crowned else None


def analyse(
    db: str, *, variant: str, source: str, seed: int, budget: int, calls: list[int]
) -> dict[str, Any]:
    """One bench row from a finished run's archive: the champion at the end of the run
    (``budget`` evaluations) and the champion in force at each of ``calls`` uncached LLM
    calls (``at_calls``: C -> its gain), each scored against the best seed on the held-out
    contexts."""
    from archive import Archive
    from evolve.budget.spend import spend_of

    archive = Archive.open(url_or_path=db, readonly=True)
    try:
        seeds = {p.label: p.id for p in archive.seeds() if p.label}
        seed_val = {
            label: (archive.evaluations(pid, stage="validation") or [None])[-1]
            for label, pid in seeds.items()
        }
        seed_val = {label: ev.metrics.get("coverage") for label, ev in seed_val.items() if ev and ev.metrics}
        best = max(seed_val, key=lambda label: seed_val[label])
        final = archive.champion().id
        line = timeline(db)
        at_calls = {c: champion_at(line, calls=c) or seeds[best] for c in calls}
        ids = {"champion": final, "best_seed": seeds[best], **{f"at{c}": pid for c, pid in at_calls.items()}}
        codes = {label: archive.get_program(pid).code for label, pid in ids.items()}
        proposed = [e.get("program_id") for e in archive.events(kind="proposed")]
        spend = spend_of(archive)
        val = archive.evaluations(final, stage="validation")
        rejected = [e.get("detail") or {} for e in archive.events(kind="rejected")]
    finally:
        archive.close()
    config = run_config(seed, budget, "offline", None, Path(db).parent.parent, "unused")
    scores = held_out(config, codes)
    pairs = sorted(scores["champion"])

    def gain(label: str) -> tuple[float, int]:
        diffs = [scores[label][p] - scores["best_seed"][p] for p in pairs]
        return statistics.fmean(diffs), sum(d > 0 for d in diffs)

    g, wins = gain("champion")
    row = {
        "variant": variant,
        "source": source,
        "seed": seed,
        "budget": budget,
        "db": db,
        "evaluations": len(line["evaluations"]),
        "calls_total": len(line["calls"]),
        "champion": final,
        "champion_is_seed": final in seeds.values(),
        "best_seed": best,
        "champion_val": (val[-1].metrics or {}).get("coverage") if val else None,
        "best_seed_val": seed_val[best],
        "held_out_champion": statistics.fmean(scores["champion"][p] for p in pairs),
        "held_out_best_seed": statistics.fmean(scores["best_seed"][p] for p in pairs),
        "gain": g,
        "wins": wins,
        "ties": sum(scores["champion"][p] == scores["best_seed"][p] for p in pairs),
        "pairs": len(pairs),
        "proposals": len(proposed),
        "naive_parent_share": (sum(p == seeds.get("seed:naive") for p in proposed) / len(proposed))
        if proposed
        else None,
        "rejections": spend["rejections"],
        "race_evaluations": spend["race_evaluations"],
        "races_skipped": spend["races_skipped"],
        "spend_by_stage": spend["stage_totals"],
        "wasted_share": spend["wasted_share"],
        "static_twins": sum(1 for d in rejected if d.get("reason") == "twin" and d.get("check") == "static"),
        "calls_caps": list(calls),
        "at_calls": {},
    }
    for c, pid in at_calls.items():
        g_c, wins_c = gain(f"at{c}")
        row["at_calls"][str(c)] = {
            "champion": pid,
            "is_seed": pid in seeds.values(),
            "gain": g_c,
            "wins": wins_c,
            "held_out": statistics.fmean(scores[f"at{c}"][p] for p in pairs),
            "evaluations": sum(
                1 for t in line["evaluations"] if c >= len(line["calls"]) or t < line["calls"][c]
            ),
        }
    return row


def _f(x: float | None, width: int = 8, signed: bool = False) -> str:
    if x is None:
        return f"{'-':>{width}}"
    return f"{x:>+{width}.3f}" if signed else f"{x:>{width}.3f}"


def _mean(rows: list[dict[str, Any]], key: str) -> float | None:
    vals = [r[key] for r in rows if r.get(key) is not None]
    return statistics.fmean(vals) if vals else None


def _caps(rows: list[dict[str, Any]]) -> list[str]:
    return sorted({c for r in rows for c in (r.get("at_calls") or {})}, key=int)


def print_tables(rows: list[dict[str, Any]]) -> None:
    caps = _caps(rows)
    print(
        f"\n{'variant':<13}{'source':<9}{'budget':>6}{'seed':>5}{'evals':>6}{'calls':>7}{'race ev':>8}"
        f"{'skip':>5}{'twins s/d':>10}{'wasted':>7}{'held champ':>11}{'held seed':>10}"
        f"{'gain@E':>8}{'wins':>7}" + "".join(f"{'@' + c:>9}" for c in caps) + "  champion"
    )
    for r in rows:
        rej = r.get("rejections") or {}
        twins = f"{r.get('static_twins', 0)}/{rej.get('twin', 0) - r.get('static_twins', 0)}"
        wasted = r.get("wasted_share")
        at = r.get("at_calls") or {}
        print(
            f"{r['variant']:<13}{r['source']:<9}{r['budget']:>6}{r['seed']:>5}{r['evaluations']:>6}"
            f"{r.get('calls_total', 0):>7}{r.get('race_evaluations') or 0:>8}{r.get('races_skipped') or 0:>5}"
            f"{twins:>10}{'-' if wasted is None else f'{wasted * 100:.0f}%':>7}"
            f"{_f(r['held_out_champion'], 11)}{_f(r['held_out_best_seed'], 10)}{_f(r['gain'], 8, True)}"
            f"{r['wins']:>4}/{r['pairs']:<2}"
            + "".join(_f(at[c]["gain"] if c in at else None, 9, True) for c in caps)
            + f"  {r['champion'][:10]}"
            + (" (a seed)" if r["champion_is_seed"] else "")
        )
    print(
        f"\n{'variant':<13}{'source':<9}{'budget':>6}{'runs':>5}{'calls':>8}{'race ev':>8}"
        f"{'gain@E':>8}{'> seed':>7}"
        + "".join(f"{'gain@' + c:>11}{'> seed':>7}" for c in caps)
        + "   gains per seed at E | at each C"
    )
    groups: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["variant"], r["source"], r["budget"]), []).append(r)
    for (variant, source, budget), mine in groups.items():
        gains = [r["gain"] for r in mine]
        cells, per_seed = "", ", ".join(f"{g:+.3f}" for g in gains)
        for c in caps:
            at_c = [r["at_calls"][c]["gain"] for r in mine if c in (r.get("at_calls") or {})]
            cells += f"{_f(statistics.fmean(at_c) if at_c else None, 11, True)}" + (
                f"{sum(g > 0 for g in at_c):>4}/{len(at_c):<2}" if at_c else f"{'-':>7}"
            )
            per_seed += " | " + ", ".join(f"{g:+.3f}" for g in at_c)
        print(
            f"{variant:<13}{source:<9}{budget:>6}{len(mine):>5}{_mean(mine, 'calls_total') or 0:>8.0f}"
            f"{_mean(mine, 'race_evaluations') or 0:>8.1f}{_f(statistics.fmean(gains), 8, True)}"
            f"{sum(g > 0 for g in gains):>4}/{len(mine):<2}{cells}   {per_seed}"
        )
    print(
        "(held-out coverage: 6 shipped contexts the run never saw x 2 seeds, champion and best seed paired; "
        "gain@E = the run's final champion (its evaluation budget E), gain@C = the champion in force when "
        "the run had spent C uncached LLM calls, every role, seeding, races and rejected proposals included "
        "(the sim respondent answers in process and makes no call; a run that stopped below C counts with "
        "its final champion); calls = the run's total; twins s/d = rejected statically / at the smoke "
        "stage; wasted = share of calls spent on proposals never evaluated; SIMULATED WORLD)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description="search benchmark: champion vs best seed on held-out contexts"
    )
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    parser.add_argument("--evaluations", type=int, nargs="*", default=[40, 150])
    parser.add_argument(
        "--sources", nargs="*", default=["neutral", "offline"], choices=["neutral", "offline"]
    )
    parser.add_argument("--variants", nargs="*", default=["default"])
    parser.add_argument(
        "--equal",
        choices=["evaluations", "calls"],
        default="evaluations",
        help="calls: also score the champion in force at --calls LLM calls (all roles)",
    )
    parser.add_argument(
        "--calls",
        type=int,
        nargs="*",
        default=[2000, 4000, 6000],
        help="the call budgets of --equal calls (uncached LLM calls, every role)",
    )
    parser.add_argument(
        "--score-cache", default=None, help="keep held-out scores of programs in this JSON file"
    )
    parser.add_argument("--keep", default=None, help="keep the runs' archives in this directory")
    parser.add_argument(
        "--from-archives",
        nargs="*",
        default=None,
        metavar="DB",
        help="no runs: analyse these finished archives (named VARIANT-SOURCE-SEED-BUDGET/archive.db)",
    )
    parser.add_argument("--label", default=None, help="with --from-archives: the variant name of their rows")
    parser.add_argument("--json", default=None, help="also write the rows to this JSON file")
    parser.add_argument("--table", nargs="*", default=None, help="only print the tables of these JSON files")
    args = parser.parse_args()
    if args.table:
        print_tables([row for path in args.table for row in json.loads(Path(path).read_text())])
        return
    calls = list(args.calls) if args.equal == "calls" else []
    if args.score_cache and Path(args.score_cache).exists():
        SCORE_CACHE.update(json.loads(Path(args.score_cache).read_text()))

    def keep_scores() -> None:
        if args.score_cache:
            Path(args.score_cache).write_text(json.dumps(SCORE_CACHE))

    print("[SIMULATED WORLD] persona and respondent roles are 'sim'; all figures come from the sim test bed")
    rows = []
    if args.from_archives:
        for db in args.from_archives:
            variant, source, seed, budget = Path(db).parent.name.rsplit("-", 3)
            row = analyse(
                db,
                variant=args.label or variant,
                source=source,
                seed=int(seed),
                budget=int(budget),
                calls=calls,
            )
            rows.append(row)
            keep_scores()
            print(
                f"  {db}: gain {row['gain']:+.3f}"
                + "".join(f", at {c} calls {row['at_calls'][str(c)]['gain']:+.3f}" for c in calls),
                flush=True,
            )
            if args.json:
                Path(args.json).write_text(json.dumps(rows, indent=2))
        print_tables(rows)
        return
    print(
        f"settings: seeds {args.seeds}, evaluations {args.evaluations}, sources {args.sources}, variants "
        f"{args.variants}, equal {args.equal}{f' ({calls} calls)' if calls else ''}; train {len(TRAIN)}, "
        f"validation {len(VALIDATION)}, held-out {len(HELD_OUT)} x {len(HELD_OUT_SEEDS)} seeds; N = 25; "
        f"cpus = {os.cpu_count()}",
        flush=True,
    )
    with tempfile.TemporaryDirectory() if args.keep is None else contextlib.nullcontext(args.keep) as tmp:
        for variant in args.variants:
            for source in args.sources:
                for budget in args.evaluations:
                    for seed in args.seeds:
                        row = one_run(variant, source, seed, budget, Path(tmp), calls)
                        rows.append(row)
                        print(
                            f"  {variant} {source} {budget} seed {seed}: gain {row['gain']:+.3f} "
                            f"({row['wins']}/{row['pairs']} wins), {row['evaluations']} evaluations, "
                            f"{row['calls_total']} calls in {row['wall_s']} s"
                            + "".join(
                                f"; at {c} calls {row['at_calls'][str(c)]['gain']:+.3f}" for c in calls
                            ),
                            flush=True,
                        )
                        keep_scores()
                        if args.json:
                            Path(args.json).write_text(json.dumps(rows, indent=2))
    print_tables(rows)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
