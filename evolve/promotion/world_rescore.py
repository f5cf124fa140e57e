"""Re-score generator programs on a context split under every simulated world (the
benches' shared part: ``scripts/bench_transfer.py``, ``scripts/bench_headline.py``).

Every program is evaluated on the same contexts and the same replicate seeds
(``seed_base + replicate``), sandboxed as in a run, in the world named; a cell is the mean
coverage over contexts x replicates (a failed context counts 0). The gain of a program in a
world is its cell minus the best of the comparators' cells in that world (a strict
comparator: the best seed *in that world*, chosen on the same data). Everything here is
SIMULATED: worlds are labelled test beds.

Seed programs do not depend on the run, so :class:`ScoreCache` keeps their cells in a JSON
file keyed by a digest of (code, world, split, replicates, seed base, n): a bench re-scores
them once across run seeds and invocations.
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

from evolve.config import RunConfig, replace_path

SEED_BASE = 1000
"""Replicate r of a re-scoring uses seed SEED_BASE + r (apart from any run's seeds)."""


@dataclass(frozen=True)
class RescoreSpec:
    """What a re-scoring holds fixed: the context ``split`` (a split name of the shipped
    contexts), ``replicates`` (>= 1) seeds ``seed_base`` .. + replicates - 1, and the
    ``base`` run config (its evaluation settings; the world is set per call)."""

    split: str = "test"
    replicates: int = 2
    seed_base: int = SEED_BASE
    base: RunConfig = field(default_factory=RunConfig)

    def __post_init__(self) -> None:
        if self.replicates < 1:
            raise ValueError(f"RescoreSpec.replicates must be >= 1, got {self.replicates!r}")


def score_key(code: str, world: str, spec: RescoreSpec) -> str:
    """The cache key of one program's cell: a digest of everything the cell depends on."""
    text = json.dumps(
        [
            code,
            world,
            spec.split,
            spec.replicates,
            spec.seed_base,
            spec.base.evaluation.n,
            spec.base.evaluation.mc_samples,
        ]
    )
    return hashlib.sha256(text.encode()).hexdigest()[:24]


class ScoreCache:
    """Cells by :func:`score_key`, kept in a JSON file (``path`` None: in memory only)."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path else None
        self._cells: dict[str, float] = {}
        if self.path and self.path.exists():
            self._cells = {k: float(v) for k, v in json.loads(self.path.read_text()).items()}

    def get(self, key: str) -> float | None:
        return self._cells.get(key)

    def put(self, key: str, value: float) -> None:
        """Keep a cell; with a file, merged with what the file holds now (another bench
        process may have added cells) and written atomically."""
        self._cells[key] = float(value)
        if self.path:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.path.exists():
                on_disk = {k: float(v) for k, v in json.loads(self.path.read_text()).items()}
                self._cells = {**on_disk, **self._cells}
            tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(self._cells, indent=0, sort_keys=True))
            tmp.replace(self.path)


def rescore(
    programs: Mapping[str, str], world: str, spec: RescoreSpec, cache: ScoreCache | None = None
) -> dict[str, float]:
    """Mean coverage (in [0, 1]) of each ``label -> code`` on ``spec.split``'s contexts x
    ``spec.replicates`` seeds under ``world``; cells found in ``cache`` are not re-run."""
    from evolve.execution.worker_config import worker_spec
    from evolve.execution.workers import run_evaluation
    from generators.context_loader import load_split

    config = replace_path(spec.base, "world.preset", world)
    worker = worker_spec(config)
    contexts = {c.id: c for c in load_split(spec.split)}
    out = {}
    for label, code in programs.items():
        key = score_key(code, world, spec)
        cached = cache.get(key) if cache else None
        if cached is not None:
            out[label] = cached
            continue
        values = []
        for replicate in range(spec.replicates):
            result = run_evaluation(worker, code, contexts, list(contexts), spec.seed_base + replicate)
            values += [float(o.metrics["coverage"]) if o.metrics else 0.0 for o in result.contexts]
        out[label] = statistics.fmean(values)
        if cache:
            cache.put(key, out[label])
    return out


def gain_over(scores: Mapping[str, float], program: str, comparators: Sequence[str]) -> float:
    """``scores[program]`` minus the best of ``scores[c]`` for the comparators (one world's
    cells). Raises KeyError for a missing label, ValueError for no comparator."""
    if not comparators:
        raise ValueError("gain_over needs at least one comparator")
    return scores[program] - max(scores[c] for c in comparators)


def world_gains(
    table: Mapping[str, Mapping[str, float]], program: str, comparators: Sequence[str]
) -> dict[str, float]:
    """Per world (``table[world][label]`` = cell), the gain of ``program`` over the best
    comparator in that world."""
    return {world: gain_over(cells, program, comparators) for world, cells in table.items()}


def spread(values: Sequence[float]) -> dict[str, float]:
    """``mean``, ``worst`` (minimum), ``best``, ``sd`` (sample; 0 for one value) and ``range``
    (best - worst) of ``values`` (non-empty)."""
    xs = list(values)
    if not xs:
        raise ValueError("spread of no values")
    return {
        "mean": statistics.fmean(xs),
        "worst": min(xs),
        "best": max(xs),
        "sd": statistics.stdev(xs) if len(xs) > 1 else 0.0,
        "range": max(xs) - min(xs),
    }
