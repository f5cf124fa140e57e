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

``--variant`` picks the search switches of :class:`evolve.search.SearchSettings`
(``baseline`` = all of issue 13 off, then each item added in turn; ``default`` = as
shipped), so each change shows what it bought.

Usage: .venv/bin/python scripts/bench_search.py [--seeds 0 1 2] [--evaluations 40 150]
       [--sources neutral offline] [--variants default] [--json FILE]
"""

from __future__ import annotations

import argparse
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

for key, value in {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "RAY_USAGE_STATS_ENABLED": "0",
                   "RAY_AUTH_MODE": "disabled", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}.items():
    os.environ.setdefault(key, value)
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import evolve.run as run_module  # noqa: E402
from evolve.config import RoleModel, RunConfig, replace_path  # noqa: E402
from evolve.progress import Progress  # noqa: E402
from evolve.prompts import program_in_prompt  # noqa: E402
from stub_openai_server import StubServer, role_of  # noqa: E402

TRAIN = ("esports_community", "online_dating_users", "hospital_night_shift", "gold_rush_town_1850s")
VALIDATION = ("fishing_village_quota_cuts", "mars_habitat_crew", "union_strike_vote", "smart_home_seniors")
HELD_OUT = ("city_council_policing", "coastal_climate_relocation", "deep_sea_research_station",
            "divorced_coparents", "silk_road_caravan", "warehouse_automation_workers")
HELD_OUT_SEEDS = (101, 202)
KEY_ENV = "BENCH_SEARCH_STUB_KEY"

# --------------------------------------------------------------------------- neutral source

_NUMBER_RE = re.compile(r"(?<![\w.])(\d+\.\d+|\d+)(?![\w.])")
_STRING_RE = re.compile(r'"([^"\n]{12,})"')
GENERIC_SENTENCES = (
    "Be specific.", "Use plain words.", "Avoid clichés.", "Keep it short.", "Write in full sentences.",
    "Give concrete details.", "Do not repeat yourself.", "Be consistent.",
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
        cands = [(i, line, m) for i, line in self._block(program) if not line.lstrip().startswith("#")
                 for m in _NUMBER_RE.finditer(line.split("#")[0])
                 if not _inside_string(line, m.start())]
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
        return self._diff(program, [line], [line[:m.start()] + new_text + line[m.end():]])

    def _swap(self, program: str, rng: random.Random) -> str:
        block = self._block(program)
        pairs = []
        for (i, a), (j, b) in zip(block, block[1:]):
            if j != i + 1 or not a.strip() or not b.strip():
                continue
            ind_a, ind_b = len(a) - len(a.lstrip()), len(b) - len(b.lstrip())
            openers = (":", "(", "[", "{", "\\")
            if ind_a != ind_b or a.rstrip().endswith(openers) or b.rstrip().endswith(openers[:4]) \
                    or b.lstrip().startswith((")", "]", "}")):
                continue
            if a.lstrip().startswith(("return", "def ", "#")) or b.lstrip().startswith(("def ", "#")):
                continue
            pairs.append((a, b))
        if not pairs:
            return ""
        a, b = rng.choice(pairs)
        return self._diff(program, [a, b], [b, a])

    def _sentence(self, program: str, rng: random.Random) -> str:
        cands = [(line, m) for _, line in self._block(program) for m in _STRING_RE.finditer(line)
                 if "{" not in m.group(1) and " " in m.group(1)]
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
        new = line[:m.start(1)] + " ".join(sentences) + line[m.end(1):]
        return self._diff(program, [line], [new])


def _inside_string(line: str, pos: int) -> bool:
    return line[:pos].count('"') % 2 == 1 or line[:pos].count("'") % 2 == 1


# --------------------------------------------------------------------------- runs

_ORIGINAL_CONTROLLER = run_module.Controller


def _use_variant(variant: str) -> None:
    """Make ``execute_run`` build its controller with the variant's search switches."""
    try:
        from evolve.search import VARIANTS
    except ImportError:  # before issue 13: the code as it is
        if variant not in ("default", "current"):
            raise SystemExit(f"variant {variant!r} needs evolve.search (issue 13)")
        return
    if variant in ("default", "current"):
        run_module.Controller = _ORIGINAL_CONTROLLER
        return
    settings = VARIANTS[variant]

    def build(**kwargs: Any) -> Any:
        return _ORIGINAL_CONTROLLER(search=settings, **kwargs)

    run_module.Controller = build  # type: ignore[assignment]


