"""Descriptor values computed from an evaluation, for candidates that arrive without them.

Every name of :data:`metrics.descriptors.DESCRIPTORS` is read from the evaluation's
contexts through the registry (:func:`metrics.descriptors.program_descriptors`): one
definition of each descriptor, shared with the evolution loop.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from metrics.descriptors import DESCRIPTORS, ContextSample, program_descriptors

from .binning import DescriptorError
from .records import ContextResult, DescriptorSpec, EvaluationRecord


def _sample(c: ContextResult) -> ContextSample:
    """What the registry reads from one stored context: positions, personas asked and
    returned (the incomplete-population counts when recorded, else the placed rows), tokens."""
    z = None if c.positions is None else np.asarray(c.positions, dtype=float)
    rows = 0 if z is None else int(z.shape[0])
    extra = c.metrics or {}
    returned = int(extra.get("personas_returned", rows))
    asked = int(extra.get("personas_asked", returned))
    return ContextSample(positions=z, asked=asked, returned=returned, tokens=int(c.tokens))


def compute(specs: Sequence[DescriptorSpec], ev: EvaluationRecord) -> dict[str, float]:
    """Values of the descriptors ``specs`` name for one evaluation.
    Raises :class:`DescriptorError` for a name the registry does not know or a descriptor
    the evaluation does not allow (e.g. no positions)."""
    names = [spec.name for spec in specs]
    unknown = [name for name in names if name not in DESCRIPTORS]
    if unknown:
        raise DescriptorError(
            f"candidate has no value for descriptor {unknown[0]!r} and the archive cannot compute it"
        )
    samples = [_sample(c) for c in ev.contexts]
    values = program_descriptors(samples, names=names)
    missing = [name for name in names if name not in values]
    if missing:
        raise DescriptorError(
            f"cannot compute {missing[0]!r}: the evaluation does not allow it (no positions?)"
        )
    return values
