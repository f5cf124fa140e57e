"""Who is mutated next: the *ask/tell* half of the loop that picks islands and parents.

The controller schedules candidates (asyncio, budgets, failures); for each one it asks
:class:`ParentPolicy` where to work and on what, and tells it what became of the child.
The policy holds every choice of the search that is about *which* program is mutated, so it
can be read and tested apart from the scheduling (as pyribs keeps emitters apart from the
scheduler):

- the island: round robin from a random start;
- the parent: with probability ``champion_share`` the run's champion (the program a user
  exports), otherwise one of the island's elites drawn by the parent strategy
  (:class:`archive.selection.Balanced`, or the run's ``mutation.parent_strategy``); the
  best stored program when the island is empty;
- the yield book: what each parent's children became (:meth:`tell`), which the balanced
  strategy weighs.

Why a champion share (issue 22, item 3): in the 5-seed headline the run seed whose search
stalled gave its champion 9 of 115 proposals, while race losers that had taken the grid's
cells got 40; the runs that found the gain gave the champion's line 19-31. The grid keeps
its stepping stones (1 - share of the proposals); the champion is never starved. The share
draw has its own random stream, so every other draw of a run is the same with any share.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from archive.records import ProgramView
from archive.selection import Balanced, YieldBook
from evolve.execution.protocols import ArchiveStore

SOURCES = ("grid", "champion", "top")
"""Where a parent came from: an island's elites, the champion share, or the best stored
program (an empty island)."""


@dataclass(frozen=True)
class ParentPick:
    """One answer of :meth:`ParentPolicy.ask`: the ``island`` the child is placed on, its
    ``parent`` and the ``source`` of the parent (one of :data:`SOURCES`)."""

    island: int
    parent: ProgramView
    source: str


class ParentPolicy:
    """Island, parent and yield book of one run session (see the module docstring).

    ``archive``: the run's archive (read for elites, the champion's code and the best
    program). ``islands`` (>= 1) and ``start`` (the first island is ``start + 1`` modulo
    ``islands``). ``rng``: the run's generator, used for the parent strategies (the same
    draws as before the policy existed). ``share_rng``: a separate generator for the
    champion-share draw. ``champion_share`` in [0, 1]. ``champion``: returns the current
    champion's id (None before one is crowned). ``selection``: ``"balanced"`` or
    ``"config"``; ``parent_strategy``: the run's ``mutation.parent_strategy`` (``"mixed"``
    draws one of uniform/fitness/curiosity per parent). ``book``: the yield book (a resumed
    run's is rebuilt from its events).
    """

    def __init__(
        self,
        *,
        archive: ArchiveStore,
        islands: int,
        start: int,
        rng: np.random.Generator,
        share_rng: np.random.Generator,
        champion_share: float,
        champion: Callable[[], str | None],
        selection: str,
        parent_strategy: str,
        book: YieldBook,
    ) -> None:
        if not 0.0 <= champion_share <= 1.0:
            raise ValueError(f"champion_share must be in [0, 1], got {champion_share!r}")
        if islands < 1:
            raise ValueError(f"islands must be >= 1, got {islands!r}")
        self._archive = archive
        self._islands = int(islands)
        self._cursor = int(start)
        self._rng = rng
        self._share_rng = share_rng
        self._share = float(champion_share)
        self._champion = champion
        self._selection = selection
        self._parent_strategy = parent_strategy
        self.book = book
        self._balanced = Balanced(book)

    def next_island(self) -> int:
        """The next island, round robin."""
        self._cursor = (self._cursor + 1) % self._islands
        return self._cursor

    def _strategy(self) -> Any:
        if self._selection == "balanced":
            return self._balanced
        if self._parent_strategy != "mixed":
            return self._parent_strategy
        return ("uniform", "fitness", "curiosity")[int(self._rng.integers(3))]

    def ask(self) -> ParentPick:
        """The island and parent of the next candidate. Raises RuntimeError when the
        archive holds no program at all (every seed program failed)."""
        island = self.next_island()
        champion = self._champion() if self._share > 0.0 else None
        if champion is not None and self._share_rng.random() < self._share:
            return ParentPick(island=island, parent=self._archive.get_program(champion), source="champion")
        parent = self._archive.sample_parent(island, self._rng, strategy=self._strategy())
        if parent is not None:
            return ParentPick(island=island, parent=parent, source="grid")
        best = self._archive.top(1)
        if not best:
            raise RuntimeError("the archive is empty: seed programs failed on every context")
        return ParentPick(island=island, parent=best[0], source="top")

    def tell(self, parent_id: str, outcome: str) -> None:
        """What became of a child of ``parent_id`` (an :class:`archive.selection.ChildOutcome`
        value), for the yield book the balanced strategy weighs."""
        self.book.record(parent_id, outcome)