def run_config(seed: int, evaluations: int, source: str, base_url: str | None, tmp: Path, tag: str) -> RunConfig:
    config = replace_path(RunConfig(), "seed", seed)
    config = replace_path(config, "budget.evaluations", evaluations)
    config = replace_path(config, "budget.minutes", None)
    config = replace_path(config, "contexts.train", TRAIN)
    config = replace_path(config, "contexts.validation", VALIDATION)
    config = replace_path(config, "contexts.test", ())
    if source == "neutral":
        config = dataclasses.replace(config, models=dataclasses.replace(
            config.models, mutator=RoleModel(model="openai/neutral-stub", api_base=base_url, api_key_env=KEY_ENV,
                                              timeout_s=30.0)))
    return dataclasses.replace(config, db=str(tmp / tag / "archive.db"), out_dir=str(tmp / tag))


def held_out(config: RunConfig, programs: dict[str, str]) -> dict[str, dict[tuple[str, int], float]]:
    """Coverage per (context, seed) of each ``label -> code`` on the held-out contexts,
    every program on the same seeds (in this process, sandboxed as in a run)."""
    from evolve.workers import run_evaluation
    from generators.context_loader import resolve_contexts

    contexts = {c.id: c for c in resolve_contexts(HELD_OUT)}
    spec = run_module.worker_spec(config)
    out: dict[str, dict[tuple[str, int], float]] = {}
    for label, code in programs.items():
        table = {}
        for seed in HELD_OUT_SEEDS:
            result = run_evaluation(spec, code, contexts, list(HELD_OUT), seed)
            for o in result.contexts:
                table[(o.context_id, seed)] = float(o.metrics["coverage"]) if o.metrics else 0.0
        out[label] = table
    return out


def one_run(variant: str, source: str, seed: int, evaluations: int, tmp: Path) -> dict[str, Any]:
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
    from archive import Archive

    seed_ids = summary["seed_ids"]
    seed_val = {name: (summary["seeds"].get(name) or {}).get("coverage") for name in seed_ids}
    best = max((n for n in seed_val if seed_val[n] is not None), key=lambda n: seed_val[n])
    champ = summary["champion"]["id"]
    archive = Archive.open(url_or_path=summary["db"], readonly=True)
    try:
        codes = {"champion": archive.get_program(champ).code, "best_seed": archive.get_program(seed_ids[best]).code}
        proposed = [e.get("program_id") for e in archive.events(kind="proposed")]
    finally:
        archive.close()
    scores = held_out(config, codes)
    pairs = sorted(scores["champion"])
    diffs = [scores["champion"][p] - scores["best_seed"][p] for p in pairs]
    naive = seed_ids.get("naive")
    return {
        "variant": variant, "source": source, "seed": seed, "budget": evaluations,
        "evaluations": summary["evaluations"], "wall_s": round(wall, 1),
        "champion": champ, "champion_is_seed": champ in seed_ids.values(), "best_seed": best,
        "champion_val": (summary["champion"].get("validation") or {}).get("coverage"),
        "best_seed_val": seed_val[best],
        "held_out_champion": statistics.fmean(scores["champion"][p] for p in pairs),
        "held_out_best_seed": statistics.fmean(scores["best_seed"][p] for p in pairs),
        "gain": statistics.fmean(diffs), "wins": sum(d > 0 for d in diffs), "ties": sum(d == 0 for d in diffs),
        "pairs": len(diffs), "proposals": len(proposed),
        "naive_parent_share": (sum(p == naive for p in proposed) / len(proposed)) if proposed else None,
        "statuses": summary.get("statuses"), "rejections": summary.get("rejections"),
        "races": summary.get("races"), "race_evaluations": summary.get("race_evaluations"),
        "edits": dict(edits.sent) if edits else None,
    }


