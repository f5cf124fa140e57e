"""The six metric names, their direction, and name checking with a "did you mean" hint."""

from __future__ import annotations

import difflib
from types import MappingProxyType
from typing import Mapping

__all__ = ["METRIC_NAMES", "HIGHER_IS_BETTER", "check_metric_name"]

#: The six diversity metrics, in the order reports print them.
METRIC_NAMES: tuple[str, ...] = (
    "coverage",
    "convex_hull_volume",
    "min_pairwise_distance",
    "mean_pairwise_distance",
    "dispersion",
    "kl_divergence",
)

#: True where a larger value means a more diverse population.
HIGHER_IS_BETTER: Mapping[str, bool] = MappingProxyType(
    {
        "coverage": True,
        "convex_hull_volume": True,
        "min_pairwise_distance": True,
        "mean_pairwise_distance": True,
        "dispersion": False,
        "kl_divergence": False,
    }
)


def check_metric_name(name: object) -> str:
    """Return ``name`` if it is one of :data:`METRIC_NAMES`; otherwise raise ``ValueError``
    naming the closest valid name (difflib) when there is one."""
    if isinstance(name, str) and name in HIGHER_IS_BETTER:
        return name
    close = difflib.get_close_matches(str(name), METRIC_NAMES, n=1, cutoff=0.5)
    hint = f"; did you mean {close[0]!r}?" if close else f"; valid names: {', '.join(METRIC_NAMES)}"
    raise ValueError(f"unknown metric {name!r}{hint}")
