"""Behaviour descriptors of a generator program, for the MAP-Elites archive.

``DESCRIPTORS`` maps a descriptor name to a :class:`Descriptor`: a callable (the function
computing it) plus its declared range and scale, so an archive can bin values stably:

* ``tail_share`` — ``tail_share(Z, *, low=0.1, high=0.9)``: share in [0, 1] of personas
  with at least one axis strictly outside [low, high]; linear bins on [0, 1].
* ``llm_tokens_per_persona`` — ``llm_tokens_per_persona(total_tokens, n_personas)``: LLM
  tokens spent per persona (cost); log bins on [1, 1e6] tokens.

:meth:`Descriptor.bin` turns a value into a bin index (clipped into the declared range).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Callable, Mapping

import numpy as np

from ._validate import validate_positions

__all__ = ["tail_share", "llm_tokens_per_persona", "Descriptor", "DESCRIPTORS"]


def tail_share(Z: object, *, low: float = 0.1, high: float = 0.9) -> float:
    """Share in [0, 1] of personas (rows of ``Z``, N >= 1, values in [0, 1]) with at least
    one axis value ``< low`` or ``> high``. NaN cells (axes with no answer) are ignored:
    they never make a persona a tail persona, and the persona still counts in N. Raises
    ``ValueError`` for a bad Z or bounds."""
    lo, hi = float(low), float(high)
    if not (0.0 <= lo < hi <= 1.0):
        raise ValueError(f"tail_share needs 0 <= low < high <= 1; got low={low!r}, high={high!r}")
    Zf = validate_positions(Z, min_rows=1, allow_nan=True)
    with np.errstate(invalid="ignore"):
        return float(np.mean(np.any((Zf < lo) | (Zf > hi), axis=1)))


def llm_tokens_per_persona(total_tokens: float, n_personas: int) -> float:
    """``total_tokens / n_personas``: LLM tokens spent per persona (>= 0).

    Raises ``ValueError`` when ``total_tokens`` is negative or not finite, or when
    ``n_personas`` is not an integer >= 1.
    """
    t = float(total_tokens)
    if not math.isfinite(t) or t < 0:
        raise ValueError(f"total_tokens must be a finite number >= 0; got {total_tokens!r}")
    if isinstance(n_personas, bool) or not isinstance(n_personas, numbers.Integral) or n_personas < 1:
        raise ValueError(f"n_personas must be an integer >= 1; got {n_personas!r}")
    return t / int(n_personas)


@dataclass(frozen=True, kw_only=True)
class Descriptor:
    """A behaviour descriptor: ``fn`` computes it; values are expected in [low, high];
    ``log`` says whether bins are equal in log space."""

    name: str
    fn: Callable[..., float]
    low: float
    high: float
    log: bool
    description: str

    def __call__(self, *args: Any, **kwargs: Any) -> float:
        return self.fn(*args, **kwargs)

    def bin(self, value: float, n_bins: int) -> int:
        """Index in [0, n_bins) of ``value``'s bin; values are clipped into [low, high]
        first, so out-of-range values land in the end bins. Raises ``ValueError`` for NaN."""
        if n_bins < 1:
            raise ValueError(f"n_bins must be >= 1; got {n_bins!r}")
        v = float(value)
        if math.isnan(v):
            raise ValueError(f"{self.name} value is NaN; cannot bin it")
        v = min(max(v, self.low), self.high)
        if self.log:
            frac = (math.log(v) - math.log(self.low)) / (math.log(self.high) - math.log(self.low))
        else:
            frac = (v - self.low) / (self.high - self.low)
        return min(int(frac * n_bins), n_bins - 1)


DESCRIPTORS: Mapping[str, Descriptor] = MappingProxyType(
    {
        "tail_share": Descriptor(
            name="tail_share",
            fn=tail_share,
            low=0.0,
            high=1.0,
            log=False,
            description="share of personas with at least one axis outside [0.1, 0.9]",
        ),
        "llm_tokens_per_persona": Descriptor(
            name="llm_tokens_per_persona",
            fn=llm_tokens_per_persona,
            low=1.0,
            high=1e6,
            log=True,
            description="LLM tokens spent per persona (cost), log scale",
        ),
    }
)
