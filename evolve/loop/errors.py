"""The run's one-line errors: what stops a run before or while it runs, and a resume with
nothing to do (raised by :mod:`evolve.loop.run` and :mod:`evolve.loop.resume`)."""

from __future__ import annotations


class RunError(RuntimeError):
    """A run cannot start or continue; the message says why in one line."""


class NothingToDo(RunError):
    """A resume that has nothing to do (the run is finished and no cap was raised)."""
