"""Input checks shared by the metrics: one clear ``ValueError`` line saying what and where.

A population matrix ``Z`` is N personas × K axes, every value a finite float in [0, 1]
(positions are per-axis means rescaled to the unit interval). The checks never clip or
repair: a value of 1.0000001 is an error, because silently clipping would hide a bug in
the code that produced the positions.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["validate_positions", "validate_mc_samples", "validate_seed"]


def validate_positions(
    Z: object, *, min_rows: int = 2, name: str = "Z", allow_nan: bool = False
) -> np.ndarray:
    """Return ``Z`` as a C-contiguous float64 array of shape (N, K), N >= ``min_rows``, K >= 1.

    Raises ``ValueError`` when ``Z`` is not numeric, not 2-D, empty, has fewer than
    ``min_rows`` rows, contains a non-finite value, or a value outside [0, 1]; the message
    names the first offending cell, e.g. ``"Z[3, 1] = 1.2 is outside [0, 1]"``. With
    ``allow_nan`` a NaN cell (a missing coordinate) is accepted; infinities never are.
    """
    try:
        raw = Z if isinstance(Z, np.ndarray) else np.asarray(Z)
    except (TypeError, ValueError) as exc:  # e.g. ragged nested lists
        raise ValueError(f"{name} must be a numeric 2-D array: {exc}") from None
    if raw.dtype.kind not in "biufO":
        raise ValueError(f"{name} must be a numeric array; got dtype {raw.dtype}")
    try:
        arr = np.ascontiguousarray(raw, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a numeric array: {exc}") from None
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (N personas × K axes); got shape {arr.shape}")
    n, k = arr.shape
    if n == 0 or k == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}); need at least {min_rows} personas and 1 axis")
    if n < min_rows:
        raise ValueError(f"{name} has {n} persona(s); need at least {min_rows}")
    finite = np.isfinite(arr) | (np.isnan(arr) if allow_nan else False)
    if not finite.all():
        i, j = np.argwhere(~finite)[0]
        raise ValueError(f"{name}[{i}, {j}] = {float(arr[i, j])!r} is not finite")
    with np.errstate(invalid="ignore"):
        outside = (arr < 0.0) | (arr > 1.0)  # NaN compares False
    if outside.any():
        i, j = np.argwhere(outside)[0]
        raise ValueError(f"{name}[{i}, {j}] = {float(arr[i, j])!r} is outside [0, 1]")
    return arr


def validate_mc_samples(mc_samples: object) -> int:
    """``mc_samples`` as an int >= 1 (bools rejected)."""
    if isinstance(mc_samples, bool) or not isinstance(mc_samples, numbers.Integral) or mc_samples < 1:
        raise ValueError(f"mc_samples must be an integer >= 1; got {mc_samples!r}")
    return int(mc_samples)


def validate_seed(seed: object) -> int:
    """``seed`` as an int >= 0 (bools rejected)."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0; got {seed!r}")
    return int(seed)
