"""Reference fitness lines for the overview chart: the floor (n copies of one persona at
the centre) and uniform random positions, averaged over the run's train contexts the way
a program's score is, and turned into fitness under the run's objective.

Optional: when ``metrics.references`` is not importable, :func:`reference_lines` returns
an empty tuple and the chart simply has no reference lines.
"""

from __future__ import annotations

import functools
import importlib
import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence


@dataclass(frozen=True)
class ReferenceLine:
    """A horizontal line: ``name`` (``floor``/``random``), its fitness ``value`` and the
    six metrics behind it."""

    name: str
    value: float
    metrics: Mapping[str, float]


def _module() -> Any | None:
    try:
        return importlib.import_module("metrics.references")
    except ImportError:
        return None


def available() -> bool:
    """True when the metrics package offers reference scores."""
    return _module() is not None


@functools.lru_cache(maxsize=32)
def _lines(
    shapes: tuple[tuple[int, int], ...], mc_samples: int, objective_key: str
) -> tuple[ReferenceLine, ...]:
    mod = _module()
    if mod is None or not shapes:
        return ()
    import json

    from metrics import fitness

    objective = json.loads(objective_key)
    refs = mod.mean_references(list(shapes), mc_samples=mc_samples)
    if not refs:
        return ()
    out = []
    for name in ("floor", "random"):
        metrics = dict(refs.get(name) or {})
        try:
            value = float(fitness(metrics, objective))
        except ValueError:
            continue
        if math.isfinite(value):
            out.append(ReferenceLine(name, value, metrics))
    return tuple(out)


def reference_lines(
    shapes: Sequence[tuple[int, int]], *, objective: str | Mapping[str, float], mc_samples: int = 10_000
) -> tuple[ReferenceLine, ...]:
    """Floor and random reference fitness for contexts of the given (n, K) shapes (one per
    train context). Cached per argument set; the first call costs a few metric
    evaluations per distinct shape."""
    import json

    key = json.dumps(objective, sort_keys=True)
    return _lines(tuple((int(n), int(k)) for n, k in shapes), int(mc_samples), key)
