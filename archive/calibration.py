"""Descriptor bin ranges from data: calibrated once, early in a run, then frozen.

A descriptor declared without a range (``DescriptorSpec.calibrate``, see
:func:`archive.records.declared_spec`) is binned on its provisional range
(``metrics.descriptors.DESCRIPTORS``) until the run has stored
``ArchiveConfig.calibrate_after`` evaluations. Then :func:`calibrated_specs` sets its range
from the values the run has seen (the seed programs and the first proposals), and
:func:`rebin` places every program evaluated so far again under the new bins, best per
(island, cell). The writer stores the new ``archive_config`` (with ``calibrated_at``) and
the new grids in one transaction, so a resumed or killed run reopens with the same bins.

Range rule: [min, max] of the seen values, widened by ``PAD`` of their span on each side
(in log space for a log descriptor) so later programs that go further still land in the
edge bins' neighbours, and kept inside the descriptor's natural bounds. A descriptor whose
values were all equal gets a span of ``FLAT_SPAN`` around that value (a tenth of a decade
when log).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Iterable, Mapping, Sequence

from sqlalchemy import Connection, delete, update

from metrics.descriptors import DESCRIPTORS

from . import queries, store
from .binning import DescriptorError, cell_of
from .records import ArchiveConfig, DescriptorSpec, EliteView
from .schema import Elite, Run
from .vocab import EventKind

PAD = 0.25
"""Share of the observed span added below the minimum and above the maximum."""
FLAT_SPAN = 0.05
"""Span (descriptor units; log10 units when log) given to a descriptor seen constant."""


def calibration_due(config: ArchiveConfig, clock: int) -> bool:
    """True when some descriptor still waits for its range and ``clock`` (evaluations
    stored) has reached ``calibrate_after``."""
    return (
        config.calibrated_at is None
        and any(d.calibrate for d in config.descriptors)
        and clock >= config.calibrate_after
    )


def data_range(spec: DescriptorSpec, values: Iterable[float]) -> tuple[float, float] | None:
    """(low, high) for ``spec`` from observed ``values`` by the module's range rule; None
    when no usable value was seen (non-finite, or <= 0 on a log descriptor)."""
    vals = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if spec.log:
        vals = [math.log10(v) for v in vals if v > 0]
    if not vals:
        return None
    lo, hi = min(vals), max(vals)
    pad = PAD * (hi - lo) if hi > lo else FLAT_SPAN
    lo, hi = lo - pad, hi + pad
    if spec.log:
        lo, hi = 10**lo, 10**hi
    bounds = DESCRIPTORS[spec.name].bounds if spec.name in DESCRIPTORS else (None, None)
    if bounds[0] is not None:
        lo = max(lo, bounds[0]) if not spec.log else max(lo, bounds[0], 1e-9)
    if bounds[1] is not None:
        hi = min(hi, bounds[1])
    if not hi > lo:  # squeezed against a bound: keep a flat span inside it
        lo, hi = (hi - FLAT_SPAN, hi) if bounds[1] is not None and hi >= bounds[1] else (lo, lo + FLAT_SPAN)
    return float(lo), float(hi)


def calibrated_specs(
    specs: Sequence[DescriptorSpec], observed: Sequence[Mapping[str, float]]
) -> tuple[DescriptorSpec, ...]:
    """``specs`` with the range of each ``calibrate`` descriptor set from ``observed`` (raw
    descriptor values of the evaluations seen; a descriptor with no usable value keeps
    its provisional range)."""
    out = []
    for spec in specs:
        if spec.calibrate:
            rng = data_range(spec, (o[spec.name] for o in observed if o.get(spec.name) is not None))
            if rng is not None:
                spec = dataclasses.replace(spec, low=rng[0], high=rng[1])
        out.append(spec)
    return tuple(out)


def frozen_config(
    config: ArchiveConfig, observed: Sequence[Mapping[str, float]], clock: int
) -> ArchiveConfig:
    """``config`` with calibrated ranges and ``calibrated_at = clock``: fixed from now on."""
    return dataclasses.replace(
        config, descriptors=calibrated_specs(config.descriptors, observed), calibrated_at=int(clock)
    )


def rebin(
    config: ArchiveConfig, elites: Sequence[EliteView], programs: Sequence[EliteView]
) -> list[EliteView]:
    """The grids under ``config``'s bins: every current elite (seed copies and migrants
    keep their island and origin) and every evaluated ``programs`` entry (as a native
    elite of the island it was proposed on) placed again, the best fitness per (island,
    cell) kept; ties go to a current elite, then to the lower program id. Entries whose
    descriptors do not bin are left out."""
    best: dict[tuple[int, tuple[int, ...]], tuple[tuple[float, int, str], EliteView]] = {}
    for rank, group in ((1, elites), (0, programs)):
        for e in group:
            if not 0 <= e.island < config.islands:
                continue
            try:
                cell, _ = cell_of(config.descriptors, e.descriptors)
            except DescriptorError:
                continue
            key = (e.island, cell)
            score = (float(e.fitness), rank, _neg(e.program_id))
            if key not in best or score > best[key][0]:
                best[key] = (score, dataclasses.replace(e, cell=cell))
    return [v for _, v in sorted(((k, v[1]) for k, v in best.items()), key=lambda kv: kv[0])]


def _neg(text: str) -> str:
    """A key that sorts ``text`` in reverse (so max() prefers the lower id)."""
    return "".join(chr(0x10FFFF - ord(c)) for c in text)


def store_calibration(
    conn: Connection, *, run_id: int, config: ArchiveConfig, clock: int, log: Any, now: float
) -> ArchiveConfig:
    """Inside the caller's transaction: freeze ``config`` from the run's placed evaluations
    (:func:`frozen_config`), replace the run's elites by :func:`rebin`'s, prune the stored
    personas of programs that left every grid, store the new ``archive_config`` and log
    ``bins_calibrated`` (through ``log``, an ``archive.runlog.RunLog``). Returns the frozen config."""
    placed = queries.placed_evaluations(conn, run_id, clock)
    frozen = frozen_config(config, [p.descriptors for p in placed], clock)
    old = queries.load_elites(conn, run_id)
    new = rebin(frozen, old, placed)
    conn.execute(delete(Elite).where(Elite.run_id == run_id))
    for e in new:
        store.upsert_elite(conn, run_id, e, now)
    store.prune_personas(conn, run_id, sorted({e.program_id for e in old} - {e.program_id for e in new}))
    conn.execute(update(Run).where(Run.id == run_id).values(archive_config=frozen.to_dict(), updated_at=now))
    log.append_in(
        conn,
        EventKind.BINS_CALIBRATED,
        now=now,
        detail={"at": clock, "elites": len(new), "descriptors": frozen.to_dict()["descriptors"]},
    )
    return frozen
