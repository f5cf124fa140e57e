"""What became of each parent's children: the outcome of one child, and the yield book of
a resumed run rebuilt from the run's event log.

The controller counts every proposal against its parent in a
:class:`archive.selection.YieldBook` (balanced parent selection weighs parents by it). Each
count leaves one event, so a resumed run rebuilds the book instead of starting empty:

* a proposal rejected before its full evaluation (an edit that did not apply, a compile
  error, a duplicate, a no-op, the cascade's smoke stage, a mutator error) is a
  ``rejected`` event the controller writes against the *parent*, with a ``message``:
  ``wasted``;
* a full train evaluation is an ``evaluated`` event against the *child* with ``stage``
  ``train`` and the archive's ``status`` (:func:`child_outcome`); the parent is the
  child's stored ``parent_id``.

The archive's own ``rejected`` events (a syntax error, duplicate or failure inside
``add``) are written against the child, carry no ``message``, and are already counted by
the ``evaluated`` event that follows them.
"""

from __future__ import annotations

from typing import Any

from archive.records import AddStatus
from archive.selection import ChildOutcome, YieldBook
from evolve.execution.protocols import ArchiveStore


def child_outcome(status: str) -> str:
    """The :class:`ChildOutcome` of a fully evaluated child from its archive status
    (an :class:`archive.records.AddStatus` or its stored string): a new cell or a better
    elite ``improved``; a failure or a duplicate ``wasted``; otherwise ``survived``."""
    if status in (AddStatus.NEW_CELL, AddStatus.IMPROVED):
        return ChildOutcome.IMPROVED
    if status in (AddStatus.FAILED, AddStatus.DUPLICATE):
        return ChildOutcome.WASTED
    return ChildOutcome.SURVIVED


def _parent_of(archive: ArchiveStore, child: str, cache: dict[str, str | None]) -> str | None:
    if child not in cache:
        try:
            cache[child] = archive.get_program(child).parent_id
        except KeyError:
            cache[child] = None
    return cache[child]


def stored_yields(archive: ArchiveStore, book: YieldBook | None = None) -> YieldBook:
    """The yield book of the run stored in ``archive`` (counted into ``book``, else a new
    one with the default prior): one count per ``rejected`` event of the controller and per
    ``evaluated`` train event with a status (counts do not depend on their order). A fresh
    run gives an empty book."""
    book = book if book is not None else YieldBook()
    for event in archive.events(kind="rejected"):
        if event.get("program_id") and "message" in (event.get("detail") or {}):
            book.record(event["program_id"], ChildOutcome.WASTED)
    parents: dict[str, str | None] = {}
    for event in archive.events(kind="evaluated"):
        detail: dict[str, Any] = event.get("detail") or {}
        child = event.get("program_id")
        if not child or detail.get("stage") != "train" or "status" not in detail:
            continue
        parent = _parent_of(archive, child, parents)
        if parent:
            book.record(parent, child_outcome(str(detail["status"])))
    return book
