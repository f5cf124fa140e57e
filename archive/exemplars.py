"""Exemplar personas: the texts kept so every region of a context has an example.

Positions are stored for every persona of every evaluation (2 bytes per value), texts only
where they are worth it. ``inspect rare`` (and the viewer's rare page) bins a context's axis
cube [0, 1]^K on a regular grid of :func:`default_bins` bins per axis and lists the occupied
cells ("regions"). To give each such region an example with its full text, the writer keeps,
per (run, context, region), the text of the first ``per_cell`` personas that land there, at
any stage, and never prunes them. The store is bounded by contexts × cells × ``per_cell``
(30 contexts × 4^4 cells = 7,680 texts at most for K = 4), not by the length of the run.

A persona's region is computed from its position *as stored* (the uint16 code of
``archive.codec``), so a reader binning decoded positions finds the same cell. Rows with an
unanswered axis (NaN) are in no region. The key stored in ``personas.exemplar`` is
``"<bins>:<cell per axis>"``, e.g. ``"4:0,3,3,1"``.
"""

from __future__ import annotations

from collections import Counter
from typing import Iterable, Mapping, Sequence

import numpy as np

from .codec import decode_positions, encode_positions


def default_bins(k: int) -> int:
    """Bins per axis of the rare-region grid for K axes (keeps the grid at <= 729 cells):
    5 for K <= 3, 4 for K = 4, 3 for K >= 5."""
    return 5 if k <= 3 else 4 if k == 4 else 3


def cell_key(bins: int, cell: Iterable[int]) -> str:
    """The stored key of a region: ``"<bins>:<c1>,<c2>,..."``."""
    return f"{int(bins)}:" + ",".join(str(int(c)) for c in cell)


def cells_of(z: np.ndarray, bins: int) -> np.ndarray:
    """Region of each row of ``z`` (N×K in [0, 1]): an N×K int array of bin indexes in
    [0, bins), clipped at the edges (the rule ``inspect rare`` applies)."""
    return np.clip(np.floor(np.asarray(z, dtype=float) * bins).astype(int), 0, bins - 1)


def stored_positions(z: np.ndarray) -> np.ndarray:
    """``z`` as a reader will decode it (quantised to the archive's uint16 code)."""
    blob, n, k = encode_positions(z)
    return decode_positions(blob, n, k)


class ExemplarIndex:
    """Which (context, region) pairs of one run already hold their exemplar texts.

    The writer plans with :meth:`plan` before a transaction and records the plan with
    :meth:`commit` after it committed, so a failed transaction leaves the index unchanged.
    """

    def __init__(self, *, per_cell: int = 1, taken: Iterable[tuple[str, str]] = ()) -> None:
        self.per_cell = int(per_cell)
        self._count: Counter[tuple[str, str]] = Counter((str(c), str(k)) for c, k in taken)

    def __len__(self) -> int:
        return sum(self._count.values())

    def plan(self, context_id: str, positions: np.ndarray | None, n_personas: int) -> dict[int, str]:
        """Persona rows (index -> region key) of one context result to keep as exemplars:
        the first rows to reach a region that holds fewer than ``per_cell`` exemplars.
        ``n_personas`` is the number of persona dicts available (rows beyond it have no text)."""
        if self.per_cell <= 0 or positions is None or n_personas <= 0:
            return {}
        z = np.asarray(positions, dtype=float)
        if z.ndim != 2 or z.shape[0] == 0 or z.shape[1] == 0:
            return {}
        z = stored_positions(z)
        bins = default_bins(z.shape[1])
        cells = cells_of(np.nan_to_num(z), bins)
        missing = np.isnan(z).any(axis=1)
        seen: Counter[str] = Counter()
        out: dict[int, str] = {}
        for i in range(min(len(z), n_personas)):
            if missing[i]:
                continue
            key = cell_key(bins, cells[i])
            if self._count[(context_id, key)] + seen[key] < self.per_cell:
                seen[key] += 1
                out[i] = key
        return out

    def commit(self, context_id: str, chosen: Mapping[int, str]) -> None:
        """Record exemplars that are now stored."""
        for key in chosen.values():
            self._count[(context_id, key)] += 1

    def plan_evaluation(self, contexts: Sequence[object]) -> dict[int, dict[int, str]]:
        """:meth:`plan` for every context result of an evaluation (``ContextResult``s),
        keyed by the result's position in the sequence; contexts sharing an id in one
        evaluation see each other's picks."""
        out: dict[int, dict[int, str]] = {}
        pending: list[tuple[str, dict[int, str]]] = []
        for j, c in enumerate(contexts):
            personas = getattr(c, "personas", None)
            # a ContextResult: typed ``object`` here so archive does not import the evaluator's types
            chosen = self.plan(c.context_id, getattr(c, "positions", None), len(personas or ()))  # type: ignore[attr-defined]
            if chosen:
                out[j] = chosen
                self.commit(c.context_id, chosen)  # type: ignore[attr-defined]
                pending.append((c.context_id, chosen))  # type: ignore[attr-defined]
        for cid, chosen in pending:  # planning must not change the index: undo
            for key in chosen.values():
                self._count[(cid, key)] -= 1
        return out

    def commit_evaluation(self, contexts: Sequence[object], plan: Mapping[int, Mapping[int, str]]) -> None:
        """:meth:`commit` of a plan from :meth:`plan_evaluation`."""
        for j, chosen in plan.items():
            self.commit(contexts[j].context_id, chosen)  # type: ignore[attr-defined]
