"""JSON helpers: make inspect results plain JSON (NaN/inf -> null, numpy -> Python)."""

from __future__ import annotations

import json
import math
from typing import Any, Mapping


def clean(x: Any) -> Any:
    """A JSON-able copy of ``x``: numpy scalars/arrays to Python, non-finite floats to
    None, tuples to lists, mapping keys to str."""
    if x is None or isinstance(x, (bool, str)):
        return x
    if isinstance(x, int):
        return int(x)
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, Mapping):
        return {str(k): clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [clean(v) for v in x]
    try:
        import numpy as np
    except ImportError:  # pragma: no cover
        return str(x)
    if isinstance(x, np.generic):
        return clean(x.item())
    if isinstance(x, np.ndarray):
        return clean(x.tolist())
    return str(x)


def dumps(data: Any) -> str:
    """Indented, strict JSON text of ``clean(data)``."""
    return json.dumps(clean(data), indent=2, ensure_ascii=False, allow_nan=False)
