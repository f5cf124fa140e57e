"""Plain aligned text for the readable form of the inspect commands."""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

from archive.records import METRIC_NAMES

#: Short column titles of the six metrics; ↓ marks lower-is-better.
METRIC_TITLES: dict[str, str] = {
    "coverage": "coverage",
    "convex_hull_volume": "hull_vol",
    "min_pairwise_distance": "min_dist",
    "mean_pairwise_distance": "mean_dist",
    "dispersion": "disp↓",
    "kl_divergence": "kl↓",
}


def fmt(x: Any, digits: int = 4) -> str:
    """A number with ``digits`` decimals; ``-`` for None/NaN; other values as str."""
    if x is None:
        return "-"
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        return "-" if not math.isfinite(x) else f"{x:.{digits}f}"
    return str(x)


def interval_basis(interval: Mapping[str, Any]) -> str:
    """What a champion's validation interval averages, e.g. ``10 contexts x 3 seeds``
    (``1 seed`` in the singular): its ``contexts`` and ``replicates`` (common-seed draws)."""
    contexts, replicates = interval.get("contexts"), interval.get("replicates")
    return (
        f"{contexts} context{'' if contexts == 1 else 's'} x "
        f"{replicates} seed{'' if replicates == 1 else 's'}"
    )


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, right: Sequence[int] = ()) -> str:
    """Columns padded to their widest cell; ``right`` lists right-aligned column indexes."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for r in cells:
        parts = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))]
        lines.append("  ".join(parts).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def metric_cells(metrics: Mapping[str, Any] | None) -> list[str]:
    """The six metrics as formatted cells (``-`` where missing)."""
    m = metrics or {}
    return [fmt(m.get(name)) for name in METRIC_NAMES]


def metric_headers() -> list[str]:
    return [METRIC_TITLES[name] for name in METRIC_NAMES]


def shorten(text: str, limit: int = 160) -> str:
    """One line of at most ``limit`` characters."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
