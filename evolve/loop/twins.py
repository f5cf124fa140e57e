"""Behavioural twins: a child that writes exactly what its parent wrote.

Many edits change nothing a respondent can see: a constant that never matters, two
independent statements swapped, a rewording the model ignores. Such a child costs a full
evaluation and can only tie its parent. In the default sim run 54 of 176 evaluated children
(31 %) placed every persona exactly where their parent's did, on every train context.

With paired seeds (``search.paired``) a child's smoke stage runs on the same contexts at
the same seeds (replicate 0) as its parent's first train evaluation, so the two can be
compared position for position. :class:`TwinCheck` calls the child a *twin* when, on every
smoke context, both have positions and they are identical (unplaced axes included) at the
archive's storage resolution (:mod:`archive.codec`, 1/65534). In that sim run no child
identical on two contexts differed on any other. A twin is rejected before the rest of the
train set (``search.twins``): it is not an evaluation, and the parent's next prompt hears
that the edit changed nothing observable.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from archive.codec import encode_positions
from evolve.execution.protocols import ArchiveStore
from generators.evaluation import ContextOutcome

Placements = Mapping[str, bytes]
"""context id -> encoded positions (:func:`archive.codec.encode_positions`' blob)."""


def placements(positions: Mapping[str, np.ndarray | None]) -> dict[str, bytes]:
    """Encoded positions per context, leaving out contexts with none."""
    return {cid: encode_positions(z)[0] for cid, z in positions.items() if z is not None}


def same_placements(child: Placements, parent: Placements, context_ids: Sequence[str]) -> bool:
    """True when both have positions on every one of ``context_ids`` (at least one) and
    every position is the same."""
    return bool(context_ids) and all(
        cid in child and cid in parent and child[cid] == parent[cid] for cid in context_ids
    )


class TwinCheck:
    """Compares a child's smoke-stage placements with its parent's first train evaluation
    (replicate 0 in a paired run), read once per parent from ``archive`` and kept."""

    def __init__(self, *, archive: ArchiveStore) -> None:
        self._archive = archive
        self._parents: dict[str, dict[str, bytes]] = {}

    def parent_placements(self, parent_id: str) -> dict[str, bytes]:
        """The parent's placements at its first train evaluation ({} when it has none)."""
        if parent_id not in self._parents:
            first = next(iter(self._archive.evaluations(parent_id, "train")), None)
            self._parents[parent_id] = (
                {}
                if first is None
                else placements({c.context_id: c.positions for c in first.contexts if c.error is None})
            )
        return self._parents[parent_id]

    def is_twin(self, parent_id: str, smoke: Sequence[ContextOutcome]) -> bool:
        """True when ``smoke`` (the child's outcomes at replicate 0) places every persona
        where the parent did on every one of its contexts."""
        child = placements({o.context_id: o.positions for o in smoke if o.metrics is not None})
        return same_placements(child, self.parent_placements(parent_id), [o.context_id for o in smoke])