def _f(x: float | None, width: int = 8, signed: bool = False) -> str:
    if x is None:
        return f"{'-':>{width}}"
    return f"{x:>+{width}.3f}" if signed else f"{x:>{width}.3f}"


def print_tables(rows: list[dict[str, Any]]) -> None:
    print(f"\n{'variant':<11}{'source':<9}{'budget':>6}{'seed':>5}{'evals':>6}{'champ val':>10}{'seed val':>9}"
          f"{'held champ':>11}{'held seed':>10}{'gain':>8}{'wins':>7}{'naive par':>10}{'wall s':>8}  champion")
    for r in rows:
        print(f"{r['variant']:<11}{r['source']:<9}{r['budget']:>6}{r['seed']:>5}{r['evaluations']:>6}"
              f"{_f(r['champion_val'], 10)}{_f(r['best_seed_val'], 9)}{_f(r['held_out_champion'], 11)}"
              f"{_f(r['held_out_best_seed'], 10)}{_f(r['gain'], 8, True)}{r['wins']:>4}/{r['pairs']:<2}"
              f"{_f(r['naive_parent_share'], 10)}{r['wall_s']:>8}  {r['champion'][:10]}"
              + (" (a seed)" if r["champion_is_seed"] else ""))
    print(f"\n{'variant':<11}{'source':<9}{'budget':>6}{'runs':>5}{'held champ':>11}{'held seed':>10}"
          f"{'mean gain':>10}{'champ > seed':>13}   gains per seed")
    groups: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["variant"], r["source"], r["budget"]), []).append(r)
    for (variant, source, budget), mine in groups.items():
        gains = [r["gain"] for r in mine]
        print(f"{variant:<11}{source:<9}{budget:>6}{len(mine):>5}"
              f"{_f(statistics.fmean(r['held_out_champion'] for r in mine), 11)}"
              f"{_f(statistics.fmean(r['held_out_best_seed'] for r in mine), 10)}"
              f"{_f(statistics.fmean(gains), 10, True)}{sum(g > 0 for g in gains):>9} of {len(mine)}   "
              + ", ".join(f"{g:+.3f}" for g in gains))
    print("(held-out coverage: 6 shipped contexts the run never saw x 2 seeds, champion and best seed paired; "
          "gain = mean paired difference; SIMULATED WORLD)")


def main() -> None:
    parser = argparse.ArgumentParser(description="search benchmark: champion vs best seed on held-out contexts")
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    parser.add_argument("--evaluations", type=int, nargs="*", default=[40, 150])
    parser.add_argument("--sources", nargs="*", default=["neutral", "offline"], choices=["neutral", "offline"])
    parser.add_argument("--variants", nargs="*", default=["default"])
    parser.add_argument("--json", default=None, help="also write the rows to this JSON file")
    parser.add_argument("--table", nargs="*", default=None, help="only print the tables of these JSON files")
    args = parser.parse_args()
    if args.table:
        print_tables([row for path in args.table for row in json.loads(Path(path).read_text())])
        return
    print("[SIMULATED WORLD] persona and respondent roles are 'sim'; all figures come from the sim test bed")
    print(f"settings: seeds {args.seeds}, evaluations {args.evaluations}, sources {args.sources}, variants "
          f"{args.variants}; train {len(TRAIN)}, validation {len(VALIDATION)}, held-out {len(HELD_OUT)} x "
          f"{len(HELD_OUT_SEEDS)} seeds; N = 25; cpus = {os.cpu_count()}", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for variant in args.variants:
            for source in args.sources:
                for budget in args.evaluations:
                    for seed in args.seeds:
                        row = one_run(variant, source, seed, budget, Path(tmp))
                        rows.append(row)
                        print(f"  {variant} {source} {budget} seed {seed}: gain {row['gain']:+.3f} "
                              f"({row['wins']}/{row['pairs']} wins), {row['evaluations']} evaluations in "
                              f"{row['wall_s']} s", flush=True)
                        if args.json:
                            Path(args.json).write_text(json.dumps(rows, indent=2))
    print_tables(json.loads(Path(args.json).read_text()) if args.json else rows)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
