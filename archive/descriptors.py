"""Default behaviour descriptors computed from an evaluation, for candidates that arrive
without descriptor values.

``tail_share``: mean over contexts of the share of personas with at least one axis outside
[0.1, 0.9] (``metrics.descriptors.tail_share`` when the metrics package provides it).
``llm_tokens_per_persona``: LLM tokens of the evaluation / personas generated.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from .binning import DescriptorError
from .records import DescriptorSpec, EvaluationRecord


def _tail_share_fallback(z: np.ndarray) -> float:
    z = np.asarray(z, dtype=float)
    if z.size == 0:
        return 0.0
    return float(np.mean(np.any((z < 0.1) | (z > 0.9), axis=1)))


def _tail_share_fn() -> Callable[[np.ndarray], float]:
    try:
        from metrics.descriptors import tail_share  # type: ignore[import-not-found]

        return tail_share
    except ImportError:
        return _tail_share_fallback


def compute(specs: Sequence[DescriptorSpec], ev: EvaluationRecord) -> dict[str, float]:
    """Values of the named descriptors for one evaluation. Raises DescriptorError for a
    descriptor it does not know or cannot compute (no positions)."""
    zs = [np.asarray(c.positions, dtype=float) for c in ev.contexts if c.positions is not None]
    out: dict[str, float] = {}
    for spec in specs:
        if spec.name == "tail_share":
            if not zs:
                raise DescriptorError("cannot compute 'tail_share': evaluation has no positions")
            fn = _tail_share_fn()
            out[spec.name] = float(np.mean([fn(z) for z in zs]))
        elif spec.name == "llm_tokens_per_persona":
            n = sum(z.shape[0] for z in zs)
            if n == 0:
                raise DescriptorError("cannot compute 'llm_tokens_per_persona': evaluation has no personas")
            out[spec.name] = sum(int(c.tokens) for c in ev.contexts) / n
        else:
            raise DescriptorError(f"candidate has no value for descriptor {spec.name!r} and the archive cannot compute it")
    return out
