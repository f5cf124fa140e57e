"""Compact storage of persona positions.

A population's positions Z (N×K, values in [0, 1]) is stored as little-endian uint16,
row-major: value ``round(x * 65534)``, with 65535 meaning NaN (an axis with no answer).
Resolution is 1/65534 ≈ 1.5e-5 — exact enough for Likert means (multiples of 1/24 or
coarser) — at 2 bytes per value: 25 personas × 6 axes = 300 bytes per context.
Values outside [0, 1] are clipped.
"""

from __future__ import annotations

import numpy as np

_SCALE = 65534
_NAN = 65535


def encode_positions(z: np.ndarray) -> tuple[bytes, int, int]:
    """Encode an N×K array; returns (blob, N, K). A 1-D array is taken as N×1."""
    arr = np.asarray(z, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"positions must be an N×K array, got shape {arr.shape}")
    nan = np.isnan(arr)
    q = np.rint(np.clip(np.where(nan, 0.0, arr), 0.0, 1.0) * _SCALE).astype("<u2")
    q[nan] = _NAN
    return q.tobytes(order="C"), int(arr.shape[0]), int(arr.shape[1])


def decode_positions(blob: bytes, n: int, k: int) -> np.ndarray:
    """Inverse of ``encode_positions``: float64 N×K array, NaN where missing."""
    q = np.frombuffer(blob, dtype="<u2")
    if q.size != n * k:
        raise ValueError(f"positions blob holds {q.size} values, expected {n}×{k}")
    out = q.astype(np.float64) / _SCALE
    out[q == _NAN] = np.nan
    return out.reshape(n, k)
